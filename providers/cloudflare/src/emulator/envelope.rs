//! Cloudflare's response envelope, `{success, errors, messages, result, result_info}`, for
//! every answer the emulator gives, and the page arithmetic of list endpoints.
//!
//! Must not know any resource: routes pass results in and get responses out.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

/// One entry of `errors`: Cloudflare's numeric code and its message.
pub type ApiError = (u32, String);

/// A failure answer, with the status and `errors` entries.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub errors: Vec<ApiError>,
}

impl Failure {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Failure {
        Failure { status, errors: vec![(code, message.into())] }
    }
    pub fn bad_request(code: u32, message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// The answer for a path whose zone or object id names nothing: 7003 and 7000.
    pub fn no_route(path: &str) -> Failure {
        Failure {
            status: StatusCode::NOT_FOUND,
            errors: vec![
                (7003, format!("Could not route to {path}, perhaps your object identifier is invalid?")),
                (7000, "No route for that URI".into()),
            ],
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, axum::Json(failure_body(&self.errors))).into_response()
    }
}

/// The failure envelope.
pub fn failure_body(errors: &[ApiError]) -> Json {
    let errors: Vec<Json> = errors.iter().map(|(code, message)| json!({"code": code, "message": message})).collect();
    json!({"success": false, "errors": errors, "messages": [], "result": null})
}

/// A success answer with `result`.
pub fn ok(result: Json) -> Response {
    (StatusCode::OK, axum::Json(json!({"success": true, "errors": [], "messages": [], "result": result})))
        .into_response()
}

/// Page and size of a list request, validated against the endpoint's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: usize,
    pub per_page: usize,
}

/// The bounds a list endpoint puts on `per_page`.
#[derive(Debug, Clone, Copy)]
pub struct PageRule {
    pub default: usize,
    pub min: usize,
    pub max: usize,
    /// Lockdowns: 1 or a multiple of 5 only.
    pub multiple_of_five: bool,
}

impl Paging {
    pub fn parse(page: Option<&str>, per_page: Option<&str>, rule: PageRule) -> Result<Paging, Failure> {
        let number = |name: &str, raw: Option<&str>, default: usize| -> Result<usize, Failure> {
            match raw {
                None => Ok(default),
                Some(text) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.fract() == 0.0 && *n >= 0.0)
                    .map(|n| n as usize)
                    .ok_or_else(|| Failure::bad_request(1004, format!("{name} must be a whole number, got {text:?}"))),
            }
        };
        let page = number("page", page, 1)?;
        let per_page = number("per_page", per_page, rule.default)?;
        if page < 1 {
            return Err(Failure::bad_request(1004, "page must be at least 1"));
        }
        if per_page < rule.min || per_page > rule.max {
            return Err(Failure::bad_request(1004, format!("per_page must be between {} and {}", rule.min, rule.max)));
        }
        if rule.multiple_of_five && per_page != 1 && per_page % 5 != 0 {
            return Err(Failure::bad_request(1004, "per_page must be 1 or a multiple of 5"));
        }
        Ok(Paging { page, per_page })
    }
}

/// A list answer: the requested page of `items`, with `result_info` (and `total_pages`, which
/// live answers carry though the 2024 spec omits it).
pub fn list(items: Vec<Json>, paging: Paging) -> Response {
    let total = items.len();
    let skip = (paging.page - 1).saturating_mul(paging.per_page);
    let page: Vec<Json> = items.into_iter().skip(skip).take(paging.per_page).collect();
    let total_pages = total.div_ceil(paging.per_page);
    let body = json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": page,
        "result_info": {
            "page": paging.page,
            "per_page": paging.per_page,
            "count": page.len(),
            "total_count": total,
            "total_pages": total_pages,
        },
    });
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Parses a JSON request body, answering Cloudflare's malformed-body error otherwise.
pub fn parse_body(bytes: &[u8]) -> Result<serde_json::Map<String, Json>, Failure> {
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::bad_request(9207, "Request body is invalid: expected a JSON object.")),
        Err(e) => Err(Failure::bad_request(9207, format!("Request body is invalid: {e}."))),
    }
}
