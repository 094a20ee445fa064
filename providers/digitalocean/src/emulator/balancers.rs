//! Load balancer routes: list, create (202; `new` until it is set up, then `active`), get,
//! update (PUT with the whole object), delete, and adding or removing droplets and forwarding
//! rules (204). The checks the API makes: at least one forwarding rule with known protocols
//! and ports, droplets by id or by tag (not both), droplets that exist.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value as Json, json};

use super::data::{self, Data, LoadBalancer, balancer_json, now_ms, now_text};
use super::envelope::{self, Failure, no_content, object, ok, parse_body, text};

type Answer = Result<Response, Failure>;

const ENTRY: &[&str] = &["http", "https", "http2", "http3", "tcp", "udp"];
const TARGET: &[&str] = &["http", "https", "http2", "tcp", "udp"];

fn rule(r: &Json) -> Result<Json, Failure> {
    let s = |k: &str| r.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
    let port = |k: &str| r.get(k).and_then(Json::as_u64).filter(|p| (1..=65535).contains(p));
    let (entry, target) = (s("entry_protocol"), s("target_protocol"));
    if !ENTRY.contains(&entry.as_str()) || !TARGET.contains(&target.as_str()) {
        return Err(Failure::unprocessable(format!(
            "forwarding rule protocols must be one of {} (entry) and {} (target)",
            ENTRY.join(", "),
            TARGET.join(", ")
        )));
    }
    let (Some(entry_port), Some(target_port)) = (port("entry_port"), port("target_port")) else {
        return Err(Failure::unprocessable("forwarding rule ports must be 1..65535"));
    };
    Ok(json!({
        "entry_protocol": entry, "entry_port": entry_port, "target_protocol": target, "target_port": target_port,
        "certificate_id": s("certificate_id"), "tls_passthrough": r.get("tls_passthrough").and_then(Json::as_bool).unwrap_or(false),
    }))
}

fn rules(body: &Map<String, Json>) -> Result<Vec<Json>, Failure> {
    let list = body.get("forwarding_rules").and_then(Json::as_array).cloned().unwrap_or_default();
    if list.is_empty() {
        return Err(Failure::unprocessable("forwarding_rules must have at least one rule"));
    }
    list.iter().map(rule).collect()
}

fn health_check(body: &Map<String, Json>) -> Json {
    let h = body.get("health_check").cloned().unwrap_or(json!({}));
    let s = |k: &str, d: &str| h.get(k).and_then(Json::as_str).unwrap_or(d).to_string();
    let n = |k: &str, d: u64| h.get(k).and_then(Json::as_u64).unwrap_or(d);
    json!({
        "protocol": s("protocol", "http"), "port": n("port", 80), "path": s("path", "/"),
        "check_interval_seconds": n("check_interval_seconds", 10), "response_timeout_seconds": n("response_timeout_seconds", 5),
        "healthy_threshold": n("healthy_threshold", 3), "unhealthy_threshold": n("unhealthy_threshold", 5),
    })
}

fn droplet_ids(data: &Data, body: &Map<String, Json>) -> Result<Vec<u64>, Failure> {
    let ids: Vec<u64> = body
        .get("droplet_ids")
        .and_then(Json::as_array)
        .map(|l| l.iter().filter_map(Json::as_u64).collect())
        .unwrap_or_default();
    if let Some(missing) = ids.iter().find(|i| data.droplets.get(&i.to_string()).is_none()) {
        return Err(Failure::unprocessable(format!("droplet {missing} does not exist")));
    }
    Ok(ids)
}

/// The load balancer a create or PUT body describes (id, address and dates kept from `base`).
fn from_body(data: &Data, body: &Map<String, Json>, base: LoadBalancer) -> Result<LoadBalancer, Failure> {
    let name = text(body, "name")?.to_string();
    let region = text(body, "region")?.to_string();
    data::region(&region).ok_or_else(|| Failure::unprocessable(format!("Region {region:?} is not available.")))?;
    let size = body.get("size").and_then(Json::as_str).unwrap_or("lb-small").to_string();
    if !data::LB_SIZES.contains(&size.as_str()) {
        return Err(Failure::unprocessable(format!("size must be one of {}", data::LB_SIZES.join(", "))));
    }
    let ids = droplet_ids(data, body)?;
    let tag = body.get("tag").and_then(Json::as_str).unwrap_or_default().to_string();
    if !ids.is_empty() && !tag.is_empty() {
        return Err(Failure::unprocessable("specify either droplet_ids or tag, not both"));
    }
    Ok(LoadBalancer {
        name,
        region,
        size,
        forwarding_rules: rules(body)?,
        health_check: health_check(body),
        droplet_ids: ids,
        tag,
        redirect_http_to_https: body.get("redirect_http_to_https").and_then(Json::as_bool).unwrap_or(false),
        ..base
    })
}

