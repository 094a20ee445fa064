//! What every Nova request meets before its route, and the list helpers: the token check
//! (keystonemiddleware's 401 in Keystone's shape), the microversion (`OpenStack-API-Version:
//! compute 2.1` or the legacy `X-OpenStack-Nova-API-Version`; absent means 2.1; the emulator
//! serves 2.1 only, so any other version is 406 as Nova answers an unsupported one), the headers
//! every answer carries (both version headers, `Vary`, the request ids), and `limit`/`marker`
//! pages with `<collection>_links`.
//!
//! Must not know any resource's fields.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use super::data::{Data, origin};
use super::fault::{Fault, unauthenticated};
use super::keystone::check_token;

/// The only microversion served.
pub const VERSION: &str = "2.1";
/// Nova's `osapi_max_limit`: larger limits are cut to it.
pub const MAX_LIMIT: usize = 1000;

/// The version a request asks for, if it names one.
fn requested(request: &Request) -> Option<String> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(v) = header("openstack-api-version") {
        return Some(v.strip_prefix("compute").map(str::trim).unwrap_or(v).to_string());
    }
    header("x-openstack-nova-api-version").map(str::to_string)
}

pub async fn guard(State(data): State<Data>, request: Request, next: Next) -> Response {
    if !check_token(&data, request.headers()) {
        data.refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        return unauthenticated(&format!("{}/v3", origin(request.headers())));
    }
    let version = requested(&request);
    let mut response = match version.as_deref() {
        None | Some("2.1") | Some("latest") => next.run(request).await,
        Some(other) => Fault::new(
            406,
            format!("Version {other} is not supported by the API. Minimum is {VERSION} and maximum is {VERSION}."),
        )
        .into_response(),
    };
    let h = response.headers_mut();
    h.insert("openstack-api-version", HeaderValue::from_static("compute 2.1"));
    h.insert("x-openstack-nova-api-version", HeaderValue::from_static("2.1"));
    h.insert("vary", HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"));
    if let Ok(id) = HeaderValue::from_str(&format!("req-{}", uuid::Uuid::new_v4())) {
        h.insert("x-openstack-request-id", id.clone());
        h.insert("x-compute-request-id", id);
    }
    response
}

/// The `limit` and `marker` of a list request.
pub fn page(query: &[(String, String)]) -> Result<(usize, Option<String>), Fault> {
    let mut limit = MAX_LIMIT;
    let mut marker = None;
    for (k, v) in query {
        match k.as_str() {
            "limit" => {
                let n: i64 = v.parse().map_err(|_| Fault::bad_request("limit param must be an integer"))?;
                if n < 0 {
                    return Err(Fault::bad_request("limit param must be positive"));
                }
                limit = (n as usize).min(MAX_LIMIT);
            }
            "marker" => marker = Some(v.clone()),
            _ => {}
        }
    }
    Ok((limit, marker))
}

/// `{key: items, key_links: [next]}`: a next link when the page is full, as Nova gives it.
pub fn paged(key: &str, items: Vec<Json>, limit: usize, base: &str) -> axum::Json<Json> {
    let mut body = serde_json::Map::new();
    let last = items.last().and_then(|i| i.get("id")).and_then(Json::as_str).map(str::to_string);
    let full = limit > 0 && items.len() == limit;
    body.insert(key.into(), Json::Array(items));
    if let (true, Some(last)) = (full, last) {
        body.insert(
            format!("{key}_links"),
            json!([{"rel": "next", "href": format!("{base}?limit={limit}&marker={last}")}]),
        );
    }
    axum::Json(Json::Object(body))
}
