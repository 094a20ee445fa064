//! The example plugin (Python, examples/plugins/kv): the conformance suite passes in full, and
//! the provider over it behaves like a built-in one — plan refinements, error classes, one
//! process per instance, concurrency, a clean exit.

use crate::{assert_reaped, kv_plugin, quick};
use tarn_plugin::check::{self, CHECKS, Outcome};
use tarn_plugin::{Plugin, Timeouts};
use tarn_sdk::{
    CreateRequest, DeleteRequest, ErrorClass, PlanRequest, Provider, ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

fn entry(key: &str, value: &str) -> Value {
    Value::map([("key", Value::string(key)), ("value", Value::string(value))])
}

async fn configured(dir: &std::path::Path) -> (Plugin, std::sync::Arc<tarn_plugin::PluginProvider>) {
    let plugin = Plugin::probe("kv", kv_plugin(), Timeouts::default()).await.expect("the kv plugin starts");
    let p = plugin.instantiate();
    p.configure(Value::map([("path", Value::string(dir.join("kv.json").display().to_string()))])).await.unwrap();
    (plugin, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_suite_passes_for_the_example_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let report = check::run("kv", kv_plugin(), Some(dir.path().to_path_buf()), quick(), None).await;
    assert_eq!(report.results.len(), CHECKS.len());
    for r in &report.results {
        assert!(matches!(r.outcome, Outcome::Pass(_)), "{}: {:?}", r.name, r.outcome);
    }
    assert!(report.passed());
    // The suite ran the plugin in the directory it was given.
    assert!(dir.path().join("kv-conformance.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_plan_and_life_cycle_through_the_provider_trait() {
    let dir = tempfile::tempdir().unwrap();
    let (plugin, p) = configured(dir.path()).await;
    assert_eq!(plugin.handshake().protocol_version, 1);
    let rs = &plugin.schema().resources["kv_entry"];
    assert!(rs.attributes["secret"].sensitive && rs.attributes["key"].force_new && rs.attributes["id"].computed);
    assert!(plugin.schema().data_sources.contains_key("kv_entry"));

    let proposed = Value::map([
        ("key", Value::string("a")),
        ("value", Value::string("1")),
        ("secret", Value::string("hunter22")),
        ("id", Value::Unknown),
        ("version", Value::Unknown),
    ]);
    let planned = p.plan(PlanRequest { type_name: "kv_entry".into(), prior: None, proposed }).await.unwrap().planned;
    assert_eq!(planned.get("id"), Some(&Value::string("a")), "the plugin refines the plan");
    assert_eq!(planned.get("version"), Some(&Value::number(1.0)));

    let created = p
        .create(CreateRequest { type_name: "kv_entry".into(), planned: planned.clone(), correlation: "c-1".into() })
        .await
        .unwrap();
    assert_eq!(created.get("secret").and_then(Value::as_str), Some("hunter22"));
    let read = p.read(ReadRequest { type_name: "kv_entry".into(), state: created.clone() }).await.unwrap();
    assert_eq!(read.as_ref(), Some(&created));

    // An update plan leaves the version unknown: only apply can tell.
    let mut proposed = created.as_map().unwrap().clone();
    proposed.insert("value".into(), Value::string("2"));
    let planned = p
        .plan(PlanRequest {
            type_name: "kv_entry".into(),
            prior: Some(created.clone()),
            proposed: Value::Map(proposed),
        })
        .await
        .unwrap();
    assert_eq!(planned.planned.get("version"), Some(&Value::Unknown));

    let data = p
        .read_data(ReadDataRequest { type_name: "kv_entry".into(), config: Value::map([("key", Value::string("a"))]) })
        .await
        .unwrap();
    assert_eq!(data.get("value"), Some(&Value::string("1")));
    assert_eq!(p.import("kv_entry", "a").await.unwrap(), Some(created.clone()));
    assert_eq!(p.import("kv_entry", "nope").await.unwrap(), None);

    p.delete(DeleteRequest { type_name: "kv_entry".into(), state: created.clone() }).await.unwrap();
    assert_eq!(p.read(ReadRequest { type_name: "kv_entry".into(), state: created }).await.unwrap(), None);
    let pid = p.pid().await.expect("a process runs");
    let status = p.shutdown().await.expect("it exited");
    assert!(status.success(), "{status}");
    assert_reaped(pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_errors_keep_their_class() {
    let dir = tempfile::tempdir().unwrap();
    let (_plugin, p) = configured(dir.path()).await;
    let create =
        |c: &str| CreateRequest { type_name: "kv_entry".into(), planned: entry("dup", "x"), correlation: c.into() };
    p.create(create("c-1")).await.unwrap();
    // The same create again (a retry) is idempotent; another create of the key conflicts.
    p.create(create("c-1")).await.unwrap();
    let e = p.create(create("c-2")).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Conflict, "{e}");
    assert!(e.message.contains("already exists"), "{e}");

    let e = p
        .update(UpdateRequest { type_name: "kv_entry".into(), prior: entry("gone", "x"), planned: entry("gone", "y") })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound, "{e}");
    let e = p
        .read_data(ReadDataRequest {
            type_name: "kv_entry".into(),
            config: Value::map([("key", Value::string("gone"))]),
        })
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::NotFound, "{e}");
    let e = p.read(ReadRequest { type_name: "kv_nothing".into(), state: entry("a", "b") }).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(e.message.contains("no type 'kv_nothing'"), "{e}");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_per_instance_and_concurrent_calls_are_matched_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let (plugin, a) = configured(dir.path()).await;
    let b = plugin.instantiate();
    b.configure(Value::map([("path", Value::string(dir.path().join("other.json").display().to_string()))]))
        .await
        .unwrap();
    let (pa, pb) = (a.pid().await.unwrap(), b.pid().await.unwrap());
    assert_ne!(pa, pb, "each provider configuration has its own process");

    let creates = (0..20).map(|i| {
        a.create(CreateRequest {
            type_name: "kv_entry".into(),
            planned: entry(&format!("k{i}"), &format!("v{i}")),
            correlation: format!("c{i}"),
        })
    });
    let results = futures::future::join_all(creates).await;
    for (i, r) in results.into_iter().enumerate() {
        let v = r.unwrap();
        assert_eq!(v.get("value"), Some(&Value::string(format!("v{i}"))), "answer {i} went to its own request");
    }
    assert_eq!(b.import("kv_entry", "k1").await.unwrap(), None, "the second configuration has its own store");
    a.shutdown().await;
    b.shutdown().await;
    assert_reaped(pa);
    assert_reaped(pb);
}
