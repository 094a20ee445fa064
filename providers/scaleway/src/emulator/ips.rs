//! `/ips[/{id}]`: flexible IPs reserved from a pool, listed (filters tags, type), attached,
//! moved and detached by `PATCH {"server": id | null}` (the address stays), and released.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::Value as Json;

use super::data::{Data, Ip, ORGANIZATION_ID, new_id};
use super::envelope::{self, Failure, Paging};
use super::zone;

fn ip_in(data: &Data, zone: &str, id: &str) -> Result<Ip, Failure> {
    data.ips.get(id).filter(|i| i.zone == zone).ok_or_else(|| Failure::not_found("instance_ip", id))
}

/// The server an IP may be attached to: one of this zone.
fn server_for(data: &Data, zone: &str, server: Option<&Json>) -> Result<Option<String>, Failure> {
    match server {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(id)) => {
            data.servers.get(id).filter(|s| s.zone == zone).ok_or_else(|| Failure::not_found("instance_server", id))?;
            Ok(Some(id.clone()))
        }
        Some(_) => Err(Failure::invalid_argument("server", "format", "server must be a server id or null")),
    }
}

pub async fn list(
    State(data): State<Data>,
    Path(z): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    let items = data
        .ips
        .list()
        .into_iter()
        .filter(|i| i.zone == z)
        .filter(|i| q.get("type").is_none_or(|t| i.kind == *t))
        .filter(|i| envelope::has_tags(&i.tags, q.get("tags")))
        .map(|i| i.to_json(&data))
        .collect();
    Ok(envelope::list("ips", items, paging, &format!("/instance/v1/zones/{z}/ips")))
}

pub async fn get(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    Ok(envelope::ok("ip", ip_in(&data, zone(&z)?, &id)?.to_json(&data)))
}

pub async fn create(State(data): State<Data>, Path(z): Path<String>, body: Bytes) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let body = envelope::parse_body(&body)?;
    let kind = match body.get("type").and_then(Json::as_str) {
        None | Some("routed_ipv4") => "routed_ipv4",
        Some("routed_ipv6") => "routed_ipv6",
        Some(other) => {
            return Err(Failure::invalid_argument(
                "type",
                "constraint",
                format!("type {other:?} is not routed_ipv4 or routed_ipv6"),
            ));
        }
    };
    let server_id = server_for(&data, z, body.get("server"))?;
    let n = data.ips.len() + 2;
    let address = if kind == "routed_ipv6" { format!("2001:bc8:710:{n:x}::") } else { data.next_address("51.158") };
    let ip = Ip {
        id: new_id(),
        zone: z.to_string(),
        address,
        project: body.get("project").and_then(Json::as_str).unwrap_or(ORGANIZATION_ID).to_string(),
        tags: body
            .get("tags")
            .and_then(Json::as_array)
            .map(|l| l.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
            .unwrap_or_default(),
        server_id,
        kind: kind.to_string(),
        reverse: None,
    };
    data.ips.put(&ip.id.clone(), ip.clone());
    data.persist();
    let location = format!("https://api.scaleway.com/instance/v1/zones/{z}/ips/{}", ip.id);
    Ok(envelope::created("ip", ip.to_json(&data), &location))
}

pub async fn update(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let body = envelope::parse_body(&body)?;
    let mut ip = ip_in(&data, z, &id)?;
    if body.contains_key("server") {
        ip.server_id = server_for(&data, z, body.get("server"))?;
    }
    if body.contains_key("reverse") {
        ip.reverse = body.get("reverse").and_then(Json::as_str).filter(|r| !r.is_empty()).map(str::to_string);
    }
    if let Some(tags) = body.get("tags").and_then(Json::as_array) {
        ip.tags = tags.iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
    }
    data.ips.put(&id, ip.clone());
    data.persist();
    Ok(envelope::ok("ip", ip.to_json(&data)))
}

pub async fn delete(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    ip_in(&data, zone(&z)?, &id)?;
    data.ips.remove(&id);
    data.persist();
    Ok(envelope::no_content())
}
