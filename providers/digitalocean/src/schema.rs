//! The digitalocean provider's schema: its configuration, `digitalocean_droplet`,
//! `digitalocean_ssh_key`, `digitalocean_domain`, `digitalocean_record`,
//! `digitalocean_loadbalancer`, `digitalocean_tag` and the `digitalocean_droplets` data source.
//! Attribute names follow Terraform's digitalocean provider where it has one, so
//! configurations read familiar. Ids are strings (the API's numbers, written out).
//! The SDK's schema has no defaults: optional attributes whose null means the API's default
//! stay null in state while the API holds that default, and show the real value when it
//! differs, so drift is never hidden.

use indexmap::IndexMap;
use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

pub const DROPLET: &str = "digitalocean_droplet";
pub const SSH_KEY: &str = "digitalocean_ssh_key";
pub const DOMAIN: &str = "digitalocean_domain";
pub const RECORD: &str = "digitalocean_record";
pub const LOADBALANCER: &str = "digitalocean_loadbalancer";
pub const TAG: &str = "digitalocean_tag";
pub const DROPLETS: &str = "digitalocean_droplets";

/// One forwarding rule of a load balancer.
pub fn forwarding_rule_type() -> Type {
    Type::object_with_optional(
        &[
            ("entry_protocol", Type::String),
            ("entry_port", Type::Number),
            ("target_protocol", Type::String),
            ("target_port", Type::Number),
            ("certificate_id", Type::String),
            ("tls_passthrough", Type::Bool),
        ],
        &["certificate_id", "tls_passthrough"],
    )
}

/// A load balancer's health check; every field optional (the API's defaults apply).
pub fn healthcheck_type() -> Type {
    let fields = [
        ("protocol", Type::String),
        ("port", Type::Number),
        ("path", Type::String),
        ("check_interval_seconds", Type::Number),
        ("response_timeout_seconds", Type::Number),
        ("unhealthy_threshold", Type::Number),
        ("healthy_threshold", Type::Number),
    ];
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    Type::object_with_optional(&fields, &names)
}

pub fn provider_schema() -> ProviderSchema {
    let mut config = IndexMap::new();
    config.insert(
        "token".to_string(),
        AttributeSchema::optional(
            Type::String,
            "A personal access token. Default: the DIGITALOCEAN_TOKEN environment variable (or DIGITALOCEAN_ACCESS_TOKEN). Sent only as the redacted Authorization header.",
        )
        .sensitive(),
    );
    config.insert(
        "api_url".to_string(),
        AttributeSchema::optional(
            Type::String,
            "The API's base URL. Default: DIGITALOCEAN_API_URL, else https://api.digitalocean.com. `--sandbox` points it at tarn's emulator.",
        ),
    );
    config.insert(
        "action_timeout".to_string(),
        AttributeSchema::optional(
            Type::Number,
            "Seconds to wait for a droplet action (create, power on, power off, resize, rename) to complete before failing (default 600).",
        ),
    );
    let mut resources = IndexMap::new();
    resources.insert(DROPLET.to_string(), droplet());
    resources.insert(SSH_KEY.to_string(), ssh_key());
    resources.insert(DOMAIN.to_string(), domain());
    resources.insert(RECORD.to_string(), record());
    resources.insert(LOADBALANCER.to_string(), loadbalancer());
    resources.insert(TAG.to_string(), tag());
    let mut data_sources = IndexMap::new();
    data_sources.insert(DROPLETS.to_string(), droplets());
    ProviderSchema { config, resources, data_sources }
}

