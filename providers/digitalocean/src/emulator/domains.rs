//! Domain and record routes: domains list, create (201; with `ip_address`, an apex A record),
//! get and delete (its records with it); records list (filters `type` and `name`, the full
//! name), create (201), get, update (PATCH and PUT change the fields sent) and delete.
//! A new domain gets DigitalOcean's three NS records, as the real API adds them.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value as Json};

use super::data::{Data, Domain, Record, domain_json, record_json};
use super::envelope::{self, Failure, no_content, object, ok, parse_body, text};

type Answer = Result<Response, Failure>;

const TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX", "NS"];

fn valid_domain(name: &str) -> bool {
    name.contains('.')
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

fn domain(data: &Data, name: &str) -> Result<Domain, Failure> {
    data.domains.get(name).ok_or_else(Failure::not_found)
}

pub async fn list(State(data): State<Data>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Answer {
    let items = data.domains.list().iter().map(domain_json).collect();
    envelope::list("domains", items, &q, &headers, "/v2/domains")
}

pub async fn create(State(data): State<Data>, body: Bytes) -> Answer {
    let body = parse_body(&body)?;
    let name = text(&body, "name")?.to_ascii_lowercase();
    if !valid_domain(&name) {
        return Err(Failure::unprocessable(format!("Name {name:?} is not a valid domain name.")));
    }
    if data.domains.get(&name).is_some() {
        return Err(Failure::unprocessable("Name already exists"));
    }
    let ip = body.get("ip_address").and_then(Json::as_str).filter(|s| !s.is_empty());
    if ip.is_some_and(|ip| ip.parse::<Ipv4Addr>().is_err()) {
        return Err(Failure::unprocessable("ip_address must be an IPv4 address"));
    }
    let domain = Domain { name: name.clone(), ttl: 1800 };
    data.domains.put(&name, domain.clone());
    for ns in ["ns1.digitalocean.com", "ns2.digitalocean.com", "ns3.digitalocean.com"] {
        let id = data.id();
        let record = Record {
            id,
            domain: name.clone(),
            kind: "NS".into(),
            name: "@".into(),
            data: ns.into(),
            ttl: 1800,
            priority: None,
        };
        data.records.put(&id.to_string(), record);
    }
    if let Some(ip) = ip {
        let id = data.id();
        let record = Record {
            id,
            domain: name.clone(),
            kind: "A".into(),
            name: "@".into(),
            data: ip.into(),
            ttl: 1800,
            priority: None,
        };
        data.records.put(&id.to_string(), record);
    }
    data.persist();
    // The create answer does not know the TTL or zone file yet.
    Ok(object(StatusCode::CREATED, "domain", serde_json::json!({"name": name, "ttl": null, "zone_file": null})))
}

pub async fn get(State(data): State<Data>, Path(name): Path<String>) -> Answer {
    Ok(ok("domain", domain_json(&domain(&data, &name)?)))
}

pub async fn delete(State(data): State<Data>, Path(name): Path<String>) -> Answer {
    domain(&data, &name)?;
    data.domains.remove(&name);
    for r in data.records.list().into_iter().filter(|r| r.domain == name) {
        data.records.remove(&r.id.to_string());
    }
    data.persist();
    Ok(no_content())
}

fn fqdn(r: &Record) -> String {
    if r.name == "@" { r.domain.clone() } else { format!("{}.{}", r.name, r.domain) }
}

pub async fn records(
    State(data): State<Data>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    domain(&data, &name)?;
    let items = data
        .records
        .list()
        .into_iter()
        .filter(|r| r.domain == name)
        .filter(|r| q.get("type").is_none_or(|t| &r.kind == t))
        .filter(|r| q.get("name").is_none_or(|n| &fqdn(r) == n))
        .map(|r| record_json(&r))
        .collect();
    envelope::list("domain_records", items, &q, &headers, &format!("/v2/domains/{name}/records"))
}

/// Applies the fields of `body` to `r`, checking the result as the API does.
fn change(r: &mut Record, body: &Map<String, Json>) -> Result<(), Failure> {
    if let Some(t) = body.get("type").and_then(Json::as_str) {
        r.kind = t.to_string();
    }
    if let Some(n) = body.get("name").and_then(Json::as_str) {
        r.name = n.to_string();
    }
    if let Some(d) = body.get("data").and_then(Json::as_str) {
        r.data = d.to_string();
    }
    if let Some(t) = body.get("ttl").and_then(Json::as_u64) {
        r.ttl = t;
    }
    if let Some(p) = body.get("priority") {
        r.priority = p.as_u64();
    }
    if !TYPES.contains(&r.kind.as_str()) {
        return Err(Failure::unprocessable(format!(
            "Type {:?} is not emulated; use one of {}",
            r.kind,
            TYPES.join(", ")
        )));
    }
    if r.name.is_empty() || r.data.is_empty() {
        return Err(Failure::unprocessable("name and data are required"));
    }
    if r.ttl < 30 {
        return Err(Failure::unprocessable("TTL must be at least 30 seconds"));
    }
    match r.kind.as_str() {
        "A" if r.data.parse::<Ipv4Addr>().is_err() => {
            Err(Failure::unprocessable("Data needs to be a valid IPv4 address"))
        }
        "AAAA" if r.data.parse::<Ipv6Addr>().is_err() => {
            Err(Failure::unprocessable("Data needs to be a valid IPv6 address"))
        }
        "MX" if r.priority.is_none() => Err(Failure::unprocessable("Priority is required for MX records")),
        _ => Ok(()),
    }
}

pub async fn create_record(State(data): State<Data>, Path(name): Path<String>, body: Bytes) -> Answer {
    domain(&data, &name)?;
    let body = parse_body(&body)?;
    text(&body, "type")?;
    let mut record = Record {
        id: 0,
        domain: name,
        kind: String::new(),
        name: String::new(),
        data: String::new(),
        ttl: 1800,
        priority: None,
    };
    change(&mut record, &body)?;
    record.id = data.id();
    data.records.put(&record.id.to_string(), record.clone());
    data.persist();
    Ok(object(StatusCode::CREATED, "domain_record", record_json(&record)))
}

fn record(data: &Data, name: &str, id: &str) -> Result<Record, Failure> {
    domain(data, name)?;
    data.records.get(id).filter(|r| r.domain == name).ok_or_else(Failure::not_found)
}

pub async fn get_record(State(data): State<Data>, Path((name, id)): Path<(String, String)>) -> Answer {
    Ok(ok("domain_record", record_json(&record(&data, &name, &id)?)))
}

pub async fn update_record(State(data): State<Data>, Path((name, id)): Path<(String, String)>, body: Bytes) -> Answer {
    let mut r = record(&data, &name, &id)?;
    let body = parse_body(&body)?;
    change(&mut r, &body)?;
    data.records.put(&id, r.clone());
    data.persist();
    Ok(ok("domain_record", record_json(&r)))
}

pub async fn delete_record(State(data): State<Data>, Path((name, id)): Path<(String, String)>) -> Answer {
    record(&data, &name, &id)?;
    data.records.remove(&id);
    data.persist();
    Ok(no_content())
}
