//! Failure policies: rollback (compensate in reverse order, restore state exactly), rollback
//! that cannot finish, halt, continue, partial creates, the final-destroy phase,
//! create_before_destroy restore, a panicking provider, a failed state write, cancellation.

use super::support::*;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tarn_core::exec::{ApplyOutcome, Event, FailurePolicy, apply};
use tarn_provider_fault::FaultProvider;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, Provider, ProviderError, ProviderSchema, ReadRequest, UpdateRequest,
    Value,
};
use tarn_state::{Backend, RunOutcome};

fn opts(policy: FailurePolicy) -> tarn_core::exec::ApplyOptions {
    Harness::options(policy, 4)
}

#[tokio::test]
async fn permanent_failure_rolls_back_in_reverse_order_and_restores_state() {
    let h = Harness::new();
    let x_old = h.seed("x", obj("x", &[("value", Value::string("v1"))])).await;
    let before = h.backend.resources();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    let b = p.create("b", obj("b", &[]));
    let x = p.update("x", x_old, obj("x", &[("value", Value::string("v2"))]));
    let c = p.create("c", obj("c", &[("fail_create", Value::Bool(true))]));
    p.edge(a, b);
    p.edge(b, c);
    p.edge(x, c);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack, "{report:?}");
    assert_eq!(report.failed.len(), 1);
    // b depends on a: b is deleted before a's deletion starts.
    let done_b =
        h.events.position(|e| matches!(e, Event::RollbackOpFinished { address, .. } if address.name == "b")).unwrap();
    let start_a =
        h.events.position(|e| matches!(e, Event::RollbackOpStarted { address, .. } if address.name == "a")).unwrap();
    assert!(done_b < start_a);
    assert_eq!(h.existing(), vec!["x"]);
    assert_eq!(h.fault.objects().unwrap()[0].attributes.get("value"), Some(&Value::string("v1")));
    assert_eq!(h.backend.resources(), before, "state equals the pre-apply state");
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::RolledBack);
    let ops: Vec<String> = h.backend.journal_entries().iter().map(|r| r.entry.op.clone()).collect();
    assert!(ops.contains(&"rollback-delete".to_string()) && ops.contains(&"rollback-update".to_string()));
}

#[tokio::test]
async fn exhausted_transient_retries_fail_and_roll_back() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    let t = p.create("t", obj("t", &[("fail_create_times", num(5.0))]));
    p.edge(a, t);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack);
    assert_eq!(h.events.count(|e| matches!(e, Event::OpRetrying { .. })), 2, "max_attempts 3 = 2 retries");
    assert!(h.existing().is_empty());
    assert!(h.backend.resources().is_empty());
}

#[tokio::test]
async fn a_failed_compensation_leaves_state_matching_reality() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[("fail_delete", Value::Bool(true))]));
    let b = p.create("b", obj("b", &[]));
    let c = p.create("c", obj("c", &[("fail_create", Value::Bool(true))]));
    p.edge(a, c);
    p.edge(b, c);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete);
    assert_eq!(report.rollback_failed.len(), 1);
    assert_eq!(h.existing(), vec!["a"]);
    assert_eq!(h.recorded(), vec!["a"], "state says exactly what exists");
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::RollbackIncomplete);
}

#[tokio::test]
async fn halt_stops_scheduling_and_keeps_what_was_done() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    let b = p.create("b", obj("b", &[("fail_create", Value::Bool(true))]));
    let c = p.create("c", obj("c", &[]));
    p.edge(a, b);
    p.edge(b, c);
    let d = p.create("d", obj("d", &[]));
    p.edge(b, d);
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Halt, 1))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Partial);
    assert_eq!(report.skipped.len(), 2);
    assert_eq!(h.existing(), vec!["a"]);
    assert_eq!(h.recorded(), vec!["a"]);
    assert_eq!(h.events.count(|e| matches!(e, Event::RollbackStarted { .. })), 0);
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::Halted);
}

