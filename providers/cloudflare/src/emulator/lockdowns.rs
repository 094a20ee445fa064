//! `/zones/{zone_identifier}/firewall/lockdowns[/{id}]`: list (filters, pages of 1 or a
//! multiple of 5 up to 1000, default 20), create, details, update (PUT, whole rule) and delete.
//! Validation: at least one URL and one configuration; `ip` targets must be addresses and
//! `ip_range` targets CIDR ranges of /16 or /24 (IPv4) or /32, /48, /64 (IPv6); descriptions
//! up to 1024 characters. Answers carry exactly the spec's fields (it forbids others).
//!
//! A zone holds at most `Limits::active_rules` active (unpaused) rules, the plan's quota on
//! Cloudflare: a create, or a PUT that unpauses a rule, past it is refused.
//!
//! The spec gives no error codes for this API; the emulator uses 10021 for validation errors,
//! 10001 for a missing rule and 10022 for the quota (documented in docs/providers/cloudflare.md).

use std::collections::HashMap;
use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value as Json, json};

use super::data::{Configuration, Data, Lockdown, Zone, new_id, now};
use super::envelope::{self, ApiError, Failure, PageRule, Paging};

const LOCKDOWN_PAGES: PageRule = PageRule { default: 20, min: 1, max: 1000, multiple_of_five: true };
const VALIDATION: u32 = 10021;
const QUOTA: u32 = 10022;

/// The quota the routes enforce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub active_rules: usize,
}

/// Refuses one more active rule in `zone` when it already holds the quota. `except`: the rule
/// a PUT replaces.
fn check_quota(data: &Data, zone: &Zone, limits: Limits, except: Option<&str>) -> Result<(), Failure> {
    let active = data
        .lockdowns
        .list()
        .into_iter()
        .filter(|l| l.zone_id == zone.id && !l.paused && Some(l.id.as_str()) != except)
        .count();
    if active < limits.active_rules {
        return Ok(());
    }
    Err(Failure::bad_request(
        QUOTA,
        format!(
            "lockdowns.api.quota_exceeded: the zone already has {active} active zone lockdown rule(s), the most its plan allows ({}); pause or delete one first",
            limits.active_rules
        ),
    ))
}

fn zone(data: &Data, zone_id: &str, uri: &Uri) -> Result<Zone, Failure> {
    data.zones.get(zone_id).ok_or_else(|| Failure::no_route(uri.path()))
}

fn rule_in(data: &Data, zone: &Zone, id: &str) -> Result<Lockdown, Failure> {
    data.lockdowns
        .get(id)
        .filter(|l| l.zone_id == zone.id)
        .ok_or_else(|| Failure::new(StatusCode::NOT_FOUND, 10001, "lockdowns.api.not_found"))
}

