//! Crash recovery: intents left open by a run that died are resolved against what the
//! provider really holds, and the state made to say so.

use super::memory::run_start;
use super::support::*;
use std::collections::HashMap;
use std::sync::Arc;
use tarn_core::exec::{ApplyOutcome, Event, FailurePolicy, RecoverContext, Resolution, apply, recover};
use tarn_sdk::{CreateRequest, DeleteRequest, Provider, Value};
use tarn_state::{Backend, JournalEntry, JournalPhase, RunOutcome};

fn recover_ctx(h: &Harness) -> RecoverContext {
    RecoverContext {
        providers: HashMap::from([("fault".to_string(), h.fault.clone() as Arc<dyn Provider>)]),
        backend: h.backend.clone(),
        schemas: HashMap::from([("fault".to_string(), h.fault.schema())]),
        events: h.events.clone(),
        deadlines: Default::default(),
    }
}

/// Journals an intent as the executor does, for a run that then "dies".
async fn intent(h: &Harness, run: &str, name: &str, op: &str, correlation: Option<&str>, planned: &Value) -> i64 {
    intent_restoring(h, run, name, op, correlation, planned, None).await
}

async fn intent_restoring(
    h: &Harness,
    run: &str,
    name: &str,
    op: &str,
    correlation: Option<&str>,
    planned: &Value,
    restores: Option<&Value>,
) -> i64 {
    intent_full(h, run, name, op, correlation, planned, restores, None).await
}

