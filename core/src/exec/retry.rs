//! Retry policy for transient provider errors: exponential backoff with full jitter, capped.
//! It decides only "retry after this delay or give up"; the worker does the calling.

use std::time::Duration;
use tarn_sdk::{ErrorClass, ProviderError};

/// The longest single wait between attempts, whatever the attempt number.
const MAX_DELAY: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub max_attempts: u32,
    pub base: Duration,
}

impl RetryPolicy {
    /// After failed attempt number `attempt` (1-based) with `error`: how long to wait before
    /// the next attempt, or `None` to give up.
    pub fn next_delay(&self, attempt: u32, error: &ProviderError) -> Option<Duration> {
        if error.class != ErrorClass::Transient || attempt >= self.max_attempts.max(1) {
            return None;
        }
        let exp = self.base.saturating_mul(1u32 << (attempt - 1).min(16)).min(MAX_DELAY);
        // Half fixed, half random ("equal jitter"): spreads retries of many operations that
        // failed together (a rate limit) without ever retrying immediately.
        let half = exp / 2;
        Some(half + half.mul_f64(jitter_fraction()))
    }
}

/// A number in [0, 1). Uses the v4 UUID generator (already a dependency) as its entropy
/// source; retry jitter needs no stronger randomness.
fn jitter_fraction() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() as u64;
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_up_on_permanent_and_after_max_attempts() {
        let p = RetryPolicy { max_attempts: 3, base: Duration::from_millis(100) };
        assert!(p.next_delay(1, &ProviderError::permanent("no")).is_none());
        assert!(p.next_delay(3, &ProviderError::transient("x")).is_none());
        let d = p.next_delay(2, &ProviderError::transient("x")).unwrap();
        assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(200), "{d:?}");
    }
}
