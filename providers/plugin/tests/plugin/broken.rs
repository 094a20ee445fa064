//! Deliberately broken plugins (tests/fixtures): every fault ends in a clean, classified error
//! that names the plugin and the method, the process is reaped (no zombie), and a fresh
//! process takes over where that is safe.

use crate::{assert_reaped, fixture, quick};
use std::sync::Arc;
use tarn_plugin::check::{self, Outcome};
use tarn_plugin::connection::Connection;
use tarn_plugin::redact::Redactor;
use tarn_plugin::{Failure, Launch, Plugin, PluginProvider};
use tarn_sdk::{CreateRequest, ErrorClass, Provider, ReadRequest, Value};

async fn probe_err(name: &str) -> String {
    match Plugin::probe("broken", fixture(name), quick()).await {
        Ok(_) => panic!("{name} should not start"),
        Err(e) => e,
    }
}

async fn ready(name: &str) -> (Plugin, Arc<PluginProvider>) {
    let plugin = Plugin::probe("broken", fixture(name), quick()).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    let p = plugin.instantiate();
    p.configure(Value::Map(Default::default())).await.unwrap();
    (plugin, p)
}

fn thing(name: &str) -> CreateRequest {
    CreateRequest {
        type_name: "thing".into(),
        planned: Value::map([("name", Value::string(name))]),
        correlation: format!("corr-{name}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_at_start_quotes_its_stderr() {
    let e = probe_err("crash-on-start.sh").await;
    assert!(e.contains("plugin \"broken\""), "{e}");
    assert!(e.contains("exited with status 127"), "{e}");
    assert!(e.contains("libacme.so.1"), "the last stderr line says why: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_unexecutable_programs_are_named() {
    let e = match Plugin::probe("x", "/nonexistent/tarn-provider-x".into(), quick()).await {
        Err(e) => e,
        Ok(_) => panic!("started a missing program"),
    };
    assert!(e.contains("/nonexistent/tarn-provider-x does not exist"), "{e}");
    let e = match Plugin::probe("x", fixture("broken.py").with_file_name("noexec.txt"), quick()).await {
        Err(e) => e,
        Ok(_) => panic!("started a missing program"),
    };
    assert!(e.contains("does not exist"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_plugin_is_stopped_after_the_timeout_and_reaped() {
    let launch =
        Launch { name: "broken".into(), program: fixture("hang.sh"), args: vec![], dir: None, timeouts: quick() };
    let conn = Connection::start(&launch, Arc::new(Redactor::default())).unwrap();
    let pid = conn.pid().unwrap();
    let started = std::time::Instant::now();
    let f = conn.call("handshake", serde_json::json!({}), std::time::Duration::from_millis(500)).await.unwrap_err();
    assert!(matches!(f, Failure::TimedOut { .. }), "{f:?}");
    assert!(f.describe().contains("did not answer handshake within 500ms; it was stopped"), "{}", f.describe());
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
    conn.close().await;
    assert_reaped(pid);
    // Later calls fail at once with the reason.
    let again = conn.call("schema", serde_json::json!({}), std::time::Duration::from_secs(5)).await.unwrap_err();
    assert!(again.describe().contains("did not answer handshake"), "{}", again.describe());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_that_is_not_protocol_is_a_malformed_answer() {
    let e = probe_err("malformed.sh").await;
    assert!(e.contains("malformed answer"), "{e}");
    assert!(e.contains("not JSON"), "{e}");
    assert!(e.contains("log to stderr"), "the message suggests the fix: {e}");
    assert!(!e.contains("starting acme"), "the line itself is not repeated (it could hold a secret): {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_protocol_version_and_bad_schema_are_refused() {
    let e = probe_err("wrong-version.sh").await;
    assert!(e.contains("protocol version 99") && e.contains("speaks 1"), "{e}");
    let e = probe_err("bad-schema.sh").await;
    assert!(e.contains("invalid schema") && e.contains("\"sensitve\""), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_zero_exit_during_create_is_a_permanent_error_and_a_fresh_process_follows() {
    let (_plugin, p) = ready("exit-on-create.sh").await;
    let pid = p.pid().await.unwrap();
    let e = p.create(thing("a")).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent, "{e}");
    for part in [
        "plugin \"broken\"",
        "exited with status 3",
        "fatal: cannot reach the backend",
        "during create of thing",
        "it made no object",
    ] {
        assert!(e.message.contains(part), "missing {part:?}: {e}");
    }
    assert_reaped(pid);
    // The process that checked (adopt) is a new one, configured again, and serves reads.
    let state = Value::map([("id", Value::string("a"))]);
    assert_eq!(p.read(ReadRequest { type_name: "thing".into(), state }).await.unwrap(), None);
    assert_ne!(p.pid().await, Some(pid));
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_keeps_dying_is_not_restarted_forever() {
    let (_plugin, p) = ready("exit-on-create.sh").await;
    let mut last = String::new();
    for i in 0..4 {
        last = p.create(thing(&format!("t{i}"))).await.unwrap_err().message;
    }
    assert!(last.contains("has stopped 4 times in this run; tarn does not start it again"), "{last}");
    assert_eq!(p.pid().await, None, "nothing runs any more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exception_in_the_plugin_is_quoted_from_its_traceback() {
    let (_plugin, p) = ready("crash-on-create.sh").await;
    let e = p.create(thing("a")).await.unwrap_err();
    assert!(e.message.contains("exited with status 1"), "{e}");
    assert!(e.message.contains("ZeroDivisionError"), "{e}");
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_in_answer_to_create_is_permanent() {
    let (_plugin, p) = ready("garbage-on-create.sh").await;
    let pid = p.pid().await.unwrap();
    let e = p.create(thing("a")).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Permanent);
    assert!(e.message.contains("sent a malformed answer") && e.message.contains("during create"), "{e}");
    assert_reaped(pid);
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_read_is_a_transient_timeout_and_the_next_call_gets_a_fresh_process() {
    let (_plugin, p) = ready("hang-on-read.sh").await;
    let created = p.create(thing("a")).await.unwrap();
    let pid = p.pid().await.unwrap();
    let e = p.read(ReadRequest { type_name: "thing".into(), state: created }).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::Transient, "reads are safe to retry: {e}");
    assert!(e.message.contains("did not answer read within 2s") && e.message.contains("plugin \"broken\""), "{e}");
    assert_reaped(pid);
    let again = p.create(thing("b")).await.unwrap();
    assert_eq!(again.get("id"), Some(&Value::string("b")));
    assert_ne!(p.pid().await, Some(pid));
    p.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stderr_noise_is_harmless() {
    let dir = tempfile::tempdir().unwrap();
    let report = check::run("broken", fixture("noisy.sh"), Some(dir.path().into()), quick(), None).await;
    assert!(report.passed(), "{:#?}", report.results);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_conformance_suite_reports_each_fault_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 5] = [
        ("hang.sh", "handshake", "did not answer handshake within 5s"),
        ("crash-on-start.sh", "handshake", "exited with status 127"),
        ("malformed.sh", "handshake", "malformed answer"),
        ("exit-on-create.sh", "create", "exited with status 3"),
        ("hang-on-read.sh", "read after create", "did not answer read within 2s"),
    ];
    for (file, failing, text) in cases {
        let report = check::run("broken", fixture(file), Some(dir.path().into()), quick(), None).await;
        assert!(!report.passed(), "{file}");
        match report.outcome(failing) {
            Some(Outcome::Fail(why)) => assert!(why.contains(text), "{file}: {why}"),
            other => panic!("{file}: {failing} should fail, got {other:?}\n{:#?}", report.results),
        }
        assert!(matches!(report.outcome("exit on stdin close"), Some(Outcome::Skip(_))), "{file}");
    }
}
