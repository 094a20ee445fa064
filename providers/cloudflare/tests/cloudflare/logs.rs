//! Regression (issue 12): `TARN_LOG=trace` printed the HTTP bodies of a DNS record whose
//! `content` was sensitive, request and response, in clear. Every call of the provider, with
//! the log captured at trace level, must show the redaction marker where the secret was and
//! never the secret itself, even though the emulator echoes it in every answer.

use crate::common::{Env, example_com};
use tarn_sdk::http::redact::REDACTED;
use tarn_sdk::log_capture::captured;
use tarn_sdk::{AdoptRequest, CreateRequest, DeleteRequest, Provider, ReadRequest, UpdateRequest, Value};

const SECRET: &str = "dkim-Secret-9q7Zk2";

fn txt(content: Value) -> Value {
    Value::map([
        ("zone_id", Value::string(example_com())),
        ("name", Value::string("mail._domainkey")),
        ("type", Value::string("TXT")),
        ("content", content),
        ("ttl", Value::Null),
        ("proxied", Value::Null),
        ("priority", Value::Null),
        ("comment", Value::Null),
        ("id", Value::Unknown),
        ("hostname", Value::Unknown),
        ("proxiable", Value::Unknown),
        ("created_on", Value::Unknown),
    ])
}

/// The state the engine hands back to the provider: the sensitive attribute marked again.
fn marked(state: &Value, content: &str) -> Value {
    let mut m = state.as_map().expect("object").clone();
    m.insert("content".into(), Value::string(content).sensitive());
    Value::Map(m)
}

#[tokio::test]
async fn trace_logs_never_show_a_sensitive_attribute() {
    let log = captured();
    let env = Env::start().await;
    let p = env.provider();
    let ty = || "cloudflare_dns_record".to_string();
    let planned = txt(Value::string(format!("v=DKIM1; p={SECRET}")).sensitive());
    let created =
        p.create(CreateRequest { type_name: ty(), planned: planned.clone(), correlation: "tarn-logs-0".into() });
    let created = marked(&created.await.expect("create"), &format!("v=DKIM1; p={SECRET}"));
    let read = p.read(ReadRequest { type_name: ty(), state: created.clone() }).await.expect("read");
    assert!(read.is_some(), "the record reads back");
    let changed = format!("v=DKIM1; p={SECRET}-rotated");
    let wanted = marked(&created, &changed);
    let updated = p.update(UpdateRequest { type_name: ty(), prior: created.clone(), planned: wanted });
    let updated = marked(&updated.await.expect("update"), &changed);
    let adopted = p.adopt(AdoptRequest { type_name: ty(), correlation: "tarn-logs-0".into(), planned });
    assert!(adopted.await.expect("adopt").is_some(), "found by its tag");
    p.delete(DeleteRequest { type_name: ty(), state: updated }).await.expect("delete");

    let text = String::from_utf8_lossy(&log.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(text.contains("http request body") && text.contains("http response body"), "trace bodies: {text}");
    assert!(!text.contains(SECRET), "a sensitive value reached the log:\n{text}");
    assert!(text.contains(REDACTED), "the redaction is visible where the secret was:\n{text}");
    // Only the secret is masked: the rest of the body is still there to debug with.
    assert!(text.contains("mail._domainkey"), "{text}");
}
