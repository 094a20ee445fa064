//! `/volumes[/{id}]`: list (filters name, tags, volume_type), create (a size that is a multiple
//! of 512 bytes), details, update (name and tags; the size of block volumes only, growing) and
//! delete (refused while attached: detach it from its server first).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::Value as Json;

use super::data::{Data, ORGANIZATION_ID, Volume, new_id, now_text};
use super::envelope::{self, Failure, Paging};
use super::zone;

const TYPES: &[&str] = &["l_ssd", "b_ssd", "sbs_volume"];

fn volume_in(data: &Data, zone: &str, id: &str) -> Result<Volume, Failure> {
    data.volumes.get(id).filter(|v| v.zone == zone).ok_or_else(|| Failure::not_found("instance_volume", id))
}

pub async fn list(
    State(data): State<Data>,
    Path(z): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    let items = data
        .volumes
        .list()
        .into_iter()
        .filter(|v| v.zone == z)
        .filter(|v| q.get("name").is_none_or(|n| v.name.contains(n.as_str())))
        .filter(|v| q.get("volume_type").is_none_or(|t| v.volume_type == *t))
        .filter(|v| envelope::has_tags(&v.tags, q.get("tags")))
        .map(|v| v.to_json(&data))
        .collect();
    Ok(envelope::list("volumes", items, paging, &format!("/instance/v1/zones/{z}/volumes")))
}

pub async fn get(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    Ok(envelope::ok("volume", volume_in(&data, zone(&z)?, &id)?.to_json(&data)))
}

fn size_of(body: &serde_json::Map<String, Json>) -> Result<Option<u64>, Failure> {
    match body.get("size") {
        None | Some(Json::Null) => Ok(None),
        Some(s) => s.as_u64().filter(|s| *s > 0 && s % 512 == 0).map(Some).ok_or_else(|| {
            Failure::invalid_argument("size", "constraint", "size must be a positive multiple of 512 bytes")
        }),
    }
}

fn tags_of(body: &serde_json::Map<String, Json>) -> Option<Vec<String>> {
    body.get("tags").and_then(Json::as_array).map(|l| l.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
}

pub async fn create(State(data): State<Data>, Path(z): Path<String>, body: Bytes) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let body = envelope::parse_body(&body)?;
    let kind = body.get("volume_type").and_then(Json::as_str).unwrap_or("l_ssd");
    if !TYPES.contains(&kind) {
        return Err(Failure::invalid_argument(
            "volume_type",
            "constraint",
            format!("volume_type must be one of {}", TYPES.join(", ")),
        ));
    }
    let size =
        size_of(&body)?.ok_or_else(|| Failure::invalid_argument("size", "required", "give size or base_snapshot"))?;
    let stamp = now_text();
    let volume = Volume {
        id: new_id(),
        zone: z.to_string(),
        name: body.get("name").and_then(Json::as_str).unwrap_or_default().to_string(),
        project: body.get("project").and_then(Json::as_str).unwrap_or(ORGANIZATION_ID).to_string(),
        size,
        volume_type: kind.to_string(),
        tags: tags_of(&body).unwrap_or_default(),
        server_id: None,
        creation_date: stamp.clone(),
        modification_date: stamp,
    };
    data.volumes.put(&volume.id.clone(), volume.clone());
    data.persist();
    let location = format!("https://api.scaleway.com/instance/v1/zones/{z}/volumes/{}", volume.id);
    Ok(envelope::created("volume", volume.to_json(&data), &location))
}

pub async fn update(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let body = envelope::parse_body(&body)?;
    let mut volume = volume_in(&data, z, &id)?;
    if let Some(size) = size_of(&body)?
        && size != volume.size
    {
        if volume.volume_type == "l_ssd" {
            return Err(Failure::invalid_request("the size of a local volume cannot change"));
        }
        if size < volume.size {
            return Err(Failure::invalid_request("a volume can only grow"));
        }
        volume.size = size;
    }
    if let Some(n) = body.get("name").and_then(Json::as_str) {
        volume.name = n.to_string();
    }
    if let Some(tags) = tags_of(&body) {
        volume.tags = tags;
    }
    volume.modification_date = now_text();
    data.volumes.put(&id, volume.clone());
    data.persist();
    Ok(envelope::ok("volume", volume.to_json(&data)))
}

pub async fn delete(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let volume = volume_in(&data, zone(&z)?, &id)?;
    if volume.server_id.is_some() {
        return Err(Failure::invalid_request("a volume attached to a server cannot be deleted: detach it first"));
    }
    data.volumes.remove(&id);
    data.persist();
    Ok(envelope::no_content())
}
