//! The password never reaches the log, nor the SR_AUTH value made from it: a runtime's whole
//! life through the provider (configured as the CLI does it), with the log captured at trace
//! level, shows neither, though oned gets the session and OneFlow the Basic header and the
//! instantiate body.

use base64::Engine;
use tarn_provider_opennebula::OpenNebulaProvider;
use tarn_sdk::log_capture::captured;
use tarn_sdk::{DeleteRequest, Provider, ReadRequest, Value};

use crate::common::{Env, PASSWORD, RUNTIME, create, runtime};

#[tokio::test]
async fn trace_logs_never_show_the_password_or_sr_auth() {
    let log = captured();
    let env = Env::start().await;
    let p = OpenNebulaProvider::default();
    let config = Value::map([
        ("one_xmlrpc", Value::string(format!("{}/RPC2", env.running.base_url))),
        ("oneflow_server", Value::string(env.running.base_url.as_str())),
        ("username", Value::string("cognit")),
        ("password", Value::string(PASSWORD).sensitive()),
        ("timeout", Value::number(5.0)),
    ]);
    p.configure(config).await.expect("configure");
    let created = create(&p, runtime("logged", "Function", None), "log-1").await;
    p.read(ReadRequest { type_name: RUNTIME.into(), state: created.clone() }).await.expect("read");
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: created }).await.expect("delete");
    let text = String::from_utf8_lossy(&log.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(text.contains("http request"), "requests are logged: {text}");
    assert!(!text.contains(PASSWORD), "the password reached the log:\n{text}");
    let sr_auth = base64::engine::general_purpose::STANDARD.encode(format!("cognit:{PASSWORD}"));
    assert!(!text.contains(&sr_auth), "SR_AUTH reached the log:\n{text}");
}