#[tokio::test]
async fn continue_skips_only_dependants() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[("fail_create", Value::Bool(true))]));
    let b = p.create("b", obj("b", &[]));
    let c = p.create("c", obj("c", &[]));
    p.edge(a, b);
    p.edge(b, c);
    p.create("d", obj("d", &[]));
    p.create("e", obj("e", &[]));
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Continue, 1))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Partial);
    let skipped: Vec<String> = report.skipped.iter().map(|s| s.address.name.clone()).collect();
    assert_eq!(skipped.len(), 2);
    assert!(skipped.contains(&"b".to_string()) && skipped.contains(&"c".to_string()));
    assert_eq!(h.existing(), vec!["d", "e"]);
    assert_eq!(h.recorded(), vec!["d", "e"]);
}

/// Under `continue` a failure in the main phase skips only what waits for it in the replace
/// phase too; the final-destroy phase never runs after a failure.
#[tokio::test]
async fn continue_runs_independent_replacements_and_skips_their_failed_dependencies_dependants() {
    let h = Harness::new();
    let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let z = h.seed("z", obj("z", &[])).await;
    let mut p = PlanBuilder::default();
    let bad = p.create("bad", obj("bad", &[("fail_create", Value::Bool(true))]));
    let (_d, k) = p.replace("x", old, obj("x", &[("replace_key", Value::string("2"))]));
    let y = p.create("y", obj("y", &[]));
    p.edge(k, y);
    p.edge(bad, y);
    p.delete("z", z);
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Continue, 2))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Partial);
    let mut skipped: Vec<String> = report.skipped.iter().map(|s| s.address.name.clone()).collect();
    skipped.sort();
    assert_eq!(skipped, vec!["y", "z"], "y waits for the failure; the final phase does not run");
    let objects = h.fault.objects().unwrap();
    let x = objects.iter().find(|o| o.attributes.get("name") == Some(&Value::string("x"))).unwrap();
    assert_eq!(x.attributes.get("replace_key"), Some(&Value::string("2")), "the independent replacement ran");
    assert_eq!(h.existing(), vec!["x", "z"]);
    assert_eq!(h.recorded(), vec!["x", "z"]);
}

#[tokio::test]
async fn a_partial_create_is_recorded_then_treated_as_failure() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    p.create("p", obj("p", &[("partial_create", Value::Bool(true))]));
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Halt))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Partial);
    assert_eq!(h.existing(), vec!["p"]);
    assert_eq!(h.recorded(), vec!["p"], "the partial object is known");

    // Under rollback it is removed like anything else this apply created.
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    p.create("p", obj("p", &[("partial_create", Value::Bool(true))]));
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack);
    assert!(h.existing().is_empty() && h.recorded().is_empty());
}

#[tokio::test]
async fn final_destroys_run_only_after_every_main_op_succeeded() {
    let h = Harness::new();
    let z = h.seed("z", obj("z", &[])).await;
    let mut p = PlanBuilder::default();
    p.create("a", obj("a", &[("latency_ms", num(10.0))]));
    p.create("b", obj("b", &[("fail_create", Value::Bool(true))]));
    p.delete("z", z.clone());
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack);
    assert_eq!(h.existing(), vec!["z"], "the object to destroy is untouched");
    assert_eq!(h.recorded(), vec!["z"]);
    assert_eq!(h.fault.stats().deletes, 1, "only the rollback of a");

    let h = Harness::new();
    let z = h.seed("z", obj("z", &[])).await;
    let mut p = PlanBuilder::default();
    p.create("a", obj("a", &[("latency_ms", num(20.0))]));
    p.create("b", obj("b", &[]));
    p.delete("z", z);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    let last_create =
        h.events.position(|e| matches!(e, Event::OpFinished { address, .. } if address.name == "a")).unwrap();
    let delete = h.events.position(|e| matches!(e, Event::OpStarted { address, .. } if address.name == "z")).unwrap();
    assert!(last_create < delete);
    assert_eq!(h.existing(), vec!["a", "b"]);
    assert_eq!(h.recorded(), vec!["a", "b"]);
}

#[tokio::test]
async fn create_before_destroy_rollback_restores_the_old_object() {
    let h = Harness::new();
    let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let before = h.backend.resources();
    let mut p = PlanBuilder::default();
    let (k, _d) = p.replace_cbd("x", old, obj("x", &[("replace_key", Value::string("2"))]));
    let y = p.create("y", obj("y", &[("fail_create", Value::Bool(true))]));
    p.edge(k, y);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack, "{report:?}");
    let objects = h.fault.objects().unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].attributes.get("replace_key"), Some(&Value::string("1")), "the old object survives");
    assert_eq!(h.backend.resources(), before, "the old row is current again");
}

