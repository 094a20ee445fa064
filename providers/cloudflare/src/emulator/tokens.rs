//! `GET /user/tokens/verify` (`specs/cloudflare-v4-user-tokens.extract.yaml`): whether the
//! Bearer token of the request is one the emulator knows. A known token is `active`, with a
//! stable id derived from it; an unknown one is 401 with code 1000 "Invalid API Token", no
//! `Authorization` header 400 with 1001, a malformed one 400 with 6003, as api.cloudflare.com
//! answers. The guard lets this path through so that it words its own refusals.
//!
//! Must not store tokens anywhere but in memory, nor echo one in an answer.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::envelope::Failure;

/// Where the route lives under the API's base path.
pub const VERIFY_PATH: &str = "/user/tokens/verify";

/// The tokens an emulator accepts. Clones share them.
#[derive(Debug, Clone)]
pub struct Known {
    tokens: Arc<HashSet<String>>,
}

impl Known {
    pub fn new(tokens: &[String]) -> Known {
        Known { tokens: Arc::new(tokens.iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()) }
    }

    pub fn knows(&self, token: &str) -> bool {
        self.tokens.contains(token)
    }
}

/// A token's id: 32 hex digits derived from the token, so it never changes and never shows it.
fn token_id(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("tarn-sim-token:{token}").as_bytes())[..16])
}

pub async fn verify(State(known): State<Known>, headers: HeaderMap) -> Response {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::trim) else {
        return Failure::bad_request(1001, "Missing \"Authorization\" header").into_response();
    };
    let token = match super::guard::bearer(value) {
        Ok(token) => token,
        Err(failure) => return failure.into_response(),
    };
    if !known.knows(token) {
        return Failure::new(StatusCode::UNAUTHORIZED, 1000, "Invalid API Token").into_response();
    }
    let body = json!({
        "success": true,
        "errors": [],
        "messages": [{"code": 10000, "message": "This API Token is valid and active"}],
        "result": {"id": token_id(token), "status": "active"},
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}
