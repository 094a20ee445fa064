//! Nova's flavors: list and detail (`limit`/`marker`, `flavors_links`) and show, from the
//! emulator's seed (OVH's usual flavor names).

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use super::data::{Data, FLAVORS, flavor, flavor_json, origin};
use super::fault::Fault;
use super::nova::{page, paged};

pub async fn list(
    State(_): State<Data>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Fault> {
    index(&headers, &query, false)
}

pub async fn detail(
    State(_): State<Data>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Fault> {
    index(&headers, &query, true)
}

fn index(headers: &HeaderMap, query: &[(String, String)], detail: bool) -> Result<Response, Fault> {
    let (limit, marker) = page(query)?;
    let start = match &marker {
        Some(m) => FLAVORS
            .iter()
            .position(|f| f.id == m)
            .map(|i| i + 1)
            .ok_or_else(|| Fault::bad_request(format!("marker [{m}] not found")))?,
        None => 0,
    };
    let o = origin(headers);
    let items: Vec<Json> = FLAVORS.iter().skip(start).take(limit).map(|f| flavor_json(f, &o, detail)).collect();
    let path = if detail { "flavors/detail" } else { "flavors" };
    Ok(paged("flavors", items, limit, &format!("{o}/compute/v2.1/{path}")).into_response())
}

pub async fn show(State(_): State<Data>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, Fault> {
    let f = flavor(&id).ok_or_else(|| Fault::not_found(format!("Flavor {id} could not be found.")))?;
    Ok(axum::Json(json!({"flavor": flavor_json(f, &origin(&headers), true)})).into_response())
}