#[allow(clippy::too_many_arguments)]
async fn intent_full(
    h: &Harness,
    run: &str,
    name: &str,
    op: &str,
    correlation: Option<&str>,
    planned: &Value,
    restores: Option<&Value>,
    deposed: Option<&str>,
) -> i64 {
    h.backend
        .journal(JournalEntry {
            run_id: run.into(),
            address: addr(name).to_string(),
            op: op.into(),
            phase: JournalPhase::Intent,
            correlation: correlation.map(str::to_string),
            detail: serde_json::json!({
                "type": TYPE,
                "provider": "fault",
                "attempt": 1,
                "planned": planned.to_json_redacted(),
                "restores": restores.map(Value::to_json_redacted),
                "deposed": deposed,
            }),
            intent_seq: None,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn recovery_adopts_an_object_a_crashed_run_created() {
    let h = Harness::new();
    let run = h.backend.begin_run(run_start()).await.unwrap();
    let planned = obj("orphan", &[]);
    let correlation = format!("tarn-{run}-0");
    intent(&h, &run, "orphan", "create", Some(&correlation), &planned).await;
    // The provider made the object; the process died before recording it.
    h.fault
        .create(CreateRequest { type_name: TYPE.into(), planned: planned.clone(), correlation: correlation.clone() })
        .await
        .unwrap();
    // A second create that never reached the provider.
    intent(&h, &run, "never", "create", Some(&format!("tarn-{run}-1")), &obj("never", &[])).await;

    let recovered = recover(recover_ctx(&h)).await.unwrap();
    assert_eq!(recovered.len(), 2);
    assert_eq!(recovered[0].resolution, Resolution::Adopted { correlation: correlation.clone() });
    assert_eq!(recovered[1].resolution, Resolution::NotCreated);
    let rows = h.backend.resources();
    let row = &rows["fault_object.orphan"];
    assert_eq!(row.correlation.as_deref(), Some(correlation.as_str()));
    assert_eq!(row.attributes["name"], "orphan");
    assert!(!rows.contains_key("fault_object.never"));
    assert!(h.backend.open_intents().await.unwrap().is_empty());
    assert_eq!(h.backend.runs()[0].outcome, RunOutcome::Interrupted);
    assert_eq!(h.events.count(|e| matches!(e, Event::Adopted { .. })), 1);
    // Idempotent: a second recovery finds nothing to do.
    assert!(recover(recover_ctx(&h)).await.unwrap().is_empty());
}

#[tokio::test]
async fn recovery_fixes_rows_of_interrupted_updates_and_deletes() {
    let h = Harness::new();
    let u = h.seed("u", obj("u", &[("value", Value::string("v1"))])).await;
    let d = h.seed("d", obj("d", &[])).await;
    let run = h.backend.begin_run(run_start()).await.unwrap();
    // The update reached the provider; the delete did too. Neither was recorded.
    intent(&h, &run, "u", "update", None, &obj("u", &[("value", Value::string("v2"))])).await;
    h.fault
        .update(tarn_sdk::UpdateRequest {
            type_name: TYPE.into(),
            prior: u.clone(),
            planned: obj("u", &[("value", Value::string("v2"))]),
        })
        .await
        .unwrap();
    intent(&h, &run, "d", "delete", None, &d).await;
    h.fault.delete(DeleteRequest { type_name: TYPE.into(), state: d }).await.unwrap();

    let recovered = recover(recover_ctx(&h)).await.unwrap();
    let resolutions: Vec<_> = recovered.iter().map(|r| r.resolution.clone()).collect();
    assert_eq!(resolutions, vec![Resolution::Refreshed, Resolution::Gone]);
    let rows = h.backend.resources();
    assert_eq!(rows["fault_object.u"].attributes["value"], "v2");
    assert!(!rows.contains_key("fault_object.d"));
}

#[tokio::test]
async fn an_unrecorded_create_from_a_failed_state_write_is_adopted_next_run() {
    let h = Harness::new();
    h.backend.fail_puts_for("fault_object.w");
    let mut p = PlanBuilder::default();
    p.create("w", obj("w", &[]));
    let report = apply(&p.build(), h.context(Harness::options(FailurePolicy::Rollback, 1))).await.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete);
    assert!(h.recorded().is_empty() && h.existing() == vec!["w"], "an object exists that state does not know");

    h.backend.fail_puts_for("nothing");
    let recovered = recover(recover_ctx(&h)).await.unwrap();
    assert!(matches!(recovered[0].resolution, Resolution::Adopted { .. }));
    assert_eq!(h.recorded(), vec!["w"], "now tarn knows about it");
}

#[tokio::test]
async fn an_unreachable_provider_leaves_the_intent_open() {
    let h = Harness::new();
    let run = h.backend.begin_run(run_start()).await.unwrap();
    intent(&h, &run, "x", "create", Some("tarn-x-0"), &obj("x", &[])).await;
    let mut ctx = recover_ctx(&h);
    ctx.providers.clear();
    let recovered = recover(ctx).await.unwrap();
    assert!(matches!(recovered[0].resolution, Resolution::Unresolved { .. }));
    assert_eq!(h.backend.open_intents().await.unwrap().len(), 1);
}

/// Records `value` as the row of `name` with `correlation`, as the executor does.
async fn put_row(h: &Harness, name: &str, value: &Value, correlation: &str) {
    h.backend
        .put_resource(tarn_state::ResourceRecord {
            address: addr(name).to_string(),
            mode: "managed".into(),
            type_name: TYPE.into(),
            provider: "fault".into(),
            attributes: value.to_json_unmarked(),
            sensitive_paths: vec![],
            dependencies: vec![],
            correlation: Some(correlation.into()),
            schema_version: 0,
            deposed: None,
        })
        .await
        .unwrap();
}

/// A create_before_destroy create killed after it made the new object: the new object is
/// adopted as current and the old one, which the row held, is kept as deposed (for the next
/// plan to delete) — also when the journal (an older tarn's) does not name a deposed key.
#[tokio::test]
async fn an_interrupted_create_before_destroy_create_is_adopted_and_the_old_object_deposed() {
    for key in [Some("0a1b2c3d"), None] {
        let h = Harness::new();
        let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
        if let Some(key) = key {
            let mut row = h.backend.resources()["fault_object.x"].clone();
            row.deposed = Some(key.into());
            h.backend.put_resource(row).await.unwrap();
        }
        let run = h.backend.begin_run(run_start()).await.unwrap();
        let planned = obj("x", &[("replace_key", Value::string("2"))]);
        intent_full(&h, &run, "x", "create", Some("tarn-r-0"), &planned, None, key).await;
        h.fault
            .create(CreateRequest { type_name: TYPE.into(), planned, correlation: "tarn-r-0".into() })
            .await
            .unwrap();

        let recovered = recover(recover_ctx(&h)).await.unwrap();
        assert_eq!(recovered[0].resolution, Resolution::Adopted { correlation: "tarn-r-0".into() }, "key {key:?}");
        assert_eq!(h.fault.objects().unwrap().len(), 2, "recovery deletes nothing");
        assert_eq!(h.backend.resources()["fault_object.x"].attributes["replace_key"], "2", "the new object is current");
        let deposed = h.backend.deposed();
        assert_eq!(deposed.len(), 1, "key {key:?}: {deposed:?}");
        assert_eq!(deposed[0].attributes, old.to_json_unmarked(), "the old object is deposed");
        if let Some(key) = key {
            assert_eq!(deposed[0].deposed.as_deref(), Some(key));
        }
    }
}

/// Killed after the old object was deposed but before the provider made the new one: both
/// rows hold the old object; recovery drops the deposed copy (and deletes nothing).
#[tokio::test]
async fn a_deposed_copy_of_the_current_object_is_dropped() {
    let h = Harness::new();
    h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let before = h.backend.resources();
    let mut row = before["fault_object.x"].clone();
    row.deposed = Some("0a1b2c3d".into());
    h.backend.put_resource(row).await.unwrap();
    let run = h.backend.begin_run(run_start()).await.unwrap();
    let planned = obj("x", &[("replace_key", Value::string("2"))]);
    intent_full(&h, &run, "x", "create", Some("tarn-r-0"), &planned, None, Some("0a1b2c3d")).await;

    let recovered = recover(recover_ctx(&h)).await.unwrap();
    assert_eq!(recovered[0].resolution, Resolution::NotCreated);
    assert_eq!(h.backend.resources(), before, "only the current row is left");
    assert_eq!(h.existing(), vec!["x"]);
    assert_eq!(h.fault.stats().deletes, 0);
}

/// The delete of a deposed object killed mid-call: gone → its row goes; still there → its row
/// stays (refreshed) for the next plan to delete; the current object is untouched either way.
#[tokio::test]
async fn an_interrupted_delete_of_a_deposed_object_is_reconciled() {
    for deleted in [true, false] {
        let h = Harness::new();
        let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
        let mut row = h.backend.resources()["fault_object.x"].clone();
        row.deposed = Some("0a1b2c3d".into());
        h.backend.put_resource(row).await.unwrap();
        let new = h
            .fault
            .create(CreateRequest {
                type_name: TYPE.into(),
                planned: obj("x", &[("replace_key", Value::string("2"))]),
                correlation: "tarn-r-0".into(),
            })
            .await
            .unwrap();
        put_row(&h, "x", &new, "tarn-r-0").await;
        let run = h.backend.begin_run(run_start()).await.unwrap();
        intent_full(&h, &run, "x", "delete", None, &old, None, Some("0a1b2c3d")).await;
        if deleted {
            h.fault.delete(DeleteRequest { type_name: TYPE.into(), state: old.clone() }).await.unwrap();
        }
        let recovered = recover(recover_ctx(&h)).await.unwrap();
        let want = if deleted { Resolution::Gone } else { Resolution::Refreshed };
        assert_eq!(recovered[0].resolution, want);
        assert_eq!(h.backend.deposed().len(), usize::from(!deleted));
        assert_eq!(h.backend.resources()["fault_object.x"].attributes["replace_key"], "2");
        assert_eq!(h.fault.objects().unwrap().len(), if deleted { 1 } else { 2 });
    }
}

#[tokio::test]
async fn an_interrupted_delete_of_a_replaced_object_is_finished() {
    let h = Harness::new();
    let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let run = h.backend.begin_run(run_start()).await.unwrap();
    // The replacement was created and recorded; the delete of the old object was interrupted.
    let new = h
        .fault
        .create(CreateRequest {
            type_name: TYPE.into(),
            planned: obj("x", &[("replace_key", Value::string("2"))]),
            correlation: "tarn-r-0".into(),
        })
        .await
        .unwrap();
    put_row(&h, "x", &new, "tarn-r-0").await;
    intent(&h, &run, "x", "delete", None, &old).await;

    let recovered = recover(recover_ctx(&h)).await.unwrap();
    assert_eq!(recovered[0].resolution, Resolution::RemovedUntracked);
    let objects = h.fault.objects().unwrap();
    assert_eq!(objects.len(), 1);
    assert_eq!(objects[0].attributes, new);
    assert_eq!(h.backend.resources()["fault_object.x"].attributes["replace_key"], "2", "the row keeps the replacement");

    // Had the delete gone through, there is nothing to do and the row is untouched.
    let h = Harness::new();
    let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
    let run = h.backend.begin_run(run_start()).await.unwrap();
    let new = h
        .fault
        .create(CreateRequest {
            type_name: TYPE.into(),
            planned: obj("x", &[("replace_key", Value::string("2"))]),
            correlation: "tarn-r-0".into(),
        })
        .await
        .unwrap();
    put_row(&h, "x", &new, "tarn-r-0").await;
    intent(&h, &run, "x", "delete", None, &old).await;
    h.fault.delete(DeleteRequest { type_name: TYPE.into(), state: old }).await.unwrap();
    let recovered = recover(recover_ctx(&h)).await.unwrap();
    assert_eq!(recovered[0].resolution, Resolution::NothingToDo);
    assert_eq!(h.backend.resources()["fault_object.x"].attributes["replace_key"], "2");
}

#[tokio::test]
async fn an_interrupted_rollback_of_a_replacement_is_finished() {
    for replacement_deleted in [false, true] {
        let h = Harness::new();
        let old = h.seed("x", obj("x", &[("replace_key", Value::string("1"))])).await;
        let run = h.backend.begin_run(run_start()).await.unwrap();
        let new = h
            .fault
            .create(CreateRequest {
                type_name: TYPE.into(),
                planned: obj("x", &[("replace_key", Value::string("2"))]),
                correlation: "tarn-r-0".into(),
            })
            .await
            .unwrap();
        put_row(&h, "x", &new, "tarn-r-0").await;
        intent_restoring(&h, &run, "x", "rollback-delete", None, &new, Some(&old)).await;
        if replacement_deleted {
            h.fault.delete(DeleteRequest { type_name: TYPE.into(), state: new.clone() }).await.unwrap();
        }
        let recovered = recover(recover_ctx(&h)).await.unwrap();
        assert_eq!(recovered[0].resolution, Resolution::Restored, "replacement deleted: {replacement_deleted}");
        let objects = h.fault.objects().unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].attributes, old);
        assert_eq!(h.backend.resources()["fault_object.x"].attributes["replace_key"], "1");
    }
}