fn find(data: &Data, id: &str) -> Result<LoadBalancer, Failure> {
    data.settle();
    data.balancers.get(id).ok_or_else(Failure::not_found)
}

pub async fn list(State(data): State<Data>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Answer {
    data.settle();
    let items = data.balancers.list().iter().map(|b| balancer_json(&data, b)).collect();
    envelope::list("load_balancers", items, &q, &headers, "/v2/load_balancers")
}

pub async fn create(State(data): State<Data>, body: Bytes) -> Answer {
    let body = parse_body(&body)?;
    let n = data.balancers.len() as u64 + 2;
    let base = LoadBalancer {
        id: uuid::Uuid::new_v4().to_string(),
        name: String::new(),
        region: String::new(),
        size: String::new(),
        ip: format!("198.51.100.{}", n.min(254)),
        status: "new".into(),
        active_at: now_ms() + data.action_time.as_millis() as u64,
        forwarding_rules: Vec::new(),
        health_check: json!({}),
        droplet_ids: Vec::new(),
        tag: String::new(),
        redirect_http_to_https: false,
        created_at: now_text(),
    };
    let lb = from_body(&data, &body, base)?;
    data.balancers.put(&lb.id, lb.clone());
    data.persist();
    Ok(object(StatusCode::ACCEPTED, "load_balancer", balancer_json(&data, &lb)))
}

pub async fn get(State(data): State<Data>, Path(id): Path<String>) -> Answer {
    Ok(ok("load_balancer", balancer_json(&data, &find(&data, &id)?)))
}

pub async fn update(State(data): State<Data>, Path(id): Path<String>, body: Bytes) -> Answer {
    let current = find(&data, &id)?;
    let body = parse_body(&body)?;
    let region = current.region.clone();
    let lb = from_body(&data, &body, current)?;
    if lb.region != region {
        return Err(Failure::unprocessable("a load balancer's region cannot change"));
    }
    data.balancers.put(&id, lb.clone());
    data.persist();
    Ok(ok("load_balancer", balancer_json(&data, &lb)))
}

pub async fn delete(State(data): State<Data>, Path(id): Path<String>) -> Answer {
    find(&data, &id)?;
    data.balancers.remove(&id);
    data.persist();
    Ok(no_content())
}

pub async fn add_droplets(State(data): State<Data>, Path(id): Path<String>, body: Bytes) -> Answer {
    let lb = find(&data, &id)?;
    if !lb.tag.is_empty() {
        return Err(Failure::unprocessable("this load balancer takes its droplets by tag"));
    }
    let ids = droplet_ids(&data, &parse_body(&body)?)?;
    data.balancers.update(&id, |b| b.droplet_ids.extend(ids.into_iter().filter(|i| !lb.droplet_ids.contains(i))));
    data.persist();
    Ok(no_content())
}

pub async fn remove_droplets(State(data): State<Data>, Path(id): Path<String>, body: Bytes) -> Answer {
    find(&data, &id)?;
    let body = parse_body(&body)?;
    let ids: Vec<u64> = body
        .get("droplet_ids")
        .and_then(Json::as_array)
        .map(|l| l.iter().filter_map(Json::as_u64).collect())
        .unwrap_or_default();
    data.balancers.update(&id, |b| b.droplet_ids.retain(|d| !ids.contains(d)));
    data.persist();
    Ok(no_content())
}

pub async fn add_rules(State(data): State<Data>, Path(id): Path<String>, body: Bytes) -> Answer {
    find(&data, &id)?;
    let new = rules(&parse_body(&body)?)?;
    data.balancers.update(&id, |b| {
        for r in new {
            if !b.forwarding_rules.contains(&r) {
                b.forwarding_rules.push(r);
            }
        }
    });
    data.persist();
    Ok(no_content())
}

pub async fn remove_rules(State(data): State<Data>, Path(id): Path<String>, body: Bytes) -> Answer {
    let lb = find(&data, &id)?;
    let gone = rules(&parse_body(&body)?)?;
    if lb.forwarding_rules.iter().all(|r| gone.contains(r)) {
        return Err(Failure::unprocessable("a load balancer keeps at least one forwarding rule"));
    }
    data.balancers.update(&id, |b| b.forwarding_rules.retain(|r| !gone.contains(r)));
    data.persist();
    Ok(no_content())
}
