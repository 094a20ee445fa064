//! Keystone v3 as the spec file's `identity` block describes it: `POST /v3/auth/tokens` with the
//! password method and project scope (201, the token in `X-Subject-Token`, the body with
//! `expires_at` and the catalog), `GET` (validate) and `DELETE` (revoke) `/v3/auth/tokens`, and
//! `GET /v3/auth/catalog`. Also the token check Nova's routes pass first ([`check_token`]).
//!
//! Tokens live as long as the settings say; a test shortens the lifetime or expires every
//! token at once (`Emulator::expire_tokens`, `POST /__sim/tokens`) to drive renewal.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Settings;
use super::data::{Data, Token, origin};
use super::fault::{keystone_error, unauthenticated};

/// Whether the request's `X-Auth-Token` is a live token.
pub fn check_token(data: &Data, headers: &HeaderMap) -> bool {
    let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) else { return false };
    live(data, token)
}

fn live(data: &Data, token: &str) -> bool {
    let tokens = data.tokens.lock().unwrap_or_else(|p| p.into_inner());
    tokens.get(token).is_some_and(|t| !t.revoked && t.expires_at > OffsetDateTime::now_utc())
}

/// Whether the password credentials and scope of an auth request match the settings.
fn accepted(s: &Settings, auth: &Json) -> Result<bool, &'static str> {
    let methods =
        auth.pointer("/identity/methods").and_then(Json::as_array).ok_or("auth.identity.methods is required")?;
    if !methods.iter().any(|m| m == "password") {
        return Err("only the password method is emulated");
    }
    let user = auth.pointer("/identity/password/user").ok_or("auth.identity.password.user is required")?;
    let password = user.get("password").and_then(Json::as_str).ok_or("the user's password is required")?;
    let name_ok = match (user.get("id").and_then(Json::as_str), user.get("name").and_then(Json::as_str)) {
        (Some(id), _) => id == s.user_id,
        (None, Some(name)) => {
            let domain = user.get("domain").ok_or("a user given by name needs a domain")?;
            name == s.user_name && domain_ok(domain)
        }
        (None, None) => return Err("the user needs an id or a name"),
    };
    let password_ok = match &s.password {
        Some(p) => p == password,
        None => !password.is_empty(),
    };
    let project = auth.pointer("/scope/project").ok_or("only project scope is emulated")?;
    let project_ok = match (project.get("id").and_then(Json::as_str), project.get("name").and_then(Json::as_str)) {
        (Some(id), _) => id == s.project_id,
        (None, Some(name)) => name == s.project_name && project.get("domain").is_some_and(domain_ok),
        (None, None) => return Err("the project needs an id or a name"),
    };
    Ok(name_ok && password_ok && project_ok)
}

fn domain_ok(domain: &Json) -> bool {
    domain.get("id").and_then(Json::as_str) == Some("default")
        || domain.get("name").and_then(Json::as_str) == Some("Default")
}

