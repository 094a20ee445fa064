//! Moving an instance to another provider configuration, through the real planner, executor
//! and SQLite state, with two aliases of the fault provider that persist their objects in
//! separate directories — so every test sees which configuration really did the work. The
//! object is replaced: the old one destroyed through the configuration it lives behind, the
//! new one created through the new configuration; deposed objects, rollback and crash
//! recovery keep the old configuration's key for the old object.

use super::pipeline::{plan_and_apply_with, plan_apply_inspect};
use super::support::{Harness, PlanBuilder, Recorder, TYPE, addr, obj};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tarn_core::exec::{ApplyOutcome, FailurePolicy, RecoverContext, Resolution, apply, recover};
use tarn_core::plan::{Action, ChangeReason, OpKind, Plan, PlanMode};
use tarn_provider_fault::{FaultProvider, Settings};
use tarn_sdk::{CreateRequest, Provider, Value};
use tarn_state::{Backend, JournalPhase, ResourceRecord, SqliteBackend};

/// Two configurations of the fault provider (`fault.one`, `fault.two`), each with its own
/// object directory, and `fault_object.a` assigned to `which`. `a_extra` goes into `a`,
/// `rest` after it.
fn config(dir: &Path, which: &str, a_extra: &str, rest: &str) -> String {
    let one = dir.join("one");
    let two = dir.join("two");
    format!(
        r#"
provider "fault" {{
  alias = "one"
  dir   = "{}"
}}

provider "fault" {{
  alias = "two"
  dir   = "{}"
}}

resource "fault_object" "a" {{
  provider = fault.{which}
  name     = "a"
{a_extra}}}
{rest}"#,
        one.display(),
        two.display()
    )
}

/// Only `fault.two` declared: `fault.one`'s block is gone.
fn config_without_one(dir: &Path) -> String {
    format!(
        "provider \"fault\" {{\n  alias = \"two\"\n  dir   = \"{}\"\n}}\n\nresource \"fault_object\" \"a\" {{\n  provider = fault.two\n  name     = \"a\"\n}}\n",
        dir.join("two").display()
    )
}

const CBD: &str = "  lifecycle {\n    create_before_destroy = true\n  }\n";

/// `b` (on the default configuration) follows `a`'s id; `b_extra` goes into it.
fn follower(b_extra: &str) -> String {
    format!("\nresource \"fault_object\" \"b\" {{\n  name  = \"b\"\n  value = fault_object.a.id\n{b_extra}}}\n")
}

/// Ids of the objects that really exist behind one configuration.
fn ids_in(dir: &Path, config: &str) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir.join(config))
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_string_lossy().strip_suffix(".json").map(str::to_string)).collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn rows_of(backend: &SqliteBackend, address: &str) -> Vec<ResourceRecord> {
    backend.snapshot().await.unwrap().resources.into_iter().filter(|r| r.address == address).collect()
}

fn open() -> (tempfile::TempDir, Arc<SqliteBackend>) {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());
    (dir, backend)
}