fn droplet() -> ResourceSchema {
    let mut s = ResourceSchema::new(
        "A droplet (virtual machine). Created from an image in a region, waited for until its create action completes; powered on or off as `power_state` says (droplet actions, each waited for). A new name is a rename action; a new size powers the droplet off, resizes it (CPU and RAM only, so it can be resized back) and powers it on again; IPv6 can be enabled in place but never disabled (that replaces the droplet). Image, region, SSH keys, user data and monitoring are fixed at creation: changing one replaces the droplet.",
    )
    .refines_plan();
    s.destroy_is_irreversible = true;
    s.attr("name", AttributeSchema::required(Type::String, "The droplet's name (its hostname)."))
        .attr("region", AttributeSchema::required(Type::String, "The region slug (nyc3, ams3, fra1, …).").force_new())
        .attr("size", AttributeSchema::required(Type::String, "The size slug (s-1vcpu-1gb, …). A change powers off, resizes and powers on."))
        .attr("image", AttributeSchema::required(Type::String, "The image slug (ubuntu-24-04-x64, …) or id.").force_new())
        .attr(
            "ssh_keys",
            AttributeSchema::optional(Type::list(Type::String), "SSH keys (ids or fingerprints, e.g. digitalocean_ssh_key.x.id) put in root's authorized_keys at creation.").force_new(),
        )
        .attr("tags", AttributeSchema::optional(Type::list(Type::String), "Tags. tarn adds its own `tarn-correlation:…` tag, which never shows here."))
        .attr(
            "project",
            AttributeSchema::optional(
                Type::String,
                "The project this droplet belongs to, carried as a tag of that name (Pond: droplets are tagged with their project's name). It never shows in `tags`.",
            ),
        )
        .attr(
            "user_data",
            AttributeSchema::optional(Type::String, "Cloud-init user data, at most 64 KiB. The API never shows it again: it is kept as configured. Use a sensitive variable for secrets.").force_new(),
        )
        .attr("ipv6", AttributeSchema::optional(Type::Bool, "Give the droplet an IPv6 address (default false). Enabled in place; disabling replaces the droplet."))
        .attr("monitoring", AttributeSchema::optional(Type::Bool, "Install the metrics agent (default false).").force_new())
        .attr("power_state", AttributeSchema::optional(Type::String, "on (the default) or off; changed through power_on and power_off actions."))
        .attr("id", AttributeSchema::computed(Type::String, "The droplet's id (a number, as a string)."))
        .attr("ipv4_address", AttributeSchema::computed(Type::String, "The public IPv4 address."))
        .attr("ipv4_address_private", AttributeSchema::computed(Type::String, "The private (VPC) IPv4 address."))
        .attr("ipv6_address", AttributeSchema::computed(Type::String, "The public IPv6 address, when IPv6 is enabled."))
        .attr("created_at", AttributeSchema::computed(Type::String, "When the droplet was created (RFC 3339)."))
}

fn ssh_key() -> ResourceSchema {
    ResourceSchema::new(
        "An SSH public key of the account, for droplets' `ssh_keys`. Only the name can change; a new key replaces it.",
    )
    .attr("name", AttributeSchema::required(Type::String, "The key's name."))
    .attr(
        "public_key",
        AttributeSchema::required(Type::String, "The public key (ssh-ed25519 AAAA… comment).").force_new(),
    )
    .attr("id", AttributeSchema::computed(Type::String, "The key's id (a number, as a string)."))
    .attr("fingerprint", AttributeSchema::computed(Type::String, "The key's MD5 fingerprint (3b:16:bf:…)."))
}

fn domain() -> ResourceSchema {
    let mut s = ResourceSchema::new("A domain whose DNS DigitalOcean serves. Deleting it deletes all its records.");
    s.destroy_is_irreversible = true;
    s.attr("name", AttributeSchema::required(Type::String, "The domain name (example.com).").force_new())
        .attr(
            "ip_address",
            AttributeSchema::optional(
                Type::String,
                "An address for the apex A record created with the domain (the API does not show it again).",
            )
            .force_new(),
        )
        .attr("id", AttributeSchema::computed(Type::String, "The domain name."))
        .attr("ttl", AttributeSchema::computed(Type::Number, "The domain's default TTL."))
}

