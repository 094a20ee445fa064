//! The vsn provider's schema: the provider block, the `vsn_host`, `vsn_volume`, `vsn_service`
//! and `vsn_healthcheck_cron` resources and the `vsn_deployment_plan` data source.
//!
//! Replacement rules live here (`force_new`): every attribute a container is created with
//! forces replacement, since an engine cannot change them on a live container; `running`,
//! `size_limit_gb`, `delete_data_on_destroy`, `pull` and `migrate_from` (used only at creation)
//! change in place. `restart` forces
//! replacement: podman 4 cannot change it in place (docker could, `engine.rs` has the command).
//! The REST containers' `host_id` forces replacement too: a new host container (new image)
//! therefore replaces every REST container inside it, because their network namespace was the
//! old host's.

use indexmap::IndexMap;
use tarn_sdk::{AttributeSchema as A, ProviderSchema, ResourceSchema, Type};

use crate::migrate::{PASSPHRASE, PRIVATE_KEY};

pub const HOST: &str = "vsn_host";
pub const VOLUME: &str = "vsn_volume";
pub const SERVICE: &str = "vsn_service";
pub const CRON: &str = "vsn_healthcheck_cron";
pub const IMAGES: &str = "vsn_image_cleanup";
pub const MAINTENANCE: &str = "vsn_maintenance_cron";
pub const PLAN: &str = "vsn_deployment_plan";

fn list_of_strings() -> Type {
    Type::List { element: Box::new(Type::String) }
}

fn map_of_strings() -> Type {
    Type::Map { element: Box::new(Type::String) }
}

fn common(r: ResourceSchema) -> ResourceSchema {
    r.attr(
        "pull",
        A::optional(Type::String, "When to pull the image: \"never\", \"missing\" (null: the default) or \"always\"."),
    )
    .attr(
        "image_archive",
        A::optional(
            Type::String,
            "Path on this machine of an image archive (`podman save`/`docker save`) uploaded over SFTP and loaded before the container is created, for VSNs without registry access.",
        )
        .force_new(),
    )
    .attr(
        "running",
        A::optional(Type::Bool, "Whether the container runs; null means true. A container stopped outside tarn shows here as drift and is started again."),
    )
    .attr("stop_timeout", A::optional(Type::Number, "Seconds to wait after SIGTERM before the engine kills the container; null means 10.").force_new())
    .attr("id", A::computed(Type::String, "The engine's container ID."))
    .attr("image_id", A::computed(Type::String, "The ID of the image the container runs."))
    // A rollback creates the previous container again from its recorded state (restore.rs).
    .restorable()
}

fn host() -> ResourceSchema {
    let r = ResourceSchema::new(
        "The host container: a constant well-known name and a special image. REST containers join its network namespace, and it sees the VSN's data root at the same path.",
    )
    .attr("name", A::optional_computed(Type::String, "The container name; null means \"vsn-host\".").force_new())
    .attr("image", A::required(Type::String, "The host image. A change replaces the host and every REST container in it.").force_new())
    .attr("command", A::optional(list_of_strings(), "Command and arguments; null means the image's default.").force_new())
    .attr("env", A::optional(map_of_strings(), "Environment variables.").force_new())
    .attr(
        "ports",
        A::optional(list_of_strings(), "Published ports, `[IP:]HOST:CONTAINER[/PROTO]`. The REST containers' ports are published here, since they share the host's network.")
            .force_new(),
    )
    .attr("data_root", A::computed(Type::String, "The VSN's data root, mounted into the host at the same path."))
    .attr(
        "require_stopped",
        A::optional(
            Type::Bool,
            "The seed's guard: refuse to replace or destroy this host container while it runs, so an operator stops it (`podman stop NAME`) before a redeployment. The plan (or the apply, if it started meanwhile) fails before anything is changed. null means false.",
        ),
    );
    common(r).refines_plan()
}