fn change_a(plan: &Plan) -> &tarn_core::plan::ResourceChange {
    plan.changes.iter().find(|c| c.address == addr("a") && c.deposed.is_none()).expect("a change for fault_object.a")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_change_deletes_through_the_old_configuration_and_creates_through_the_new() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    let (_, outcome) = plan_and_apply_with(d, &config(d, "one", "", ""), &backend, PlanMode::Normal, policy).await;
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    let old_ids = ids_in(d, "one");
    assert_eq!((old_ids.len(), ids_in(d, "two").len()), (1, 0));
    assert_eq!(rows_of(&backend, "fault_object.a").await[0].provider, "fault.one");

    let (plan, report, _) = plan_apply_inspect(d, &config(d, "two", "", ""), &backend, PlanMode::Normal, policy).await;
    let plan = plan.unwrap();
    let a = change_a(&plan);
    assert_eq!(a.action, Action::DeleteThenCreate, "no attribute changed, yet the object is replaced");
    assert_eq!((a.provider.as_str(), a.prior_provider.as_deref()), ("fault.two", Some("fault.one")));
    assert!(
        a.reasons.contains(&ChangeReason::ProviderChanged { from: "fault.one".into(), to: "fault.two".into() }),
        "{:?}",
        a.reasons
    );
    let rendered = tarn_core::plan::render::render(&plan);
    assert!(rendered.contains("[provider configuration changes from fault.one to fault.two]"), "{rendered}");
    let kinds: Vec<(OpKind, &str)> =
        plan.graph.ops.iter().map(|op| (op.kind, plan.changes[op.change as usize].provider_for(op.kind))).collect();
    assert_eq!(kinds, vec![(OpKind::Delete, "fault.one"), (OpKind::Create, "fault.two")]);
    assert_eq!(plan.graph.edges, vec![(0, 1)], "destroy before create");

    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    assert!(ids_in(d, "one").is_empty(), "the old object was destroyed through fault.one");
    let new_ids = ids_in(d, "two");
    assert_eq!(new_ids.len(), 1, "the new object was created through fault.two");
    assert_ne!(new_ids, old_ids);
    let rows = rows_of(&backend, "fault_object.a").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].provider.as_str(), rows[0].attributes["id"].as_str()),
        ("fault.two", Some(new_ids[0].as_str()))
    );

    // The journal names the configuration each call went to (what crash recovery asks).
    assert_eq!(
        intents(&backend, &report.run_id).await,
        vec![("delete".to_string(), "fault.one".to_string()), ("create".to_string(), "fault.two".to_string())]
    );

    // Converged: the next plan has nothing to do.
    let (plan, outcome) = plan_and_apply_with(d, &config(d, "two", "", ""), &backend, PlanMode::Normal, policy).await;
    assert_eq!((plan.graph.ops.len(), outcome), (0, None), "{:#?}", plan.changes);
}

