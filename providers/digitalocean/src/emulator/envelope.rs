//! DigitalOcean's answer shapes for every route: the error body `{id, message, request_id}`,
//! the object bodies (`{"droplet": …}`) with their success statuses (200, 201, 202), 204 on
//! deletes, and the list answers with `page`/`per_page` checks, `links.pages` (absolute URLs
//! on the emulator's own origin, only the links that make sense) and `meta.total`.
//!
//! Must not know any resource's fields: routes pass JSON in and get responses out.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

/// An error answer.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub id: &'static str,
    pub message: String,
}

impl Failure {
    /// 404 `not_found`, in the API's words.
    pub fn not_found() -> Failure {
        Failure {
            status: StatusCode::NOT_FOUND,
            id: "not_found",
            message: "The resource you were accessing could not be found.".into(),
        }
    }
    /// 422 `unprocessable_entity`: a request the API understood but refuses.
    pub fn unprocessable(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::UNPROCESSABLE_ENTITY, id: "unprocessable_entity", message: message.into() }
    }
    /// 400 `bad_request`: a malformed request.
    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure { status: StatusCode::BAD_REQUEST, id: "bad_request", message: message.into() }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = json!({"id": self.id, "message": self.message, "request_id": uuid::Uuid::new_v4().to_string()});
        (self.status, axum::Json(body)).into_response()
    }
}

/// `{key: object}` with `status`.
pub fn object(status: StatusCode, key: &str, object: Json) -> Response {
    let mut m = serde_json::Map::new();
    m.insert(key.to_string(), object);
    (status, axum::Json(Json::Object(m))).into_response()
}

pub fn ok(key: &str, value: Json) -> Response {
    object(StatusCode::OK, key, value)
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
    /// `page` from 1, `per_page` 1..200 (default 20), as the spec's parameters say.
    pub fn parse(q: &HashMap<String, String>) -> Result<Paging, Failure> {
        let number = |name: &str, default: usize| -> Result<usize, Failure> {
            match q.get(name) {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<usize>()
                    .map_err(|_| Failure::bad_request(format!("{name} must be a positive integer, got {text:?}"))),
            }
        };
        let page = number("page", 1)?;
        let per_page = number("per_page", 20)?;
        if page < 1 {
            return Err(Failure::bad_request("page must be at least 1"));
        }
        if !(1..=200).contains(&per_page) {
            return Err(Failure::bad_request("per_page must be between 1 and 200"));
        }
        Ok(Paging { page, per_page })
    }
}

/// The origin requests came to (`http://127.0.0.1:P`), for absolute links.
pub fn origin(headers: &HeaderMap) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// A list answer: `{key: [page of items], links: {pages: …}, meta: {total}}`. `filters` are the
/// request's own query parameters (other than paging), kept in the links.
pub fn list(
    key: &str,
    items: Vec<Json>,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    path: &str,
) -> Result<Response, Failure> {
    let paging = Paging::parse(q)?;
    let total = items.len();
    let skip = (paging.page - 1).saturating_mul(paging.per_page);
    let page: Vec<Json> = items.into_iter().skip(skip).take(paging.per_page).collect();
    let last = total.div_ceil(paging.per_page).max(1);
    let mut filters: Vec<(&String, &String)> = q.iter().filter(|(k, _)| *k != "page" && *k != "per_page").collect();
    filters.sort();
    let extra: String = filters.iter().map(|(k, v)| format!("&{k}={v}")).collect();
    let link = |n: usize| format!("{}{path}?page={n}&per_page={}{extra}", origin(headers), paging.per_page);
    let mut pages = serde_json::Map::new();
    if paging.page > 1 {
        pages.insert("first".into(), json!(link(1)));
        pages.insert("prev".into(), json!(link(paging.page - 1)));
    }
    if paging.page < last {
        pages.insert("next".into(), json!(link(paging.page + 1)));
        pages.insert("last".into(), json!(link(last)));
    }
    let links = if pages.is_empty() { json!({}) } else { json!({"pages": pages}) };
    let mut body = serde_json::Map::new();
    body.insert(key.to_string(), Json::Array(page));
    body.insert("links".into(), links);
    body.insert("meta".into(), json!({"total": total}));
    Ok((StatusCode::OK, axum::Json(Json::Object(body))).into_response())
}

/// A JSON object body, or `bad_request` as the API answers malformed JSON.
pub fn parse_body(bytes: &[u8]) -> Result<serde_json::Map<String, Json>, Failure> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::bad_request("the request body must be a JSON object")),
        Err(e) => Err(Failure::bad_request(format!("cannot parse the request body: {e}"))),
    }
}

/// A required string field.
pub fn text<'a>(body: &'a serde_json::Map<String, Json>, name: &str) -> Result<&'a str, Failure> {
    body.get(name)
        .and_then(Json::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| Failure::unprocessable(format!("{name} is required and must be a non-empty string")))
}
