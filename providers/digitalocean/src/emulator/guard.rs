//! What every API request meets before its route: the rate limits (250 per minute, 5000 per
//! hour per token; every answer carries `ratelimit-limit`, `ratelimit-remaining` and
//! `ratelimit-reset`; past a limit, 429 `too_many_requests`, with `retry-after` when the
//! per-minute burst limit is the one reached), then authentication (`Authorization: Bearer`;
//! a missing or refused token is 401 `unauthorized`).
//!
//! Must not look at paths or bodies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tarn_sdk::sim::{RateLimitStyle, rate_limit_headers};
use tokio::time::Instant;

/// One fixed window: at most `limit` requests per `window`.
#[derive(Debug, Clone)]
struct Window {
    limit: u64,
    window: Duration,
    state: Arc<Mutex<(Instant, u64)>>,
}

impl Window {
    fn new(limit: u64, window: Duration) -> Window {
        Window { limit: limit.max(1), window, state: Arc::new(Mutex::new((Instant::now(), 0))) }
    }

    /// (requests left, time until the window resets); the window restarts when it has passed.
    fn look(&self) -> (u64, Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(s.0) >= self.window {
            *s = (now, 0);
        }
        (self.limit.saturating_sub(s.1), self.window.saturating_sub(now.duration_since(s.0)))
    }

    fn count(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1 += 1;
    }
}

/// The two request windows of the API.
#[derive(Debug, Clone)]
pub struct RateLimits {
    minute: Window,
    hour: Window,
}

impl RateLimits {
    pub fn new(per_minute: u64, minute: Duration, per_hour: u64, hour: Duration) -> RateLimits {
        RateLimits { minute: Window::new(per_minute, minute), hour: Window::new(per_hour, hour) }
    }
}

#[derive(Debug, Clone)]
pub struct Guard {
    pub rate: RateLimits,
    /// Accept only this token; `None`: any.
    pub token: Option<String>,
}

pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (burst_left, burst_reset) = guard.rate.minute.look();
    let (hour_left, hour_reset) = guard.rate.hour.look();
    let headers =
        |remaining: u64| rate_limit_headers(RateLimitStyle::DigitalOcean, guard.rate.hour.limit, remaining, hour_reset);
    if burst_left == 0 || hour_left == 0 {
        let body = json!({"id": "too_many_requests", "message": "API Rate limit exceeded."});
        let mut r = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
        r.headers_mut().extend(headers(0));
        if burst_left == 0 {
            let secs = burst_reset.as_secs() + u64::from(burst_reset.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
        }
        return r;
    }
    guard.rate.minute.count();
    guard.rate.hour.count();
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let allowed = match (token, &guard.token) {
        (None, _) | (Some(""), _) => false,
        (Some(t), Some(wanted)) => t == wanted,
        (Some(_), None) => true,
    };
    let mut r = if allowed {
        next.run(request).await
    } else {
        let body = json!({"id": "unauthorized", "message": "Unable to authenticate you."});
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    };
    r.headers_mut().extend(headers(hour_left.saturating_sub(1)));
    r
}