/// Intents of a run: (op, provider configuration named).
async fn intents(backend: &SqliteBackend, run_id: &str) -> Vec<(String, String)> {
    backend
        .run_journal(run_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.phase == JournalPhase::Intent)
        .map(|r| (r.entry.op, r.entry.detail["provider"].as_str().unwrap_or_default().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_before_destroy_creates_through_the_new_configuration_first() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    plan_and_apply_with(d, &config(d, "one", CBD, ""), &backend, PlanMode::Normal, policy).await;
    let (plan, report, _) = plan_apply_inspect(d, &config(d, "two", CBD, ""), &backend, PlanMode::Normal, policy).await;
    let plan = plan.unwrap();
    assert_eq!(change_a(&plan).action, Action::CreateThenDelete);
    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::Success);
    assert_eq!(
        intents(&backend, &report.run_id).await,
        vec![("create".to_string(), "fault.two".to_string()), ("delete".to_string(), "fault.one".to_string())]
    );
    assert_eq!((ids_in(d, "one").len(), ids_in(d, "two").len()), (0, 1));
    let rows = rows_of(&backend, "fault_object.a").await;
    assert_eq!(rows.len(), 1, "no deposed row is left: {rows:#?}");
    assert_eq!(rows[0].provider, "fault.two");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_before_destroy_keeps_the_old_object_deposed_under_the_old_configuration() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Halt;
    let (_, outcome) =
        plan_and_apply_with(d, &config(d, "one", CBD, &follower("")), &backend, PlanMode::Normal, policy).await;
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    let old_id = ids_in(d, "one");

    // a moves (create first); b's update, which waits for the new a, fails: the old a is not
    // deleted in this apply and stays known, deposed, under fault.one.
    let body = config(d, "two", CBD, &follower("  fail_update = true\n"));
    let (plan, outcome) = plan_and_apply_with(d, &body, &backend, PlanMode::Normal, policy).await;
    let a = change_a(&plan);
    assert_eq!((a.action, a.prior_provider.as_deref()), (Action::CreateThenDelete, Some("fault.one")));
    assert_eq!(outcome, Some(ApplyOutcome::Partial));
    let rows = rows_of(&backend, "fault_object.a").await;
    let deposed: Vec<_> = rows.iter().filter(|r| r.deposed.is_some()).collect();
    let current: Vec<_> = rows.iter().filter(|r| r.deposed.is_none()).collect();
    assert_eq!((deposed.len(), current.len()), (1, 1), "{rows:#?}");
    assert_eq!(deposed[0].provider, "fault.one", "the old object is recorded with the configuration it lives behind");
    assert_eq!(deposed[0].attributes["id"].as_str(), Some(old_id[0].as_str()));
    assert_eq!(current[0].provider, "fault.two");
    assert_eq!((ids_in(d, "one"), ids_in(d, "two").len()), (old_id.clone(), 1));

    // The next plan deletes the deposed object through fault.one.
    let (plan, outcome) =
        plan_and_apply_with(d, &config(d, "two", CBD, &follower("")), &backend, PlanMode::Normal, policy).await;
    let gone = plan.changes.iter().find(|c| c.deposed.is_some()).expect("the deposed object's delete");
    assert_eq!((gone.action, gone.provider.as_str()), (Action::Delete, "fault.one"));
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    assert!(ids_in(d, "one").is_empty(), "deleted through fault.one");
    assert_eq!(ids_in(d, "two").len(), 1);
    assert!(rows_of(&backend, "fault_object.a").await.iter().all(|r| r.deposed.is_none() && r.provider == "fault.two"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_deletes_the_new_object_through_the_new_configuration_and_restores_the_old() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    plan_and_apply_with(d, &config(d, "one", CBD, &follower("")), &backend, PlanMode::Normal, policy).await;
    let before = rows_of(&backend, "fault_object.a").await;
    let old_id = ids_in(d, "one");

    let body = config(d, "two", CBD, &follower("  fail_update = true\n"));
    let (plan, report, _) = plan_apply_inspect(d, &body, &backend, PlanMode::Normal, policy).await;
    assert!(!change_a(&plan.unwrap()).irreversible, "create before destroy can be rolled back");
    let report = report.unwrap();
    assert_eq!(report.outcome, ApplyOutcome::RolledBack, "{report:#?}");
    assert!(ids_in(d, "two").is_empty(), "the new object was deleted through fault.two");
    assert_eq!(ids_in(d, "one"), old_id, "the old object was never touched");
    assert_eq!(rows_of(&backend, "fault_object.a").await, before, "the old object is current again, under fault.one");
    let deletes: Vec<String> = backend
        .run_journal(&report.run_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.phase == JournalPhase::Intent && r.entry.op == "rollback-delete")
        .map(|r| r.entry.detail["provider"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(deletes, vec!["fault.two"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_create_under_the_new_configuration_leaves_the_old_object_current() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    plan_and_apply_with(d, &config(d, "one", CBD, ""), &backend, PlanMode::Normal, policy).await;
    let before = rows_of(&backend, "fault_object.a").await;

    let (_, outcome) = plan_and_apply_with(
        d,
        &config(d, "two", &format!("{CBD}  fail_create = true\n"), ""),
        &backend,
        PlanMode::Normal,
        policy,
    )
    .await;
    assert_eq!(outcome, Some(ApplyOutcome::RolledBack));
    assert_eq!(
        rows_of(&backend, "fault_object.a").await,
        before,
        "no deposed row, the old object current under fault.one"
    );
    assert_eq!((ids_in(d, "one").len(), ids_in(d, "two").len()), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_away_from_a_removed_configuration_is_refused_with_the_fix() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    plan_and_apply_with(d, &config(d, "one", "", ""), &backend, PlanMode::Normal, policy).await;
    let before = backend.snapshot().await.unwrap();

    let (plan, report, _) = plan_apply_inspect(d, &config_without_one(d), &backend, PlanMode::Normal, policy).await;
    let diags = plan.expect_err("no plan while the old configuration is missing");
    let error =
        diags.iter().find(|x| x.summary == "Old provider configuration not in configuration").expect("the diagnostic");
    for needle in ["fault_object.a", "\"fault.one\"", "\"fault.two\"", "Keep the provider block for \"fault.one\""] {
        assert!(error.detail.contains(needle), "{needle} in: {}", error.detail);
    }
    assert!(error.span.is_some(), "points at the resource");
    assert!(report.is_none());
    let after = backend.snapshot().await.unwrap();
    assert_eq!((after.serial, after.resources), (before.serial, before.resources), "nothing written");
    assert_eq!(ids_in(d, "one").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_block_and_a_provider_change_together_replace_under_the_new_address() {
    let (dir, backend) = open();
    let d = dir.path();
    let policy = FailurePolicy::Rollback;
    plan_and_apply_with(d, &config(d, "one", "", ""), &backend, PlanMode::Normal, policy).await;
    let renamed = config(d, "two", "", "\nmoved {\n  from = fault_object.a\n  to   = fault_object.c\n}\n")
        .replace("\"fault_object\" \"a\"", "\"fault_object\" \"c\"");
    let (plan, outcome) = plan_and_apply_with(d, &renamed, &backend, PlanMode::Normal, policy).await;
    let c = plan.changes.iter().find(|c| c.address == addr("c")).unwrap();
    assert_eq!(c.action, Action::DeleteThenCreate);
    assert!(c.reasons.contains(&ChangeReason::Moved { from: "fault_object.a".into() }), "{:?}", c.reasons);
    assert_eq!(c.prior_provider.as_deref(), Some("fault.one"));
    assert_eq!(outcome, Some(ApplyOutcome::Success));
    assert_eq!((ids_in(d, "one").len(), ids_in(d, "two").len()), (0, 1));
    let rows = backend.snapshot().await.unwrap().resources;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!((rows[0].address.as_str(), rows[0].provider.as_str()), ("fault_object.c", "fault.two"));
}

fn fault_at(dir: &Path) -> Arc<FaultProvider> {
    Arc::new(FaultProvider::with_settings(Settings { dir: Some(dir.to_path_buf()), ..Settings::default() }))
}

/// A simulated `kill -9` while the new object is being created through the new configuration:
/// the journal names `fault.two`, so the next run adopts the object from there and records it
/// under that key; the old object, deleted through `fault.one` first, is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_the_create_is_recovered_through_the_new_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let (one_dir, two_dir) = (dir.path().join("one"), dir.path().join("two"));
    let db = dir.path().join("state.db");
    {
        let h = Harness::new();
        let backend = Arc::new(SqliteBackend::open(&db).unwrap());
        let (one, two) = (fault_at(&one_dir), fault_at(&two_dir));
        let old = one
            .create(CreateRequest { type_name: TYPE.into(), planned: obj("a", &[]), correlation: "seed-a".into() })
            .await
            .unwrap();
        backend
            .put_resource(ResourceRecord {
                address: addr("a").to_string(),
                mode: "managed".into(),
                type_name: TYPE.into(),
                provider: "fault.one".into(),
                attributes: old.to_json_unmarked(),
                sensitive_paths: vec![],
                dependencies: vec![],
                correlation: Some("seed-a".into()),
                schema_version: 0,
                deposed: None,
            })
            .await
            .unwrap();
        let mut p = PlanBuilder::default();
        p.replace("a", old, obj("a", &[("hang_create", Value::Bool(true))]));
        let mut plan = p.build();
        plan.changes[0].provider = "fault.two".into();
        plan.changes[0].prior_provider = Some("fault.one".into());
        let mut ctx = h.context(Harness::options(FailurePolicy::Rollback, 2));
        ctx.backend = backend.clone();
        ctx.providers = HashMap::from([
            ("fault.one".to_string(), one.clone() as Arc<dyn Provider>),
            ("fault.two".to_string(), two.clone() as Arc<dyn Provider>),
        ]);
        let task = tokio::spawn(async move { apply(&plan, ctx).await });
        for _ in 0..400 {
            if two.objects().unwrap().len() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(two.objects().unwrap().len(), 1, "the create through fault.two made its object, then hung");
        assert!(one.objects().unwrap().is_empty(), "the delete went through fault.one");
        task.abort();
        let _ = task.await;
        assert!(backend.snapshot().await.unwrap().resources.is_empty(), "the kill came before the new row");
    }

    // The next process.
    let backend = Arc::new(SqliteBackend::open(&db).unwrap());
    let (one, two) = (fault_at(&one_dir), fault_at(&two_dir));
    let ctx = RecoverContext {
        providers: HashMap::from([
            ("fault.one".to_string(), one as Arc<dyn Provider>),
            ("fault.two".to_string(), two.clone() as Arc<dyn Provider>),
        ]),
        backend: backend.clone(),
        schemas: HashMap::from([("fault".to_string(), two.schema())]),
        events: Arc::new(Recorder::default()),
        deadlines: Default::default(),
    };
    let recovered = recover(ctx).await.unwrap();
    assert_eq!(recovered.len(), 1, "{recovered:?}");
    assert!(matches!(recovered[0].resolution, Resolution::Adopted { .. }), "{recovered:?}");
    let rows = backend.snapshot().await.unwrap().resources;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].provider, "fault.two", "recorded under the configuration it was created through");
    assert_eq!(rows[0].attributes["id"].as_str(), Some(two.objects().unwrap()[0].id.as_str()));
    assert!(backend.open_intents().await.unwrap().is_empty());
}

/// A run killed during the delete of the old object (before the provider answered) leaves an
/// open intent naming `fault.one` — what the executor journals for that delete (see the
/// journal check above) — so recovery reads the object there, finds it still exists and
/// keeps its row under `fault.one` — asking `fault.two`, which never held it, would have
/// dropped the row and left the object unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_the_delete_is_recovered_through_the_old_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());
    let (one, two) = (fault_at(&dir.path().join("one")), fault_at(&dir.path().join("two")));
    let old = one
        .create(CreateRequest { type_name: TYPE.into(), planned: obj("a", &[]), correlation: "seed-a".into() })
        .await
        .unwrap();
    let row = ResourceRecord {
        address: addr("a").to_string(),
        mode: "managed".into(),
        type_name: TYPE.into(),
        provider: "fault.one".into(),
        attributes: old.to_json_unmarked(),
        sensitive_paths: vec![],
        dependencies: vec![],
        correlation: Some("seed-a".into()),
        schema_version: 0,
        deposed: None,
    };
    backend.put_resource(row.clone()).await.unwrap();
    // Journal the intent exactly as a killed run leaves it (no outcome).
    backend
        .journal(tarn_state::JournalEntry {
            run_id: "killed".into(),
            address: addr("a").to_string(),
            op: "delete".into(),
            phase: JournalPhase::Intent,
            correlation: None,
            detail: serde_json::json!({"type": TYPE, "provider": "fault.one", "attempt": 1, "planned": old.to_json_redacted(), "restores": null, "deposed": null}),
            intent_seq: None,
        })
        .await
        .unwrap();
    let ctx = RecoverContext {
        providers: HashMap::from([
            ("fault.one".to_string(), one.clone() as Arc<dyn Provider>),
            ("fault.two".to_string(), two.clone() as Arc<dyn Provider>),
        ]),
        backend: backend.clone(),
        schemas: HashMap::from([("fault".to_string(), one.schema())]),
        events: Arc::new(Recorder::default()),
        deadlines: Default::default(),
    };
    let recovered = recover(ctx).await.unwrap();
    assert!(matches!(recovered[0].resolution, Resolution::Refreshed), "{recovered:?}");
    assert_eq!(
        backend.snapshot().await.unwrap().resources,
        vec![row],
        "the old object is still recorded, under fault.one"
    );
    assert_eq!(one.objects().unwrap().len(), 1);
    assert!(two.objects().unwrap().is_empty());
}
