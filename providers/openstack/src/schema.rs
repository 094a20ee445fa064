//! The openstack provider's schema: its configuration (Keystone v3 password credentials, with
//! the OS_* environment variables and OVH Public Cloud's defaults), `openstack_compute_instance`,
//! `openstack_compute_keypair` and the flavors data source. Attribute names follow Terraform's
//! openstack provider where it has one, so configurations read familiar.
//!
//! The SDK's schema has no defaults: optional attributes whose null means the API's default
//! (a running server) stay null in state while the API holds that default, and show the real
//! value when it differs, so drift is never hidden.

use indexmap::IndexMap;
use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

pub const INSTANCE: &str = "openstack_compute_instance";
pub const KEYPAIR: &str = "openstack_compute_keypair";
pub const FLAVORS: &str = "openstack_compute_flavors";

pub fn provider_schema() -> ProviderSchema {
    let mut config = IndexMap::new();
    let mut add = |name: &str, attr: AttributeSchema| {
        config.insert(name.to_string(), attr);
    };
    add(
        "auth_url",
        AttributeSchema::optional(
            Type::String,
            "Keystone's v3 URL. Default: OS_AUTH_URL, else OVH Public Cloud's https://auth.cloud.ovh.net/v3. `--sandbox` points it at tarn's emulator.",
        ),
    );
    add("user_name", AttributeSchema::optional(Type::String, "The user to authenticate as. Default: OS_USERNAME."));
    add(
        "password",
        AttributeSchema::optional(
            Type::String,
            "The user's password. Default: OS_PASSWORD. Sent only in the body of POST /v3/auth/tokens, never logged.",
        )
        .sensitive(),
    );
    add(
        "project_id",
        AttributeSchema::optional(
            Type::String,
            "The project (tenant) to scope the token to. Default: OS_PROJECT_ID, else OS_TENANT_ID. One of project_id and project_name is needed.",
        ),
    );
    add(
        "project_name",
        AttributeSchema::optional(
            Type::String,
            "The project by name (OVH: the 16-digit tenant name of the openrc file). Default: OS_PROJECT_NAME, else OS_TENANT_NAME.",
        ),
    );
    add(
        "user_domain_name",
        AttributeSchema::optional(
            Type::String,
            "The user's domain. Default: OS_USER_DOMAIN_NAME, else Default (OVH's).",
        ),
    );
    add(
        "project_domain_name",
        AttributeSchema::optional(
            Type::String,
            "The project's domain when the project is given by name. Default: OS_PROJECT_DOMAIN_NAME, else Default (OVH's).",
        ),
    );
    add(
        "region",
        AttributeSchema::optional(
            Type::String,
            "The region whose public compute endpoint the catalog gives (OVH: GRA11, SBG5, BHS5, DE1, UK1, WAW1, …). Default: OS_REGION_NAME; may be left out when the catalog has one compute region.",
        ),
    );
    add(
        "action_timeout",
        AttributeSchema::optional(
            Type::Number,
            "Seconds to wait for a server to reach the status an action asks for (ACTIVE after a create, SHUTOFF after os-stop, gone after a delete); default 600.",
        ),
    );
    let mut resources = IndexMap::new();
    resources.insert(INSTANCE.to_string(), instance());
    resources.insert(KEYPAIR.to_string(), keypair());
    let mut data_sources = IndexMap::new();
    data_sources.insert(FLAVORS.to_string(), flavors());
    ProviderSchema { config, resources, data_sources }
}

