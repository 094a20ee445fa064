//! The scaleway provider's schema: its configuration, `scaleway_instance_server`,
//! `scaleway_instance_ip`, `scaleway_instance_volume`, `scaleway_instance_image`, the security
//! groups and their rules, and the data sources (`scaleway_instance_image` is both, as in
//! Terraform's provider: the resource makes a backup, the data source finds an image). Attribute names
//! follow Terraform's scaleway provider where it has one, so configurations read familiar.
//! The SDK's schema has no defaults: optional attributes whose null means the API's default
//! (dynamic IP and IPv6 on, local boot, started) stay null in state while the API holds that
//! default, and show the real value when it differs, so drift is never hidden.

use indexmap::IndexMap;
use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

pub const SERVER: &str = "scaleway_instance_server";
pub const IP: &str = "scaleway_instance_ip";
pub const VOLUME: &str = "scaleway_instance_volume";
pub const SECURITY_GROUP: &str = "scaleway_instance_security_group";
pub const SECURITY_GROUP_RULE: &str = "scaleway_instance_security_group_rule";
pub const SERVER_TYPES: &str = "scaleway_instance_server_types";
pub const IMAGE: &str = "scaleway_instance_image";
pub const SERVERS: &str = "scaleway_instance_servers";

pub fn provider_schema() -> ProviderSchema {
    let mut config = IndexMap::new();
    config.insert(
        "secret_key".to_string(),
        AttributeSchema::optional(
            Type::String,
            "The secret of an IAM API key (a UUID). Default: the SCW_SECRET_KEY environment variable. Sent only as the redacted X-Auth-Token header.",
        )
        .sensitive(),
    );
    config.insert(
        "project_id".to_string(),
        AttributeSchema::optional(
            Type::String,
            "The Project new objects are created in. Default: SCW_DEFAULT_PROJECT_ID. (The Organization is the same entity in older APIs.)",
        ),
    );
    config.insert(
        "zone".to_string(),
        AttributeSchema::optional(
            Type::String,
            "The zone of objects that name none. Default: SCW_DEFAULT_ZONE, else fr-par-1.",
        ),
    );
    config.insert(
        "api_url".to_string(),
        AttributeSchema::optional(
            Type::String,
            "The API's base URL. Default: SCW_API_URL, else https://api.scaleway.com. `--sandbox` points it at tarn's emulator.",
        ),
    );
    config.insert(
        "action_timeout".to_string(),
        AttributeSchema::optional(
            Type::Number,
            "Seconds to wait for a server action's task (power on, power off) before failing (default 600).",
        ),
    );
    let mut resources = IndexMap::new();
    resources.insert(SERVER.to_string(), server());
    resources.insert(IP.to_string(), ip());
    resources.insert(VOLUME.to_string(), volume());
    resources.insert(SECURITY_GROUP.to_string(), security_group());
    resources.insert(SECURITY_GROUP_RULE.to_string(), security_group_rule());
    resources.insert(IMAGE.to_string(), image_resource());
    let mut data_sources = IndexMap::new();
    data_sources.insert(SERVER_TYPES.to_string(), server_types());
    data_sources.insert(IMAGE.to_string(), image());
    data_sources.insert(SERVERS.to_string(), servers());
    ProviderSchema { config, resources, data_sources }
}

fn zone_attr() -> AttributeSchema {
    AttributeSchema::optional_computed(Type::String, "The zone (fr-par-1, nl-ams-1, …); default: the provider's zone.")
        .force_new()
}

fn project_attr() -> AttributeSchema {
    AttributeSchema::optional_computed(Type::String, "The Project; default: the provider's project_id.").force_new()
}