/// A finished delete-then-create replacement keeps its new object when a later op fails: its
/// old object is gone, and deleting the new one would leave nothing (issue 12).
#[tokio::test]
async fn delete_then_create_rollback_keeps_the_new_object_of_a_finished_replacement() {
    let h = Harness::new();
    let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let mut p = PlanBuilder::default();
    let (_d, k) = p.replace("x", old, obj("x", &[("replace_key", Value::string("2"))]));
    let y = p.create("y", obj("y", &[("fail_create", Value::Bool(true))]));
    p.edge(k, y);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete);
    assert_eq!(report.kept, vec![addr("x")]);
    assert!(report.not_restorable.is_empty(), "{report:?}");
    let objects = h.fault.objects().unwrap();
    assert_eq!(objects.len(), 1, "the new x stays");
    assert_eq!(objects[0].attributes.get("replace_key"), Some(&Value::string("2")));
    assert_eq!(h.recorded(), vec!["x"], "and is recorded");
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::RollbackIncomplete);
    let kept = h.events.count(|e| matches!(e, Event::RollbackKept { address, .. } if *address == addr("x")));
    assert_eq!(kept, 1, "the run says so for x");
}

/// The apply stops between a replacement's delete and its create (another replacement's
/// create fails meanwhile): the rollback first finishes the replacement, so the address is not
/// left empty, and keeps it.
#[tokio::test]
async fn a_replacement_stopped_after_its_delete_is_finished_then_kept() {
    let h = Harness::new();
    let old_x = h.seed("x", obj("x", &[("replace_key", Value::string("1")), ("latency_ms", num(100.0))])).await;
    let old_w = h.seed("w", obj("w", &[("replace_key", Value::string("1"))])).await;
    let mut p = PlanBuilder::default();
    p.replace("x", old_x, obj("x", &[("replace_key", Value::string("2"))]));
    p.replace("w", old_w, obj("w", &[("replace_key", Value::string("2")), ("fail_create", Value::Bool(true))]));
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 2))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete, "{report:?}");
    assert_eq!(report.kept, vec![addr("x")]);
    assert_eq!(report.not_restorable, vec![addr("w")]);
    assert!(report.skipped.is_empty(), "x's create ran after all: {report:?}");
    let objects = h.fault.objects().unwrap();
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert_eq!(objects[0].attributes.get("replace_key"), Some(&Value::string("2")), "the new x");
    assert_eq!(h.recorded(), vec!["x"]);
}

/// An update that refers to a kept replacement is kept too: updating it back would point it
/// at the deleted object.
#[tokio::test]
async fn an_update_referring_to_a_kept_replacement_is_kept() {
    let h = Harness::new();
    let old_x = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let u = h.seed("u", obj("u", &[("value", Value::string("old"))])).await;
    let v = h.seed("v", obj("v", &[("value", Value::string("old"))])).await;
    let mut p = PlanBuilder::default();
    let (_d, k) = p.replace("x", old_x, obj("x", &[("replace_key", Value::string("2"))]));
    let up = p.update("u", u, obj("u", &[("value", Value::Unknown), ("value_from", Value::string("x"))]));
    p.edge(k, up);
    let vp = p.update("v", v, obj("v", &[("value", Value::string("new"))]));
    let bad = p.create("bad", obj("bad", &[("fail_create", Value::Bool(true))]));
    p.edge(up, bad);
    p.edge(vp, bad);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete, "{report:?}");
    assert_eq!(report.kept, vec![addr("u"), addr("x")]);
    let value = |name: &str| {
        let objects = h.fault.objects().unwrap();
        let o = objects.into_iter().find(|o| o.attributes.get("name") == Some(&Value::string(name))).unwrap();
        o.attributes.get("value").cloned()
    };
    let new_x_id = h.fault.objects().unwrap().into_iter().find_map(|o| {
        (o.attributes.get("name") == Some(&Value::string("x"))).then(|| o.attributes.get("id").cloned()).flatten()
    });
    assert_eq!(value("u"), new_x_id, "u still refers to the new x");
    assert_eq!(value("v"), Some(Value::string("old")), "an unrelated update is undone");
    let reason = h.events.events().into_iter().find_map(|e| match e {
        Event::RollbackKept { address, reason } if address == addr("u") => Some(reason),
        _ => None,
    });
    assert!(reason.unwrap().contains("fault_object.x"), "the run says why");
}

