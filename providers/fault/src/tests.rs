//! Unit tests of the fault provider: schema, round trips in memory and on disk, drift, adopt,
//! every knob, the call counter and the overlap detector.

use crate::{FaultProvider, RESOURCE, Settings};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tarn_sdk::{AdoptRequest, CreateRequest, DeleteRequest, ErrorClass, Provider, ReadRequest, UpdateRequest, Value};

fn object(pairs: &[(&str, Value)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (*k, v.clone())))
}

fn create(planned: Value, correlation: &str) -> CreateRequest {
    CreateRequest { type_name: RESOURCE.into(), planned, correlation: correlation.into() }
}

fn read(state: &Value) -> ReadRequest {
    ReadRequest { type_name: RESOURCE.into(), state: state.clone() }
}

fn update(prior: &Value, planned: Value) -> UpdateRequest {
    UpdateRequest { type_name: RESOURCE.into(), prior: prior.clone(), planned }
}

fn delete(state: &Value) -> DeleteRequest {
    DeleteRequest { type_name: RESOURCE.into(), state: state.clone() }
}

fn adopt(correlation: &str) -> AdoptRequest {
    AdoptRequest { type_name: RESOURCE.into(), correlation: correlation.into(), planned: Value::Null }
}

async fn on_disk(dir: &std::path::Path) -> FaultProvider {
    let p = FaultProvider::new();
    p.configure(object(&[("dir", Value::string(dir.to_string_lossy()))])).await.unwrap();
    p
}

fn s(v: &str) -> Value {
    Value::string(v)
}

#[test]
fn schema_has_the_documented_shape() {
    let schema = FaultProvider::new().schema();
    let config: Vec<_> = schema.config.keys().map(String::as_str).collect();
    assert_eq!(config, ["dir", "latency_ms", "fail_on_call", "fail_on_call_class"]);
    let r = &schema.resources[RESOURCE];
    for knob in [
        "name",
        "value",
        "latency_ms",
        "fail_create",
        "fail_update",
        "fail_delete",
        "partial_create",
        "hang_create",
        "fail_create_times",
    ] {
        let a = &r.attributes[knob];
        assert!(a.optional && !a.force_new && !a.computed, "{knob}");
    }
    assert!(r.attributes["replace_key"].force_new);
    assert!(r.attributes["id"].computed && !r.attributes["id"].optional);
}

#[tokio::test]
async fn memory_round_trip() {
    let p = FaultProvider::new();
    let created = p.create(create(object(&[("name", s("a")), ("value", s("1"))]), "c1")).await.unwrap();
    let id = created.get("id").and_then(Value::as_str).unwrap().to_string();
    assert_eq!(p.read(read(&created)).await.unwrap(), Some(created.clone()));

    let updated = p.update(update(&created, object(&[("name", s("a")), ("value", s("2"))]))).await.unwrap();
    assert_eq!(updated.get("id").and_then(Value::as_str), Some(id.as_str()));
    assert_eq!(p.read(read(&created)).await.unwrap().unwrap().get("value"), Some(&s("2")));
    assert_eq!(p.adopt(adopt("c1")).await.unwrap(), Some(updated.clone()), "update keeps the correlation");

    p.delete(delete(&updated)).await.unwrap();
    assert_eq!(p.read(read(&updated)).await.unwrap(), None);
    p.delete(delete(&updated)).await.unwrap();
    assert!(p.objects().unwrap().is_empty());
    let stats = p.stats();
    assert_eq!((stats.calls, stats.creates, stats.updates, stats.deletes, stats.reads), (4, 1, 1, 2, 3));
    assert_eq!((stats.in_flight, stats.overlaps_detected), (0, 0));
}

#[tokio::test]
async fn disk_objects_are_files_and_editing_them_is_drift() {
    let dir = tempfile::tempdir().unwrap();
    let p = on_disk(dir.path()).await;
    let created = p.create(create(object(&[("name", s("web")), ("value", s("v1"))]), "corr-7")).await.unwrap();
    let id = created.get("id").and_then(Value::as_str).unwrap();
    let path = dir.path().join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"correlation\": \"corr-7\"") && text.contains("\"web\""), "{text}");
    assert_eq!(p.objects().unwrap().len(), 1);

    // Edit the value behind tarn's back: read reports what is really there.
    std::fs::write(&path, text.replace("\"v1\"", "\"edited\"")).unwrap();
    let refreshed = p.read(read(&created)).await.unwrap().unwrap();
    assert_eq!(refreshed.get("value"), Some(&s("edited")));

    std::fs::remove_file(&path).unwrap();
    assert_eq!(p.read(read(&created)).await.unwrap(), None);
    p.delete(delete(&created)).await.unwrap();
    let err = p.update(update(&created, object(&[("value", s("v2"))]))).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::NotFound);
}