fn server() -> ResourceSchema {
    let mut s = ResourceSchema::new(
        "An Instance (server), created from an image or \"from scratch\" from an existing volume, powered on or off as `state` says (server actions, each task polled until it ends). The seed's rules: the image never changes (a new one replaces the server); the local (l_ssd) volumes must together meet the commercial type's limits from products/servers (checked when a create is planned, and before any call when a server changes); local volumes are added or removed, and the type changed, only while stopped, so tarn stops the server, changes it and starts it again; delete powers off first, then deletes the server, and its root volume too only with delete_volumes_on_destroy = true (by default it is kept, detached).",
    )
    .refines_plan()
    .note_on_change(&["type"], "a running server is stopped, changed to the new type and started again")
    .note_on_change(
        &["additional_volume_ids"],
        "a running server is stopped to add or remove a local (l_ssd) volume, then started again",
    );
    s.irreversible_when = Some("delete_volumes_on_destroy".to_string());
    s.attr("name", AttributeSchema::required(Type::String, "The server's name (meveo lists servers named dev-…)."))
        .attr("zone", zone_attr())
        .attr("project_id", project_attr())
        .attr(
            "type",
            AttributeSchema::required(
                Type::String,
                "The commercial type (DEV1-S, GP1-XS, …). Changing it stops the server, changes it and starts it again.",
            ),
        )
        .attr(
            "image",
            AttributeSchema::optional(
                Type::String,
                "The image: an id, or a label (ubuntu_jammy) the API resolves to the zone's latest image. An image never changes: a new one replaces the server. Leave unset to boot from `root_volume_id`.",
            )
            .force_new(),
        )
        .attr("image_id", AttributeSchema::computed(Type::String, "The id of the image the server was created from."))
        .attr(
            "root_volume_id",
            AttributeSchema::optional_computed(
                Type::String,
                "An existing volume to boot from (creation \"from scratch\", without an image); computed otherwise.",
            )
            .force_new(),
        )
        .attr(
            "root_volume_size_in_gb",
            AttributeSchema::optional_computed(Type::Number, "The root volume's size in GB; default: the image's.")
                .force_new(),
        )
        .attr(
            "root_volume_type",
            AttributeSchema::optional_computed(Type::String, "l_ssd (local, the default), b_ssd or sbs_volume.")
                .force_new(),
        )
        .attr(
            "additional_volume_ids",
            AttributeSchema::optional(
                Type::list(Type::String),
                "Volumes (scaleway_instance_volume) attached after the root one. Adding or removing a local (l_ssd) volume stops the server, changes it and starts it again; the total local size must meet the type's limits.",
            ),
        )
        .attr("enable_dynamic_ip", AttributeSchema::optional(Type::Bool, "Give the server a dynamic public IPv4 when it has no flexible IP (default true)."))
        .attr("enable_ipv6", AttributeSchema::optional(Type::Bool, "Give the server an IPv6 address (default true)."))
        .attr("public_ip_ids", AttributeSchema::optional(Type::list(Type::String), "Flexible IPs (scaleway_instance_ip ids) attached to the server."))
        .attr("security_group_id", AttributeSchema::optional_computed(Type::String, "The security group; default: the Project's default group."))
        .attr("tags", AttributeSchema::optional(Type::list(Type::String), "Tags. tarn adds its own `tarn-correlation:…` tag, which never shows here."))
        .attr(
            "user_data",
            AttributeSchema::optional(
                Type::Map { element: Box::new(Type::String) },
                "The user data key/value store (`cloud-init` is read by cloud-init at boot). Use a sensitive variable for secrets.",
            ),
        )
        .attr("boot_type", AttributeSchema::optional(Type::String, "local (the default), bootscript or rescue."))
        .attr("state", AttributeSchema::optional(Type::String, "started (the default) or stopped; changed through server actions."))
        .attr(
            "delete_volumes_on_destroy",
            AttributeSchema::optional(
                Type::Bool,
                "On destroy, after powering off and deleting the server, delete its root volume too (default false: it is kept, detached, so no data is lost unless asked). Additional volumes are never deleted here.",
            ),
        )
        .attr("id", AttributeSchema::computed(Type::String, "The server's id."))
        .attr("public_ip", AttributeSchema::computed(Type::String, "The public IPv4 address (flexible or dynamic), if any."))
        .attr("ipv6_address", AttributeSchema::computed(Type::String, "The IPv6 address, if enabled."))
        .attr("private_ip", AttributeSchema::computed(Type::String, "The private address, if any."))
        .attr("creation_date", AttributeSchema::computed(Type::String, "When the server was created (RFC 3339)."))
}

