//! The read-only catalogue: `/images` (list with name, public and arch filters; details) and
//! `/products/servers` (the server types with their volume limits, a map paged by its keys).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde_json::{Map, json};

use super::data::{Data, SERVER_TYPES, type_json};
use super::envelope::{self, Failure, Paging};
use super::zone;

pub async fn images(
    State(data): State<Data>,
    Path(z): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    let items = data
        .images
        .list()
        .into_iter()
        .filter(|i| i.zone == z)
        .filter(|i| q.get("name").is_none_or(|n| i.name.contains(n.as_str())))
        .filter(|i| q.get("public").is_none_or(|p| i.public.to_string() == *p))
        // Every seed image is x86_64.
        .filter(|_| q.get("arch").is_none_or(|a| a == "x86_64"))
        .map(|i| i.to_json())
        .collect();
    Ok(envelope::list("images", items, paging, &format!("/instance/v1/zones/{z}/images")))
}

pub async fn image(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let image =
        data.images.get(&id).filter(|i| i.zone == z).ok_or_else(|| Failure::not_found("instance_image", &id))?;
    Ok(envelope::ok("image", image.to_json()))
}

pub async fn server_types(
    Path(z): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    let skip = (paging.page - 1).saturating_mul(paging.per_page);
    let page: Map<String, serde_json::Value> =
        SERVER_TYPES.iter().skip(skip).take(paging.per_page).map(|t| (t.name.to_string(), type_json(t))).collect();
    let path = format!("/instance/v1/zones/{z}/products/servers");
    Ok(envelope::paged(json!({"servers": page}), SERVER_TYPES.len(), paging, &path))
}
