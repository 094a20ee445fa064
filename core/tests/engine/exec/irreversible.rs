//! Issue 12's rollback repros through the real planner, executor and SQLite state, with the
//! fault provider's directory as ground truth: a rollback never leaves fewer objects than the
//! run found. Forty delete-then-create replacements with one failing create keep every finished
//! replacement; forty create_before_destroy replacements with one failing create roll back to
//! the forty old objects; a failing delete in the final phase undoes the run's updates and is
//! recorded as `rollback_incomplete`. Also: how the planner phases and flags such changes.

use super::pipeline::{object_files, plan_and_apply_with, plan_apply_inspect};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use tarn_core::exec::{ApplyOutcome, FailurePolicy};
use tarn_core::plan::{Action, OpKind, Phase, Plan, PlanMode};
use tarn_state::{Backend, RunOutcome, SqliteBackend};

/// `n` fault_objects `o[i]`, named `o-i`, with `extra` inside each block.
fn objects(n: usize, extra: &str) -> String {
    format!("resource \"fault_object\" \"o\" {{\n  count = {n}\n  name  = \"o-${{count.index}}\"\n{extra}}}\n")
}

fn open() -> (tempfile::TempDir, Arc<SqliteBackend>) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());
    (dir, backend)
}

/// The objects that really exist, by `name`: (id, attributes).
fn real(dir: &Path) -> BTreeMap<String, Vec<serde_json::Value>> {
    let mut by_name: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for file in object_files(dir) {
        let text = std::fs::read_to_string(dir.join("objects").join(&file)).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let name = json["attributes"]["name"].as_str().unwrap().to_string();
        by_name.entry(name).or_default().push(json["attributes"].clone());
    }
    by_name
}

