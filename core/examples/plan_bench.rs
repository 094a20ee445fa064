//! Planner benchmark: generates the `chain` shape of `bench/gen-null.sh` (N/2
//! `null_resource.a` and N/2 `null_resource.b`, b[i] referring to a[i].id), loads it and
//! plans it twice: from empty state, and against a state holding every object (a no-op
//! re-plan). Prints the figures. `cargo run --release -p tarn-core --example plan_bench -- 100000`

use std::time::Instant;
use tarn_core::plan::*;
use tarn_sdk::{Address, AttributeSchema, InstanceKey, ProviderSchema, ResourceSchema, Type, Value};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let half = n / 2;
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "resource \"null_resource\" \"a\" {{\n  count    = {half}\n  triggers = {{ v = \"a${{count.index}}\" }}\n}}\n\n\
         resource \"null_resource\" \"b\" {{\n  count    = {half}\n  triggers = {{ parent = null_resource.a[count.index].id }}\n}}\n"
    );
    std::fs::write(dir.path().join("main.tarn.hcl"), text).expect("write config");

    let t = Instant::now();
    let (config, diags) = tarn_core::load::load(dir.path());
    let config = config.expect("config loads");
    assert!(!diags.has_errors(), "{diags:?}");
    println!("load:             {:>8.1} ms", t.elapsed().as_secs_f64() * 1e3);

    let mut schema = ProviderSchema::default();
    schema.resources.insert(
        "null_resource".into(),
        ResourceSchema::new("null")
            .attr("id", AttributeSchema::computed(Type::String, "id"))
            .attr("triggers", AttributeSchema::optional(Type::Map { element: Box::new(Type::String) }, "").force_new()),
    );
    let schemas: Schemas = [("null".to_string(), schema)].into_iter().collect();
    let vars = RootVariables::new();
    let options = PlanOptions::default();
    let binding = PlanBinding {
        lineage: "bench".into(),
        serial: 1,
        config_hash: config.hash.clone(),
        workspace: "default".into(),
    };
    let data = DataResults::new();

    let run = |prior: &PriorState, label: &str| {
        let t = Instant::now();
        let outcome = plan(PlanInput {
            config: &config,
            prior,
            drift: &[],
            schemas: &schemas,
            variables: &vars,
            data: &data,
            imported: &Default::default(),
            options: &options,
            binding: &binding,
        });
        let elapsed = t.elapsed();
        assert!(!outcome.diagnostics.has_errors(), "{:?}", outcome.diagnostics.0.first());
        let plan = outcome.plan.expect("a plan");
        println!(
            "plan {label:<12} {:>8.1} ms  ({} changes, {} ops, {} edges)",
            elapsed.as_secs_f64() * 1e3,
            plan.changes.len(),
            plan.graph.ops.len(),
            plan.graph.edges.len()
        );
    };
    run(&PriorState::default(), "from empty:");

    let mut prior = PriorState::default();
    for i in 0..half {
        let a = Address::managed("null_resource", "a").with_key(Some(InstanceKey::Int(i as i64)));
        let b = Address::managed("null_resource", "b").with_key(Some(InstanceKey::Int(i as i64)));
        let a_id = format!("a-{i}");
        prior.objects.push(PriorObject {
            address: a.clone(),
            provider: "null".into(),
            value: Some(Value::map([
                ("id", Value::string(a_id.clone())),
                ("triggers", Value::map([("v", Value::string(format!("a{i}")))])),
            ])),
            dependencies: Vec::new(),
            sensitive_paths: Vec::new(),
            deposed: None,
        });
        prior.objects.push(PriorObject {
            address: b,
            provider: "null".into(),
            value: Some(Value::map([
                ("id", Value::string(format!("b-{i}"))),
                ("triggers", Value::map([("parent", Value::string(a_id))])),
            ])),
            dependencies: vec![a],
            sensitive_paths: Vec::new(),
            deposed: None,
        });
    }
    run(&prior, "no-op:");
}
