//! Planner scenarios as data: each directory under `tests/fixtures/plan/` holds a
//! configuration (`main.tarn.hcl`, maybe modules), an optional `prior.json` (recorded state),
//! an optional `options.json` (mode, targets, excludes, replace, variables) and
//! `expected.txt`: the diagnostics and the rendered plan. `UPDATE_EXPECT=1` rewrites the
//! expectations. One `check(case)` drives them all.

use crate::here;
use crate::testprovider::TestProvider;
use indexmap::IndexMap;
use std::path::Path;
use std::sync::Arc;
use tarn_core::diag::{Diagnostics, SourceMap};
use tarn_core::load;
use tarn_core::plan::*;
use tarn_sdk::{Provider, Value};
use tarn_state::{OutputRecord, ResourceRecord, Snapshot};

struct Factory;

impl ProviderFactory for Factory {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        matches!(name, "test" | "null").then(|| Arc::new(TestProvider { name: name.to_string() }) as Arc<dyn Provider>)
    }
    fn names(&self) -> Vec<String> {
        vec!["null".into(), "test".into()]
    }
}

fn render_diags(diags: &Diagnostics, sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags.iter() {
        let sev = format!("{:?}", d.severity).to_lowercase();
        out.push_str(&format!("{sev}: {}\n  {}\n", d.summary, d.detail.replace('\n', "\n  ")));
        let at = |s: tarn_core::Span| {
            let (l, c) = sources.line_col(s.file, s.start);
            format!("{l}:{c}")
        };
        if let Some(s) = d.span {
            out.push_str(&format!("  at {}\n", at(s)));
        }
        for (s, note) in &d.related {
            out.push_str(&format!("  related {}: {note}\n", at(*s)));
        }
    }
    out
}

fn snapshot(dir: &Path) -> Snapshot {
    let mut snap = Snapshot { lineage: "test-lineage".into(), serial: 1, resources: Vec::new(), outputs: Vec::new() };
    let Ok(text) = std::fs::read_to_string(dir.join("prior.json")) else { return snap };
    let j: serde_json::Value = serde_json::from_str(&text).expect("prior.json is JSON");
    for r in j["resources"].as_array().into_iter().flatten() {
        let address = r["address"].as_str().expect("address").to_string();
        let parsed: tarn_sdk::Address = address.parse().expect("address parses");
        let default_provider = parsed.implied_provider().to_string();
        let strings = |k: &str| -> Vec<String> {
            r[k].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
        };
        snap.resources.push(ResourceRecord {
            mode: if parsed.mode == tarn_sdk::Mode::Data { "data".into() } else { "managed".into() },
            type_name: parsed.type_name.clone(),
            provider: r["provider"].as_str().map(String::from).unwrap_or(default_provider),
            attributes: r["attributes"].clone(),
            sensitive_paths: strings("sensitive_paths"),
            dependencies: strings("dependencies"),
            correlation: None,
            schema_version: 0,
            deposed: r["deposed"].as_str().map(String::from),
            address,
        });
    }
    for o in j["outputs"].as_array().into_iter().flatten() {
        snap.outputs.push(OutputRecord {
            name: o["name"].as_str().unwrap_or_default().into(),
            value: o["value"].clone(),
            sensitive: o["sensitive"].as_bool().unwrap_or(false),
        });
    }
    snap
}

pub(crate) fn run(dir: &Path) -> String {
    let (config, diags) = load::load(dir);
    let Some(config) = config else { return format!("load failed: {diags:?}") };
    let mut out = render_diags(&diags, &config.sources);
    if diags.has_errors() {
        return out;
    }
    let opts: serde_json::Value = std::fs::read_to_string(dir.join("options.json"))
        .map(|t| serde_json::from_str(&t).expect("options.json is JSON"))
        .unwrap_or(serde_json::Value::Null);
    let addrs = |k: &str| -> Vec<tarn_sdk::Address> {
        opts[k].as_array().into_iter().flatten().map(|v| v.as_str().unwrap().parse().unwrap()).collect()
    };
    let mode = match opts["mode"].as_str() {
        Some("destroy") => PlanMode::Destroy,
        Some("refresh-only") => PlanMode::RefreshOnly,
        _ => PlanMode::Normal,
    };
    let options = PlanOptions {
        mode,
        targets: addrs("targets"),
        excludes: addrs("excludes"),
        replace: addrs("replace"),
        cwd: ".".into(),
        home: None,
        validate: false,
    };
    let given: IndexMap<String, VarInput> = opts["vars"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), VarInput::Value(Value::from_json(v))))
        .collect();
    let (vars, d) = resolve_variables(&config, &given);
    out += &render_diags(&d, &config.sources);
    if d.has_errors() {
        return out;
    }
    let snap = snapshot(dir);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (providers, d) =
            setup_providers(&config, Some(&snap), &vars, &Factory, &here(&std::env::current_dir().unwrap())).await;
        out += &render_diags(&d, &config.sources);
        if d.has_errors() {
            return;
        }
        let (prior, d) = prior_from_snapshot(&snap);
        out += &render_diags(&d, &config.sources);
        let (prior, drift, d) = refresh(prior, &providers, RefreshOptions::default()).await;
        out += &render_diags(&d, &config.sources);
        let binding = PlanBinding {
            lineage: snap.lineage.clone(),
            serial: snap.serial,
            config_hash: config.hash.clone(),
            workspace: "default".into(),
        };
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
        out += &render_diags(&outcome.diagnostics, &config.sources);
        if let Some(plan) = &outcome.plan {
            out += &render::render(plan);
        }
    });
    out
}

fn check(case: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan").join(case);
    let actual = run(&dir);
    let path = dir.join("expected.txt");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        panic!(
            "plan of {case} differs from expected.txt (UPDATE_EXPECT=1 to accept)\n--- expected\n{expected}\n--- actual\n{actual}"
        );
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check(stringify!($name)); })*
    };
}

cases!(
    removed_forget,
    precondition_false,
    check_assertion,
    output_precondition,
    deposed_object,
    provider_refines_plan,
    provider_refines_plan_without_secrets,
    provider_plan_contradicts_config,
    provider_plans_update,
    provider_update_error,
    provider_requires_replace,
    provider_requires_replace_cbd,
    create_from_empty,
    noop_replan,
    update_in_place,
    replace_with_reason,
    delete_removed_block,
    count_shrink,
    for_each_map,
    module_inputs_outputs,
    depends_on,
    cycle,
    undeclared_reference,
    unknown_attribute,
    prevent_destroy,
    create_before_destroy,
    ignore_changes,
    replace_triggered_by,
    targets,
    excludes,
    destroy_mode,
    variable_validation,
    sensitive_output,
    sensitive_output_ok,
    data_source,
    moved_block,
    gone_outside,
    chain_precise_deps,
    module_depends_on,
    unknown_for_each,
    replace_request,
    refresh_only,
    import_block,
    swapped_dependency_replace,
    for_each_over_resource,
    sensitive_for_each,
    sensitive_values_in_for_each,
    deep_values,
    provider_changed,
    provider_changed_prevent_destroy,
    provider_changed_missing,
    provider_changed_excluded,
    provider_changed_module,
    module_whole_instances,
    for_each_whole_resource,
    for_each_for_whole,
);
