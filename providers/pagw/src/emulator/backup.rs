//! `/cluster/backup`: backup jobs (list, create, get, update, delete) as Proxmox keeps them in
//! `jobs.cfg`. A job's `vmid` is a comma-separated list; create and update answer `null`, as
//! the spec says. An unknown job is a 500 "does not exist", as on Proxmox.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value as Json, json};

use super::{Shared, data, lock};

fn job_json(id: &str, job: &Map<String, Json>) -> Json {
    let mut o = job.clone();
    o.insert("id".into(), json!(id));
    o.insert("type".into(), json!("vzdump"));
    Json::Object(o)
}

/// Parameters as the spec types them in answers: booleans for `enabled`/`all`, strings else.
fn normalise(body: Map<String, Json>) -> Map<String, Json> {
    body.into_iter()
        .filter(|(k, _)| k != "id" && k != "delete")
        .map(|(k, v)| {
            let v = match (k.as_str(), v) {
                ("enabled" | "all", Json::Bool(b)) => json!(b),
                ("enabled" | "all", v) => json!(matches!(v.as_str(), Some("1")) || v.as_i64() == Some(1)),
                (_, Json::Number(n)) => json!(n.to_string()),
                (_, v) => v,
            };
            (k, v)
        })
        .collect()
}

async fn list(State(pve): State<Shared>) -> Response {
    let pve = lock(&pve);
    data(Json::Array(pve.backups.iter().map(|(id, j)| job_json(id, j)).collect())).into_response()
}

async fn create(State(pve): State<Shared>, axum::Json(body): axum::Json<Map<String, Json>>) -> Response {
    let mut pve = lock(&pve);
    let Some(id) = body.get("id").and_then(Json::as_str).map(str::to_string) else {
        return super::error(StatusCode::BAD_REQUEST, "id: property is missing");
    };
    if pve.backups.contains_key(&id) {
        return super::error(StatusCode::INTERNAL_SERVER_ERROR, &format!("Job '{id}' already exists"));
    }
    if body.get("vmid").is_none() && body.get("all").is_none() && body.get("pool").is_none() {
        return super::error(StatusCode::BAD_REQUEST, "vmid: one of 'vmid', 'all' or 'pool' is required");
    }
    pve.backups.insert(id, normalise(body));
    data(Json::Null).into_response()
}

async fn get_one(State(pve): State<Shared>, Path(id): Path<String>) -> Response {
    let pve = lock(&pve);
    match pve.backups.get(&id) {
        Some(j) => data(job_json(&id, j)).into_response(),
        None => super::error(StatusCode::INTERNAL_SERVER_ERROR, &format!("job '{id}' does not exist")),
    }
}

async fn update(
    State(pve): State<Shared>,
    Path(id): Path<String>,
    axum::Json(body): axum::Json<Map<String, Json>>,
) -> Response {
    let mut pve = lock(&pve);
    let Some(job) = pve.backups.get_mut(&id) else {
        return super::error(StatusCode::INTERNAL_SERVER_ERROR, &format!("job '{id}' does not exist"));
    };
    if let Some(keys) = body.get("delete").and_then(Json::as_str) {
        for k in keys.split(',') {
            job.remove(k.trim());
        }
    }
    job.extend(normalise(body));
    data(Json::Null).into_response()
}

async fn delete(State(pve): State<Shared>, Path(id): Path<String>) -> Response {
    let mut pve = lock(&pve);
    match pve.backups.remove(&id) {
        Some(_) => data(Json::Null).into_response(),
        None => super::error(StatusCode::INTERNAL_SERVER_ERROR, &format!("job '{id}' does not exist")),
    }
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/cluster/backup", get(list).post(create))
        .route("/cluster/backup/{id}", get(get_one).put(update).delete(delete))
}
