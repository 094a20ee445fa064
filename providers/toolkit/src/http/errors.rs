//! HTTP failures as classified [`ProviderError`]s: the status decides the class, the body gives
//! the vendor's own words. One small extractor per vendor error style, tried in order.
//!
//! Must not retry, sleep or log: the client decides when an answer is final and calls here once.
//! Messages name the method, the path (never the query, which may hold secrets) and the status.

use reqwest::{Method, StatusCode};
use serde_json::Value as Json;

use crate::error::{ErrorClass, ErrorKind, ProviderError};

/// The class of a final, unsuccessful status.
pub fn class_for_status(status: StatusCode) -> ErrorClass {
    match status.as_u16() {
        404 | 410 => ErrorClass::NotFound,
        409 | 412 => ErrorClass::Conflict,
        408 | 429 => ErrorClass::Transient,
        s if s >= 500 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    }
}

/// The error for a final answer with a non-success status.
pub fn status_error(method: &Method, path: &str, status: StatusCode, body: &Json, attempts: u32) -> ProviderError {
    let vendor = vendor_message(body).unwrap_or_else(|| fallback_message(body, status));
    let tries = if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() };
    let error = ProviderError::new(
        class_for_status(status),
        format!("{method} {path}: HTTP {}{tries}: {vendor}", status.as_u16()),
    );
    match kind_for_status(status) {
        Some(kind) => error.with_kind(kind),
        None => error,
    }
}

/// What a status says about why, where it says something a caller can act on.
pub fn kind_for_status(status: StatusCode) -> Option<ErrorKind> {
    match status.as_u16() {
        401 => Some(ErrorKind::Unauthenticated),
        403 => Some(ErrorKind::Denied),
        408 | 504 => Some(ErrorKind::TimedOut),
        423 => Some(ErrorKind::NotReady),
        _ => None,
    }
}

/// The error when no answer came at all (connect failure, timeout, broken body).
pub fn transport_error(method: &Method, path: &str, what: &str, attempts: u32) -> ProviderError {
    ProviderError::transient(format!("{method} {path}: {what} (after {attempts} attempts)"))
}

/// The error when a request found no final answer within the client's operation timeout.
pub fn deadline_error(method: &Method, url: &str, limit: std::time::Duration) -> ProviderError {
    ProviderError::transient(format!(
        "{method} {url}: no final answer within {} s (attempts, retries and waits together); it was abandoned",
        limit.as_secs_f64()
    ))
}

/// The vendor's message, from whichever error style the body follows.
pub fn vendor_message(body: &Json) -> Option<String> {
    const EXTRACTORS: &[fn(&Json) -> Option<String>] = &[cloudflare, digitalocean, scaleway, plain_message, openstack];
    EXTRACTORS.iter().find_map(|extract| extract(body))
}

