//! The read-only catalogue: `/products/servers` (the server types with their volume limits, a
//! map paged by its keys). Images, which backups add to, live in `images`.

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::response::Response;
use serde_json::{Map, json};

use super::data::{SERVER_TYPES, type_json};
use super::envelope::{self, Failure, Paging};
use super::zone;

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