#[tokio::test]
async fn adopt_finds_the_object_of_an_interrupted_apply_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = on_disk(dir.path()).await;
    let created = first.create(create(object(&[("name", s("x"))]), "intent-42")).await.unwrap();
    drop(first);

    let second = on_disk(dir.path()).await;
    assert_eq!(second.adopt(adopt("intent-42")).await.unwrap(), Some(created));
    assert_eq!(second.adopt(adopt("intent-43")).await.unwrap(), None);
}

#[tokio::test]
async fn fail_on_call_fails_exactly_the_nth_mutating_call() {
    let p = FaultProvider::new();
    p.configure(object(&[("fail_on_call", Value::number(3.0))])).await.unwrap();
    let a = p.create(create(object(&[("name", s("a"))]), "a")).await.unwrap();
    p.read(read(&a)).await.unwrap(); // reads are not counted
    let b = p.create(create(object(&[("name", s("b"))]), "b")).await.unwrap();
    let err = p.delete(delete(&a)).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("call 3"), "{}", err.message);
    assert!(p.read(read(&a)).await.unwrap().is_some(), "a failed delete deletes nothing");
    p.delete(delete(&a)).await.unwrap();
    p.delete(delete(&b)).await.unwrap();
    assert_eq!(p.stats().calls, 5);
}

#[tokio::test]
async fn fail_on_call_class_can_be_transient() {
    let p = FaultProvider::new();
    p.configure(object(&[("fail_on_call", Value::number(1.0)), ("fail_on_call_class", s("transient"))])).await.unwrap();
    let err = p.create(create(object(&[]), "a")).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(p.objects().unwrap().is_empty(), "a failed create creates nothing");
    p.create(create(object(&[]), "a")).await.unwrap();
}

#[tokio::test]
async fn partial_create_stores_the_object_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = on_disk(dir.path()).await;
    let err = p.create(create(object(&[("partial_create", Value::Bool(true))]), "p")).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::PartiallyCreated);
    let partial = err.partial.expect("partial state");
    assert!(partial.get("id").and_then(Value::as_str).is_some());
    assert_eq!(p.read(read(&partial)).await.unwrap(), Some(partial));
}

#[tokio::test]
async fn fail_create_times_is_transient_then_succeeds() {
    let p = FaultProvider::new();
    let planned = object(&[("name", s("retry")), ("fail_create_times", Value::number(2.0))]);
    for attempt in 1..=2 {
        let err = p.create(create(planned.clone(), &format!("c{attempt}"))).await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Transient, "attempt {attempt}");
    }
    p.create(create(planned.clone(), "c3")).await.unwrap();
    // Another object (another name) has its own count.
    let other = object(&[("name", s("other")), ("fail_create_times", Value::number(1.0))]);
    assert_eq!(p.create(create(other.clone(), "d1")).await.unwrap_err().class, ErrorClass::Transient);
    p.create(create(other, "d2")).await.unwrap();
    assert_eq!(p.objects().unwrap().len(), 2);
}

#[tokio::test]
async fn fail_knobs_are_permanent_and_change_nothing() {
    let p = FaultProvider::new();
    let err = p.create(create(object(&[("fail_create", Value::Bool(true))]), "x")).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(p.objects().unwrap().is_empty());

    let created =
        p.create(create(object(&[("value", s("1")), ("fail_delete", Value::Bool(true))]), "y")).await.unwrap();
    let err =
        p.update(update(&created, object(&[("value", s("2")), ("fail_update", Value::Bool(true))]))).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert_eq!(p.read(read(&created)).await.unwrap().unwrap().get("value"), Some(&s("1")));

    let err = p.delete(delete(&created)).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.ends_with('.'));
    assert_eq!(p.objects().unwrap().len(), 1);
}

#[tokio::test]
async fn latency_slows_every_call_and_the_object_overrides_the_provider() {
    let p = FaultProvider::new();
    p.configure(object(&[("latency_ms", Value::number(30.0))])).await.unwrap();
    let start = Instant::now();
    let created = p.create(create(object(&[]), "a")).await.unwrap();
    p.read(read(&created)).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(60));

    let start = Instant::now();
    let quick = p.create(create(object(&[("latency_ms", Value::number(0.0))]), "b")).await.unwrap();
    p.delete(delete(&quick)).await.unwrap();
    assert!(start.elapsed() < Duration::from_millis(30));
}

#[tokio::test]
async fn hang_create_never_returns_but_leaves_an_adoptable_object() {
    let dir = tempfile::tempdir().unwrap();
    let p = on_disk(dir.path()).await;
    let hung = tokio::time::timeout(
        Duration::from_millis(100),
        p.create(create(object(&[("hang_create", Value::Bool(true))]), "h")),
    )
    .await;
    assert!(hung.is_err(), "hang_create must not return");
    assert_eq!(p.stats().in_flight, 0, "the abandoned call left the in-flight table");
    assert!(p.adopt(adopt("h")).await.unwrap().is_some());
}