pub async fn list(
    State((data, _)): State<(Data, Limits)>,
    Path(zone_id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    uri: Uri,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    let paging =
        Paging::parse(q.get("page").map(String::as_str), q.get("per_page").map(String::as_str), LOCKDOWN_PAGES)?;
    let lower = |s: &str| s.to_lowercase();
    let rules: Vec<Json> = data
        .lockdowns
        .list()
        .into_iter()
        .filter(|l| l.zone_id == zone.id)
        .filter(|l| {
            q.iter().all(|(k, v)| match k.as_str() {
                "description" | "description_search" => lower(&l.description).contains(&lower(v)),
                "ip" | "ip_search" => l.configurations.iter().any(|c| c.target == "ip" && c.value == *v),
                "ip_range_search" => l.configurations.iter().any(|c| c.target == "ip_range" && c.value == *v),
                "uri_search" => l.urls.iter().any(|u| u.contains(v.as_str())),
                _ => true,
            })
        })
        .map(|l| l.to_json())
        .collect();
    Ok(envelope::list(rules, paging))
}

pub async fn create(
    State((data, limits)): State<(Data, Limits)>,
    Path(zone_id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    let fields = validate(envelope::parse_body(&body)?)?;
    if !fields.paused {
        check_quota(&data, &zone, limits, None)?;
    }
    let stamp = now();
    let rule = Lockdown {
        id: new_id(),
        zone_id: zone.id,
        urls: fields.urls,
        configurations: fields.configurations,
        description: fields.description,
        paused: fields.paused,
        created_on: stamp.clone(),
        modified_on: stamp,
    };
    data.lockdowns.put(&rule.id.clone(), rule.clone());
    data.persist();
    Ok(envelope::ok(rule.to_json()))
}

pub async fn get(
    State((data, _)): State<(Data, Limits)>,
    Path((zone_id, id)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    Ok(envelope::ok(rule_in(&data, &zone, &id)?.to_json()))
}

pub async fn put(
    State((data, limits)): State<(Data, Limits)>,
    Path((zone_id, id)): Path<(String, String)>,
    uri: Uri,
    body: Bytes,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    let existing = rule_in(&data, &zone, &id)?;
    let fields = validate(envelope::parse_body(&body)?)?;
    if existing.paused && !fields.paused {
        check_quota(&data, &zone, limits, Some(&existing.id))?;
    }
    let rule = Lockdown {
        urls: fields.urls,
        configurations: fields.configurations,
        description: fields.description,
        paused: fields.paused,
        modified_on: now(),
        ..existing
    };
    data.lockdowns.put(&rule.id.clone(), rule.clone());
    data.persist();
    Ok(envelope::ok(rule.to_json()))
}

pub async fn delete(
    State((data, _)): State<(Data, Limits)>,
    Path((zone_id, id)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, Failure> {
    let zone = zone(&data, &zone_id, &uri)?;
    rule_in(&data, &zone, &id)?;
    data.lockdowns.remove(&id);
    data.persist();
    Ok(envelope::ok(json!({"id": id})))
}

struct Fields {
    urls: Vec<String>,
    configurations: Vec<Configuration>,
    description: String,
    paused: bool,
}

fn invalid(detail: impl Into<String>) -> ApiError {
    (VALIDATION, format!("lockdowns.api.validation_error: {}", detail.into()))
}

fn validate(body: Map<String, Json>) -> Result<Fields, Failure> {
    let mut errors = Vec::new();
    let urls: Vec<String> = match body.get("urls") {
        Some(Json::Array(list))
            if !list.is_empty() && list.iter().all(|u| u.as_str().is_some_and(|s| !s.trim().is_empty())) =>
        {
            list.iter().filter_map(|u| u.as_str().map(str::to_string)).collect()
        }
        Some(Json::Array(list)) if list.is_empty() => {
            errors.push(invalid("urls must name at least one URL"));
            Vec::new()
        }
        Some(_) => {
            errors.push(invalid("urls must be an array of non-empty strings"));
            Vec::new()
        }
        None => {
            errors.push(invalid("urls is required"));
            Vec::new()
        }
    };
    let configurations = match body.get("configurations") {
        Some(Json::Array(list)) if !list.is_empty() => {
            let mut out = Vec::new();
            for (i, c) in list.iter().enumerate() {
                match configuration(c) {
                    Ok(c) => out.push(c),
                    Err(detail) => errors.push(invalid(format!("configurations[{i}]: {detail}"))),
                }
            }
            out
        }
        Some(Json::Array(_)) => {
            errors.push(invalid("configurations must hold at least one ip or ip_range"));
            Vec::new()
        }
        Some(_) => {
            errors.push(invalid("configurations must be an array"));
            Vec::new()
        }
        None => {
            errors.push(invalid("configurations is required"));
            Vec::new()
        }
    };
    let description = match body.get("description") {
        None | Some(Json::Null) => String::new(),
        Some(Json::String(d)) if d.chars().count() <= 1024 => d.clone(),
        Some(Json::String(_)) => {
            errors.push(invalid("description is longer than 1024 characters"));
            String::new()
        }
        Some(_) => {
            errors.push(invalid("description must be a string"));
            String::new()
        }
    };
    let paused = match body.get("paused") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => {
            errors.push(invalid("paused must be a boolean"));
            false
        }
    };
    if !errors.is_empty() {
        return Err(Failure { status: StatusCode::BAD_REQUEST, errors });
    }
    Ok(Fields { urls, configurations, description, paused })
}

fn configuration(c: &Json) -> Result<Configuration, String> {
    let target = c.get("target").and_then(Json::as_str).ok_or("target must be \"ip\" or \"ip_range\"")?;
    let value = c.get("value").and_then(Json::as_str).ok_or("value must be a string")?.trim();
    match target {
        "ip" => value
            .parse::<IpAddr>()
            .map(|ip| Configuration { target: target.into(), value: ip.to_string() })
            .map_err(|_| format!("{value:?} is not an IP address")),
        "ip_range" => {
            let (ip, prefix) = value.split_once('/').ok_or_else(|| format!("{value:?} is not a CIDR range"))?;
            let ip: IpAddr = ip.parse().map_err(|_| format!("{value:?} is not a CIDR range"))?;
            let prefix: u8 = prefix.parse().map_err(|_| format!("{value:?} is not a CIDR range"))?;
            let allowed: &[u8] = if ip.is_ipv4() { &[16, 24] } else { &[32, 48, 64] };
            if !allowed.contains(&prefix) {
                let list: Vec<String> = allowed.iter().map(|p| format!("/{p}")).collect();
                return Err(format!("{value:?}: only prefix lengths {} are allowed", list.join(", ")));
            }
            Ok(Configuration { target: target.into(), value: format!("{ip}/{prefix}") })
        }
        other => Err(format!("target {other:?} must be \"ip\" or \"ip_range\"")),
    }
}
