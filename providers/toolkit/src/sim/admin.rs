//! The fault controls of a running emulator over HTTP, for tools and pipelines that use
//! `tarn sim serve` from outside the process. Served under `/__sim/faults`, beside (not behind)
//! the fault layer, so turning faults off always works.
//!
//! `GET` answers `{"requests": N}`; `POST` takes a JSON object with any of `fail_next`
//! `{count, status}`, `throttle_next` `{count, retry_after}`, `latency_ms`, `hang`,
//! `fail_every` `{k, status}`; `DELETE` turns every fault off. Failure bodies are the
//! emulator's own vendor-style ones. Must not know any vendor's routes.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::Faults;

/// The path the admin routes are served under.
pub const FAULTS_PATH: &str = "/__sim/faults";

/// The bodies an emulator answers faults with, in its vendor's error style.
#[derive(Debug, Clone)]
pub struct FaultBodies {
    pub server_error: Json,
    pub throttled: Json,
}

#[derive(Clone)]
struct Admin {
    faults: Faults,
    bodies: FaultBodies,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    fail_next: Option<FailNext>,
    throttle_next: Option<ThrottleNext>,
    latency_ms: Option<u64>,
    hang: Option<bool>,
    fail_every: Option<FailEvery>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    count: u32,
    #[serde(default = "default_status")]
    status: u16,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleNext {
    count: u32,
    retry_after: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FailEvery {
    k: u64,
    #[serde(default = "default_status")]
    status: u16,
}

fn default_status() -> u16 {
    503
}

/// The admin router for `faults`; merge it beside the emulator's faulted router.
pub fn routes(faults: Faults, bodies: FaultBodies) -> Router {
    Router::new().route(FAULTS_PATH, get(show).post(set).delete(clear)).with_state(Admin { faults, bodies })
}

async fn show(State(admin): State<Admin>) -> axum::Json<Json> {
    axum::Json(json!({"requests": admin.faults.requests()}))
}

async fn clear(State(admin): State<Admin>) -> StatusCode {
    admin.faults.clear();
    StatusCode::NO_CONTENT
}

async fn set(State(admin): State<Admin>, body: axum::body::Bytes) -> (StatusCode, axum::Json<Json>) {
    let settings: Settings = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": format!("invalid fault settings: {e}")})));
        }
    };
    if let Some(f) = settings.fail_next {
        if !(400..=599).contains(&f.status) {
            return (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "fail_next.status must be 400..599"})));
        }
        let body = if f.status >= 500 { admin.bodies.server_error.clone() } else { admin.bodies.throttled.clone() };
        admin.faults.fail_next(f.count, f.status, body);
    }
    if let Some(t) = settings.throttle_next {
        admin.faults.throttle_next(t.count, t.retry_after.as_deref(), admin.bodies.throttled.clone());
    }
    if let Some(ms) = settings.latency_ms {
        admin.faults.set_latency(Duration::from_millis(ms));
    }
    if let Some(hang) = settings.hang {
        admin.faults.set_hang(hang);
    }
    if let Some(e) = settings.fail_every {
        admin.faults.fail_every(e.k, e.status);
    }
    (StatusCode::OK, axum::Json(json!({"requests": admin.faults.requests()})))
}