fn record() -> ResourceSchema {
    ResourceSchema::new("A DNS record of a digitalocean_domain: A, AAAA, CNAME, TXT or MX. Changed in place (PUT); a new domain or type replaces it.")
        .attr("domain", AttributeSchema::required(Type::String, "The domain (digitalocean_domain.x.id).").force_new())
        .attr("type", AttributeSchema::required(Type::String, "A, AAAA, CNAME, TXT or MX.").force_new())
        .attr("name", AttributeSchema::required(Type::String, "The host name relative to the domain; @ for the apex."))
        .attr("value", AttributeSchema::required(Type::String, "The record's data: an address, a host name (CNAME and MX: @ or a name ending with a dot), or text."))
        .attr("ttl", AttributeSchema::optional_computed(Type::Number, "Seconds (default 1800)."))
        .attr("priority", AttributeSchema::optional(Type::Number, "MX only: the priority (required there)."))
        .attr("id", AttributeSchema::computed(Type::String, "The record's id (a number, as a string)."))
        .attr("fqdn", AttributeSchema::computed(Type::String, "The record's full name."))
}

fn loadbalancer() -> ResourceSchema {
    ResourceSchema::new(
        "A load balancer in a region: forwarding rules, a health check, and its droplets, by id or by tag (one or the other). Changed in place (PUT with the whole object).",
    )
    .attr("name", AttributeSchema::required(Type::String, "The load balancer's name."))
    .attr("region", AttributeSchema::required(Type::String, "The region slug.").force_new())
    .attr("size", AttributeSchema::optional_computed(Type::String, "lb-small (the default), lb-medium or lb-large."))
    .attr(
        "forwarding_rule",
        AttributeSchema::required(
            Type::List { element: Box::new(forwarding_rule_type()) },
            "Forwarding rules: entry_protocol and entry_port (http, https, http2, http3, tcp, udp), target_protocol and target_port, optional certificate_id and tls_passthrough.",
        ),
    )
    .attr(
        "healthcheck",
        AttributeSchema::optional(
            healthcheck_type(),
            "The health check: protocol (http, https, tcp), port, path, check_interval_seconds, response_timeout_seconds, unhealthy_threshold, healthy_threshold; each unset field takes the API's default.",
        ),
    )
    .attr("droplet_ids", AttributeSchema::optional(Type::list(Type::String), "The droplets to balance across (ids). Not with droplet_tag."))
    .attr("droplet_tag", AttributeSchema::optional(Type::String, "Balance across every droplet with this tag. Not with droplet_ids."))
    .attr("redirect_http_to_https", AttributeSchema::optional(Type::Bool, "Redirect HTTP on port 80 to HTTPS on 443 (default false)."))
    .attr("id", AttributeSchema::computed(Type::String, "The load balancer's id (a UUID)."))
    .attr("ip", AttributeSchema::computed(Type::String, "The load balancer's public IPv4 address."))
    .attr("status", AttributeSchema::computed(Type::String, "new, active or errored."))
}

fn tag() -> ResourceSchema {
    ResourceSchema::new("A tag, for droplets' `tags` and load balancers' `droplet_tag`. Only created and deleted; deleting it untags everything.")
        .attr("name", AttributeSchema::required(Type::String, "The tag: letters, digits, ':', '-' and '_'.").force_new())
        .attr("id", AttributeSchema::computed(Type::String, "The tag's name."))
}

fn droplets() -> ResourceSchema {
    let ty = Type::object_with_optional(
        &[
            ("id", Type::String),
            ("name", Type::String),
            ("region", Type::String),
            ("size", Type::String),
            ("status", Type::String),
            ("ipv4_address", Type::String),
            ("tags", Type::list(Type::String)),
        ],
        &[],
    );
    ResourceSchema::new(
        "The droplets of the account, all or those with a tag (a Pond project's droplets), sorted by name.",
    )
    .attr("tag", AttributeSchema::optional(Type::String, "Only droplets with this tag."))
    .attr(
        "droplets",
        AttributeSchema::computed(
            Type::List { element: Box::new(ty) },
            "Each droplet: id, name, region, size, status (new, active, off), ipv4_address, tags.",
        ),
    )
}
