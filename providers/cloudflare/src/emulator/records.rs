//! `/zones/{zone_id}/dns_records[/{id}]`: list (filters, order, pages of 1..5000000, default
//! 100), create, details, overwrite (PUT), update (PATCH) and delete, with Cloudflare's
//! validation: record names made fully qualified, content checked per type, TTL 1 or
//! 60..86400, proxying only for A/AAAA/CNAME (and then TTL 1), identical records refused
//! (81057), CNAME beside A/AAAA/CNAME refused (81053), missing records 81044.
//!
//! Only content-based types are modelled (A, AAAA, CNAME, MX, NS, PTR, TXT); the `data`-based
//! ones are refused with a message saying so.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value as Json, json};

use super::data::{Data, Record, Zone, new_id, now};
use super::envelope::{self, ApiError, Failure, PageRule, Paging};

const RECORD_PAGES: PageRule = PageRule { default: 100, min: 1, max: 5_000_000, multiple_of_five: false };

/// Every type the spec names.
const ALL_TYPES: &[&str] = &[
    "A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS", "LOC", "MX", "NAPTR", "NS", "PTR", "SMIMEA", "SRV",
    "SSHFP", "SVCB", "TLSA", "TXT", "URI",
];
/// The types whose value is `content` (the others take `data`).
const CONTENT_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "NS", "PTR", "TXT"];

fn zone(data: &Data, zone_id: &str, uri: &Uri) -> Result<Zone, Failure> {
    data.zones.get(zone_id).ok_or_else(|| Failure::no_route(uri.path()))
}

fn missing_record() -> Failure {
    Failure::new(StatusCode::NOT_FOUND, 81044, "Record does not exist.")
}

fn record_in(data: &Data, zone: &Zone, id: &str) -> Result<Record, Failure> {
    data.records.get(id).filter(|r| r.zone_id == zone.id).ok_or_else(missing_record)
}

