//! Plan → apply → plan again, through the real planner, executor, finalizer and null
//! provider, on an in-memory state: the second plan must be all no-ops. Guards the contract
//! between the planner's output (changes, graph, finalizer) and the executor.

use crate::exec::memory::MemoryBackend;
use crate::here;
use std::sync::Arc;
use tarn_core::exec::{self, ApplyContext, ApplyOptions, CancelToken, Event, EventSink};
use tarn_core::plan::*;
use tarn_sdk::{Provider, Value};
use tarn_state::{Backend, LockHolder, RunStart};

struct Quiet;

impl EventSink for Quiet {
    fn emit(&self, _event: Event) {}
}

struct Factory;

impl ProviderFactory for Factory {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        (name == "null").then(tarn_provider_null::provider)
    }
    fn names(&self) -> Vec<String> {
        vec!["null".into()]
    }
}

const CONFIG: &str = r#"
locals {
  prefix = "x"
}

resource "null_resource" "a" {
  count    = 3
  triggers = { v = "${local.prefix}${count.index}" }
}

resource "null_resource" "b" {
  count    = 3
  triggers = { parent = null_resource.a[count.index].id }
}

output "first_b" {
  value = null_resource.b[0].id
}

# Sets: born from a set(T) variable and setunion, keyed by for_each, handed to the provider
# (as lists) and recorded in state and outputs (as JSON arrays), then read back as lists: the
# second plan must still see no change. (This in-memory backend keeps no outputs; diff.rs's
# tests check that a recorded list equals the set it came from.)
variable "names" {
  type    = set(string)
  default = ["q", "p", "q"]
}

resource "null_resource" "s" {
  for_each = setunion(var.names, ["r"])
  triggers = { name = each.key, all = join(",", var.names) }
}

output "names" {
  value = var.names
}
"#;

async fn plan_once(
    config: &Arc<tarn_core::config::Config>,
    backend: &MemoryBackend,
) -> (Plan, ProviderSet, RootVariables) {
    let snap = backend.snapshot().await.unwrap();
    let (vars, d) = resolve_variables(config, &Default::default());
    assert!(!d.has_errors(), "{d:?}");
    let (providers, d) =
        setup_providers(config, Some(&snap), &vars, &Factory, &here(&std::env::current_dir().unwrap())).await;
    assert!(!d.has_errors(), "{d:?}");
    let (prior, d) = prior_from_snapshot(&snap);
    assert!(!d.has_errors(), "{d:?}");
    let (prior, drift, d) = refresh(prior, &providers, RefreshOptions::default()).await;
    assert!(!d.has_errors(), "{d:?}");
    let binding = PlanBinding {
        lineage: snap.lineage.clone(),
        serial: snap.serial,
        config_hash: config.hash.clone(),
        workspace: "default".into(),
    };
    let options = PlanOptions::default();
    let data = DataResults::new();
    let input = PlanInput {
        config,
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
    assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics);
    (outcome.plan.expect("a plan"), providers, vars)
}

#[tokio::test]
async fn apply_then_replan_is_a_no_op() {
    let (config, d) = tarn_core::load::load_sources(&[("main.tarn.hcl", CONFIG)]);
    assert!(!d.has_errors(), "{d:?}");
    let config = Arc::new(config);
    let backend = Arc::new(MemoryBackend::new());

    let (plan, providers, vars) = plan_once(&config, &backend).await;
    assert_eq!(plan.changes.iter().filter(|c| c.action == Action::Create).count(), 9);
    let names = plan.outputs.iter().find(|o| o.name == "names").and_then(|o| o.after.clone());
    assert_eq!(names, Some(Value::Set(vec![Value::string("p"), Value::string("q")])), "a set(string) output is a set");
    let finalizer = ApplyEvaluator::new(config.clone(), vars, providers.schemas().clone(), &plan, ".".into());
    let ctx = ApplyContext {
        providers: providers.to_map(),
        backend: backend.clone(),
        finalizer: Arc::new(finalizer),
        schemas: providers.schemas().clone(),
        options: ApplyOptions::default(),
        events: Arc::new(Quiet),
        cancel: CancelToken::new(),
        run: RunStart {
            command: "apply".into(),
            holder: LockHolder { user: "t".into(), host: "h".into(), pid: 1, command: "test".into() },
            summary: serde_json::Value::Null,
        },
    };
    let report = exec::apply(&plan, ctx).await.expect("apply runs");
    assert_eq!(report.outcome, exec::ApplyOutcome::Success, "{report:?}");

    let rows = backend.resources();
    let b1 = &rows["null_resource.b[1]"];
    let a1 = &rows["null_resource.a[1]"];
    assert_eq!(b1.attributes["triggers"]["parent"], a1.attributes["id"], "b[1] was finalized with a[1]'s applied id");
    assert_eq!(b1.dependencies, vec!["null_resource.a[1]".to_string()]);
    let s = &rows["null_resource.s[\"p\"]"];
    assert_eq!(s.attributes["triggers"], serde_json::json!({"name": "p", "all": "p,q"}));
    assert!(rows.contains_key("null_resource.s[\"r\"]"));

    let (again, _, _) = plan_once(&config, &backend).await;
    let changed: Vec<String> =
        again.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| c.address.to_string()).collect();
    assert!(changed.is_empty(), "second plan should be empty, has {changed:?}");
    assert!(again.graph.ops.is_empty());
}
