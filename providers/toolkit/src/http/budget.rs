//! Request pacing shared by every clone of a client: a token bucket that keeps tarn under a
//! vendor's documented rate (Cloudflare 1200 per 5 minutes, DigitalOcean 250 per minute), and a
//! gate that holds requests while the server says the quota is used up.
//!
//! Owns only time arithmetic and waiting. Must not hold a lock across an `.await` and must not
//! know about HTTP beyond the wait the retry module computed from headers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

/// A documented request rate: at most `requests` per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestBudget {
    pub requests: u32,
    pub per: Duration,
}

impl RequestBudget {
    /// Cloudflare's client API limit.
    pub const CLOUDFLARE: RequestBudget = RequestBudget { requests: 1200, per: Duration::from_secs(300) };
    /// DigitalOcean's per-minute burst limit.
    pub const DIGITALOCEAN: RequestBudget = RequestBudget { requests: 250, per: Duration::from_secs(60) };
}

/// A token bucket, full at start: a burst of `requests`, then one request per `per / requests`.
#[derive(Debug, Clone)]
pub struct Bucket {
    inner: Arc<Mutex<BucketState>>,
}

#[derive(Debug)]
struct BucketState {
    capacity: f64,
    tokens: f64,
    per_token: Duration,
    refilled_at: Instant,
}

impl Bucket {
    pub fn new(budget: RequestBudget) -> Self {
        let requests = budget.requests.max(1);
        Bucket {
            inner: Arc::new(Mutex::new(BucketState {
                capacity: f64::from(requests),
                tokens: f64::from(requests),
                per_token: budget.per / requests,
                refilled_at: Instant::now(),
            })),
        }
    }

    /// Waits until a request may be sent, and takes its token.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = lock(&self.inner);
                state.refill(Instant::now());
                if state.tokens >= 1.0 {
                    state.tokens -= 1.0;
                    return;
                }
                state.per_token.mul_f64(1.0 - state.tokens)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl BucketState {
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        if self.per_token.is_zero() {
            self.tokens = self.capacity;
        } else {
            let earned = elapsed.as_secs_f64() / self.per_token.as_secs_f64();
            self.tokens = (self.tokens + earned).min(self.capacity);
        }
        self.refilled_at = now;
    }
}

/// Holds every request until a moment the server named (a rate-limit reset).
#[derive(Debug, Clone, Default)]
pub struct Gate {
    not_before: Arc<Mutex<Option<Instant>>>,
}

impl Gate {
    /// No request starts before `now + wait`; a later hold already set is kept.
    pub fn hold_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut slot = lock(&self.not_before);
        if slot.is_none_or(|current| current < until) {
            *slot = Some(until);
        }
    }

    /// Waits out the current hold, if any.
    pub async fn pass(&self) {
        let until = *lock(&self.not_before);
        if let Some(until) = until.filter(|u| *u > Instant::now()) {
            tokio::time::sleep_until(until).await;
        }
    }
}

/// A poisoned lock only means another task panicked mid-update of plain numbers; the numbers
/// are still usable, so pacing carries on rather than failing every later request.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bucket_allows_a_burst_then_paces() {
        let bucket = Bucket::new(RequestBudget { requests: 5, per: Duration::from_millis(500) });
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(100));
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(490), "{:?}", start.elapsed());
    }

    #[tokio::test]
    async fn gate_holds_until_the_reset() {
        let gate = Gate::default();
        gate.hold_for(Duration::from_millis(300));
        gate.hold_for(Duration::from_millis(100));
        let start = Instant::now();
        gate.pass().await;
        assert!(start.elapsed() >= Duration::from_millis(290));
    }
}