fn instance() -> ResourceSchema {
    ResourceSchema::new(
        "A Nova server (OVH: an instance of Public Cloud). Created from an image id with a flavor (by id or by name), waited for until it is ACTIVE; a server that ends in ERROR fails the create with Nova's fault message, and is recorded so that it can be deleted. Only the name changes in place (PUT /servers/{id}); flavor, image, key pair, networks, user data, metadata and security groups replace the server, because Nova 2.1 as the spec file describes it has no call to change them. `power_state` stops and starts the server (os-stop, os-start, each waited for); a new `reboot_trigger` value reboots it.",
    )
    .refines_plan()
    .attr("name", AttributeSchema::required(Type::String, "The server's name (meveo's servers are named dev-…). Changed in place."))
    .attr(
        "flavor_id",
        AttributeSchema::optional_computed(Type::String, "The flavor's id. One of flavor_id and flavor_name is needed.")
            .force_new(),
    )
    .attr(
        "flavor_name",
        AttributeSchema::optional_computed(
            Type::String,
            "The flavor by name (OVH: d2-2, b3-8, …), resolved through GET /flavors.",
        )
        .force_new(),
    )
    .attr(
        "image_id",
        AttributeSchema::required(
            Type::String,
            "The Glance image's id (a UUID). Glance is outside the spec file, so images are given by id (OVH: `openstack image list`).",
        )
        .force_new(),
    )
    .attr(
        "key_pair",
        AttributeSchema::optional(Type::String, "The name of a key pair (openstack_compute_keypair) whose public key the server gets.")
            .force_new(),
    )
    .attr(
        "network_ids",
        AttributeSchema::optional(
            Type::list(Type::String),
            "Neutron network ids to attach, in order (OVH: Ext-Net for a public address, or a private network). Neutron is outside the spec file, so networks are given by id. Unset: the project's default.",
        )
        .force_new(),
    )
    .attr(
        "security_groups",
        AttributeSchema::optional_computed(Type::list(Type::String), "Security group names; default: the project's `default` group.")
            .force_new(),
    )
    .attr(
        "user_data",
        AttributeSchema::optional(Type::String, "cloud-init user data (sent base64-encoded; Nova 2.1 never shows it back).")
            .sensitive()
            .force_new(),
    )
    .attr(
        "metadata",
        AttributeSchema::optional(Type::Map { element: Box::new(Type::String) }, "Key/value metadata on the server.")
            .force_new(),
    )
    .attr(
        "power_state",
        AttributeSchema::optional(
            Type::String,
            "active (the default: running) or shutoff (stopped with os-stop). Changes go through os-start/os-stop and wait for the status.",
        ),
    )
    .attr(
        "reboot_trigger",
        AttributeSchema::optional(
            Type::String,
            "Any value; changing it reboots the server (the reboot action, waited for until ACTIVE).",
        ),
    )
    .attr("reboot_type", AttributeSchema::optional(Type::String, "SOFT (the default) or HARD, for reboots."))
    .attr("id", AttributeSchema::computed(Type::String, "The server's id (a UUID)."))
    .attr("status", AttributeSchema::computed(Type::String, "Nova's status: ACTIVE, SHUTOFF, ERROR, …"))
    .attr("access_ip_v4", AttributeSchema::computed(Type::String, "The server's first IPv4 address (the public one on OVH's Ext-Net)."))
    .attr("access_ip_v6", AttributeSchema::computed(Type::String, "The server's first IPv6 address."))
    .attr("created", AttributeSchema::computed(Type::String, "When the server was created (RFC 3339)."))
}

fn keypair() -> ResourceSchema {
    ResourceSchema::new(
        "A Nova key pair, imported from a public key (POST /os-keypairs). Key pairs cannot change: a new name or key replaces it. Import id: the key pair's name.",
    )
    .attr("name", AttributeSchema::required(Type::String, "The key pair's name: letters, digits, spaces, `-` and `_`.").force_new())
    .attr("public_key", AttributeSchema::required(Type::String, "The OpenSSH public key (ssh-ed25519 AAAA… comment).").force_new())
    .attr("fingerprint", AttributeSchema::computed(Type::String, "The key's MD5 fingerprint, as Nova gives it."))
    .attr("user_id", AttributeSchema::computed(Type::String, "The user who owns the key pair."))
}

fn flavors() -> ResourceSchema {
    let flavor = Type::object(&[
        ("id", Type::String),
        ("name", Type::String),
        ("vcpus", Type::Number),
        ("ram", Type::Number),
        ("disk", Type::Number),
    ]);
    ResourceSchema::new(
        "The flavors of the region (GET /flavors/detail, every page), filtered: by exact name, and by a minimum of CPUs, RAM and disk. A name that matches nothing is an error naming the flavors there are.",
    )
    .attr("name", AttributeSchema::optional(Type::String, "Only the flavor of this name."))
    .attr("min_vcpus", AttributeSchema::optional(Type::Number, "Only flavors with at least this many virtual CPUs."))
    .attr("min_ram", AttributeSchema::optional(Type::Number, "Only flavors with at least this much RAM, in MB."))
    .attr("min_disk", AttributeSchema::optional(Type::Number, "Only flavors with at least this root disk, in GB."))
    .attr(
        "flavors",
        AttributeSchema::computed(Type::List { element: Box::new(flavor) }, "The flavors, sorted by RAM then name: id, name, vcpus, ram (MB), disk (GB)."),
    )
    .attr("ids", AttributeSchema::computed(Type::list(Type::String), "The ids of `flavors`, in the same order."))
}