fn ip() -> ResourceSchema {
    ResourceSchema::new("A flexible public IP, reserved in a zone and attached to at most one server; moving it keeps the address.")
        .attr("zone", zone_attr())
        .attr("project_id", project_attr())
        .attr("type", AttributeSchema::optional_computed(Type::String, "routed_ipv4 (the default) or routed_ipv6.").force_new())
        .attr("server_id", AttributeSchema::optional(Type::String, "The server to attach to; change it to move the IP (same address). Unset: the attachment is not managed here, so a server's public_ip_ids may attach the IP."))
        .attr("reverse", AttributeSchema::optional(Type::String, "The reverse DNS name."))
        .attr("tags", AttributeSchema::optional(Type::list(Type::String), "Tags. tarn adds its own `tarn-correlation:…` tag, which never shows here."))
        .attr("id", AttributeSchema::computed(Type::String, "The IP's id."))
        .attr("address", AttributeSchema::computed(Type::String, "The address."))
}

fn volume() -> ResourceSchema {
    let mut s = ResourceSchema::new(
        "A volume: local (l_ssd, only its name can change) or block (b_ssd, sbs_volume: size and name).",
    );
    s.destroy_is_irreversible = true;
    s.attr("name", AttributeSchema::required(Type::String, "The volume's name."))
        .attr("zone", zone_attr())
        .attr("project_id", project_attr())
        .attr("type", AttributeSchema::required(Type::String, "l_ssd, b_ssd or sbs_volume.").force_new())
        .attr(
            "size_in_gb",
            AttributeSchema::required(
                Type::Number,
                "The size in GB. A block volume can grow in place; a local volume's size cannot change.",
            ),
        )
        .attr(
            "tags",
            AttributeSchema::optional(
                Type::list(Type::String),
                "Tags. tarn adds its own `tarn-correlation:…` tag, which never shows here.",
            ),
        )
        .attr("id", AttributeSchema::computed(Type::String, "The volume's id."))
        .attr("server_id", AttributeSchema::computed(Type::String, "The server it is attached to, if any."))
}

fn security_group() -> ResourceSchema {
    ResourceSchema::new(
        "A security group: default inbound and outbound policies and statefulness; servers join it with security_group_id. Creating one past the account's quota is refused with the quota named; deleting one a server still uses is refused.",
    )
    .attr("name", AttributeSchema::required(Type::String, "The group's name."))
    .attr("zone", zone_attr())
    .attr("project_id", project_attr())
    .attr("description", AttributeSchema::optional(Type::String, "A description."))
    .attr("inbound_default_policy", AttributeSchema::optional(Type::String, "accept (the default) or drop: what happens to inbound traffic no rule matches."))
    .attr("outbound_default_policy", AttributeSchema::optional(Type::String, "accept (the default) or drop, for outbound traffic."))
    .attr("stateful", AttributeSchema::optional(Type::Bool, "Whether replies to allowed traffic are allowed too (default true)."))
    .attr("tags", AttributeSchema::optional(Type::list(Type::String), "Tags. tarn adds its own `tarn-correlation:…` tag, which never shows here."))
    .attr("id", AttributeSchema::computed(Type::String, "The group's id."))
}

fn security_group_rule() -> ResourceSchema {
    ResourceSchema::new("One rule of a security group. Rules carry no tags: after a crash, a rule identical to the planned one is adopted.")
        .attr("security_group_id", AttributeSchema::required(Type::String, "The group's id.").force_new())
        .attr("zone", zone_attr())
        .attr("direction", AttributeSchema::required(Type::String, "inbound or outbound."))
        .attr("action", AttributeSchema::required(Type::String, "accept or drop."))
        .attr("protocol", AttributeSchema::optional(Type::String, "TCP, UDP, ICMP or ANY (the default)."))
        .attr("ip_range", AttributeSchema::optional(Type::String, "The addresses it applies to, as a network (default 0.0.0.0/0)."))
        .attr("port_from", AttributeSchema::optional(Type::Number, "First destination port (TCP/UDP)."))
        .attr("port_to", AttributeSchema::optional(Type::Number, "Last destination port; default: port_from."))
        .attr("id", AttributeSchema::computed(Type::String, "The rule's id."))
}

