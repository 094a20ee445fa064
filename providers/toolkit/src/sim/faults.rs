//! Fault injection for emulators, shared with the router through state: force N server errors,
//! answer 429 with `Retry-After`, add latency, hang forever, fail every Kth request. Also the
//! helpers that put vendor-style rate-limit headers on an answer.
//!
//! Must not know any vendor's routes: it wraps whatever router an emulator builds.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

/// The fault switches of one emulator. Clones share them, so a test keeps one and flips it.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    seen: u64,
    errors: u32,
    error_status: u16,
    error_body: Json,
    throttles: u32,
    retry_after: Option<String>,
    throttle_body: Json,
    latency: Duration,
    hang: bool,
    every: Option<(u64, u16)>,
}

impl Faults {
    /// Answers the next `n` requests with `status` (a 5xx, usually) and `body`.
    pub fn fail_next(&self, n: u32, status: u16, body: Json) {
        let mut s = self.lock();
        (s.errors, s.error_status, s.error_body) = (n, status, body);
    }
    /// Answers the next `n` requests with 429, `Retry-After: <retry_after>` when given, and `body`.
    pub fn throttle_next(&self, n: u32, retry_after: Option<&str>, body: Json) {
        let mut s = self.lock();
        (s.throttles, s.retry_after, s.throttle_body) = (n, retry_after.map(str::to_string), body);
    }
    /// Delays every answer.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }
    /// Never answers while set, for timeout tests.
    pub fn set_hang(&self, hang: bool) {
        self.lock().hang = hang;
    }
    /// Answers every `k`th request (counting from the first) with `status`.
    pub fn fail_every(&self, k: u64, status: u16) {
        self.lock().every = (k > 0).then_some((k, status));
    }
    /// Requests seen so far, faulted ones included.
    pub fn requests(&self) -> u64 {
        self.lock().seen
    }
    /// Turns every fault off (the request count is kept).
    pub fn clear(&self) {
        let mut s = self.lock();
        let seen = s.seen;
        *s = FaultState { seen, ..FaultState::default() };
    }

    /// Wraps `router` so every request passes through these faults first.
    pub fn wrap(&self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(self.clone(), inject))
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the middleware decided for one request, taken under the lock and acted on after it.
enum Decision {
    Pass,
    Hang,
    Answer(StatusCode, Option<String>, Json),
}

async fn inject(State(faults): State<Faults>, request: Request, next: Next) -> Response {
    let (latency, decision) = {
        let mut s = faults.lock();
        s.seen += 1;
        let decision = if s.hang {
            Decision::Hang
        } else if s.throttles > 0 {
            s.throttles -= 1;
            Decision::Answer(StatusCode::TOO_MANY_REQUESTS, s.retry_after.clone(), s.throttle_body.clone())
        } else if s.errors > 0 {
            s.errors -= 1;
            Decision::Answer(status(s.error_status), None, s.error_body.clone())
        } else if let Some((k, code)) = s.every.filter(|(k, _)| s.seen % k == 0) {
            Decision::Answer(status(code), None, json!({"message": format!("injected fault on every {k}th request")}))
        } else {
            Decision::Pass
        };
        (s.latency, decision)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match decision {
        Decision::Pass => next.run(request).await,
        Decision::Hang => std::future::pending::<Response>().await,
        Decision::Answer(code, retry_after, body) => {
            let mut response = (code, axum::Json(body)).into_response();
            if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert("retry-after", value);
            }
            response
        }
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The rate-limit header dialects emulators speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitStyle {
    /// `Ratelimit: "default";r=<remaining>;t=<secs>` and `Ratelimit-Policy: "default";q=<limit>;w=<window>`.
    Cloudflare,
    /// `ratelimit-limit`, `ratelimit-remaining`, `ratelimit-reset` (Unix time).
    DigitalOcean,
    /// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds from now).
    XRateLimit,
}

/// Headers announcing `remaining` of `limit` requests left, the window resetting in `reset`.
pub fn rate_limit_headers(style: RateLimitStyle, limit: u64, remaining: u64, reset: Duration) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    let secs = reset.as_secs() + u64::from(reset.subsec_nanos() > 0);
    match style {
        RateLimitStyle::Cloudflare => {
            put("ratelimit", format!("\"default\";r={remaining};t={secs}"));
            put("ratelimit-policy", format!("\"default\";q={limit};w={secs}"));
        }
        RateLimitStyle::DigitalOcean => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            put("ratelimit-limit", limit.to_string());
            put("ratelimit-remaining", remaining.to_string());
            put("ratelimit-reset", (now + secs).to_string());
        }
        RateLimitStyle::XRateLimit => {
            put("x-ratelimit-limit", limit.to_string());
            put("x-ratelimit-remaining", remaining.to_string());
            put("x-ratelimit-reset", secs.to_string());
        }
    }
    headers
}

#[cfg(all(test, feature = "http"))]
mod tests {
    use super::*;
    use crate::sim::SimServer;
    use axum::routing::get;

    async fn status_of(url: &str) -> u16 {
        let c = crate::http::Client::builder(url).max_attempts(1).build().expect("client");
        match c.get("x").await {
            Ok(_) => 200,
            Err(e) => {
                e.message.split("HTTP ").nth(1).and_then(|s| s.get(..3)).and_then(|s| s.parse().ok()).unwrap_or(0)
            }
        }
    }

    #[tokio::test]
    async fn fail_every_kth_and_latency() {
        let faults = Faults::default();
        let server =
            SimServer::start(faults.wrap(Router::new().route("/x", get(|| async { "{}" })))).await.expect("bind");
        faults.fail_every(3, 502);
        let mut codes = Vec::new();
        for _ in 0..6 {
            codes.push(status_of(&server.url()).await);
        }
        assert_eq!(codes, vec![200, 200, 502, 200, 200, 502]);
        faults.clear();
        faults.set_latency(Duration::from_millis(150));
        let start = std::time::Instant::now();
        assert_eq!(status_of(&server.url()).await, 200);
        assert!(start.elapsed() >= Duration::from_millis(150));
        assert_eq!(faults.requests(), 7);
    }

    #[test]
    fn rate_limit_headers_read_back_by_the_client_parser() {
        let now = SystemTime::now();
        for style in [RateLimitStyle::Cloudflare, RateLimitStyle::XRateLimit, RateLimitStyle::DigitalOcean] {
            let headers = rate_limit_headers(style, 100, 0, Duration::from_secs(5));
            let wait = crate::http::retry::rate_limit_wait(&headers, now).expect("a wait");
            assert!(wait <= Duration::from_secs(6) && wait >= Duration::from_secs(4), "{style:?} {wait:?}");
        }
    }
}