/// Recovery's provider calls are fenced like the executor's: a tarn whose lock was taken over
/// (its lease ran out while it was stopped) makes no call to resolve an intent; it leaves the
/// intent open for the new holder, and the provider sees nothing from it.
#[tokio::test]
async fn recovery_makes_no_provider_call_once_its_lock_was_taken_over() {
    use tarn_state::{LockHolder, LockOptions, SqliteBackend};
    let h = Harness::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let old = Arc::new(SqliteBackend::open(&path).unwrap());
    let new = SqliteBackend::open(&path).unwrap();
    // An update that reached the provider but was never recorded, by a run that ended.
    let planned = obj("u", &[("value", Value::string("v1"))]);
    let created = h
        .fault
        .create(CreateRequest { type_name: TYPE.into(), planned: planned.clone(), correlation: "seed-u".into() })
        .await
        .unwrap();
    old.put_resource(tarn_state::ResourceRecord {
        address: addr("u").to_string(),
        mode: "managed".into(),
        type_name: TYPE.into(),
        provider: "fault".into(),
        attributes: created.to_json_unmarked(),
        sensitive_paths: vec![],
        dependencies: vec![],
        correlation: Some("seed-u".into()),
        schema_version: 0,
        deposed: None,
    })
    .await
    .unwrap();
    let run = old.begin_run(run_start()).await.unwrap();
    old.journal(JournalEntry {
        run_id: run.clone(),
        address: addr("u").to_string(),
        op: "update".into(),
        phase: JournalPhase::Intent,
        correlation: None,
        detail: serde_json::json!({"type": TYPE, "provider": "fault", "attempt": 1, "planned": planned.to_json_redacted()}),
        intent_seq: None,
    })
    .await
    .unwrap();
    old.finish_run(&run, RunOutcome::Failed, serde_json::json!({})).await.unwrap();

    let lease = |ms| LockOptions { timeout: std::time::Duration::ZERO, lease: std::time::Duration::from_millis(ms) };
    old.lock(LockHolder::here("tarn apply"), lease(200)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    new.lock(LockHolder::here("tarn apply (second)"), lease(60_000)).await.unwrap();

    let reads_before = h.fault.stats().reads;
    let mut ctx = recover_ctx(&h);
    ctx.backend = old.clone();
    let recovered = recover(ctx).await.unwrap();
    assert!(
        matches!(&recovered[0].resolution, Resolution::Unresolved { reason } if reason.contains("not attempted")),
        "{recovered:?}"
    );
    assert_eq!(h.fault.stats().reads, reads_before, "the old holder read nothing");
    assert_eq!(new.open_intents().await.unwrap().len(), 1, "the intent stays open for the new holder");
}
