//! Deposed objects, through the real planner, executor and SQLite state: a
//! create_before_destroy replacement whose old object could not be deleted in the same apply
//! (a later action failed under `halt` or `continue`) leaves it recorded as *deposed* — never
//! an orphan — and the next plan deletes it. Under `rollback` the old object is current again.

use super::pipeline::{object_files, plan_and_apply_with};
use std::path::Path;
use std::sync::Arc;
use tarn_core::exec::{ApplyOutcome, FailurePolicy};
use tarn_core::plan::{Action, OpKind, Phase, PlanMode};
use tarn_state::{Backend, SqliteBackend};

/// `x` is replaced before it is destroyed; `y` follows `x`'s id (so its update sits between
/// the new `x` and the delete of the old one); `z` is independent. `y_extra` goes into `y`.
fn config(replace_key: &str, y_extra: &str) -> String {
    format!(
        r#"
resource "fault_object" "x" {{
  name        = "x"
  replace_key = "{replace_key}"
  lifecycle {{
    create_before_destroy = true
  }}
}}

resource "fault_object" "y" {{
  name  = "y"
  value = fault_object.x.id
{y_extra}}}

resource "fault_object" "z" {{
  name  = "z"
  value = "{replace_key}"
}}
"#
    )
}

/// Object ids in the fault provider's directory, and ids recorded in state (deposed included).
async fn real_and_recorded(dir: &Path, backend: &SqliteBackend) -> (Vec<String>, Vec<String>) {
    let real: Vec<String> =
        object_files(dir).into_iter().filter_map(|f| f.strip_suffix(".json").map(str::to_string)).collect();
    let mut recorded: Vec<String> = backend
        .snapshot()
        .await
        .unwrap()
        .resources
        .iter()
        .map(|r| r.attributes["id"].as_str().unwrap().to_string())
        .collect();
    recorded.sort();
    (real, recorded)
}