fn image_resource() -> ResourceSchema {
    let mut s = ResourceSchema::new(
        "An image made by backing a server up (the server's `backup` action, its task polled until it ends): the image and a snapshot of each of the server's volumes, in the server's zone (checked at plan time when the server already exists). Only the name and tags change in place; another server replaces the image. Destroying it deletes the image, and its snapshots too only with delete_snapshots_on_destroy = true (by default they are kept). A server's `image` takes its id.",
    )
    .refines_plan();
    s.irreversible_when = Some("delete_snapshots_on_destroy".to_string());
    s.attr("name", AttributeSchema::required(Type::String, "The image's name."))
        .attr("zone", AttributeSchema::optional_computed(Type::String, "The zone, which must be the server's; default: the provider's zone.").force_new())
        .attr(
            "server_id",
            AttributeSchema::required(Type::String, "The server to back up (all its volumes). Another server makes another image.")
                .force_new(),
        )
        .attr("project_id", AttributeSchema::computed(Type::String, "The Project (the server's)."))
        .attr("tags", AttributeSchema::optional(Type::list(Type::String), "Tags. tarn adds its own `tarn-correlation:…` tag, which never shows here."))
        .attr(
            "delete_snapshots_on_destroy",
            AttributeSchema::optional(
                Type::Bool,
                "On destroy, after deleting the image, delete its snapshots too (default false: they are kept, so no data is lost unless asked).",
            ),
        )
        .attr("id", AttributeSchema::computed(Type::String, "The image's id."))
        .attr("root_snapshot_id", AttributeSchema::computed(Type::String, "The snapshot of the server's root volume."))
        .attr("additional_snapshot_ids", AttributeSchema::computed(Type::list(Type::String), "The snapshots of its other volumes, in order."))
        .attr("arch", AttributeSchema::computed(Type::String, "x86_64 or arm64."))
        .attr("creation_date", AttributeSchema::computed(Type::String, "When the image was made (RFC 3339)."))
}

fn server_types() -> ResourceSchema {
    let ty = Type::object(&[
        ("name", Type::String),
        ("ncpus", Type::Number),
        ("ram", Type::Number),
        ("arch", Type::String),
        ("hourly_price", Type::Number),
        ("volumes_min_size_in_gb", Type::Number),
        ("volumes_max_size_in_gb", Type::Number),
    ]);
    ResourceSchema::new("The commercial types of a zone, with the limits on their total local volume size.")
        .attr("zone", AttributeSchema::optional(Type::String, "The zone; default: the provider's zone."))
        .attr("types", AttributeSchema::computed(Type::List { element: Box::new(ty) }, "Every type, sorted by name."))
}

fn image() -> ResourceSchema {
    ResourceSchema::new("An image of a zone, found by exact name (the newest one wins). A server's `image` also takes a label, which the API resolves.")
        .attr("zone", AttributeSchema::optional(Type::String, "The zone; default: the provider's zone."))
        .attr("name", AttributeSchema::required(Type::String, "The image's exact name."))
        .attr("id", AttributeSchema::computed(Type::String, "The image's id."))
        .attr("arch", AttributeSchema::computed(Type::String, "x86_64 or arm64."))
        .attr("public", AttributeSchema::computed(Type::Bool, "Whether it is a public (Marketplace) image."))
        .attr("root_volume_size_in_gb", AttributeSchema::computed(Type::Number, "The size of its root volume, in GB."))
}

fn servers() -> ResourceSchema {
    let ty = Type::object(&[
        ("id", Type::String),
        ("name", Type::String),
        ("type", Type::String),
        ("state", Type::String),
        ("public_ip", Type::String),
        ("tags", Type::list(Type::String)),
    ]);
    ResourceSchema::new("The servers of a zone whose names start with a prefix (meveo's `dev-`).")
        .attr("zone", AttributeSchema::optional(Type::String, "The zone; default: the provider's zone."))
        .attr("name_prefix", AttributeSchema::required(Type::String, "Only servers whose names start with this."))
        .attr(
            "servers",
            AttributeSchema::computed(Type::List { element: Box::new(ty) }, "The servers, sorted by name."),
        )
}
