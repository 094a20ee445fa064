//! `GET /zones` (filters `name` with Cloudflare's operators and `status`, 5..50 per page) and
//! `GET /zones/{zone_id}`. Zones are read-only here: the API subset creates none, so they come
//! from the seed, the snapshot, or the admin route `POST /__sim/zones`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value as Json;

use super::data::{Data, Zone};
use super::envelope::{self, Failure, PageRule, Paging};

const ZONE_PAGES: PageRule = PageRule { default: 20, min: 5, max: 50, multiple_of_five: false };

pub async fn list(State(data): State<Data>, Query(q): Query<HashMap<String, String>>) -> Result<Response, Failure> {
    let paging = Paging::parse(q.get("page").map(String::as_str), q.get("per_page").map(String::as_str), ZONE_PAGES)?;
    if let Some(status) = q.get("status")
        && !matches!(status.as_str(), "initializing" | "pending" | "active" | "moved")
    {
        return Err(Failure::bad_request(
            1004,
            format!("status must be one of initializing, pending, active, moved; got {status:?}"),
        ));
    }
    let mut zones: Vec<Zone> = data
        .zones
        .list()
        .into_iter()
        .filter(|z| q.get("name").is_none_or(|f| name_matches(&z.name, f)))
        .filter(|_| q.get("status").is_none_or(|s| s == "active"))
        .collect();
    zones.sort_by(|a, b| a.name.cmp(&b.name));
    if q.get("direction").is_some_and(|d| d == "desc") {
        zones.reverse();
    }
    Ok(envelope::list(zones.iter().map(Zone::to_json).collect::<Vec<Json>>(), paging))
}

pub async fn get(State(data): State<Data>, Path(zone_id): Path<String>, uri: Uri) -> Result<Response, Failure> {
    data.zones.get(&zone_id).map(|z| envelope::ok(z.to_json())).ok_or_else(|| Failure::no_route(uri.path()))
}

/// `name` filters: `equal` (the default), `not_equal`, `starts_with`, `ends_with`, `contains`,
/// and their `_case_sensitive` forms.
fn name_matches(name: &str, filter: &str) -> bool {
    let (op, wanted) = filter.split_once(':').unwrap_or(("equal", filter));
    let (sensitive, op) = match op.strip_suffix("_case_sensitive") {
        Some(op) => (true, op),
        None => (false, op),
    };
    let (name, wanted) =
        if sensitive { (name.to_string(), wanted.to_string()) } else { (name.to_lowercase(), wanted.to_lowercase()) };
    match op {
        "equal" => name == wanted,
        "not_equal" => name != wanted,
        "starts_with" => name.starts_with(&wanted),
        "ends_with" => name.ends_with(&wanted),
        "contains" => name.contains(&wanted),
        // Not an operator: the whole text is the name (zone names have no colon).
        _ => name == filter.to_lowercase(),
    }
}

#[derive(Debug, Deserialize)]
pub struct NewZone {
    name: String,
}

/// Admin: `POST /__sim/zones {"name": "example.io"}` adds a zone (idempotent by name).
pub async fn add(State(data): State<Data>, axum::Json(new): axum::Json<NewZone>) -> Response {
    let name = new.name.trim().trim_end_matches('.');
    let valid = name.contains('.')
        && name.len() <= 253
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid {
        return Failure::bad_request(1097, format!("{name:?} is not a valid zone name")).into_response();
    }
    (StatusCode::CREATED, axum::Json(data.add_zone(name).to_json())).into_response()
}

/// Admin: `GET /__sim/state`, every object the emulator holds.
pub async fn dump(State(data): State<Data>) -> axum::Json<Json> {
    axum::Json(data.dump())
}

#[cfg(test)]
mod tests {
    use super::name_matches;

    #[test]
    fn name_filters_follow_the_operators() {
        assert!(name_matches("example.com", "example.com"));
        assert!(name_matches("example.com", "Example.COM"));
        assert!(name_matches("example.com", "ends_with:.com"));
        assert!(!name_matches("example.com", "ends_with_case_sensitive:.COM"));
        assert!(name_matches("example.com", "contains:ample"));
        assert!(name_matches("example.com", "not_equal:example.org"));
        assert!(!name_matches("example.com", "starts_with:dev"));
    }
}
