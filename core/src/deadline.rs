//! Deadlines on provider calls: how long the engine waits for one call before it gives up on
//! it. Every call the engine makes (the executor's creates, updates, deletes, restores, data
//! reads and imports; refresh's reads; plan-time reads and refinements; import lookups;
//! recovery's reads, adoptions and deletes; provider setup) runs under one of two limits: the
//! longer one for calls that change something, the shorter one for calls that only look.
//!
//! A call past its limit is abandoned and fails as that call, through the caller's normal
//! failure path; the message names the call and the limit (callers add the address). A change
//! abandoned this way has an unknown outcome: the executor leaves its journal intent open, so
//! the next run's recovery reconciles it. This module is a leaf: it knows no plan or state,
//! only the provider contract.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, RestoreRequest, UpdateRequest, Value,
};

/// The limit on a call that changes something (create, update, delete, restore) when the
/// caller does not say: long enough for a VM image build or a volume migration.
pub const DEFAULT_CHANGE_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// The limit on a call that only looks (read, data read, plan refinement, import lookup,
/// adoption lookup, configure) when the caller does not say.
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(10 * 60);

/// The two limits of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallDeadlines {
    /// Creates, updates, deletes, restores.
    pub change: Duration,
    /// Reads, data reads, plan refinements, import and adoption lookups, configure.
    pub read: Duration,
}

impl Default for CallDeadlines {
    fn default() -> Self {
        CallDeadlines { change: DEFAULT_CHANGE_DEADLINE, read: DEFAULT_READ_DEADLINE }
    }
}

impl CallDeadlines {
    /// One limit for every call (`--provider-timeout`).
    pub fn uniform(limit: Duration) -> Self {
        CallDeadlines { change: limit, read: limit }
    }
}

/// Why a call was abandoned: `call` is the provider method (`create`, `read`, ...).
pub fn elapsed_message(call: &str, limit: Duration) -> String {
    format!(
        "the provider did not answer `{call}` within {}, the run's time limit for one provider call, so tarn stopped waiting for it (raise the limit with --provider-timeout)",
        show(limit)
    )
}

/// Runs `fut` under `limit`; `None` when the limit passed first (the future is dropped).
pub async fn within<T>(limit: Duration, fut: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, fut).await.ok()
}

/// Runs a provider call that only looks under `limit`: past it, the call fails with a
/// permanent error (retrying a call that hung would only wait again) naming it and the limit.
pub async fn bounded<T>(
    limit: Duration,
    call: &str,
    fut: impl Future<Output = Result<T, ProviderError>>,
) -> Result<T, ProviderError> {
    within(limit, fut).await.unwrap_or_else(|| {
        Err(ProviderError::permanent(elapsed_message(call, limit)).with_kind(tarn_sdk::ErrorKind::TimedOut))
    })
}

/// A provider whose every call runs under the run's limits: what `ProviderSet::get` hands
/// out, so refresh, plan-time reads and refinements and import lookups are bounded without
/// knowing it. The executor calls the instances themselves and applies the limits on its own,
/// since an abandoned change must leave its journal intent open.
pub struct Deadlined {
    inner: Arc<dyn Provider>,
    limits: CallDeadlines,
}

impl Deadlined {
    pub fn wrap(inner: Arc<dyn Provider>, limits: CallDeadlines) -> Arc<dyn Provider> {
        Arc::new(Deadlined { inner, limits })
    }
}

#[async_trait::async_trait]
impl Provider for Deadlined {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn schema(&self) -> ProviderSchema {
        self.inner.schema()
    }
    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        bounded(self.limits.read, "configure", self.inner.configure(config)).await
    }
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        bounded(self.limits.read, "read", self.inner.read(req)).await
    }
    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        bounded(self.limits.read, "plan", self.inner.plan(req)).await
    }
    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        bounded(self.limits.change, "create", self.inner.create(req)).await
    }
    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        bounded(self.limits.change, "update", self.inner.update(req)).await
    }
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        bounded(self.limits.change, "delete", self.inner.delete(req)).await
    }
    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        bounded(self.limits.read, "read_data", self.inner.read_data(req)).await
    }
    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        bounded(self.limits.read, "import", self.inner.import(type_name, id)).await
    }
    async fn restore(&self, req: RestoreRequest) -> Result<Value, ProviderError> {
        bounded(self.limits.change, "restore", self.inner.restore(req)).await
    }
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        bounded(self.limits.read, "adopt", self.inner.adopt(req)).await
    }
}

/// `30m`, `1h30m`, `90s`, `250ms`: the limit as the flag takes it.
pub fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 || !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_typed() {
        assert_eq!(show(Duration::from_secs(1800)), "30m");
        assert_eq!(show(Duration::from_secs(5400)), "1h30m");
        assert_eq!(show(Duration::from_secs(90)), "1m30s");
        assert_eq!(show(Duration::from_millis(250)), "250ms");
        assert_eq!(show(Duration::from_millis(1500)), "1500ms");
    }

    #[tokio::test]
    async fn a_call_that_never_answers_fails_at_its_limit() {
        let hung = std::future::pending::<Result<(), ProviderError>>();
        let e = bounded(Duration::from_millis(50), "read", hung).await.unwrap_err();
        assert_eq!(e.class, tarn_sdk::ErrorClass::Permanent);
        assert!(e.message.contains("`read` within 50ms"), "{}", e.message);
        assert_eq!(bounded(Duration::from_secs(1), "read", async { Ok(7) }).await, Ok(7));
    }
}