#[tokio::test]
async fn overlap_detector_sees_two_operations_on_one_object() {
    let p = Arc::new(FaultProvider::new());
    let slow = object(&[("latency_ms", Value::number(40.0))]);
    let a = p.create(create(slow.clone(), "a")).await.unwrap();
    let b = p.create(create(slow.clone(), "b")).await.unwrap();
    assert_eq!(p.stats().max_in_flight, 1);

    // Different objects at once: concurrency, but no overlap.
    let (r1, r2) = tokio::join!(p.read(read(&a)), p.read(read(&b)));
    r1.unwrap();
    r2.unwrap();
    assert_eq!(p.stats().max_in_flight, 2);
    assert_eq!(p.stats().overlaps_detected, 0);

    // The same object twice at once: an overlap.
    let (u, r) = tokio::join!(p.update(update(&a, slow.clone())), p.read(read(&a)));
    u.unwrap();
    r.unwrap();
    assert_eq!(p.stats().overlaps_detected, 1);
    assert_eq!(p.stats().in_flight, 0);
}

#[tokio::test]
async fn bad_values_are_permanent_errors_with_sentences() {
    let p = FaultProvider::new();
    let err = p.create(create(object(&[("latency_ms", s("slow"))]), "a")).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert_eq!(
        err.message,
        "The attribute latency_ms of fault_object must be a number of milliseconds, but it is a string."
    );
    let err = p.create(create(object(&[("fail_create_times", Value::number(-1.0))]), "a")).await.unwrap_err();
    assert!(err.message.contains("non-negative whole number"), "{}", err.message);
    let err = p.create(create(object(&[("fail_create", s("yes"))]), "a")).await.unwrap_err();
    assert!(err.message.contains("fail_create"));
    let err = p.create(create(object(&[("value", Value::number(1.0))]), "a")).await.unwrap_err();
    assert!(err.message.contains("value"));

    let err = p.configure(object(&[("fail_on_call_class", s("sometimes"))])).await.unwrap_err();
    assert!(err.message.contains("\"sometimes\""), "{}", err.message);
    let err = p.configure(s("nope")).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);

    let err = p.read(read(&object(&[("id", s("../../etc/passwd"))]))).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    let err = p.read(read(&object(&[]))).await.unwrap_err();
    assert!(err.message.contains("no id"));
    let err = p.read(ReadRequest { type_name: "fault_thing".into(), state: Value::Null }).await.unwrap_err();
    assert!(err.message.contains("fault_thing"));
}

#[tokio::test]
async fn io_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let p = FaultProvider::new();
    let err = p.configure(object(&[("dir", s(&file.to_string_lossy()))])).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains(&*file.to_string_lossy()), "{}", err.message);

    let p = on_disk(dir.path()).await;
    let created = p.create(create(object(&[]), "a")).await.unwrap();
    let id = created.get("id").and_then(Value::as_str).unwrap();
    let path = dir.path().join(format!("{id}.json"));
    std::fs::write(&path, "{ not json").unwrap();
    let err = p.read(read(&created)).await.unwrap_err();
    assert!(err.message.contains(&*path.to_string_lossy()), "{}", err.message);
}

#[test]
fn settings_parse_from_the_provider_block() {
    let s = Settings::from_config(&object(&[
        ("dir", s("/tmp/f")),
        ("latency_ms", Value::number(5.0)),
        ("fail_on_call", Value::number(2.0)),
    ]))
    .unwrap();
    assert_eq!(s.dir.as_deref(), Some(std::path::Path::new("/tmp/f")));
    assert_eq!(s.latency, Duration::from_millis(5));
    assert_eq!(s.fail_on_call, Some(2));
    assert_eq!(s.fail_on_call_class, ErrorClass::Permanent);
    assert_eq!(Settings::from_config(&Value::Null).unwrap(), Settings::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_from_many_threads_are_all_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = Arc::new(on_disk(dir.path()).await);
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let p = Arc::clone(&p);
            tokio::spawn(async move {
                let planned = object(&[("name", s(&format!("n{i}"))), ("latency_ms", Value::number(5.0))]);
                let state = p.create(create(planned, &format!("c{i}"))).await.unwrap();
                p.delete(delete(&state)).await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = p.stats();
    assert_eq!((stats.calls, stats.creates, stats.deletes), (80, 40, 40));
    assert!(stats.max_in_flight > 1 && stats.max_in_flight <= 40, "{stats:?}");
    assert_eq!((stats.overlaps_detected, stats.in_flight), (0, 0));
    assert!(p.objects().unwrap().is_empty());
}
