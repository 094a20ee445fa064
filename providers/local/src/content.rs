//! What a file should contain and how that is checked: which of `content`, `content_base64` and
//! `source` supplies it (exactly one), permission strings, and the checksum attributes. Pure
//! functions except [`Desired::bytes`], which reads a `source` file.

use crate::file;
use crate::schema::{CHECKSUMS, Kind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use tarn_sdk::{ProviderError, Value};

/// The attribute map inside a [`Value::Map`].
pub type Map = indexmap::IndexMap<String, Value>;

/// The attributes that can supply the content, in the order messages name them.
pub const CONTENT_ATTRS: [&str; 3] = ["content", "content_base64", "source"];

/// Where the content comes from, with the configured (possibly unknown) value.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    pub attr: &'static str,
    pub value: &'a Value,
}

impl Desired<'_> {
    /// The bytes to write; `Ok(None)` while the value is unknown.
    pub fn bytes(&self) -> Result<Option<Vec<u8>>, ProviderError> {
        let Some(text) = known_str(self.value, self.attr)? else { return Ok(None) };
        match self.attr {
            "content" => Ok(Some(text.as_bytes().to_vec())),
            "content_base64" => B64.decode(text).map(Some).map_err(|e| {
                ProviderError::permanent(format!("The value of content_base64 is not valid base64: {e}."))
            }),
            _ => file::read_source(text).map(Some),
        }
    }
}

/// Checks that exactly one content attribute is set (unknown counts as set) and returns it.
pub fn desired(object: &Value, kind: Kind) -> Result<Desired<'_>, ProviderError> {
    let set: Vec<Desired<'_>> = CONTENT_ATTRS
        .iter()
        .filter_map(|attr| object.get(attr).filter(|v| !v.is_null()).map(|value| Desired { attr, value }))
        .collect();
    match set.as_slice() {
        [one] => Ok(*one),
        [] => Err(ProviderError::permanent(format!(
            "A {} needs its content: set exactly one of content, content_base64 or source.",
            kind.type_name()
        ))),
        many => {
            let names: Vec<&str> = many.iter().map(|d| d.attr).collect();
            Err(ProviderError::permanent(format!(
                "A {} takes its content from exactly one of content, content_base64 or source, but {} are set.",
                kind.type_name(),
                names.join(" and ")
            )))
        }
    }
}

/// A string attribute's value; `Ok(None)` when unknown, an error when it is another type.
pub fn known_str<'a>(value: &'a Value, attr: &str) -> Result<Option<&'a str>, ProviderError> {
    match value.unmark().0 {
        Value::Unknown => Ok(None),
        Value::String(s) => Ok(Some(s)),
        other => Err(ProviderError::permanent(format!(
            "The attribute {attr} must be a string, but it is a {}.",
            other.type_name()
        ))),
    }
}

/// The `filename` attribute, which must be a known non-empty string by create time.
pub fn filename(object: &Value) -> Result<&str, ProviderError> {
    match object.get("filename").map(|v| v.unmark().0) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(ProviderError::permanent("The attribute filename must not be empty.")),
        None | Some(Value::Null) => Err(ProviderError::permanent("The attribute filename is required.")),
        Some(other) => Err(ProviderError::permanent(format!(
            "The attribute filename must be a string, but it is a {}.",
            other.type_name()
        ))),
    }
}

/// Parses a permission string as upstream validates it: 3 or 4 octal digits, at most 0777.
pub fn parse_permission(attr: &str, text: &str) -> Result<u32, ProviderError> {
    let valid = (3..=4).contains(&text.len()) && text.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(text, 8) {
        Ok(mode) if valid && mode <= 0o777 => Ok(mode),
        _ => Err(ProviderError::permanent(format!(
            "The value \"{text}\" of {attr} is not a valid permission: write 3 or 4 octal digits no greater than 0777, such as \"0644\"."
        ))),
    }
}

/// The permission an attribute asks for: its value, or the kind's default when null or unknown.
pub fn permission(value: Option<&Value>, attr: &str, kind: Kind) -> Result<u32, ProviderError> {
    match value.map(|v| v.unmark().0) {
        None | Some(Value::Null) | Some(Value::Unknown) => parse_permission(attr, kind.default_permission()),
        Some(Value::String(s)) => parse_permission(attr, s),
        Some(other) => Err(ProviderError::permanent(format!(
            "The attribute {attr} must be a string of octal digits, but it is a {}.",
            other.type_name()
        ))),
    }
}

/// Formats a mode the way the state records it: four octal digits.
pub fn format_permission(mode: u32) -> String {
    format!("{:04o}", mode & 0o7777)
}

/// Every checksum attribute of some content, in [`CHECKSUMS`] order, plus the SHA1 `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksums {
    pub sha1: String,
    values: [String; 6],
}

impl Checksums {
    pub fn of(bytes: &[u8]) -> Checksums {
        let sha1 = hex::encode(Sha1::digest(bytes));
        let sha256 = Sha256::digest(bytes);
        let sha512 = Sha512::digest(bytes);
        Checksums {
            values: [
                hex::encode(Md5::digest(bytes)),
                sha1.clone(),
                hex::encode(sha256),
                B64.encode(sha256),
                hex::encode(sha512),
                B64.encode(sha512),
            ],
            sha1,
        }
    }

    /// Sets `id` and the checksum attributes.
    pub fn set(&self, object: &mut Map) {
        object.insert("id".into(), Value::string(&self.sha1));
        for ((name, _), value) in CHECKSUMS.iter().zip(&self.values) {
            object.insert((*name).into(), Value::string(value));
        }
    }
}

/// Marks `id` and the checksum attributes as known only after apply.
pub fn set_unknown_checksums(object: &mut Map) {
    object.insert("id".into(), Value::Unknown);
    for (name, _) in CHECKSUMS {
        object.insert(name.into(), Value::Unknown);
    }
}