/// A replacement whose create fails after its delete: nothing can be restored, and the run
/// says so.
#[tokio::test]
async fn delete_then_create_whose_create_fails_is_reported_not_restorable() {
    let h = Harness::new();
    let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let mut p = PlanBuilder::default();
    p.replace("x", old, obj("x", &[("replace_key", Value::string("2")), ("fail_create", Value::Bool(true))]));
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete);
    assert_eq!(report.not_restorable, vec![addr("x")]);
    assert!(report.kept.is_empty());
    assert!(h.existing().is_empty());
    assert!(h.recorded().is_empty(), "state says exactly what exists: nothing");
    assert_eq!(h.events.count(|e| matches!(e, Event::RollbackNotRestorable { .. })), 1);
}

/// Under rollback the final-destroy phase is rolled back too: the updates of the run are undone,
/// the deletes that ran are reported, and history records `rollback_incomplete`.
#[tokio::test]
async fn a_failed_final_delete_undoes_the_updates_and_records_rollback_incomplete() {
    let h = Harness::new();
    let u = h.seed("u", obj("u", &[("value", Value::string("v1"))])).await;
    let gone = h.seed("gone", obj("gone", &[])).await;
    let stuck = h.seed("stuck", obj("stuck", &[("fail_delete", Value::Bool(true))])).await;
    let mut p = PlanBuilder::default();
    p.update("u", u, obj("u", &[("value", Value::string("v2"))]));
    let d1 = p.delete("gone", gone);
    let d2 = p.delete("stuck", stuck);
    p.edge(d1, d2);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete, "{report:?}");
    assert_eq!(report.not_restorable, vec![addr("gone")]);
    assert_eq!(h.existing(), vec!["stuck", "u"]);
    assert_eq!(h.recorded(), vec!["stuck", "u"]);
    let u = h.fault.objects().unwrap().into_iter().find(|o| o.attributes.get("name") == Some(&Value::string("u")));
    assert_eq!(u.unwrap().attributes.get("value"), Some(&Value::string("v1")), "the update is undone");
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::RollbackIncomplete);
}

/// A failure in the final phase before any delete ran leaves nothing irreversible done: the
/// rollback is complete.
#[tokio::test]
async fn a_final_delete_failing_first_is_rolled_back_completely() {
    let h = Harness::new();
    let u = h.seed("u", obj("u", &[("value", Value::string("v1"))])).await;
    let stuck = h.seed("stuck", obj("stuck", &[("fail_delete", Value::Bool(true))])).await;
    let mut p = PlanBuilder::default();
    p.update("u", u, obj("u", &[("value", Value::string("v2"))]));
    p.delete("stuck", stuck);
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack, "{report:?}");
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::RolledBack);
    assert_eq!(h.existing(), vec!["stuck", "u"]);
}

/// Panics on the create of the object named "boom".
struct Panicking(Arc<FaultProvider>);

#[async_trait]
impl Provider for Panicking {
    fn name(&self) -> &str {
        "fault"
    }
    fn schema(&self) -> ProviderSchema {
        self.0.schema()
    }
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        self.0.read(req).await
    }
    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        if req.planned.get("name").and_then(Value::as_str) == Some("boom") {
            panic!("provider bug");
        }
        self.0.create(req).await
    }
    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        self.0.update(req).await
    }
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.0.delete(req).await
    }
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        self.0.adopt(req).await
    }
}

#[tokio::test]
async fn a_panicking_provider_is_caught_and_left_for_recovery() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let a = p.create("a", obj("a", &[]));
    let boom = p.create("boom", obj("boom", &[]));
    p.edge(a, boom);
    let provider = Arc::new(Panicking(h.fault.clone()));
    let report = apply(&p.build(), h.context_with(provider, opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete, "the panicked create's effect is unknown");
    assert_eq!(report.uncertain.len(), 1);
    assert!(report.failed[0].message.contains("panicked"));
    assert!(h.existing().is_empty(), "a was rolled back");
    let open = h.backend.open_intents().await.unwrap();
    assert_eq!(open.len(), 1, "the panicked call's intent stays open for recovery");
    assert_eq!(open[0].entry.address, "fault_object.boom");
}

