//! Scheduling: bounded concurrency, dependency order, one operation per address, retries of
//! transient errors, finalization of unknowns, and the journal written around every call.

use super::support::*;
use async_trait::async_trait;
use std::sync::Arc;
use tarn_core::exec::{ApplyOutcome, Event, ExecError, FailurePolicy, apply};
use tarn_provider_fault::FaultProvider;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, Provider, ProviderError, ProviderSchema, ReadRequest, UpdateRequest,
    Value,
};
use tarn_state::{Backend, JournalPhase};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_bounded_and_reaches_parallelism() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    for i in 0..30 {
        p.create(&format!("o{i}"), obj(&format!("o{i}"), &[("latency_ms", num(30.0))]));
    }
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 4))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    let stats = h.fault.stats();
    assert_eq!(stats.max_in_flight, 4, "max in flight must equal parallelism");
    assert_eq!(stats.creates, 30);
    assert_eq!(h.backend.resources().len(), 30);
    h.assert_no_address_overlap();
}

#[tokio::test]
async fn dependencies_finish_before_dependants_start() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[("latency_ms", num(20.0))]));
    let b = p.create("b", obj("b", &[("latency_ms", num(5.0))]));
    let c = p.create("c", obj("c", &[]));
    let d = p.create("d", obj("d", &[]));
    p.edge(a, b);
    p.edge(b, c);
    p.edge(a, d);
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 8))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    let finished =
        |n: &str| h.events.position(|e| matches!(e, Event::OpFinished { address, .. } if address.name == n)).unwrap();
    let started =
        |n: &str| h.events.position(|e| matches!(e, Event::OpStarted { address, .. } if address.name == n)).unwrap();
    assert!(finished("a") < started("b"));
    assert!(finished("b") < started("c"));
    assert!(finished("a") < started("d"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_serialises_delete_and_create_on_one_address() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    for i in 0..10 {
        let name = format!("r{i}");
        let old = h.seed(&name, obj(&name, &[("replace_key", Value::string("1")), ("latency_ms", num(10.0))])).await;
        p.replace(&name, old, obj(&name, &[("replace_key", Value::string("2")), ("latency_ms", num(10.0))]));
    }
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 10))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    h.assert_no_address_overlap();
    assert_eq!(h.fault.objects().unwrap().len(), 10);
    for r in h.backend.resources().values() {
        assert_eq!(r.attributes["replace_key"], "2");
    }
}

#[tokio::test]
async fn ops_on_one_address_without_an_edge_are_still_serialised() {
    // A plan bug (no edge between two ops on one address) must not cause an overlap.
    let h = Harness::new();
    let old = h.seed("x", obj("x", &[("latency_ms", num(15.0))])).await;
    let mut p = PlanBuilder::default();
    p.update("x", old.clone(), obj("x", &[("value", Value::string("v2")), ("latency_ms", num(15.0))]));
    p.update("x", old, obj("x", &[("value", Value::string("v3")), ("latency_ms", num(15.0))]));
    apply(&p.build(), h.context(Harness::options(FailurePolicy::Halt, 4))).await.unwrap();
    h.assert_no_address_overlap();
}

#[tokio::test]
async fn transient_errors_are_retried_then_succeed() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    p.create("t", obj("t", &[("fail_create_times", num(2.0))]));
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 2))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    assert_eq!(h.events.count(|e| matches!(e, Event::OpRetrying { .. })), 2);
    let journal = h.backend.journal_entries();
    assert_eq!(journal.iter().filter(|r| r.entry.phase == JournalPhase::Intent).count(), 3, "one intent per attempt");
    assert_eq!(journal.iter().filter(|r| r.entry.phase == JournalPhase::Outcome).count(), 3);
    assert_eq!(h.existing(), vec!["t"]);
}