fn volume() -> ResourceSchema {
    let r = ResourceSchema::new(
        "A volume container: busybox-based, its dedicated data directory `<data_root>/<name>` on the VSN mounted in. The directory is created when missing and never altered when present; destroying or replacing the container keeps it.",
    )
    .attr("name", A::required(Type::String, "The container name, also the data directory's name.").force_new())
    .attr("host_id", A::required(Type::String, "`vsn_host.NAME.id`: the host container whose network this container joins.").force_new())
    .attr("image", A::required(Type::String, "The busybox-based image.").force_new())
    .attr("mount_path", A::optional_computed(Type::String, "Where the data directory is mounted inside; null means \"/data\".").force_new())
    .attr(
        "size_limit_gb",
        A::optional(Type::Number, "Largest allowed size of the data directory in GB; null means the provider's volume_size_limit_gb (200)."),
    )
    .attr(
        "delete_data_on_destroy",
        A::optional(Type::Bool, "Delete the data directory when this volume is destroyed. Irreversible; null means false, and the data is kept."),
    )
    .attr("data_dir", A::computed(Type::String, "The data directory on the VSN."))
    .attr(
        "within_size_limit",
        A::computed(Type::Bool, "Whether the data directory is within size_limit_gb, measured on every read: a directory grown past it shows in `tarn drift` (true -> false), and the next apply refuses to go on with it."),
    )
    .attr(
        "migrate_from",
        A::optional(
            migrate_from(),
            "Another VSN whose data directory this volume's is copied from when the volume is created (\"Moving a deployment to another VSN\" in docs/vsn.md): the provider block's connection fields (host, port, user, private_key_file, host_key_fingerprint / known_hosts_file / trust_on_first_use, connect_timeout_seconds, engine, engine_kind, data_root, env) plus \"volume\", the source volume's name (null: the same name). Copied before the container starts, verified by SHA-256 manifests; the source is only read. It matters only at creation: changing or removing it later does nothing on either VSN.",
        ),
    )
    .attr(PRIVATE_KEY, A::optional(Type::String, "The SSH private key for the migrate_from VSN itself (instead of migrate_from.private_key_file).").sensitive())
    .attr(PASSPHRASE, A::optional(Type::String, "Passphrase of an encrypted migrate_from key.").sensitive());
    let mut r = common(r).refines_plan();
    r.irreversible_when = Some("delete_data_on_destroy".to_string());
    r
}

/// `vsn_volume.migrate_from`: a provider block's connection fields and the source volume's name.
fn migrate_from() -> Type {
    let mut attributes = IndexMap::new();
    for (name, t) in [
        ("host", Type::String),
        ("port", Type::Number),
        ("user", Type::String),
        ("private_key_file", Type::String),
        ("host_key_fingerprint", Type::String),
        ("known_hosts_file", Type::String),
        ("trust_on_first_use", Type::Bool),
        ("connect_timeout_seconds", Type::Number),
        ("engine", Type::String),
        ("engine_kind", Type::String),
        ("data_root", Type::String),
        ("env", map_of_strings()),
        ("volume", Type::String),
    ] {
        attributes.insert(name.to_string(), t);
    }
    let optional = attributes.keys().filter(|k| *k != "host").cloned().collect();
    Type::Object { attributes, optional }
}

fn health() -> Type {
    let mut attributes = IndexMap::new();
    attributes.insert("command".to_string(), Type::String);
    attributes.insert("interval".to_string(), Type::String);
    attributes.insert("timeout".to_string(), Type::String);
    attributes.insert("retries".to_string(), Type::Number);
    Type::Object { attributes, optional: vec!["interval".into(), "timeout".into(), "retries".into()] }
}

fn service() -> ResourceSchema {
    let r = ResourceSchema::new("A service container: stateless; its persistent data comes from the volume containers it mounts.")
        .attr("name", A::required(Type::String, "The container name.").force_new())
        .attr("host_id", A::required(Type::String, "`vsn_host.NAME.id`: the host container whose network this container joins.").force_new())
        .attr("image", A::required(Type::String, "The image.").force_new())
        .attr("command", A::optional(list_of_strings(), "Command and arguments; null means the image's default.").force_new())
        .attr("env", A::optional(map_of_strings(), "Environment variables.").force_new())
        .attr(
            "secrets",
            A::optional(map_of_strings(), "Secret environment variables: passed in a 0600 file uploaded over SFTP and removed after the start, never on a command line.")
                .sensitive()
                .force_new(),
        )
        .attr("volumes_from", A::optional(list_of_strings(), "Volume containers whose data this service mounts (at their mount_path).").force_new())
        .attr("ports", A::optional(list_of_strings(), "Container ports the service listens on; each must be published by the host container.").force_new())
        .attr("healthcheck", A::optional(health(), "Health check: command run inside the container, interval, timeout, retries.").force_new())
        .attr(
            "restart",
            A::optional(Type::String, "Restart policy: \"no\", \"always\", \"on-failure\" or \"unless-stopped\"; null means \"no\". A change replaces the container (podman 4 cannot change it in place).")
                .force_new(),
        );
    common(r)
}

