//! The cloudflare provider's schema: its configuration, `cloudflare_dns_record`,
//! `cloudflare_zone_lockdown`, and the data sources `cloudflare_zone`, `cloudflare_zones`,
//! `cloudflare_dns_records` and `cloudflare_zone_lockdowns`. Attribute names follow the
//! API's fields. The SDK's schema has no defaults, so `ttl`, `proxied`, `comment`,
//! `description` and `paused` are plain optional attributes whose null means the API's default
//! (1, false, none, "", false): `read` writes the real value only when it differs from that,
//! so a drifted value shows instead of hiding behind the prior one.

use indexmap::IndexMap;
use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

pub const DNS_RECORD: &str = "cloudflare_dns_record";
pub const ZONE_LOCKDOWN: &str = "cloudflare_zone_lockdown";
pub const ZONE: &str = "cloudflare_zone";
pub const ZONES: &str = "cloudflare_zones";
pub const DNS_RECORDS: &str = "cloudflare_dns_records";
pub const ZONE_LOCKDOWNS: &str = "cloudflare_zone_lockdowns";

pub fn provider_schema() -> ProviderSchema {
    let mut config = IndexMap::new();
    config.insert(
        "api_token".to_string(),
        AttributeSchema::optional(
            Type::String,
            "An API token with the permissions the configuration needs (Zone:Read, DNS:Edit, Zone WAF:Edit). Default: the CLOUDFLARE_API_TOKEN environment variable.",
        )
        .sensitive(),
    );
    config.insert(
        "base_url".to_string(),
        AttributeSchema::optional(
            Type::String,
            "The API's base URL. Default: CLOUDFLARE_BASE_URL, else https://api.cloudflare.com/client/v4. `--sandbox` points it at tarn's emulator.",
        ),
    );
    config.insert(
        "correlation_tags".to_string(),
        AttributeSchema::optional(
            Type::Bool,
            "Tag each DNS record tarn creates with `tarn-correlation:<tag>`, so a run interrupted mid-create can find and adopt it (default true). Set false on plans without a DNS tag quota: an interrupted create then has to be cleaned up by hand.",
        ),
    );
    config.insert(
        "lockdown_limit".to_string(),
        AttributeSchema::optional(
            Type::Number,
            "Active zone lockdown rules a zone may hold, checked at plan time against the zone's active rules plus the plan's new ones (default 3, the Pro plan's quota; Business 10, Enterprise 200).",
        ),
    );
    let mut resources = IndexMap::new();
    resources.insert(DNS_RECORD.to_string(), dns_record());
    resources.insert(ZONE_LOCKDOWN.to_string(), zone_lockdown());
    let mut data_sources = IndexMap::new();
    data_sources.insert(ZONE.to_string(), zone());
    data_sources.insert(ZONES.to_string(), zones());
    data_sources.insert(DNS_RECORDS.to_string(), dns_records());
    data_sources.insert(ZONE_LOCKDOWNS.to_string(), zone_lockdowns());
    ProviderSchema { config, resources, data_sources }
}

fn dns_record() -> ResourceSchema {
    ResourceSchema::new("A DNS record in a Cloudflare zone (content-based types: A, AAAA, CNAME, MX, NS, PTR, TXT).")
        .attr("zone_id", AttributeSchema::required(Type::String, "The zone's identifier (32 hex digits).").force_new())
        .attr(
            "name",
            AttributeSchema::required(
                Type::String,
                "The record name: relative (`www`), `@` for the apex, or fully qualified.",
            ),
        )
        .attr(
            "type",
            AttributeSchema::required(Type::String, "The record type: A, AAAA, CNAME, MX, NS, PTR or TXT.").force_new(),
        )
        .attr(
            "content",
            AttributeSchema::required(Type::String, "The record's value: an address, a host name or text."),
        )
        .attr(
            "ttl",
            AttributeSchema::optional(
                Type::Number,
                "Time to live in seconds, 60..86400, or 1 for automatic (the default; proxied records are always 1).",
            ),
        )
        .attr(
            "proxied",
            AttributeSchema::optional(
                Type::Bool,
                "Whether Cloudflare proxies the traffic (A, AAAA and CNAME only; default false).",
            ),
        )
        .attr("priority", AttributeSchema::optional(Type::Number, "Priority, 0..65535; required for MX."))
        .attr("comment", AttributeSchema::optional(Type::String, "A note kept with the record; no effect on DNS."))
        .attr("id", AttributeSchema::computed(Type::String, "The record's identifier."))
        .attr(
            "hostname",
            AttributeSchema::computed(Type::String, "The fully qualified record name, as the API stores it."),
        )
        .attr("proxiable", AttributeSchema::computed(Type::Bool, "Whether the record can be proxied."))
        .attr("created_on", AttributeSchema::computed(Type::String, "When the record was created (RFC 3339)."))
}

