//! `import {}` blocks through the real planner and executor, against SqliteBackend and the fault
//! provider keeping its objects in a directory: an object made outside tarn is planned as an
//! import (then an update when configuration differs), applied, and re-planned clean; a failed
//! apply forgets the imported object but never deletes it; bad import blocks are refused with a
//! diagnostic and nothing written.

use super::pipeline::{object_files, plan_apply_inspect, rows};
use std::path::Path;
use std::sync::Arc;
use tarn_core::exec::{ApplyOutcome, FailurePolicy};
use tarn_core::plan::{Action, ChangeReason, OpKind, PlanMode, render};
use tarn_provider_fault::{FaultProvider, Settings};
use tarn_sdk::{CreateRequest, Provider, Value};
use tarn_state::{Backend, SqliteBackend};

/// Makes a fault object outside tarn (as someone with the console would) and returns its id.
async fn made_outside(dir: &Path, name: &str, value: &str) -> String {
    let provider = FaultProvider::with_settings(Settings { dir: Some(dir.join("objects")), ..Settings::default() });
    let planned = Value::map([("name", Value::string(name)), ("value", Value::string(value))]);
    let req = CreateRequest { type_name: "fault_object".into(), planned, correlation: "made-by-hand".into() };
    let state = provider.create(req).await.expect("creates");
    state.get("id").and_then(Value::as_str).expect("an id").to_string()
}

fn stored_value(dir: &Path, id: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("objects").join(format!("{id}.json"))).expect("the object file");
    serde_json::from_str::<serde_json::Value>(&text).unwrap()["attributes"]["value"].clone()
}