fn cron() -> ResourceSchema {
    ResourceSchema::new("A cron entry on the VSN that runs the containers' health checks and mails an alert when one fails.")
        .attr("name", A::required(Type::String, "Names the cron entry (`/etc/cron.d/tarn-vsn-NAME`).").force_new())
        .attr("containers", A::required(list_of_strings(), "Containers whose health checks run (`ENGINE healthcheck run`), or whose running state is checked when they have none."))
        .attr("schedule", A::optional(Type::String, "Cron schedule; null means \"*/5 * * * *\"."))
        .attr("mail_to", A::required(Type::String, "Where alerts go."))
        .attr("mailer", A::optional(Type::String, "\"sendmail\" (null: the default) or \"mutt\"."))
        .attr("mailer_path", A::optional(Type::String, "The mailer program on the VSN; null means the mailer's name, found on PATH."))
        .attr("id", A::computed(Type::String, "Path of the cron file on the VSN."))
        .restorable()
}

/// Where and how alert mail goes: shared by both cron resources.
fn mail(r: ResourceSchema) -> ResourceSchema {
    r.attr(
        "smtp_url",
        A::optional(Type::String, "With mailer = \"mutt\": the SMTP server mutt sends through (`smtp://host:port/`); null means mutt's own sendmail."),
    )
    .attr("mail_from", A::optional(Type::String, "The alert's sender address; null means the mailer's default."))
}

fn maintenance() -> ResourceSchema {
    let r = ResourceSchema::new("A maintenance job by cron on the VSN: a command run inside the host container on a schedule, with a mail when it fails.")
        .attr("name", A::required(Type::String, "Names the cron entry (`/etc/cron.d/tarn-vsn-maint-NAME`).").force_new())
        .attr("host", A::required(Type::String, "The host container the command runs in (`vsn_host.NAME.name`)."))
        .attr("schedule", A::required(Type::String, "Cron schedule, five fields."))
        .attr("command", A::required(Type::String, "Shell command run with `sh -c` inside the host container."))
        .attr("mail_to", A::optional(Type::String, "Where a failure is mailed (exit status and the output's last 50 lines); null means no mail."))
        .attr("mailer", A::optional(Type::String, "\"sendmail\" (null: the default) or \"mutt\"."))
        .attr("mailer_path", A::optional(Type::String, "The mailer program on the VSN; null means the mailer's name, found on PATH."))
        .attr("id", A::computed(Type::String, "Path of the cron file on the VSN."));
    mail(r).restorable()
}

fn image_cleanup() -> ResourceSchema {
    ResourceSchema::new(
        "Removes, after a successful apply, the images of the deployment before the previous one that no container uses (the previous deployment's stay, for a rollback). Give it every image the deployment uses and `depends_on` every container resource, so it applies after them.",
    )
    .attr("name", A::required(Type::String, "Names the record of deployed images on the VSN (`/etc/tarn-vsn/images-NAME.json`).").force_new())
    .attr(
        "images",
        A::required(list_of_strings(), "Every image the deployment uses. A change replaces this resource, and that removes the images no longer needed.").force_new(),
    )
    .attr("previous", A::computed(list_of_strings(), "The previous deployment's images, kept until the next successful apply."))
    .attr("removed", A::computed(list_of_strings(), "The images this apply removes (planned) or removed; empty with the provider's keep_images = true."))
    .attr("id", A::computed(Type::String, "Path of the record on the VSN."))
    .refines_plan()
    .restorable()
}

fn deployment_plan() -> ResourceSchema {
    ResourceSchema::new(
        "Reads and validates a deployment plan (JSON, see docs/vsn-deployment-plan.md) and its optional secret file.",
    )
    .attr("file", A::required(Type::String, "The deployment plan JSON file."))
    .attr("secrets_file", A::optional(Type::String, "The secret file: a JSON object of NAME: \"value\" pairs."))
    .attr("host", A::computed(Type::Any, "The host container: name, image, command, env, ports."))
    .attr("volumes", A::computed(Type::Any, "Volume containers by name, every field filled in: for for_each."))
    .attr("services", A::computed(Type::Any, "Service containers by name, every field filled in: for for_each."))
    .attr("service_secrets", A::computed(Type::Any, "For each service, its secrets as NAME = value.").sensitive())
}

