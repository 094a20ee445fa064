//! The error shapes of both APIs, as the spec file's `errors` blocks give them: Nova's fault
//! body `{"<faultName>": {"code", "message"}}` with the name map (400 badRequest, 404
//! itemNotFound, 409 conflictingRequest, …, anything else computeFault), and Keystone's
//! `{"error": {"code", "title", "message"}}`, which keystonemiddleware also answers Nova's
//! unauthenticated requests with (plus `WWW-Authenticate: Keystone uri=…`).
//!
//! Must not know any resource: routes build a [`Fault`] and return it.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

/// A Nova fault answer.
#[derive(Debug)]
pub struct Fault {
    pub status: StatusCode,
    pub message: String,
}

impl Fault {
    pub fn new(status: u16, message: impl Into<String>) -> Fault {
        Fault {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Fault {
        Fault::new(400, message)
    }
    pub fn not_found(message: impl Into<String>) -> Fault {
        Fault::new(404, message)
    }
    pub fn conflict(message: impl Into<String>) -> Fault {
        Fault::new(409, message)
    }
    pub fn body(&self) -> Json {
        nova_body(self.status.as_u16(), &self.message)
    }
}

/// The fault name Nova gives a status (`compute.errors.fault_names`).
pub fn fault_name(status: u16) -> &'static str {
    match status {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

pub fn nova_body(status: u16, message: &str) -> Json {
    json!({fault_name(status): {"code": status, "message": message}})
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let body = self.body();
        let mut r = (self.status, axum::Json(body)).into_response();
        r.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=UTF-8"));
        r
    }
}

/// Keystone's error body.
pub fn keystone_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let title = code.canonical_reason().unwrap_or("Error");
    (code, axum::Json(json!({"error": {"code": status, "title": title, "message": message}}))).into_response()
}

/// 401 in Keystone's shape with the header that names where to authenticate.
pub fn unauthenticated(identity_url: &str) -> Response {
    let mut r = keystone_error(401, "The request you have made requires authentication.");
    if let Ok(v) = HeaderValue::from_str(&format!("Keystone uri=\"{identity_url}\"")) {
        r.headers_mut().insert("www-authenticate", v);
    }
    r
}