/// Ids in the fault provider's directory and ids recorded in state (deposed rows included).
async fn ids(dir: &Path, backend: &SqliteBackend) -> (Vec<String>, Vec<String>) {
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

/// The outcome history records for the latest run (history is newest first).
async fn last_outcome(backend: &SqliteBackend) -> RunOutcome {
    backend.history().await.unwrap()[0].outcome
}

fn phase_of(plan: &Plan, name: &str, kind: OpKind) -> Phase {
    let op = plan.graph.ops.iter().find(|op| {
        let c = &plan.changes[op.change as usize];
        c.address.name == name && c.deposed.is_none() && op.kind == kind
    });
    op.unwrap_or_else(|| panic!("no {kind:?} of {name}")).phase
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_keeps_every_finished_delete_then_create_replacement() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    let first = objects(40, "  replace_key = \"r1\"\n");
    let (_, outcome) = plan_and_apply_with(d, &first, &backend, PlanMode::Normal, policy).await;
    assert_eq!(outcome, Some(ApplyOutcome::Success));

    let second = objects(40, "  replace_key = \"r2\"\n  fail_create = count.index == 38\n");
    let (plan, report, _) = plan_apply_inspect(d, &second, &backend, PlanMode::Normal, policy).await;
    let plan = plan.unwrap();
    assert!(plan.changes.iter().all(|c| c.action == Action::DeleteThenCreate && c.irreversible_delete()));
    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete, "{report:#?}");
    let lost: Vec<String> = report.not_restorable.iter().map(ToString::to_string).collect();
    assert_eq!(lost, vec!["fault_object.o[38]"], "only the object whose replacement failed is gone");
    assert_eq!(report.kept.len(), 39, "{:?}", report.kept);

    let objects = real(d);
    for i in (0..40).filter(|&i| i != 38) {
        let found = objects.get(&format!("o-{i}")).map(Vec::len);
        assert_eq!(found, Some(1), "o-{i}: its old object or its replacement must exist, once");
    }
    assert!(!objects.contains_key("o-38"));
    let (real_ids, recorded) = ids(d, &backend).await;
    assert_eq!(real_ids, recorded, "state says exactly what exists");
    assert_eq!(last_outcome(&backend).await, RunOutcome::RollbackIncomplete);
    assert!(backend.open_intents().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_of_create_before_destroy_replacements_restores_every_old_object() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    let cbd = "  lifecycle {\n    create_before_destroy = true\n  }\n";
    let first = objects(40, &format!("  replace_key = \"r1\"\n{cbd}"));
    let (_, outcome) = plan_and_apply_with(d, &first, &backend, PlanMode::Normal, policy).await;
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    let before = ids(d, &backend).await.0;

    let second = objects(40, &format!("  replace_key = \"r2\"\n  fail_create = count.index == 38\n{cbd}"));
    let (plan, report, _) = plan_apply_inspect(d, &second, &backend, PlanMode::Normal, policy).await;
    let plan = plan.unwrap();
    assert!(plan.changes.iter().all(|c| c.action == Action::CreateThenDelete && !c.irreversible_delete()));
    assert!(plan.graph.ops.iter().filter(|op| op.kind == OpKind::Delete).all(|op| op.phase == Phase::FinalDestroy));
    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack, "{report:#?}");
    let (real_ids, recorded) = ids(d, &backend).await;
    assert_eq!(real_ids, before, "every old object survives, every new one is gone");
    assert_eq!(real_ids, recorded);
    assert!(backend.snapshot().await.unwrap().resources.iter().all(|r| r.deposed.is_none()));
    assert_eq!(last_outcome(&backend).await, RunOutcome::RolledBack);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_final_delete_undoes_the_updates_and_records_rollback_incomplete() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    let body = |n: usize, v: &str| objects(n, &format!("  value       = \"{v}\"\n  fail_delete = count.index == 35\n"));
    let (_, outcome) = plan_and_apply_with(d, &body(40, "v1"), &backend, PlanMode::Normal, policy).await;
    assert_eq!(outcome, Some(ApplyOutcome::Success));

    let (plan, report, _) = plan_apply_inspect(d, &body(30, "v2"), &backend, PlanMode::Normal, policy).await;
    let plan = plan.unwrap();
    assert_eq!(plan.changes.iter().filter(|c| c.irreversible_delete()).count(), 10);
    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RollbackIncomplete, "{report:#?}");
    let objects = real(d);
    for (name, found) in &objects {
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0]["value"], "v1", "{name}: every update of the run is undone");
    }
    for i in 0..30 {
        assert!(objects.contains_key(&format!("o-{i}")), "o-{i} was kept by the plan");
    }
    assert!(objects.contains_key("o-35"), "its delete failed");
    let deleted = 40 - objects.len();
    assert_eq!(report.not_restorable.len(), deleted, "every delete that ran is reported: {report:#?}");
    let (real_ids, recorded) = ids(d, &backend).await;
    assert_eq!(real_ids, recorded);
    assert_eq!(last_outcome(&backend).await, RunOutcome::RollbackIncomplete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irreversible_deletes_are_flagged_and_planned_after_everything_undoable() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    let config = |key: &str, keep_gone: bool| {
        let gone = if keep_gone { "resource \"fault_object\" \"gone\" {\n  name = \"gone\"\n}\n" } else { "" };
        format!(
            r#"
resource "fault_object" "dtc" {{
  name        = "dtc"
  replace_key = "{key}"
}}

resource "fault_object" "follows" {{
  name  = "follows"
  value = fault_object.dtc.id
}}

resource "fault_object" "cbd" {{
  name        = "cbd"
  replace_key = "{key}"
  lifecycle {{
    create_before_destroy = true
  }}
}}

resource "fault_object" "plain" {{
  name  = "plain"
  value = "{key}"
}}
{gone}"#
        )
    };
    let (_, outcome) = plan_and_apply_with(d, &config("1", true), &backend, PlanMode::Normal, policy).await;
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    let (plan, report, _) = plan_apply_inspect(d, &config("2", false), &backend, PlanMode::Normal, policy).await;
    let plan = plan.unwrap();
    let flagged: Vec<(&str, bool)> =
        plan.changes.iter().map(|c| (c.address.name.as_str(), c.irreversible_delete())).collect();
    assert_eq!(
        flagged,
        vec![("cbd", false), ("dtc", true), ("follows", false), ("gone", true), ("plain", false)],
        "{:#?}",
        plan.changes
    );
    assert_eq!(phase_of(&plan, "plain", OpKind::Update), Phase::Main);
    assert_eq!(phase_of(&plan, "cbd", OpKind::Create), Phase::Main);
    assert_eq!(phase_of(&plan, "dtc", OpKind::Delete), Phase::Replace);
    assert_eq!(phase_of(&plan, "dtc", OpKind::Create), Phase::Replace);
    assert_eq!(phase_of(&plan, "follows", OpKind::Update), Phase::Replace, "it waits for the new dtc");
    assert_eq!(phase_of(&plan, "cbd", OpKind::Delete), Phase::FinalDestroy);
    assert_eq!(phase_of(&plan, "gone", OpKind::Delete), Phase::FinalDestroy);
    assert_eq!(report.unwrap().outcome, ApplyOutcome::Success);
    let (real_ids, recorded) = ids(d, &backend).await;
    assert_eq!((real_ids.len(), &real_ids), (4, &recorded));
}
