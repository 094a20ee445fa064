//! Scaleway's answer shapes for every route: the error body `{type, message, …}` with the
//! types the observed-behaviour block lists (and their statuses), the object bodies
//! (`{"server": …}`) with 201 and `Location` on creates, 204 on deletes, and the list answers
//! with `page`/`per_page` checks and the `X-Total-Count` and `Link` headers.
//!
//! Must not know any resource's fields: routes pass JSON in and get responses out.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

/// An error answer.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub body: Json,
}

impl Failure {
    /// 404 `not_found` for an object of `resource` (instance_server, instance_volume, …).
    pub fn not_found(resource: &str, id: &str) -> Failure {
        Failure {
            status: StatusCode::NOT_FOUND,
            body: json!({"type": "not_found", "message": "resource is not found", "resource": resource, "resource_id": id}),
        }
    }
    /// 400 `invalid_arguments` with one detail (reason: unknown, required, format or constraint).
    pub fn invalid_argument(argument: &str, reason: &str, help: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            body: json!({"type": "invalid_arguments", "message": "invalid argument(s)",
                "details": [{"argument_name": argument, "reason": reason, "help_message": help.into()}]}),
        }
    }
    /// 400 `invalid_request_error` (the API's message for a request it understood but refuses).
    pub fn invalid_request(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            body: json!({"type": "invalid_request_error", "message": message.into()}),
        }
    }
    /// 409 `transient_state`: the object is between two states (a server starting).
    pub fn transient_state(resource: &str, id: &str, state: &str) -> Failure {
        Failure {
            status: StatusCode::CONFLICT,
            body: json!({"type": "transient_state", "message": format!("resource is in a transient state: {state}"),
                "resource": resource, "resource_id": id, "current_state": state}),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// `{key: object}`.
fn keyed(key: &str, object: Json) -> Json {
    let mut m = serde_json::Map::new();
    m.insert(key.to_string(), object);
    Json::Object(m)
}

/// A 200 answer with `{key: object}`.
pub fn ok(key: &str, object: Json) -> Response {
    (StatusCode::OK, axum::Json(keyed(key, object))).into_response()
}

/// A 201 answer with `{key: object}` and the object's `Location`.
pub fn created(key: &str, object: Json, location: &str) -> Response {
    let mut r = (StatusCode::CREATED, axum::Json(keyed(key, object))).into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert("location", v);
    }
    r
}

/// 204, empty.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Page and size of a list request.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: usize,
    pub per_page: usize,
}

impl Paging {
    /// `page` from 1, `per_page` 1..100 (default 50), as the API checks them.
    pub fn parse(q: &HashMap<String, String>) -> Result<Paging, Failure> {
        let number = |name: &str, default: usize| -> Result<usize, Failure> {
            match q.get(name) {
                None => Ok(default),
                Some(text) => text.trim().parse::<usize>().map_err(|_| {
                    Failure::invalid_argument(
                        name,
                        "format",
                        format!("{name} must be a positive integer, got {text:?}"),
                    )
                }),
            }
        };
        let page = number("page", 1)?;
        let per_page = number("per_page", 50)?;
        if page < 1 {
            return Err(Failure::invalid_argument("page", "constraint", "page must be at least 1"));
        }
        if !(1..=100).contains(&per_page) {
            return Err(Failure::invalid_argument("per_page", "constraint", "per_page must be between 1 and 100"));
        }
        Ok(Paging { page, per_page })
    }
}

/// A list answer: `{key: [page of items]}` with `X-Total-Count`, and `Link` naming the next and
/// last pages (relative URLs, as the API gives them).
pub fn list(key: &str, items: Vec<Json>, paging: Paging, path: &str) -> Response {
    let total = items.len();
    let skip = (paging.page - 1).saturating_mul(paging.per_page);
    let page: Vec<Json> = items.into_iter().skip(skip).take(paging.per_page).collect();
    paged(keyed(key, Json::Array(page)), total, paging, path)
}

/// Adds the paging headers to an answer whose body is already cut to the page.
pub fn paged(body: Json, total: usize, paging: Paging, path: &str) -> Response {
    let last = total.div_ceil(paging.per_page).max(1);
    let mut links = Vec::new();
    if paging.page < last {
        links.push(format!("<{path}?page={}&per_page={}>; rel=\"next\"", paging.page + 1, paging.per_page));
    }
    links.push(format!("<{path}?page={last}&per_page={}>; rel=\"last\"", paging.per_page));
    let mut r = (StatusCode::OK, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        r.headers_mut().insert("x-total-count", v);
    }
    if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
        r.headers_mut().insert("link", v);
    }
    r
}

/// A JSON object body, or `invalid_request_error` as the API answers malformed JSON.
pub fn parse_body(bytes: &[u8]) -> Result<serde_json::Map<String, Json>, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::invalid_request("the request body must be a JSON object")),
        Err(e) => Err(Failure::invalid_request(format!("cannot parse the request body: {e}"))),
    }
}

/// Tags filter: every comma-separated tag in `wanted` is among `tags`.
pub fn has_tags(tags: &[String], wanted: Option<&String>) -> bool {
    wanted.is_none_or(|w| w.split(',').map(str::trim).filter(|t| !t.is_empty()).all(|t| tags.iter().any(|x| x == t)))
}