#[tokio::test]
async fn a_failed_state_write_leaves_the_intent_open() {
    let h = Harness::new();
    h.backend.fail_puts_for("fault_object.w");
    let mut p = PlanBuilder::default();
    p.create("w", obj("w", &[]));
    let report = apply(&p.build(), h.context(opts(FailurePolicy::Halt))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Partial);
    assert_eq!(report.uncertain.len(), 1);
    assert_eq!(h.existing(), vec!["w"]);
    assert_eq!(h.backend.open_intents().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_lets_in_flight_ops_finish_then_keeps_what_finished() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    for i in 0..20 {
        p.create(&format!("o{i:02}"), obj(&format!("o{i:02}"), &[("latency_ms", num(40.0))]));
    }
    let cancel = h.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        cancel.cancel();
    });
    // The failure policy is for failures; an interrupt keeps what finished by default.
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 2))).await.unwrap();
    assert!(report.cancelled);
    assert_eq!(report.outcome, ApplyOutcome::Interrupted);
    assert!(report.completed >= 2 && report.completed < 20, "{}", report.completed);
    assert_eq!(report.created, report.completed);
    assert_eq!((report.changed, report.destroyed), (0, 0));
    assert_eq!(report.skipped.len(), 20 - report.completed, "everything else was not started");
    assert_eq!(h.events.count(|e| matches!(e, Event::OpFailed { .. })), 0, "nothing was cut short");
    assert_eq!(h.existing().len(), report.completed);
    assert_eq!(h.recorded().len(), report.completed, "what finished is recorded");
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::Interrupted);
    assert!(h.backend.open_intents().await.unwrap().is_empty(), "nothing is left to recover");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_with_on_interrupt_rollback_lets_in_flight_ops_finish_then_rolls_back() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    for i in 0..20 {
        p.create(&format!("o{i:02}"), obj(&format!("o{i:02}"), &[("latency_ms", num(40.0))]));
    }
    let cancel = h.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(60)).await;
        cancel.cancel();
    });
    let options = tarn_core::exec::ApplyOptions {
        on_interrupt: tarn_core::exec::InterruptPolicy::Rollback,
        ..Harness::options(FailurePolicy::Halt, 2)
    };
    let report = apply(&p.build(), h.context(options)).await.unwrap();
    assert!(report.cancelled);
    assert_eq!(report.outcome, ApplyOutcome::RolledBack);
    assert!(report.completed >= 2 && report.completed < 20, "{}", report.completed);
    assert_eq!(h.events.count(|e| matches!(e, Event::OpFailed { .. })), 0, "nothing was cut short");
    assert!(h.existing().is_empty() && h.recorded().is_empty());
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::RolledBack);
}

/// The fault provider plus a data source of the same type name that echoes its configuration.
struct WithData(Arc<FaultProvider>);

#[async_trait]
impl Provider for WithData {
    fn name(&self) -> &str {
        "fault"
    }
    fn schema(&self) -> ProviderSchema {
        self.0.schema()
    }
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        self.0.read(req).await
    }
    async fn read_data(&self, req: tarn_sdk::ReadDataRequest) -> Result<Value, ProviderError> {
        Ok(req.config)
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
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        self.0.adopt(req).await
    }
}

#[tokio::test]
async fn a_data_source_read_is_recorded_and_its_row_rolled_back() {
    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let d = p.read_data("d", obj("d", &[]));
    let x = p.create("x", obj("x", &[]));
    p.edge(d, x);
    let provider = Arc::new(WithData(h.fault.clone()));
    let report = apply(&p.build(), h.context_with(provider.clone(), opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    assert_eq!(h.backend.resources()["data.fault_object.d"].mode, "data");

    let h = Harness::new();
    let mut p = PlanBuilder::default();
    let d = p.read_data("d", obj("d", &[]));
    let x = p.create("x", obj("x", &[("fail_create", Value::Bool(true))]));
    p.edge(d, x);
    let provider = Arc::new(WithData(h.fault.clone()));
    let report = apply(&p.build(), h.context_with(provider, opts(FailurePolicy::Rollback))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack);
    assert!(h.backend.resources().is_empty(), "the data row is gone again");
}