pub fn provider_schema() -> ProviderSchema {
    let mut s = ProviderSchema::default();
    let c = &mut s.config;
    c.insert("host".into(), A::required(Type::String, "The VSN's SSH address."));
    c.insert("port".into(), A::optional(Type::Number, "SSH port; null means 22."));
    c.insert(
        "user".into(),
        A::optional(Type::String, "SSH user; null means root. A non-root user needs passwordless sudo."),
    );
    c.insert("private_key_file".into(), A::optional(Type::String, "Path of the SSH private key."));
    c.insert("private_key".into(), A::optional(Type::String, "The SSH private key itself.").sensitive());
    c.insert("private_key_passphrase".into(), A::optional(Type::String, "Passphrase of an encrypted key.").sensitive());
    c.insert("host_key_fingerprint".into(), A::optional(Type::String, "Accept only this host key (SHA256:...)."));
    c.insert(
        "known_hosts_file".into(),
        A::optional(Type::String, "Accept only host keys listed in this known_hosts file."),
    );
    c.insert("trust_on_first_use".into(), A::optional(Type::Bool, "Accept the host key seen first in this run."));
    c.insert("connect_timeout_seconds".into(), A::optional(Type::Number, "Connect timeout; null means 10."));
    c.insert(
        "engine".into(),
        A::optional(Type::String, "Container engine program: \"podman\" (null) or \"docker\", or a path."),
    );
    c.insert(
        "engine_kind".into(),
        A::optional(Type::String, "\"podman\" or \"docker\" when the program's name does not say."),
    );
    c.insert(
        "data_root".into(),
        A::optional(
            Type::String,
            "Directory holding the volume containers' data directories; null means /srv/vsn/data.",
        ),
    );
    c.insert(
        "volume_size_limit_gb".into(),
        A::optional(Type::Number, "Largest data directory allowed per volume container, GB; null means 200."),
    );
    c.insert(
        "env".into(),
        A::optional(map_of_strings(), "Environment for every engine command (e.g. CONTAINERS_CONF)."),
    );
    c.insert(
        "keep_images".into(),
        A::optional(Type::Bool, "Never remove images (vsn_image_cleanup then removes none); null means false."),
    );
    c.insert(
        "required_commands".into(),
        A::optional(list_of_strings(), "Further commands validation requires on the VSN."),
    );
    c.insert(
        "sandbox_node".into(),
        A::optional(
            Type::map(Type::Any),
            "Set by `--sandbox` only: the VSN it runs on this machine (`host`, `port`, `user`, `private_key_file`, `host_key_fingerprint` (pinned), `data_root`, `engine`, `env`), replacing the block's connection, host-key, engine and data settings. Leave it unset.",
        ),
    );
    s.resources.insert(HOST.into(), host());
    s.resources.insert(VOLUME.into(), volume());
    s.resources.insert(SERVICE.into(), service());
    s.resources.insert(CRON.into(), mail(cron()));
    s.resources.insert(MAINTENANCE.into(), maintenance());
    s.resources.insert(IMAGES.into(), image_cleanup());
    s.data_sources.insert(PLAN.into(), deployment_plan());
    s
}

#[cfg(test)]
mod tests {
    use tarn_sdk::Value;

    #[test]
    fn only_a_volume_asked_to_delete_its_data_has_an_irreversible_destroy() {
        let s = super::provider_schema();
        let volume = &s.resources[super::VOLUME];
        let with = |v: Value| Value::map([("delete_data_on_destroy", v)]);
        assert!(volume.destroy_irreversible_for(Some(&with(Value::Bool(true)))));
        assert!(!volume.destroy_irreversible_for(Some(&with(Value::Bool(false)))));
        assert!(!volume.destroy_irreversible_for(Some(&with(Value::Null))));
        assert!(!s.resources[super::SERVICE].destroy_irreversible_for(Some(&with(Value::Bool(true)))));
    }

    #[test]
    fn migrate_from_changes_in_place_and_its_key_material_is_sensitive() {
        let s = super::provider_schema();
        let v = &s.resources[super::VOLUME].attributes;
        assert!(!v["migrate_from"].force_new, "migrate_from matters only at creation");
        assert!(!v["migrate_from"].sensitive, "the source's address shows in plans");
        for key in [super::PRIVATE_KEY, super::PASSPHRASE] {
            assert!(v[key].sensitive && !v[key].force_new, "{key}");
        }
    }
}
