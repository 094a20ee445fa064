//! What every API request meets before its route: the rate limit (1200 requests per 5 minutes
//! by default, `Ratelimit`/`Ratelimit-Policy` on every answer, 429 with `Retry-After` and code
//! 971 past it) and authentication (a Bearer token, or `X-Auth-Email` with `X-Auth-Key`, checked
//! against the tokens the emulator knows: none is 401, an unknown one 403, both with code 10000
//! "Authentication error" as api.cloudflare.com answers; a malformed `Authorization` header is
//! 400 with 6003).
//!
//! Must not look at bodies; the one path it knows is `/user/tokens/verify`, whose refusals the
//! route itself words (`tokens`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tarn_sdk::sim::{RateLimitStyle, rate_limit_headers};
use tokio::time::Instant;

use super::envelope::Failure;
use super::tokens::Known;

/// The body Cloudflare answers a throttled request with.
pub const THROTTLED_MESSAGE: &str = "Please wait and consider throttling your request speed";

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

    /// Counts one request: `Ok(remaining)` or `Err(wait)` when the window is used up.
    fn take(&self) -> (Result<u64, ()>, Duration) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(s.0) >= self.window {
            *s = (now, 0);
        }
        let reset = self.window.saturating_sub(now.duration_since(s.0));
        if s.1 >= self.limit {
            return (Err(()), reset);
        }
        s.1 += 1;
        (Ok(self.limit - s.1), reset)
    }
}

/// Who may call: the holders of a known token.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub known: Known,
}

#[derive(Debug, Clone)]
pub struct Guard {
    pub rate: RateWindow,
    pub credentials: Credentials,
}

pub async fn guard(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let (taken, reset) = guard.rate.take();
    let remaining = taken.unwrap_or(0);
    let mut response = match taken {
        Err(()) => {
            let mut r = Failure::new(StatusCode::TOO_MANY_REQUESTS, 971, THROTTLED_MESSAGE).into_response();
            let secs = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
        // Token verification answers for itself, with its own codes, whatever the credential.
        Ok(_) if request.uri().path() == format!("{}{}", super::BASE_PATH, super::tokens::VERIFY_PATH) => {
            next.run(request).await
        }
        Ok(_) => match authenticate(request.headers(), &guard.credentials) {
            Ok(()) => next.run(request).await,
            Err(failure) => failure.into_response(),
        },
    };
    for (name, value) in rate_limit_headers(RateLimitStyle::Cloudflare, guard.rate.limit, remaining, reset).iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

fn authenticate(headers: &HeaderMap, credentials: &Credentials) -> Result<(), Failure> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty());
    let refused = || Failure::new(StatusCode::FORBIDDEN, 10000, "Authentication error");
    if let Some(value) = header("authorization") {
        let token = bearer(value)?;
        return if credentials.known.knows(token) { Ok(()) } else { Err(refused()) };
    }
    match (header("x-auth-email"), header("x-auth-key")) {
        (Some(_), Some(key)) if credentials.known.knows(key) => Ok(()),
        (Some(_), Some(_)) => Err(refused()),
        _ => Err(Failure::new(StatusCode::UNAUTHORIZED, 10000, "Authentication error")),
    }
}

/// The token of an `Authorization: Bearer <token>` header; anything else is Cloudflare's
/// "Invalid request headers" (6003; the API chains 6111 under it in `error_chain`, which the
/// emulator folds into the message).
pub fn bearer(value: &str) -> Result<&str, Failure> {
    value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
        .ok_or_else(|| {
            Failure::bad_request(6003, "Invalid request headers: Invalid format for Authorization header (6111)")
        })
}