fn setup() -> (tempfile::TempDir, Arc<SqliteBackend>) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());
    (dir, backend)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_block_plans_an_import_applies_it_and_replans_clean() {
    let (dir, backend) = setup();
    let id = made_outside(dir.path(), "m", "v1").await;
    let body = format!(
        "variable \"object_id\" {{\n  default = \"{id}\"\n}}\n\nlocals {{\n  wanted = var.object_id\n}}\n\n\
         resource \"fault_object\" \"m\" {{\n  name  = \"m\"\n  value = \"v1\"\n}}\n\nimport {{\n  to = fault_object.m\n  id = local.wanted\n}}\n"
    );
    let (plan, report, _) =
        plan_apply_inspect(dir.path(), &body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    let plan = plan.unwrap();
    let change = &plan.changes[0];
    assert_eq!(change.action, Action::NoOp);
    assert_eq!(change.reasons, vec![ChangeReason::Import { id: id.clone() }]);
    assert_eq!(change.before.as_ref().and_then(|b| b.get("value")), Some(&Value::string("v1")));
    assert!(render::render(&plan).contains("ops:\n  import fault_object.m\n"), "{}", render::render(&plan));
    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);

    let state = rows(&backend.snapshot().await.unwrap());
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].address, "fault_object.m");
    assert_eq!(state[0].attributes["id"], id.as_str());
    // Imported, not created: still the one object made by hand.
    assert_eq!(object_files(dir.path()), vec![format!("{id}.json")]);
    let journal = backend.run_journal(&report.run_id).await.unwrap();
    let ops: Vec<(&str, tarn_state::JournalPhase)> =
        journal.iter().map(|j| (j.entry.op.as_str(), j.entry.phase)).collect();
    assert_eq!(ops, vec![("import", tarn_state::JournalPhase::Intent), ("import", tarn_state::JournalPhase::Outcome)]);
    assert!(backend.open_intents().await.unwrap().is_empty());

    // The block may stay: the address is managed now, so the next plan has nothing to do.
    let (plan, report, _) =
        plan_apply_inspect(dir.path(), &body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    let plan = plan.unwrap();
    assert!(plan.graph.ops.is_empty() && report.is_none(), "{}", render::render(&plan));
    assert!(plan.changes.iter().all(|c| c.import_id().is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_whose_configuration_differs_is_imported_then_updated() {
    let (dir, backend) = setup();
    let id = made_outside(dir.path(), "m", "v1").await;
    let body = format!(
        "resource \"fault_object\" \"m\" {{\n  name  = \"m\"\n  value = \"v2\"\n}}\n\nimport {{\n  to = fault_object.m\n  id = \"{id}\"\n}}\n"
    );
    let (plan, report, _) =
        plan_apply_inspect(dir.path(), &body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    let plan = plan.unwrap();
    assert_eq!(plan.changes[0].action, Action::Update);
    assert_eq!(plan.changes[0].import_id(), Some(id.as_str()));
    let kinds: Vec<OpKind> = plan.graph.ops.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, vec![OpKind::Import, OpKind::Update]);
    assert_eq!(plan.graph.edges, vec![(0, 1)]);
    assert_eq!(report.unwrap().outcome, ApplyOutcome::Success);
    assert_eq!(stored_value(dir.path(), &id), "v2");
    assert_eq!(rows(&backend.snapshot().await.unwrap())[0].attributes["value"], "v2");
    let (plan, _, _) = plan_apply_inspect(dir.path(), &body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    assert!(plan.unwrap().graph.ops.is_empty());
}

/// Rollback of a failed apply must not delete an imported object: it existed before tarn. The
/// update after the import is undone, and the state forgets the object, as before the apply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolled_back_apply_forgets_the_imported_object_and_leaves_it_in_place() {
    let (dir, backend) = setup();
    let id = made_outside(dir.path(), "m", "v1").await;
    let body = format!(
        "resource \"fault_object\" \"m\" {{\n  name  = \"m\"\n  value = \"v2\"\n}}\n\nimport {{\n  to = fault_object.m\n  id = \"{id}\"\n}}\n\n\
         resource \"fault_object\" \"broken\" {{\n  name        = fault_object.m.value\n  fail_create = true\n}}\n"
    );
    let (plan, report, _) =
        plan_apply_inspect(dir.path(), &body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    plan.unwrap();
    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack, "{report:#?}");
    assert!(report.not_restorable.is_empty());
    assert_eq!(object_files(dir.path()), vec![format!("{id}.json")], "the imported object must still exist");
    assert_eq!(stored_value(dir.path(), &id), "v1", "the update after the import is undone");
    assert!(backend.snapshot().await.unwrap().resources.is_empty(), "the state forgets the imported object");
    assert!(backend.open_intents().await.unwrap().is_empty());

    // Without the failing resource, the import is planned again and succeeds.
    let fixed = body.split("resource \"fault_object\" \"broken\"").next().unwrap().to_string();
    let (plan, report, _) =
        plan_apply_inspect(dir.path(), &fixed, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    assert_eq!(plan.unwrap().changes[0].import_id(), Some(id.as_str()));
    assert_eq!(report.unwrap().outcome, ApplyOutcome::Success);
}

/// Each bad import block is a diagnostic at the block, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_import_blocks_are_refused_before_anything_is_written() {
    let (dir, backend) = setup();
    let id = made_outside(dir.path(), "m", "v1").await;
    let m = "resource \"fault_object\" \"m\" {\n  name = \"m\"\n  value = \"v1\"\n}\n";
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{m}import {{\n  to = fault_object.nope\n  id = \"{id}\"\n}}\n"),
            "Import target not in configuration",
        ),
        (
            format!("{m}import {{\n  to = fault_object.m[\"k\"]\n  id = \"{id}\"\n}}\n"),
            "Import target not in configuration",
        ),
        (format!("{m}import {{\n  to = data.fault_object.m\n  id = \"{id}\"\n}}\n"), "Invalid import target"),
        (
            format!(
                "{m}import {{\n  to = fault_object.m\n  id = \"{id}\"\n}}\nimport {{\n  to = fault_object.m\n  id = \"{id}\"\n}}\n"
            ),
            "Duplicate import target",
        ),
        (format!("{m}import {{\n  to = fault_object.m\n  id = \"f0000000000000099\"\n}}\n"), "Cannot import object"),
        (
            format!(
                "{m}resource \"fault_object\" \"o\" {{}}\nimport {{\n  to = fault_object.m\n  id = fault_object.o.id\n}}\n"
            ),
            "Invalid import ID",
        ),
        (format!("{m}import {{\n  to = fault_object.m\n  id = \"\"\n}}\n"), "Invalid import ID"),
    ];
    for (body, summary) in cases {
        let (plan, report, _) =
            plan_apply_inspect(dir.path(), &body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
        let diags = plan.err().unwrap_or_else(|| panic!("expected {summary:?} for:\n{body}"));
        assert!(
            diags.iter().any(|d| d.summary == summary && d.severity == tarn_core::Severity::Error),
            "{summary}: {diags:?}"
        );
        assert!(report.is_none());
        assert!(backend.snapshot().await.unwrap().resources.is_empty());
        assert_eq!(object_files(dir.path()), vec![format!("{id}.json")]);
    }
    let missing = format!("{m}import {{\n  to = fault_object.m\n  id = \"f0000000000000099\"\n}}\n");
    let (plan, _, _) =
        plan_apply_inspect(dir.path(), &missing, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    let detail = plan.err().unwrap().iter().map(|d| d.detail.clone()).collect::<String>();
    assert!(detail.contains("import(fault_object, \"f0000000000000099\")"), "the API call is named: {detail}");
}

/// Importing into an address the state already holds is a no-op with a warning, like Terraform.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_into_a_managed_address_is_a_noop_with_a_warning() {
    let (dir, backend) = setup();
    let body = "resource \"fault_object\" \"m\" {\n  name = \"m\"\n}\n";
    let (_, report, _) =
        plan_apply_inspect(dir.path(), body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    assert_eq!(report.unwrap().outcome, ApplyOutcome::Success);
    let other = made_outside(dir.path(), "x", "v").await;
    let with_import = format!("{body}import {{\n  to = fault_object.m\n  id = \"{other}\"\n}}\n");
    let (plan, report, warnings) =
        plan_apply_inspect(dir.path(), &with_import, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    let plan = plan.unwrap();
    assert!(plan.graph.ops.is_empty() && report.is_none());
    let warning = warnings.iter().find(|d| d.summary == "Already managed").expect("a warning");
    assert!(warning.detail.contains("fault_object.m is already in the state"), "{}", warning.detail);
    assert_eq!(object_files(dir.path()).len(), 2, "nothing created, nothing deleted");
    assert!(plan.changes.iter().all(|c| c.import_id().is_none()));
}

/// `for_each` on an import block: one import per element, `each.*` in `to`'s key and in `id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_block_with_for_each_imports_one_object_per_element() {
    let (dir, backend) = setup();
    let web = made_outside(dir.path(), "web", "w").await;
    let db = made_outside(dir.path(), "db", "d").await;
    let body = format!(
        "locals {{\n  ids = {{ web = \"{web}\", db = \"{db}\" }}\n}}\n\n\
         resource \"fault_object\" \"s\" {{\n  for_each = local.ids\n  name     = each.key\n  value    = substr(each.key, 0, 1)\n}}\n\n\
         import {{\n  for_each = local.ids\n  to       = fault_object.s[each.key]\n  id       = each.value\n}}\n"
    );
    let (plan, report, _) =
        plan_apply_inspect(dir.path(), &body, &backend, PlanMode::Normal, FailurePolicy::Rollback).await;
    let plan = plan.unwrap();
    let imported: Vec<(String, Option<&str>, Action)> =
        plan.changes.iter().map(|c| (c.address.to_string(), c.import_id(), c.action)).collect();
    assert_eq!(
        imported,
        vec![
            ("fault_object.s[\"db\"]".to_string(), Some(db.as_str()), Action::NoOp),
            ("fault_object.s[\"web\"]".to_string(), Some(web.as_str()), Action::NoOp),
        ]
    );
    assert_eq!(report.unwrap().outcome, ApplyOutcome::Success);
    assert_eq!(backend.snapshot().await.unwrap().resources.len(), 2);
    assert_eq!(object_files(dir.path()).len(), 2, "imported, nothing created");
}
