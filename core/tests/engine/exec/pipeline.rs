//! The executor behind the real planner: configuration → plan (exec graph, finalizer) → apply
//! against SqliteBackend and the fault provider persisting objects in a directory; then
//! re-plan, a failing change rolled back, and a destroy. `import` drives imports through the
//! same pipeline.

use crate::here;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tarn_core::exec::{ApplyContext, ApplyOptions, ApplyOutcome, CancelToken, FailurePolicy, apply};
use tarn_core::load;
use tarn_core::plan::*;
use tarn_provider_fault::FaultProvider;
use tarn_sdk::Provider;
use tarn_state::{Backend, ResourceRecord, SqliteBackend};

struct Factory;

impl ProviderFactory for Factory {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        (name == "fault").then(|| Arc::new(FaultProvider::new()) as Arc<dyn Provider>)
    }
    fn names(&self) -> Vec<String> {
        vec!["fault".into()]
    }
}

struct Quiet;
impl tarn_core::exec::EventSink for Quiet {
    fn emit(&self, _: tarn_core::exec::Event) {}
}

/// Writes the configuration, plans against the state and applies; returns the plan's op count
/// and the apply outcome (`None` when there was nothing to do).
async fn plan_and_apply(
    dir: &Path,
    body: &str,
    backend: &Arc<SqliteBackend>,
    mode: PlanMode,
) -> (usize, Option<ApplyOutcome>) {
    let (plan, outcome) = plan_and_apply_with(dir, body, backend, mode, FailurePolicy::Rollback).await;
    (plan.graph.ops.len(), outcome)
}

/// [`plan_and_apply`] under a failure policy; returns the plan itself.
pub(super) async fn plan_and_apply_with(
    dir: &Path,
    body: &str,
    backend: &Arc<SqliteBackend>,
    mode: PlanMode,
    on_failure: FailurePolicy,
) -> (Plan, Option<ApplyOutcome>) {
    let (plan, report, _) = plan_apply_inspect(dir, body, backend, mode, on_failure).await;
    (plan.unwrap_or_else(|d| panic!("{d:?}")), report.map(|r| r.outcome))
}

/// Like [`plan_and_apply_with`], for tests that look closer: the plan (or the diagnostics that
/// prevented it), the apply report, and the plan's warnings.
pub(super) async fn plan_apply_inspect(
    dir: &Path,
    body: &str,
    backend: &Arc<SqliteBackend>,
    mode: PlanMode,
    on_failure: FailurePolicy,
) -> (Result<Plan, tarn_core::Diagnostics>, Option<tarn_core::exec::ApplyReport>, tarn_core::Diagnostics) {
    let objects = dir.join("objects");
    let text = format!("provider \"fault\" {{\n  dir = \"{}\"\n}}\n{body}", objects.display());
    std::fs::write(dir.join("main.tarn.hcl"), text).unwrap();
    let (config, diags) = load::load(dir);
    let config = Arc::new(config.unwrap_or_else(|| panic!("{diags:?}")));
    assert!(!diags.has_errors(), "{diags:?}");
    let (vars, d) = resolve_variables(&config, &Default::default());
    assert!(!d.has_errors(), "{d:?}");
    let snap = backend.snapshot().await.unwrap();
    let (providers, d) =
        setup_providers(&config, Some(&snap), &vars, &Factory, &here(&std::env::current_dir().unwrap())).await;
    assert!(!d.has_errors(), "{d:?}");
    let (prior, d) = prior_from_snapshot(&snap);
    assert!(!d.has_errors(), "{d:?}");
    let (prior, drift, _) = refresh(prior, &providers, RefreshOptions::default()).await;
    let binding = PlanBinding {
        lineage: snap.lineage.clone(),
        serial: snap.serial,
        config_hash: config.hash.clone(),
        workspace: "default".into(),
    };
    let options = PlanOptions { mode, ..PlanOptions::default() };
    let data = DataResults::new();
    let input = PlanInput {
        config: &config,
        prior: &prior,
        drift: &drift,
        schemas: providers.schemas(),
        variables: &vars,
        data: &data,
        imported: &Default::default(),
        options: &options,
        binding: &binding,
    };
    let outcome = plan_with_data(input, &providers).await;
    if outcome.diagnostics.has_errors() {
        return (Err(outcome.diagnostics), None, Default::default());
    }
    let warnings = outcome.diagnostics;
    let plan = outcome.plan.expect("a plan when there are no errors");
    if plan.graph.ops.is_empty() {
        return (Ok(plan), None, warnings);
    }
    let finalizer = ApplyEvaluator::new(config.clone(), vars, providers.schemas().clone(), &plan, dir.to_path_buf());
    let ctx = ApplyContext {
        providers: providers.keys().filter_map(|k| Some((k.to_string(), providers.get(k)?))).collect::<HashMap<_, _>>(),
        backend: backend.clone(),
        finalizer: Arc::new(finalizer),
        schemas: providers.schemas().clone(),
        options: ApplyOptions { parallelism: 4, on_failure, ..ApplyOptions::default() },
        events: Arc::new(Quiet),
        cancel: CancelToken::new(),
        run: super::memory::run_start(),
    };
    let report = apply(&plan, ctx).await.unwrap();
    if report.outcome != ApplyOutcome::Success {
        eprintln!("apply: {:?}\nfailed: {:#?}", report.outcome, report.failed);
    }
    (Ok(plan), Some(report), warnings)
}