#[tokio::test]
async fn unknown_values_are_finalized_from_applied_dependencies() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    let b = p.create("b", obj("b", &[("value", Value::Unknown), ("value_from", Value::string("a"))]));
    p.edge(a, b);
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 2))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    let rows = h.backend.resources();
    let a_id = rows["fault_object.a"].attributes["id"].clone();
    assert!(a_id.is_string());
    assert_eq!(rows["fault_object.b"].attributes["value"], a_id);
}

/// Checks, at every create, that its intent (found by correlation) is already journaled and
/// still open.
struct JournalChecking {
    inner: Arc<FaultProvider>,
    backend: Arc<dyn Backend>,
}

#[async_trait]
impl Provider for JournalChecking {
    fn name(&self) -> &str {
        "fault"
    }
    fn schema(&self) -> ProviderSchema {
        self.inner.schema()
    }
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        self.inner.read(req).await
    }
    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        let open = self.backend.open_intents().await.unwrap();
        assert!(
            open.iter().any(|r| r.entry.correlation.as_deref() == Some(req.correlation.as_str())),
            "no open intent for {} before the provider call",
            req.correlation
        );
        self.inner.create(req).await
    }
    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        assert!(!self.backend.open_intents().await.unwrap().is_empty());
        self.inner.update(req).await
    }
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        assert!(!self.backend.open_intents().await.unwrap().is_empty());
        self.inner.delete(req).await
    }
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        self.inner.adopt(req).await
    }
}

#[tokio::test]
async fn every_provider_call_has_an_intent_before_and_an_outcome_after() {
    let h = Harness::new();
    let old = h.seed("u", obj("u", &[])).await;
    let gone = h.seed("g", obj("g", &[])).await;
    let mut p = PlanBuilder::default();
    for i in 0..5 {
        p.create(&format!("c{i}"), obj(&format!("c{i}"), &[]));
    }
    p.update("u", old, obj("u", &[("value", Value::string("new"))]));
    p.delete("g", gone);
    let seeded_calls = h.fault.stats().calls;
    let provider = Arc::new(JournalChecking { inner: h.fault.clone(), backend: h.backend.clone() });
    let report =
        apply(&p.build(), h.context_with(provider, Harness::options(FailurePolicy::Rollback, 3))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    let journal = h.backend.journal_entries();
    let intents: Vec<_> = journal.iter().filter(|r| r.entry.phase == JournalPhase::Intent).collect();
    assert_eq!(intents.len() as u64, h.fault.stats().calls - seeded_calls, "one intent per provider call");
    for intent in &intents {
        assert!(intent.closed, "intent {} has no outcome", intent.seq);
        let outcome = journal.iter().find(|r| r.entry.intent_seq == Some(intent.seq)).unwrap();
        assert!(outcome.seq > intent.seq);
        if intent.entry.op == "create" {
            assert!(intent.entry.correlation.as_deref().unwrap().starts_with("tarn-r1-"));
        }
    }
    assert!(h.backend.open_intents().await.unwrap().is_empty());
}

#[tokio::test]
async fn intents_never_hold_secrets_but_state_marks_them() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    p.create("s", obj("s", &[("value", Value::string("hunter2").sensitive())]));
    apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 1))).await.unwrap();
    for r in h.backend.journal_entries() {
        assert!(!r.entry.detail.to_string().contains("hunter2"), "secret in the journal: {}", r.entry.detail);
    }
    let row = &h.backend.resources()["fault_object.s"];
    assert_eq!(row.sensitive_paths, vec!["/value".to_string()]);
    assert_eq!(row.attributes["value"], "hunter2", "state must be readable back (encryption is the backend's)");
}

#[tokio::test]
async fn a_cycle_is_refused_before_anything_runs() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    let b = p.create("b", obj("b", &[]));
    p.edge(a, b);
    p.edge(b, a);
    let err = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 1))).await.unwrap_err();
    assert!(matches!(err, ExecError::InvalidGraph(_)), "{err}");
    assert_eq!(h.fault.stats().calls, 0);
    assert!(h.backend.runs().is_empty(), "no run is opened for a plan that cannot run");
}
