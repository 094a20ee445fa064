//! What every API request meets before its route: authentication (`X-Auth-Token`, a UUID; a
//! missing or refused key is 401 `denied_authentication`) and a request window (429 with
//! `Retry-After` past it; Scaleway publishes no limit for this API, so the window is generous
//! and sends no other headers).
//!
//! Must not look at paths or bodies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tokio::time::Instant;

/// The request window every API request counts against.
#[derive(Debug, Clone)]
pub struct RateWindow {
    limit: u64,
    window: Duration,
    state: Arc<Mutex<(Instant, u64)>>,
}

impl RateWindow {
    pub fn new(limit: u64, window: Duration) -> RateWindow {
        RateWindow { limit: limit.max(1), window, state: Arc::new(Mutex::new((Instant::now(), 0))) }
    }

    /// Counts one request; `Err(wait)` when the window is used up.
    fn take(&self) -> Result<(), Duration> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(s.0) >= self.window {
            *s = (now, 0);
        }
        if s.1 >= self.limit {
            return Err(self.window.saturating_sub(now.duration_since(s.0)));
        }
        s.1 += 1;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Guard {
    pub rate: RateWindow,
    /// Accept only this key; `None`: any UUID.
    pub secret_key: Option<String>,
}

pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    if let Err(wait) = guard.rate.take() {
        let body = json!({"type": "too_many_requests", "message": "too many requests, slow down"});
        let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
            r.headers_mut().insert("retry-after", v);
        }
        return r;
    }
    let key = request.headers().get("x-auth-token").and_then(|v| v.to_str().ok()).map(str::trim);
    let refusal = match (key, &guard.secret_key) {
        (None, _) | (Some(""), _) => Some("invalid_argument"),
        (Some(k), _) if uuid::Uuid::try_parse(k).is_err() => Some("invalid_argument"),
        (Some(k), Some(wanted)) if k != wanted => Some("not_found"),
        _ => None,
    };
    match refusal {
        Some(reason) => {
            let body = json!({"type": "denied_authentication", "message": "authentication is denied",
                "method": "api_key", "reason": reason});
            (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
        }
        None => next.run(request).await,
    }
}
