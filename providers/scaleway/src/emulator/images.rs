//! `/images[/{id}]` and `/snapshots/{id}`: the seed's public images and the private ones server
//! backups make. List (filters name, public, arch, project, tags), details, update (name, tags,
//! public) and delete, which keeps the image's snapshots as the API does; a snapshot can be read,
//! and deleted once no image uses it.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::Value as Json;

use super::data::{Data, Image, VolumeSnapshot, now_text, snapshot_ids};
use super::envelope::{self, Failure, Paging};
use super::zone;

fn image_in(data: &Data, zone: &str, id: &str) -> Result<Image, Failure> {
    data.settle();
    data.images.get(id).filter(|i| i.zone == zone).ok_or_else(|| Failure::not_found("instance_image", id))
}

fn snapshot_in(data: &Data, zone: &str, id: &str) -> Result<VolumeSnapshot, Failure> {
    data.settle();
    data.snapshots.get(id).filter(|s| s.zone == zone).ok_or_else(|| Failure::not_found("instance_snapshot", id))
}

pub async fn list(
    State(data): State<Data>,
    Path(z): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    data.settle();
    let items = data
        .images
        .list()
        .into_iter()
        .filter(|i| i.zone == z)
        .filter(|i| q.get("name").is_none_or(|n| i.name.contains(n.as_str())))
        .filter(|i| q.get("public").is_none_or(|p| i.public.to_string() == *p))
        // Every emulated image is x86_64.
        .filter(|_| q.get("arch").is_none_or(|a| a == "x86_64"))
        .filter(|i| q.get("project").is_none_or(|p| i.project == *p))
        .filter(|i| envelope::has_tags(&i.tags, q.get("tags")))
        .map(|i| i.to_json(&data))
        .collect();
    Ok(envelope::list("images", items, paging, &format!("/instance/v1/zones/{z}/images")))
}

pub async fn get(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let z = zone(&z)?;
    Ok(envelope::ok("image", image_in(&data, z, &id)?.to_json(&data)))
}

pub async fn update(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let body = envelope::parse_body(&body)?;
    let mut image = image_in(&data, z, &id)?;
    if image.from_server.is_empty() {
        return Err(Failure::invalid_request("a public Marketplace image cannot be changed"));
    }
    match body.get("name") {
        None | Some(Json::Null) => {}
        Some(Json::String(n)) if !n.is_empty() => image.name = n.clone(),
        Some(_) => return Err(Failure::invalid_argument("name", "format", "name must be a non-empty string")),
    }
    match body.get("tags") {
        None | Some(Json::Null) => {}
        Some(Json::Array(l)) if l.iter().all(Json::is_string) => {
            image.tags = l.iter().filter_map(|t| t.as_str().map(str::to_string)).collect();
        }
        Some(_) => return Err(Failure::invalid_argument("tags", "format", "tags must be a list of strings")),
    }
    match body.get("public") {
        None | Some(Json::Null) => {}
        Some(Json::Bool(b)) => image.public = *b,
        Some(_) => return Err(Failure::invalid_argument("public", "format", "public must be a boolean")),
    }
    image.modification_date = now_text();
    data.images.put(&id, image.clone());
    data.persist();
    Ok(envelope::ok("image", image.to_json(&data)))
}

pub async fn delete(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let image = image_in(&data, zone(&z)?, &id)?;
    if image.from_server.is_empty() {
        return Err(Failure::invalid_request("a public Marketplace image cannot be deleted"));
    }
    data.images.remove(&id);
    data.persist();
    Ok(envelope::no_content())
}

pub async fn get_snapshot(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    Ok(envelope::ok("snapshot", snapshot_in(&data, zone(&z)?, &id)?.to_json()))
}

pub async fn delete_snapshot(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    snapshot_in(&data, zone(&z)?, &id)?;
    if let Some(image) = data.images.list().into_iter().find(|i| snapshot_ids(i).contains(&id)) {
        return Err(Failure::invalid_request(format!(
            "snapshot {id} is used by image {} ({}): delete the image first",
            image.id, image.name
        )));
    }
    data.snapshots.remove(&id);
    data.persist();
    Ok(envelope::no_content())
}