/// Cloudflare: `{"success": false, "errors": [{"code": 81057, "message": "..."}]}`.
fn cloudflare(body: &Json) -> Option<String> {
    let errors = body.get("errors")?.as_array()?;
    let parts: Vec<String> = errors
        .iter()
        .filter_map(|e| {
            let message = e.get("message")?.as_str()?;
            Some(match e.get("code") {
                Some(code) if !code.is_null() => format!("{message} (code {code})"),
                _ => message.to_string(),
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// DigitalOcean: `{"id": "not_found", "message": "...", "request_id": "..."}`.
fn digitalocean(body: &Json) -> Option<String> {
    let id = body.get("id")?.as_str()?;
    let message = body.get("message")?.as_str()?;
    Some(format!("{message} ({id})"))
}

/// Scaleway: `{"message": "...", "type": "invalid_arguments", "details"/"fields": ...}`.
fn scaleway(body: &Json) -> Option<String> {
    let kind = body.get("type")?.as_str()?;
    let message = body.get("message")?.as_str()?;
    let mut text = format!("{message} ({kind})");
    if let Some(fields) = body.get("fields").and_then(Json::as_object) {
        let names: Vec<&str> = fields.keys().map(String::as_str).collect();
        if !names.is_empty() {
            text.push_str(&format!(", fields: {}", names.join(", ")));
        }
    }
    Some(text)
}

/// Any body with a top-level `message` string.
fn plain_message(body: &Json) -> Option<String> {
    body.get("message")?.as_str().map(str::to_string)
}

/// OpenStack: `{"itemNotFound": {"message": "...", "code": 404}}`, and Keystone's
/// `{"error": {"code": 401, "title": "Unauthorized", "message": "..."}}`.
fn openstack(body: &Json) -> Option<String> {
    let object = body.as_object()?;
    if object.len() != 1 {
        return None;
    }
    let (fault, inner) = object.iter().next()?;
    let message = inner.get("message")?.as_str()?;
    let name = inner.get("title").and_then(Json::as_str).unwrap_or(fault);
    Some(format!("{name}: {message}"))
}

/// A body in no known style: a short excerpt of plain text, else the status's reason phrase.
fn fallback_message(body: &Json, status: StatusCode) -> String {
    match body {
        Json::String(text) if !text.trim().is_empty() => text.trim().chars().take(200).collect(),
        _ => status.canonical_reason().unwrap_or("unexpected status").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_vendor_style_yields_its_message() {
        let cf = json!({"success": false, "errors": [{"code": 971, "message": "Please wait"}], "result": null});
        assert_eq!(vendor_message(&cf).as_deref(), Some("Please wait (code 971)"));
        let dig = json!({"id": "not_found", "message": "The resource was not found.", "request_id": "r"});
        assert_eq!(vendor_message(&dig).as_deref(), Some("The resource was not found. (not_found)"));
        let scw = json!({"type": "invalid_arguments", "message": "bad name", "fields": {"name": ["too long"]}});
        assert_eq!(vendor_message(&scw).as_deref(), Some("bad name (invalid_arguments), fields: name"));
        let nova = json!({"itemNotFound": {"message": "Instance x could not be found.", "code": 404}});
        assert_eq!(vendor_message(&nova).as_deref(), Some("itemNotFound: Instance x could not be found."));
        let ks = json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}});
        assert_eq!(
            vendor_message(&ks).as_deref(),
            Some("Unauthorized: The request you have made requires authentication.")
        );
        assert_eq!(vendor_message(&json!({"weird": 1})), None);
    }

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(class_for_status(StatusCode::NOT_FOUND), ErrorClass::NotFound);
        assert_eq!(class_for_status(StatusCode::CONFLICT), ErrorClass::Conflict);
        assert_eq!(class_for_status(StatusCode::PRECONDITION_FAILED), ErrorClass::Conflict);
        assert_eq!(class_for_status(StatusCode::TOO_MANY_REQUESTS), ErrorClass::Transient);
        assert_eq!(class_for_status(StatusCode::BAD_GATEWAY), ErrorClass::Transient);
        assert_eq!(class_for_status(StatusCode::UNPROCESSABLE_ENTITY), ErrorClass::Permanent);
        assert_eq!(class_for_status(StatusCode::FORBIDDEN), ErrorClass::Permanent);
        assert_eq!(kind_for_status(StatusCode::UNAUTHORIZED), Some(ErrorKind::Unauthenticated));
        assert_eq!(kind_for_status(StatusCode::FORBIDDEN), Some(ErrorKind::Denied));
        assert_eq!(kind_for_status(StatusCode::UNPROCESSABLE_ENTITY), None);
    }

    #[test]
    fn message_names_method_path_and_status() {
        let e = status_error(&Method::DELETE, "/v2/droplets/3", StatusCode::NOT_FOUND, &Json::Null, 1);
        assert_eq!(e.message, "DELETE /v2/droplets/3: HTTP 404: Not Found");
    }
}