fn configuration_type() -> Type {
    let mut attributes = IndexMap::new();
    attributes.insert("target".to_string(), Type::String);
    attributes.insert("value".to_string(), Type::String);
    Type::Object { attributes, optional: Vec::new() }
}

fn zone_lockdown() -> ResourceSchema {
    ResourceSchema::new("A zone lockdown rule: only the listed addresses may reach the listed URLs.")
        .attr("zone_id", AttributeSchema::required(Type::String, "The zone's identifier (32 hex digits).").force_new())
        .attr("urls", AttributeSchema::required(Type::List { element: Box::new(Type::String) }, "The URLs to lock down; simple wildcards allowed (`shop.example.com/*`)."))
        .attr(
            "configurations",
            AttributeSchema::required(
                Type::List { element: Box::new(configuration_type()) },
                "Who may reach them: objects with `target` \"ip\" (an address) or \"ip_range\" (a /16 or /24 IPv4 range; /32, /48 or /64 IPv6) and `value`.",
            ),
        )
        .attr("description", AttributeSchema::optional(Type::String, "A summary of the rule, up to 1024 characters."))
        .attr("paused", AttributeSchema::optional(Type::Bool, "Whether the rule is paused (default false)."))
        .attr("id", AttributeSchema::computed(Type::String, "The rule's identifier."))
        .attr("created_on", AttributeSchema::computed(Type::String, "When the rule was created (RFC 3339)."))
        // `plan` counts the rules a plan creates against the zone's quota of active rules.
        .refines_plan()
}

fn zone() -> ResourceSchema {
    ResourceSchema::new("A zone the token can see, looked up by name.")
        .attr("name", AttributeSchema::required(Type::String, "The zone's domain name, e.g. example.com."))
        .attr("id", AttributeSchema::computed(Type::String, "The zone's identifier: use it as `zone_id`."))
        .attr("status", AttributeSchema::computed(Type::String, "initializing, pending, active or moved."))
        .attr(
            "name_servers",
            AttributeSchema::computed(
                Type::List { element: Box::new(Type::String) },
                "The name servers Cloudflare assigned to the zone.",
            ),
        )
        .attr("account_id", AttributeSchema::computed(Type::String, "The account the zone belongs to."))
}

fn zones() -> ResourceSchema {
    let zone = Type::object(&[
        ("id", Type::String),
        ("name", Type::String),
        ("status", Type::String),
        ("name_servers", Type::list(Type::String)),
        ("account_id", Type::String),
    ]);
    ResourceSchema::new("The zones the token can see, sorted by name.")
        .attr(
            "name",
            AttributeSchema::optional(
                Type::String,
                "Only zones with this name; Cloudflare's operators work too (`starts_with:dev`, `ends_with:.org`, `contains:shop`).",
            ),
        )
        .attr("status", AttributeSchema::optional(Type::String, "Only zones in this status: initializing, pending, active or moved."))
        .attr("zones", AttributeSchema::computed(Type::list(zone), "Each zone: id, name, status, name_servers, account_id."))
}

fn dns_records() -> ResourceSchema {
    let record = Type::object(&[
        ("id", Type::String),
        ("name", Type::String),
        ("type", Type::String),
        ("content", Type::String),
        ("ttl", Type::Number),
        ("proxied", Type::Bool),
        ("comment", Type::String),
    ]);
    ResourceSchema::new("The DNS records of a zone, in the API's order.")
        .attr("zone_id", AttributeSchema::required(Type::String, "The zone's identifier (32 hex digits)."))
        .attr("name", AttributeSchema::optional(Type::String, "Only records with this fully qualified name."))
        .attr("type", AttributeSchema::optional(Type::String, "Only records of this type (A, AAAA, CNAME, …)."))
        .attr(
            "records",
            AttributeSchema::computed(
                Type::list(record),
                "Each record: id, name (fully qualified), type, content, ttl, proxied, comment (null when none).",
            ),
        )
}

fn zone_lockdowns() -> ResourceSchema {
    let configuration = configuration_type();
    let rule = Type::object(&[
        ("id", Type::String),
        ("urls", Type::list(Type::String)),
        ("configurations", Type::list(configuration)),
        ("description", Type::String),
        ("paused", Type::Bool),
    ]);
    ResourceSchema::new("The zone lockdown rules of a zone, and how many are active.")
        .attr("zone_id", AttributeSchema::required(Type::String, "The zone's identifier (32 hex digits)."))
        .attr(
            "rules",
            AttributeSchema::computed(Type::list(rule), "Each rule: id, urls, configurations, description, paused."),
        )
        .attr(
            "active_rules",
            AttributeSchema::computed(
                Type::Number,
                "How many of them are active (not paused): what counts against the quota.",
            ),
        )
}
