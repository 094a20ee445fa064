//! Provider-call deadlines in the executor: a call that never answers fails at its limit as
//! that operation, through the normal failure path. A change abandoned this way has an unknown
//! outcome, so its journal intent stays open and the next run's recovery adopts what it made;
//! a read abandoned this way changed nothing and closes its intent like any failure.

use super::support::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tarn_core::deadline::CallDeadlines;
use tarn_core::exec::{ApplyOptions, ApplyOutcome, FailurePolicy, RecoverContext, Resolution, apply, recover};
use tarn_provider_fault::FaultProvider;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, Provider, ProviderError, ProviderSchema, ReadDataRequest, ReadRequest,
    UpdateRequest, Value,
};
use tarn_state::Backend;

fn limited(policy: FailurePolicy, change: Duration, read: Duration) -> ApplyOptions {
    ApplyOptions { deadlines: CallDeadlines { change, read }, ..Harness::options(policy, 4) }
}

#[tokio::test]
async fn a_create_that_never_answers_fails_at_its_limit_and_is_adopted_by_the_next_run() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    // hang_create: the object is made, then the call never returns.
    let hung = p.create("h", obj("h", &[("hang_create", Value::Bool(true))]));
    p.edge(a, hung);
    let options = limited(FailurePolicy::Rollback, Duration::from_millis(300), Duration::from_secs(60));
    let report = apply(&p.build(), h.context(options)).await.unwrap();

    // The rest was rolled back; the abandoned create's outcome is unknown, so the rollback
    // cannot call itself complete.
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failed = &report.failed[0];
    assert_eq!(failed.address.to_string(), "fault_object.h");
    assert!(failed.message.contains("did not answer `create` within 300ms"), "{}", failed.message);
    assert!(failed.message.contains("reconciled on the next run"), "{}", failed.message);
    assert_eq!(report.uncertain.len(), 1);
    assert_eq!(h.existing(), vec!["h"], "a was rolled back; the hung create made h");
    assert!(h.recorded().is_empty(), "state records nothing it cannot vouch for");

    // The journal keeps the create's intent open, and recovery adopts the object.
    let open = h.backend.open_intents().await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].entry.op, "create");
    let ctx = RecoverContext {
        providers: HashMap::from([("fault".to_string(), h.fault.clone() as Arc<dyn Provider>)]),
        backend: h.backend.clone(),
        schemas: HashMap::from([("fault".to_string(), h.fault.schema())]),
        events: h.events.clone(),
        deadlines: CallDeadlines::default(),
    };
    let recovered = recover(ctx).await.unwrap();
    assert!(matches!(recovered[0].resolution, Resolution::Adopted { .. }), "{recovered:?}");
    assert_eq!(h.recorded(), vec!["h"]);
}

/// The fault provider, except that data reads never answer.
struct DataNeverAnswers(Arc<FaultProvider>);

#[async_trait::async_trait]
impl Provider for DataNeverAnswers {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn schema(&self) -> ProviderSchema {
        self.0.schema()
    }
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        self.0.read(req).await
    }
    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        self.0.create(req).await
    }
    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        self.0.update(req).await
    }
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.0.delete(req).await
    }
    async fn read_data(&self, _req: ReadDataRequest) -> Result<Value, ProviderError> {
        std::future::pending().await
    }
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        self.0.adopt(req).await
    }
}

#[tokio::test]
async fn a_data_read_that_never_answers_fails_at_the_read_limit_and_closes_its_intent() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    let d = p.read_data("d", obj("d", &[]));
    p.edge(a, d);
    let options = limited(FailurePolicy::Halt, Duration::from_secs(60), Duration::from_millis(200));
    let provider = Arc::new(DataNeverAnswers(h.fault.clone()));
    let report = apply(&p.build(), h.context_with(provider, options)).await.unwrap();

    assert_eq!(report.outcome, ApplyOutcome::Partial, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].address.to_string(), "data.fault_object.d");
    assert!(
        report.failed[0].message.contains("did not answer `read_data` within 200ms"),
        "{}",
        report.failed[0].message
    );
    assert!(report.uncertain.is_empty(), "a read changes nothing: its outcome is known");
    assert!(h.backend.open_intents().await.unwrap().is_empty(), "the read's intent is closed");
    assert_eq!(h.recorded(), vec!["a"], "halt keeps what succeeded");
}