async fn a_later_failure_leaves_a_deposed_object_the_next_plan_deletes(policy: FailurePolicy) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());
    let (_, outcome) = plan_and_apply_with(dir.path(), &config("1", ""), &backend, PlanMode::Normal, policy).await;
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    let old_x =
        backend.snapshot().await.unwrap().resources.into_iter().find(|r| r.address == "fault_object.x").unwrap();

    // Replace x; y's update (which waits for the new x) fails, so the old x is not deleted.
    let (plan, outcome) =
        plan_and_apply_with(dir.path(), &config("2", "  fail_update = true\n"), &backend, PlanMode::Normal, policy)
            .await;
    assert_eq!(outcome, Some(ApplyOutcome::Partial), "{policy:?}");
    assert!(plan.changes.iter().any(|c| c.address.name == "x" && c.action == Action::CreateThenDelete));
    let snap = backend.snapshot().await.unwrap();
    let deposed: Vec<_> = snap.resources.iter().filter(|r| r.deposed.is_some()).collect();
    assert_eq!(deposed.len(), 1, "{policy:?}: the old x is recorded as deposed: {:#?}", snap.resources);
    assert_eq!(deposed[0].address, "fault_object.x");
    assert_eq!(deposed[0].attributes, old_x.attributes, "with every attribute of the old object");
    assert_eq!(deposed[0].correlation, old_x.correlation);
    let current_x = snap.resources.iter().find(|r| r.address == "fault_object.x" && r.deposed.is_none()).unwrap();
    assert_eq!(current_x.attributes["replace_key"], "2", "the new x is current");
    let (real, recorded) = real_and_recorded(dir.path(), &backend).await;
    assert_eq!(real.len(), 4, "old x, new x, y, z all exist");
    assert_eq!(real, recorded, "{policy:?}: no object tarn does not know about");
    let z = snap.resources.iter().find(|r| r.address == "fault_object.z").unwrap();
    if policy == FailurePolicy::Continue {
        assert_eq!(z.attributes["value"], "2", "continue runs the independent update");
    }

    // The next plan deletes the deposed object, in the final-destroy phase, and nothing else
    // about x changes.
    let key = deposed[0].deposed.clone().unwrap();
    let (plan, outcome) = plan_and_apply_with(dir.path(), &config("2", ""), &backend, PlanMode::Normal, policy).await;
    let deletes: Vec<_> = plan.changes.iter().filter(|c| c.deposed.is_some()).collect();
    assert_eq!(deletes.len(), 1, "{:#?}", plan.changes);
    assert_eq!((deletes[0].action, deletes[0].deposed.as_deref()), (Action::Delete, Some(key.as_str())));
    let op = plan.graph.ops.iter().find(|op| plan.changes[op.change as usize].deposed.is_some()).unwrap();
    assert_eq!((op.kind, op.phase), (OpKind::Delete, Phase::FinalDestroy));
    assert!(plan.changes.iter().any(|c| c.address.name == "x" && c.deposed.is_none() && c.action == Action::NoOp));
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    let (real, recorded) = real_and_recorded(dir.path(), &backend).await;
    assert_eq!(real.len(), 3, "only the new x, y and z are left");
    assert_eq!(real, recorded);
    assert!(backend.snapshot().await.unwrap().resources.iter().all(|r| r.deposed.is_none()));
    assert!(backend.open_intents().await.unwrap().is_empty());

    // Converged.
    let (plan, outcome) = plan_and_apply_with(dir.path(), &config("2", ""), &backend, PlanMode::Normal, policy).await;
    assert_eq!((plan.graph.ops.len(), outcome), (0, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_after_a_create_before_destroy_create_leaves_a_deposed_object_the_next_plan_deletes() {
    a_later_failure_leaves_a_deposed_object_the_next_plan_deletes(FailurePolicy::Halt).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_after_a_create_before_destroy_create_leaves_a_deposed_object_the_next_plan_deletes() {
    a_later_failure_leaves_a_deposed_object_the_next_plan_deletes(FailurePolicy::Continue).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_makes_the_deposed_object_current_again() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());
    let policy = FailurePolicy::Rollback;
    plan_and_apply_with(dir.path(), &config("1", ""), &backend, PlanMode::Normal, policy).await;
    let before = backend.snapshot().await.unwrap().resources;
    let (_, outcome) =
        plan_and_apply_with(dir.path(), &config("2", "  fail_update = true\n"), &backend, PlanMode::Normal, policy)
            .await;
    assert_eq!(outcome, Some(ApplyOutcome::RolledBack));
    let after = backend.snapshot().await.unwrap().resources;
    let x = |rows: &[tarn_state::ResourceRecord]| rows.iter().find(|r| r.address == "fault_object.x").cloned().unwrap();
    assert_eq!(x(&after), x(&before), "the old x is current again, every field intact");
    assert!(after.iter().all(|r| r.deposed.is_none()), "no deposed row is left: {after:#?}");
    let (real, recorded) = real_and_recorded(dir.path(), &backend).await;
    assert_eq!(real, recorded);
    assert_eq!(real.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_deposed_objects_too() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());
    let policy = FailurePolicy::Halt;
    plan_and_apply_with(dir.path(), &config("1", ""), &backend, PlanMode::Normal, policy).await;
    plan_and_apply_with(dir.path(), &config("2", "  fail_update = true\n"), &backend, PlanMode::Normal, policy).await;
    assert_eq!(object_files(dir.path()).len(), 4);
    let (plan, outcome) = plan_and_apply_with(dir.path(), &config("2", ""), &backend, PlanMode::Destroy, policy).await;
    assert_eq!(plan.changes.iter().filter(|c| c.action == Action::Delete).count(), 4, "{:#?}", plan.changes);
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    assert!(object_files(dir.path()).is_empty());
    assert!(backend.snapshot().await.unwrap().resources.is_empty());
}
