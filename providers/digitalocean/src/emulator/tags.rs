//! Tag routes: list, create (201; an existing tag is answered as it is), get, delete (which
//! untags everything), and tagging or untagging resources (204). Only droplets are emulated
//! among taggable resources.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value as Json;

use super::data::{Data, tag_json};
use super::droplets::valid_tag;
use super::envelope::{self, Failure, no_content, object, ok, parse_body, text};

type Answer = Result<Response, Failure>;

pub async fn list(State(data): State<Data>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Answer {
    let items = data.tags.list().iter().map(|t| tag_json(&data, t)).collect();
    envelope::list("tags", items, &q, &headers, "/v2/tags")
}

pub async fn create(State(data): State<Data>, body: Bytes) -> Answer {
    let body = parse_body(&body)?;
    let name = text(&body, "name")?.to_string();
    if !valid_tag(&name) {
        return Err(Failure::bad_request(
            "tag name must contain only letters, numbers, colons, dashes and underscores, at most 255",
        ));
    }
    data.tags.put(&name, name.clone());
    data.persist();
    Ok(object(StatusCode::CREATED, "tag", tag_json(&data, &name)))
}

pub async fn get(State(data): State<Data>, Path(name): Path<String>) -> Answer {
    let tag = data.tags.get(&name).ok_or_else(Failure::not_found)?;
    Ok(ok("tag", tag_json(&data, &tag)))
}

pub async fn delete(State(data): State<Data>, Path(name): Path<String>) -> Answer {
    data.tags.remove(&name).ok_or_else(Failure::not_found)?;
    for droplet in data.tagged(&name) {
        data.droplets.update(&droplet.id.to_string(), |d| d.tags.retain(|t| *t != name));
    }
    data.persist();
    Ok(no_content())
}

/// The droplet ids of a `{"resources": [{resource_id, resource_type}]}` body.
fn droplet_ids(data: &Data, body: &[u8]) -> Result<Vec<String>, Failure> {
    let body = parse_body(body)?;
    let resources = body
        .get("resources")
        .and_then(Json::as_array)
        .ok_or_else(|| Failure::unprocessable("resources is required: a list of {resource_id, resource_type}"))?;
    let mut ids = Vec::new();
    for r in resources {
        let kind = r.get("resource_type").and_then(Json::as_str).unwrap_or_default();
        let id = match r.get("resource_id") {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        if kind != "droplet" {
            return Err(Failure::unprocessable(format!("resource_type {kind:?} is not emulated; only droplet")));
        }
        if data.droplets.get(&id).is_none() {
            return Err(Failure::not_found());
        }
        ids.push(id);
    }
    Ok(ids)
}

pub async fn tag_resources(State(data): State<Data>, Path(name): Path<String>, body: Bytes) -> Answer {
    data.tags.get(&name).ok_or_else(Failure::not_found)?;
    for id in droplet_ids(&data, &body)? {
        data.droplets.update(&id, |d| {
            if !d.tags.contains(&name) {
                d.tags.push(name.clone());
            }
        });
    }
    data.persist();
    Ok(no_content())
}

pub async fn untag_resources(State(data): State<Data>, Path(name): Path<String>, body: Bytes) -> Answer {
    data.tags.get(&name).ok_or_else(Failure::not_found)?;
    for id in droplet_ids(&data, &body)? {
        data.droplets.update(&id, |d| d.tags.retain(|t| *t != name));
    }
    data.persist();
    Ok(no_content())
}