fn format(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The catalog: compute in every configured region, and identity, each public and internal.
fn catalog(s: &Settings, origin: &str) -> Json {
    let endpoints = |url: &str| -> Vec<Json> {
        s.regions
            .iter()
            .flat_map(|r| {
                ["public", "internal"].map(|interface| {
                    json!({"id": uuid::Uuid::new_v4().simple().to_string(), "interface": interface,
                        "region": r, "region_id": r, "url": url})
                })
            })
            .collect()
    };
    json!([
        {"type": "compute", "name": "nova", "id": "5b0a9d3a1e3b4b7f9c1c1c0e0c0e0001",
            "endpoints": endpoints(&format!("{origin}/compute/v2.1"))},
        {"type": "identity", "name": "keystone", "id": "5b0a9d3a1e3b4b7f9c1c1c0e0c0e0002",
            "endpoints": endpoints(&format!("{origin}/v3"))},
    ])
}

fn token_body(s: &Settings, t: &Token, origin: &str) -> Json {
    let domain = json!({"id": "default", "name": "Default"});
    json!({"token": {
        "audit_ids": [uuid::Uuid::new_v4().simple().to_string()[..22].to_string()],
        "catalog": catalog(s, origin),
        "expires_at": format(t.expires_at),
        "is_domain": false,
        "issued_at": format(t.issued_at),
        "methods": ["password"],
        "project": {"domain": domain, "id": s.project_id, "name": s.project_name},
        "roles": [{"id": "9fe2ff9ee4384b1894a90878d3e92bab", "name": "member"}],
        "user": {"domain": domain, "id": s.user_id, "name": s.user_name, "password_expires_at": null},
    }})
}

/// `POST /v3/auth/tokens`.
pub async fn issue(State(data): State<Data>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Ok(request) = serde_json::from_slice::<Json>(&body) else {
        return keystone_error(
            400,
            "Expecting to find auth in request body. The server could not comply with the request since it is either malformed or otherwise incorrect.",
        );
    };
    let s = data.settings();
    let Some(auth) = request.get("auth") else {
        return keystone_error(400, "Expecting to find auth in request body.");
    };
    match accepted(&s, auth) {
        Err(problem) => return keystone_error(400, problem),
        Ok(false) => return unauthenticated(&format!("{}/v3", origin(&headers))),
        Ok(true) => {}
    }
    let now = OffsetDateTime::now_utc();
    let lifetime = time::Duration::try_from(s.token_lifetime).unwrap_or(time::Duration::HOUR);
    let token = Token { issued_at: now, expires_at: now + lifetime, revoked: false };
    let value = format!("gAAAAAB{}", uuid::Uuid::new_v4().simple());
    let body = token_body(&s, &token, &origin(&headers));
    data.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(value.clone(), token);
    data.issued.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut r = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert("x-subject-token", v);
    }
    r
}

/// The subject token of a validate or revoke request, after checking the caller's own.
fn subject(data: &Data, headers: &HeaderMap) -> Result<String, Box<Response>> {
    if !check_token(data, headers) {
        return Err(Box::new(unauthenticated(&format!("{}/v3", origin(headers)))));
    }
    let subject = headers.get("x-subject-token").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if !live(data, &subject) {
        return Err(Box::new(keystone_error(404, &format!("Could not find token: {subject}"))));
    }
    Ok(subject)
}

/// `GET /v3/auth/tokens`: validates `X-Subject-Token`.
pub async fn validate(State(data): State<Data>, headers: HeaderMap) -> Response {
    let subject = match subject(&data, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let token = data.tokens.lock().unwrap_or_else(|p| p.into_inner()).get(&subject).cloned();
    let Some(token) = token else { return keystone_error(404, "Could not find token.") };
    let origin = origin(&headers);
    let mut body = token_body(&data.settings(), &token, &origin);
    // The api-ref lists `links` (required) in the validate answer only.
    if let Some(m) = body.as_object_mut() {
        m.insert("links".into(), json!({"self": format!("{origin}/v3/auth/tokens")}));
    }
    let mut r = axum::Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&subject) {
        r.headers_mut().insert("x-subject-token", v);
    }
    r
}

/// `DELETE /v3/auth/tokens`: revokes `X-Subject-Token`.
pub async fn revoke(State(data): State<Data>, headers: HeaderMap) -> Response {
    let subject = match subject(&data, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if let Some(t) = data.tokens.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&subject) {
        t.revoked = true;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /v3/auth/catalog`.
pub async fn catalog_route(State(data): State<Data>, headers: HeaderMap) -> Response {
    if !check_token(&data, &headers) {
        return unauthenticated(&format!("{}/v3", origin(&headers)));
    }
    let origin = origin(&headers);
    axum::Json(json!({
        "catalog": catalog(&data.settings(), &origin),
        "links": {"self": format!("{origin}/v3/auth/catalog"), "previous": null, "next": null},
    }))
    .into_response()
}
