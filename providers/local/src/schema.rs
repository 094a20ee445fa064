//! The local provider's schema: `local_file` and `local_sensitive_file`, as resources and as data
//! sources, attribute for attribute as hashicorp/local declares them (without the deprecated
//! `sensitive_content`). The SDK's schema has no defaults, so `file_permission` and
//! `directory_permission` are plain optional attributes whose null means the default: the state
//! records them as configured, and `read` writes the real mode there only when it differs from
//! the wanted one. (Optional+computed would hide a drifted mode behind the prior value.)

use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

/// The two flavours of file: they differ only in which attributes are sensitive and in the
/// default permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    SensitiveFile,
}

impl Kind {
    pub fn from_type_name(type_name: &str) -> Option<Kind> {
        match type_name {
            "local_file" => Some(Kind::File),
            "local_sensitive_file" => Some(Kind::SensitiveFile),
            _ => None,
        }
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Kind::File => "local_file",
            Kind::SensitiveFile => "local_sensitive_file",
        }
    }

    /// Upstream's defaults: world-permissive for `local_file`, owner-only for sensitive files.
    pub fn default_permission(self) -> &'static str {
        match self {
            Kind::File => "0777",
            Kind::SensitiveFile => "0700",
        }
    }
}

/// The computed checksum attributes, in schema order, with what each holds.
pub const CHECKSUMS: [(&str, &str); 6] = [
    ("content_md5", "MD5 checksum of the file content, hex."),
    ("content_sha1", "SHA1 checksum of the file content, hex."),
    ("content_sha256", "SHA256 checksum of the file content, hex."),
    ("content_base64sha256", "Base64-encoded SHA256 checksum of the file content."),
    ("content_sha512", "SHA512 checksum of the file content, hex."),
    ("content_base64sha512", "Base64-encoded SHA512 checksum of the file content."),
];

/// The checksums and the id (a SHA1 too). They are unsalted hashes of the content, so for a
/// sensitive file they are as secret as the content itself (a short or guessable secret is
/// found again from its hash): sensitive, hence never shown and sealed in the state.
fn with_checksums(mut r: ResourceSchema, kind: Kind) -> ResourceSchema {
    let mark = |a: AttributeSchema| if kind == Kind::SensitiveFile { a.sensitive() } else { a };
    r = r.attr(
        "id",
        mark(AttributeSchema::computed(Type::String, "The hexadecimal SHA1 checksum of the file content.")),
    );
    for (name, description) in CHECKSUMS {
        r = r.attr(name, mark(AttributeSchema::computed(Type::String, description)));
    }
    r
}

fn resource(kind: Kind) -> ResourceSchema {
    let (description, secret) = match kind {
        Kind::File => ("Generates a local file with the given content.", false),
        Kind::SensitiveFile => ("Generates a local file whose content is sensitive: never shown in plans.", true),
    };
    let mark = |a: AttributeSchema| if secret { a.sensitive() } else { a };
    let permission = |what: &str| {
        AttributeSchema::optional(
            Type::String,
            &format!(
                "Permissions to set for the {what}, as an octal string of 3 or 4 digits; null means \"{}\".",
                kind.default_permission()
            ),
        )
        .force_new()
    };
    let r = ResourceSchema::new(description)
        .attr(
            "filename",
            AttributeSchema::required(
                Type::String,
                "The path to the file to create; a relative path is resolved against tarn's working directory.",
            )
            .force_new(),
        )
        .attr(
            "content",
            mark(
                AttributeSchema::optional(Type::String, "Content to store in the file, expected to be UTF-8.")
                    .force_new(),
            ),
        )
        .attr(
            "content_base64",
            mark(
                AttributeSchema::optional(
                    Type::String,
                    "Content to store in the file, base64-encoded, for binary data.",
                )
                .force_new(),
            ),
        )
        .attr(
            "source",
            AttributeSchema::optional(Type::String, "Path of a file whose content is copied into the file.")
                .force_new(),
        )
        .attr("file_permission", permission("file"))
        .attr("directory_permission", permission("directories created for the file"));
    // `plan` computes the checksums (and the id) of content known at plan time.
    with_checksums(r, kind).refines_plan()
}

fn data_source(kind: Kind) -> ResourceSchema {
    let secret = kind == Kind::SensitiveFile;
    let mark = |a: AttributeSchema| if secret { a.sensitive() } else { a };
    let r = ResourceSchema::new("Reads a local file.")
        .attr(
            "filename",
            AttributeSchema::required(
                Type::String,
                "Path to the file to read; a relative path is resolved against tarn's working directory.",
            ),
        )
        .attr("content", mark(AttributeSchema::computed(Type::String, "Raw content of the file, as UTF-8.")))
        .attr("content_base64", mark(AttributeSchema::computed(Type::String, "Base64-encoded content of the file.")));
    with_checksums(r, kind)
}

pub fn provider_schema() -> ProviderSchema {
    let mut schema = ProviderSchema::default();
    for kind in [Kind::File, Kind::SensitiveFile] {
        schema.resources.insert(kind.type_name().into(), resource(kind));
        schema.data_sources.insert(kind.type_name().into(), data_source(kind));
    }
    schema
}
