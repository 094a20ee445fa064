//! Issue 12: logs at trace level never show a sensitive value that went to or came from a
//! plugin. Payloads are not logged at all, and the plugin's stderr lines and error messages are
//! scrubbed of every value sent in a sensitive attribute, even when the plugin prints whole
//! requests (the `echo` fixture does, and quotes the value in an error too).

use crate::fixture;
use crate::quick;
use tarn_plugin::Plugin;
use tarn_sdk::log_capture::captured;
use tarn_sdk::{CreateRequest, DeleteRequest, Provider, ReadRequest, UpdateRequest, Value};

const SECRET: &str = "plugin-Secret-k3Jd0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_and_errors_never_show_a_sensitive_value() {
    let log = captured();
    let plugin = Plugin::probe("broken", fixture("echo.sh"), quick()).await.expect("the echo plugin starts");
    let p = plugin.instantiate();
    p.configure(Value::Map(Default::default())).await.unwrap();
    // Marked sensitive by the engine, and sensitive in the plugin's schema as well.
    let planned = Value::map([
        ("name", Value::string("a")),
        ("secret", Value::string(SECRET).sensitive()),
        ("id", Value::Unknown),
    ]);
    let created = p
        .create(CreateRequest { type_name: "thing".into(), planned, correlation: "corr-a".into() })
        .await
        .expect("create");
    p.read(ReadRequest { type_name: "thing".into(), state: created.clone() }).await.expect("read");
    let e = p
        .update(UpdateRequest { type_name: "thing".into(), prior: created.clone(), planned: created.clone() })
        .await
        .expect_err("the echo plugin refuses updates");
    assert!(e.message.contains("cannot update") && !e.message.contains(SECRET), "{e}");
    p.delete(DeleteRequest { type_name: "thing".into(), state: created }).await.expect("delete");
    p.shutdown().await.expect("it exits");

    let text = String::from_utf8_lossy(&log.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(text.contains("handling create"), "the plugin's stderr is logged: {text}");
    assert!(!text.contains(SECRET), "a sensitive value reached the log:\n{text}");
    assert!(text.contains("(sensitive)"), "the redaction is visible where the secret was:\n{text}");
}
