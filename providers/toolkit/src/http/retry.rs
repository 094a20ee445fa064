//! Retry policy: which failures are worth another attempt, how long to wait before it (exponential
//! backoff with full jitter, or what the server asked for in `Retry-After`), and what the vendors'
//! rate-limit headers say about the next request.
//!
//! Pure functions over status codes, headers and clocks. Must not sleep or send anything: the
//! client owns the loop and the waiting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. 1 means no retry.
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles per attempt.
    pub base_delay: Duration,
    /// No computed backoff exceeds this.
    pub max_delay: Duration,
    /// Server-requested waits (`Retry-After`, rate-limit resets) are capped here, so a broken
    /// header cannot stall an apply for hours.
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_server_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Full jitter: a uniformly random wait in `[0, min(max, base * 2^(attempt-1))]`, so clients
    /// that failed together do not retry together.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(20);
        let ceiling = self.base_delay.saturating_mul(1u32 << exp).min(self.max_delay);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(next_random() % (nanos + 1))
    }

    /// The wait before the next attempt after an answer with these headers.
    pub fn delay_after(&self, attempt: u32, headers: &HeaderMap) -> Duration {
        match retry_after(headers, SystemTime::now()) {
            Some(wait) => wait.min(self.max_server_wait),
            None => self.backoff(attempt),
        }
    }
}

/// Whether the method may be repeated without changing the outcome (RFC 9110 §9.2.2).
pub fn is_idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE)
}

/// Statuses that say "try again later": throttling and server-side failures.
pub fn is_retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// Whether a non-idempotent request that got this status may be sent again. A 429 means the
/// server refused the request before acting on it, so repeating it cannot duplicate an object.
pub fn status_proves_not_processed(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
}

/// `Retry-After` as seconds or as an HTTP-date (RFC 9110 §10.2.3).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let raw = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(raw).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long to hold the next request because the server said the quota is used up: the
/// remaining count is 0 and a reset is announced. Understands Cloudflare's structured
/// `Ratelimit: "default";r=0;t=30`, the draft `RateLimit-Remaining`/`RateLimit-Reset` pair (which
/// is also DigitalOcean's lower-case `ratelimit-*`, with an epoch reset), and `X-RateLimit-*`.
pub fn rate_limit_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(raw) = header_str(headers, "ratelimit") {
        let (remaining, reset) = parse_structured(raw);
        if remaining == Some(0) {
            return reset.map(Duration::from_secs);
        }
    }
    for (remaining, reset) in
        [("ratelimit-remaining", "ratelimit-reset"), ("x-ratelimit-remaining", "x-ratelimit-reset")]
    {
        let Some(left) = header_str(headers, remaining).and_then(|v| v.trim().parse::<u64>().ok()) else {
            continue;
        };
        if left > 0 {
            return None;
        }
        let reset = header_str(headers, reset).and_then(|v| v.trim().parse::<u64>().ok())?;
        return Some(reset_to_wait(reset, now));
    }
    None
}

/// A reset is either seconds from now or a Unix time; values past 2001-09-09 (1e9 s) can only be
/// the latter, since no vendor announces windows of three decades.
fn reset_to_wait(reset: u64, now: SystemTime) -> Duration {
    if reset >= 1_000_000_000 {
        let now_secs = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        Duration::from_secs_f64((reset as f64 - now_secs).max(0.0))
    } else {
        Duration::from_secs(reset)
    }
}

/// `r` (remaining) and `t` (seconds to reset) from a structured-field `Ratelimit` header.
fn parse_structured(raw: &str) -> (Option<u64>, Option<u64>) {
    let mut remaining = None;
    let mut reset = None;
    for param in raw.split(';').map(str::trim) {
        if let Some(v) = param.strip_prefix("r=") {
            remaining = v.trim().parse().ok();
        } else if let Some(v) = param.strip_prefix("t=") {
            reset = v.trim().parse().ok();
        }
    }
    (remaining, reset)
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A splitmix64 stream seeded from the clock: jitter needs spread, not cryptographic quality,
/// and this keeps a random-number crate out of every provider.
fn next_random() -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("test header"));
        }
        h
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..Default::default()
        };
        for attempt in 1..10 {
            assert!(p.backoff(attempt) <= Duration::from_millis(300));
        }
        assert!(p.backoff(1) <= Duration::from_millis(100));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::now();
        assert_eq!(retry_after(&headers(&[("retry-after", "3")]), now), Some(Duration::from_secs(3)));
        let at = httpdate::fmt_http_date(now + Duration::from_secs(10));
        let wait = retry_after(&headers(&[("retry-after", &at)]), now).expect("date parsed");
        assert!(wait >= Duration::from_secs(9) && wait <= Duration::from_secs(10), "{wait:?}");
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")]), now), None);
    }

    #[test]
    fn rate_limit_headers_of_each_vendor() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cf = headers(&[("ratelimit", "\"default\";r=0;t=7")]);
        assert_eq!(rate_limit_wait(&cf, now), Some(Duration::from_secs(7)));
        let cf_left = headers(&[("ratelimit", "\"default\";r=50;t=30")]);
        assert_eq!(rate_limit_wait(&cf_left, now), None);
        let dig = headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "1700000012")]);
        assert_eq!(rate_limit_wait(&dig, now), Some(Duration::from_secs(12)));
        let x = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "4")]);
        assert_eq!(rate_limit_wait(&x, now), Some(Duration::from_secs(4)));
    }

    #[test]
    fn idempotency_of_methods() {
        assert!(is_idempotent(&Method::PUT) && is_idempotent(&Method::DELETE));
        assert!(!is_idempotent(&Method::POST) && !is_idempotent(&Method::PATCH));
    }
}