pub(super) fn rows(snapshot: &tarn_state::Snapshot) -> Vec<ResourceRecord> {
    let mut rows = snapshot.resources.clone();
    rows.sort_by(|a, b| a.address.cmp(&b.address));
    rows
}

pub(super) fn object_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("objects"))
        .map(|rd| rd.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned())).collect())
        .unwrap_or_default();
    names.sort();
    names
}

const BASE: &str = r#"
resource "fault_object" "a" {
  name = "a"
}

resource "fault_object" "b" {
  name  = "b"
  value = fault_object.a.id
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_apply_replan_rollback_destroy() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Arc::new(SqliteBackend::open(&dir.path().join("state.db")).unwrap());

    // Create: b's value is unknown at plan time and finalized from a's id at apply time.
    let (ops, outcome) = plan_and_apply(dir.path(), BASE, &backend, PlanMode::Normal).await;
    assert_eq!((ops, outcome), (2, Some(ApplyOutcome::Success)));
    let after_create = backend.snapshot().await.unwrap();
    let r = rows(&after_create);
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].attributes["value"], r[0].attributes["id"]);
    assert!(r[1].dependencies.contains(&"fault_object.a".to_string()));
    let files = object_files(dir.path());
    assert_eq!(files.len(), 2);

    // Re-plan: nothing to do.
    let (ops, outcome) = plan_and_apply(dir.path(), BASE, &backend, PlanMode::Normal).await;
    assert_eq!((ops, outcome), (0, None));

    // An update and a failing create depending on it: rolled back to exactly the state before.
    let failing = format!(
        "{}\nresource \"fault_object\" \"c\" {{\n  name = \"c\"\n  value = fault_object.a.value\n  fail_create = true\n}}\n",
        BASE.replace("name = \"a\"", "name = \"a\"\n  value = \"v2\"")
    );
    let (_, outcome) = plan_and_apply(dir.path(), &failing, &backend, PlanMode::Normal).await;
    assert_eq!(outcome, Some(ApplyOutcome::RolledBack));
    assert_eq!(rows(&backend.snapshot().await.unwrap()), rows(&after_create));
    assert_eq!(object_files(dir.path()), files);
    assert!(backend.open_intents().await.unwrap().is_empty());

    // Destroy: everything goes, in the final phase.
    let (ops, outcome) = plan_and_apply(dir.path(), BASE, &backend, PlanMode::Destroy).await;
    assert_eq!((ops, outcome), (2, Some(ApplyOutcome::Success)));
    assert!(backend.snapshot().await.unwrap().resources.is_empty());
    assert!(object_files(dir.path()).is_empty());
}
