//! The HTTP routes of `api.yaml`, each as the original server answers: authentication first
//! (HTTP Basic, passed through to OpenNebula; missing → 401), then the body (not JSON → 400
//! "Invalid JSON"; not a SERVERLESS_RUNTIME → 400 with the schema's complaints; for PUT, as
//! the original, only after the runtime was found, 404 first, and answered 500), then the run
//! (`engine`). An answer carries the runtime's workspace in `X-Tarn-Workspace`, so its runs
//! can be found with `tarn history --workspace`. A request refused here, before any run, is
//! recorded in the history of the `serve-refused` workspace (`Engine::record_refusal`).
//!
//! Parses and words; the runs are the engine's.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value as Json, json};

use super::contract::{API_VERSION, ApiError, Contract, SR};
use super::document::{Spec, to_document};
use super::engine::{Credentials, Engine, REFUSED_WORKSPACE};
use super::metrics;

/// What every route shares.
#[derive(Clone)]
pub struct App {
    pub engine: Arc<Engine>,
    /// engine.conf as read, for `GET /server/config`.
    pub conf: Arc<Json>,
}

pub fn router(app: App) -> Router {
    let metrics = app.engine.metrics.clone();
    Router::new()
        .route("/serverless-runtimes/schema", get(schema))
        .route("/serverless-runtimes", axum::routing::post(create))
        .route("/serverless-runtimes/{id}", get(show).put(update).delete(remove))
        .route("/server/version", get(version))
        .route("/server/config", get(config))
        .with_state(app)
        .route("/metrics", get(metrics::serve).with_state(metrics.clone()))
        .fallback(|| async { (StatusCode::NOT_FOUND, axum::Json(json!({"error": "Not found", "message": ""}))) })
        .layer(middleware::from_fn_with_state(metrics, metrics::observe))
}

async fn schema() -> Response {
    axum::Json(Contract::get().runtime_schema.clone()).into_response()
}

async fn version() -> Response {
    axum::Json(json!(API_VERSION)).into_response()
}

async fn config(State(app): State<App>) -> Response {
    axum::Json((*app.conf).clone()).into_response()
}

/// HTTP Basic credentials, as the original reads them.
fn credentials(headers: &HeaderMap) -> Result<Credentials, ApiError> {
    let Some(header) = headers.get("authorization") else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Authentication required", ""));
    };
    let text = header.to_str().unwrap_or_default();
    let unsupported = || ApiError::new(StatusCode::UNAUTHORIZED, "Unsupported authentication scheme", "");
    let Some(encoded) = text.strip_prefix("Basic ") else { return Err(unsupported()) };
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| unsupported())?;
    let decoded = String::from_utf8(decoded).map_err(|_| unsupported())?;
    let (user, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    Ok(Credentials { user: user.to_string(), password: password.to_string() })
}

/// A JSON body valid against `serverless_runtime.json`.
fn runtime_body(body: &Bytes) -> Result<Json, ApiError> {
    runtime_spec(json_body(body)?)
}

/// A JSON body (not JSON: 400 `Invalid JSON`).
fn json_body(body: &Bytes) -> Result<Json, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "Invalid JSON", e.to_string()))
}

/// `json` if it is a `SERVERLESS_RUNTIME` (else 400 with the schema's complaints).
fn runtime_spec(json: Json) -> Result<Json, ApiError> {
    Contract::get()
        .check_runtime(&json)
        .map_err(|why| ApiError::new(StatusCode::BAD_REQUEST, format!("Invalid {SR} specification"), why))?;
    if json.get("SERVERLESS_RUNTIME").is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid {SR} specification"),
            "the body has no SERVERLESS_RUNTIME",
        ));
    }
    Ok(json)
}

/// A path id: the runtime's number; anything else names no runtime.
fn id_of(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::not_found())
}

fn with_workspace(status: StatusCode, workspace: &str, body: Option<Json>) -> Response {
    let mut response = match body {
        Some(b) => (status, axum::Json(b)).into_response(),
        None => status.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(workspace) {
        response.headers_mut().insert("x-tarn-workspace", v);
    }
    response
}

/// `checked`, or its refusal recorded in the history (see the module header).
async fn admitted<T>(app: &App, command: &str, checked: Result<T, ApiError>) -> Result<T, ApiError> {
    match checked {
        Ok(x) => Ok(x),
        Err(e) => {
            app.engine.record_refusal(REFUSED_WORKSPACE, command, &e).await;
            Err(e)
        }
    }
}

fn command(method: &str, path: &str) -> String {
    format!("tarn serve: {method} /serverless-runtimes{path}")
}

async fn create(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let checked = credentials(&headers).and_then(|c| Ok((c, Spec::from_request(&runtime_body(&body)?))));
    let (creds, spec) = admitted(&app, &command("POST", ""), checked).await?;
    let engine = app.engine.clone();
    let (ws, attrs) = app.engine.spawn(async move { engine.create(&creds, spec).await }).await??;
    Ok(with_workspace(StatusCode::CREATED, &ws, Some(to_document(&attrs))))
}

async fn show(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let checked = credentials(&headers).and_then(|c| Ok((c, id_of(&id)?)));
    let (creds, id) = admitted(&app, &command("GET", &format!("/{id}")), checked).await?;
    let engine = app.engine.clone();
    let (ws, attrs) = app.engine.spawn(async move { engine.read(&creds, id).await }).await??;
    Ok(with_workspace(StatusCode::OK, &ws, Some(to_document(&attrs))))
}

async fn update(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The original's order: credentials (401), JSON (400), the runtime (404), then the body
    // against the schema, then the functions' states (423, in the run). A body that is not a
    // SERVERLESS_RUNTIME is a failed update there (500, api.yaml lists no 400 for PUT), with
    // the schema's title and complaints.
    let command = command("PUT", &format!("/{id}"));
    let checked = credentials(&headers).and_then(|c| Ok((c, json_body(&body)?, id_of(&id)?)));
    let (creds, body, id) = admitted(&app, &command, checked).await?;
    let workspace = app.engine.known(id, &command).await?;
    let body = match runtime_spec(body) {
        Ok(body) => body,
        Err(e) => {
            let e = ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, ..e };
            app.engine.record_refusal(&workspace, &command, &e).await;
            return Err(e);
        }
    };
    let engine = app.engine.clone();
    let (ws, attrs) = app.engine.spawn(async move { engine.resize(&creds, id, body).await }).await??;
    Ok(with_workspace(StatusCode::OK, &ws, Some(to_document(&attrs))))
}

async fn remove(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let checked = credentials(&headers).and_then(|c| Ok((c, id_of(&id)?)));
    let (creds, id) = admitted(&app, &command("DELETE", &format!("/{id}")), checked).await?;
    let engine = app.engine.clone();
    let ws = app.engine.spawn(async move { engine.delete(&creds, id).await }).await??;
    Ok(with_workspace(StatusCode::NO_CONTENT, &ws, None))
}