pub async fn list(
    State(data): State<Data>,
    Path(zone_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    let paging = Paging::parse(q.get("page").map(String::as_str), q.get("per_page").map(String::as_str), RECORD_PAGES)?;
    let any = match q.get("match").map(String::as_str) {
        None | Some("all") => false,
        Some("any") => true,
        Some(other) => return Err(Failure::bad_request(1004, format!("match must be any or all, got {other:?}"))),
    };
    let tag_any = q.get("tag_match").is_some_and(|m| m == "any");
    let mut records: Vec<Record> = data
        .records
        .list()
        .into_iter()
        .filter(|r| r.zone_id == zone.id)
        .filter(|r| {
            let checks = field_checks(r, &q, &zone);
            let tags = tag_checks(r, &q);
            let fields_ok =
                if any { checks.is_empty() || checks.iter().any(|c| *c) } else { checks.iter().all(|c| *c) };
            let tags_ok = if tag_any { tags.is_empty() || tags.iter().any(|c| *c) } else { tags.iter().all(|c| *c) };
            fields_ok && tags_ok
        })
        .collect();
    let order = q.get("order").map(String::as_str).unwrap_or("type");
    let key = |r: &Record| -> String {
        match order {
            "name" => r.name.clone(),
            "content" => r.content.clone(),
            "ttl" => format!("{:010}", r.ttl),
            "proxied" => r.proxied.to_string(),
            _ => r.kind.clone(),
        }
    };
    records.sort_by_key(key);
    if q.get("direction").is_some_and(|d| d == "desc") {
        records.reverse();
    }
    Ok(envelope::list(records.iter().map(|r| r.to_json(&zone.name)).collect(), paging))
}

/// The outcome of each field filter present in the query (`match` combines them).
fn field_checks(r: &Record, q: &HashMap<String, String>, zone: &Zone) -> Vec<bool> {
    let lower = |s: &str| s.to_lowercase();
    let comment = r.comment.as_deref().map(lower);
    let mut checks = Vec::new();
    for (key, wanted) in q {
        let w = lower(wanted);
        let check = match key.as_str() {
            "name" => r.name == fqdn(wanted, &zone.name),
            "type" => r.kind.eq_ignore_ascii_case(wanted),
            "content" => r.content.eq_ignore_ascii_case(wanted),
            "proxied" => r.proxied.to_string() == w,
            "comment" | "comment.exact" => comment.as_deref() == Some(w.as_str()),
            "comment.present" => comment.is_some(),
            "comment.absent" => comment.is_none(),
            "comment.contains" => comment.as_deref().is_some_and(|c| c.contains(&w)),
            "comment.startswith" => comment.as_deref().is_some_and(|c| c.starts_with(&w)),
            "comment.endswith" => comment.as_deref().is_some_and(|c| c.ends_with(&w)),
            _ => continue,
        };
        checks.push(check);
    }
    checks
}

/// The outcome of each tag filter (`tag_match` combines them). Tags are `name:value`.
fn tag_checks(r: &Record, q: &HashMap<String, String>) -> Vec<bool> {
    let tags: Vec<(String, String)> = r
        .tags
        .iter()
        .map(|t| {
            let (n, v) = t.split_once(':').unwrap_or((t, ""));
            (n.to_lowercase(), v.to_lowercase())
        })
        .collect();
    let mut checks = Vec::new();
    for (key, wanted) in q {
        let w = wanted.to_lowercase();
        let (name, value) =
            w.split_once(':').map(|(n, v)| (n.to_string(), Some(v.to_string()))).unwrap_or((w.clone(), None));
        let has = |pred: &dyn Fn(&str) -> bool| tags.iter().any(|(n, v)| *n == name && pred(v.as_str()));
        let check = match (key.as_str(), &value) {
            ("tag", None) | ("tag.present", _) => has(&|_| true),
            ("tag.absent", _) => !has(&|_| true),
            ("tag", Some(v)) | ("tag.exact", Some(v)) => has(&|x| x == v.as_str()),
            ("tag.contains", Some(v)) => has(&|x| x.contains(v.as_str())),
            ("tag.startswith", Some(v)) => has(&|x| x.starts_with(v.as_str())),
            ("tag.endswith", Some(v)) => has(&|x| x.ends_with(v.as_str())),
            _ => continue,
        };
        checks.push(check);
    }
    checks
}

pub async fn create(
    State(data): State<Data>,
    Path(zone_id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    let fields = validate(&zone, envelope::parse_body(&body)?)?;
    conflicts(&data, &zone, &fields, None)?;
    let stamp = now();
    let record = fields.into_record(new_id(), zone.id.clone(), stamp.clone(), stamp);
    data.records.put(&record.id.clone(), record.clone());
    data.persist();
    Ok(envelope::ok(record.to_json(&zone.name)))
}

pub async fn get(
    State(data): State<Data>,
    Path((zone_id, id)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    Ok(envelope::ok(record_in(&data, &zone, &id)?.to_json(&zone.name)))
}

/// PUT: the body is the whole record.
pub async fn put(
    State(data): State<Data>,
    Path((zone_id, id)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    let existing = record_in(&data, &zone, &id)?;
    let fields = validate(&zone, envelope::parse_body(&body)?)?;
    replace(&data, &zone, existing, fields)
}

/// PATCH: the body's fields over the record's.
pub async fn patch(
    State(data): State<Data>,
    Path((zone_id, id)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    let existing = record_in(&data, &zone, &id)?;
    let mut merged = match existing.to_json(&zone.name) {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    for (k, v) in envelope::parse_body(&body)? {
        merged.insert(k, v);
    }
    let fields = validate(&zone, merged)?;
    replace(&data, &zone, existing, fields)
}

fn replace(data: &Data, zone: &Zone, existing: Record, fields: Fields) -> Result<Response, Failure> {
    conflicts(data, zone, &fields, Some(&existing.id))?;
    let record = fields.into_record(existing.id.clone(), zone.id.clone(), existing.created_on, now());
    data.records.put(&record.id.clone(), record.clone());
    data.persist();
    Ok(envelope::ok(record.to_json(&zone.name)))
}

pub async fn delete(
    State(data): State<Data>,
    Path((zone_id, id)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    record_in(&data, &zone, &id)?;
    data.records.remove(&id);
    data.persist();
    Ok(envelope::ok(json!({"id": id})))
}

/// A validated record body.
#[derive(Debug)]
struct Fields {
    name: String,
    kind: String,
    content: String,
    ttl: u32,
    proxied: bool,
    priority: Option<u32>,
    comment: Option<String>,
    tags: Vec<String>,
}

impl Fields {
    fn into_record(self, id: String, zone_id: String, created_on: String, modified_on: String) -> Record {
        Record {
            id,
            zone_id,
            name: self.name,
            kind: self.kind,
            content: self.content,
            ttl: self.ttl,
            proxied: self.proxied,
            priority: self.priority,
            comment: self.comment,
            tags: self.tags,
            created_on,
            modified_on,
        }
    }
}

/// The record name as Cloudflare stores it: lower case, no trailing dot, `@` for the apex, and
/// the zone name appended unless already there.
pub fn fqdn(name: &str, zone: &str) -> String {
    let name = name.trim().trim_end_matches('.').to_lowercase();
    if name == "@" || name == zone || name.ends_with(&format!(".{zone}")) {
        if name == "@" { zone.to_string() } else { name }
    } else {
        format!("{name}.{zone}")
    }
}

fn is_hostname(s: &str) -> bool {
    let s = s.trim_end_matches('.');
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

fn validate(zone: &Zone, body: Map<String, Json>) -> Result<Fields, Failure> {
    let mut errors: Vec<ApiError> = Vec::new();
    let kind = match body.get("type") {
        Some(Json::String(t)) if ALL_TYPES.contains(&t.as_str()) => t.clone(),
        Some(Json::String(t)) => {
            errors.push((9020, format!("Invalid DNS record type {t:?}.")));
            String::new()
        }
        _ => {
            errors.push((9020, "DNS record type is required.".into()));
            String::new()
        }
    };
    if !kind.is_empty() && !CONTENT_TYPES.contains(&kind.as_str()) {
        errors.push((1004, format!("DNS Validation Error: {kind} records take `data`, which tarn's emulator does not model; it supports {}.", CONTENT_TYPES.join(", "))));
    }
    let name = match body.get("name") {
        Some(Json::String(n)) if !n.trim().is_empty() => {
            let full = fqdn(n, &zone.name);
            let valid_chars = full.split('.').all(|l| {
                !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || "-_*".contains(c))
            });
            if full.len() > 255 || !valid_chars {
                errors.push((9000, "DNS name is invalid.".into()));
            }
            full
        }
        _ => {
            errors.push((9000, "DNS name is invalid.".into()));
            String::new()
        }
    };
    let content = match body.get("content") {
        Some(Json::String(c)) => content_for(&kind, c, &name).unwrap_or_else(|e| {
            errors.push(e);
            c.clone()
        }),
        _ => {
            if !kind.is_empty() {
                errors.push((9007, format!("Content for {kind} record is invalid: content is required.")));
            }
            String::new()
        }
    };
    let proxied = match body.get("proxied") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => {
            errors.push((1004, "DNS Validation Error: proxied must be a boolean.".into()));
            false
        }
    };
    if proxied && !kind.is_empty() && !Record::proxiable(&kind) {
        errors.push((9004, "This record type cannot be proxied.".into()));
    }
    let ttl = match body.get("ttl") {
        None | Some(Json::Null) => 1,
        Some(Json::Number(n)) => match n.as_f64() {
            Some(t) if t == 1.0 || ((60.0..=86400.0).contains(&t) && t.fract() == 0.0) => t as u32,
            _ => {
                errors.push((9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.".into()));
                1
            }
        },
        Some(_) => {
            errors.push((9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.".into()));
            1
        }
    };
    let priority = match body.get("priority") {
        None | Some(Json::Null) => None,
        Some(Json::Number(n)) if n.as_u64().is_some_and(|p| p <= 65535) => n.as_u64().map(|p| p as u32),
        Some(_) => {
            errors.push((1004, "DNS Validation Error: priority must be a whole number from 0 to 65535.".into()));
            None
        }
    };
    if kind == "MX" && priority.is_none() {
        errors.push((1004, "DNS Validation Error: priority is required for MX records.".into()));
    }
    let comment = match body.get("comment") {
        None | Some(Json::Null) => None,
        Some(Json::String(c)) if c.is_empty() => None,
        Some(Json::String(c)) => Some(c.clone()),
        Some(_) => {
            errors.push((1004, "DNS Validation Error: comment must be a string.".into()));
            None
        }
    };
    let tags = match body.get("tags") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(list)) => {
            let tags: Vec<String> = list.iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
            let valid = tags.len() == list.len()
                && tags.iter().all(|t| {
                    let name = t.split(':').next().unwrap_or("");
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                });
            if !valid {
                errors.push((1004, "DNS Validation Error: tags must be strings of the form name:value, the name made of letters, digits, underscores and hyphens.".into()));
            }
            tags
        }
        Some(_) => {
            errors.push((1004, "DNS Validation Error: tags must be an array of strings.".into()));
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(Failure { status: StatusCode::BAD_REQUEST, errors });
    }
    // Proxied records are served by Cloudflare's edge: their TTL is always automatic.
    let ttl = if proxied { 1 } else { ttl };
    Ok(Fields { name, kind, content, ttl, proxied, priority, comment, tags })
}

/// The content as stored, or the error for content that does not suit the type.
fn content_for(kind: &str, content: &str, name: &str) -> Result<String, ApiError> {
    let c = content.trim();
    match kind {
        "A" => c
            .parse::<Ipv4Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| (9005, "Content for A record must be a valid IPv4 address.".into())),
        "AAAA" => c
            .parse::<Ipv6Addr>()
            .map(|ip| ip.to_string())
            .map_err(|_| (9006, "Content for AAAA record must be a valid IPv6 address.".into())),
        "CNAME" => {
            let target = c.trim_end_matches('.').to_lowercase();
            if !is_hostname(&target) || target == name {
                return Err((9007, "Content for CNAME record is invalid.".into()));
            }
            Ok(target)
        }
        "MX" | "NS" | "PTR" => {
            let target = c.trim_end_matches('.').to_lowercase();
            if !is_hostname(&target) {
                return Err((9007, format!("Content for {kind} record is invalid.")));
            }
            Ok(target)
        }
        "TXT" if c.is_empty() || content.len() > 2048 => {
            Err((9009, "Content for TXT record is invalid: 1 to 2048 characters.".into()))
        }
        _ => Ok(content.to_string()),
    }
}

/// Refuses a record identical to another (81057), and CNAMEs beside A/AAAA/CNAME on the same
/// name (81053). `except` is the record being replaced.
fn conflicts(data: &Data, zone: &Zone, f: &Fields, except: Option<&str>) -> Result<(), Failure> {
    let others: Vec<Record> =
        data.records.list().into_iter().filter(|r| r.zone_id == zone.id && Some(r.id.as_str()) != except).collect();
    if others.iter().any(|r| r.name == f.name && r.kind == f.kind && r.content.eq_ignore_ascii_case(&f.content)) {
        return Err(Failure::bad_request(81057, "Record already exists."));
    }
    let address = |k: &str| matches!(k, "A" | "AAAA" | "CNAME");
    let clash = others
        .iter()
        .any(|r| r.name == f.name && address(&r.kind) && address(&f.kind) && (r.kind == "CNAME" || f.kind == "CNAME"));
    if clash {
        return Err(Failure::bad_request(81053, "An A, AAAA, or CNAME record with that host already exists."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_fully_qualified() {
        assert_eq!(fqdn("www", "example.com"), "www.example.com");
        assert_eq!(fqdn("@", "example.com"), "example.com");
        assert_eq!(fqdn("WWW.Example.com.", "example.com"), "www.example.com");
        assert_eq!(fqdn("example.com", "example.com"), "example.com");
    }

    #[test]
    fn content_is_checked_per_type() {
        assert_eq!(content_for("A", "192.0.2.1", "x").as_deref(), Ok("192.0.2.1"));
        assert_eq!(content_for("A", "999.1.1.1", "x").map_err(|e| e.0), Err(9005));
        assert_eq!(content_for("AAAA", "2001:0db8::0001", "x").as_deref(), Ok("2001:db8::1"));
        assert_eq!(content_for("CNAME", "x", "x").map_err(|e| e.0), Err(9007));
        assert_eq!(content_for("CNAME", "Target.Example.net.", "x").as_deref(), Ok("target.example.net"));
    }
}
