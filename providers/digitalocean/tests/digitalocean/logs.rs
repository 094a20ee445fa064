//! The token and sensitive attributes never reach the log: every call of the provider, with
//! the log captured at trace level (request and response bodies included), shows neither the
//! API token nor a droplet's sensitive user data, though the emulator is sent both.

use crate::common::{Env, TOKEN, s, with};
use crate::droplet::planned;
use tarn_provider_digitalocean::DigitalOceanProvider;
use tarn_sdk::http::redact::REDACTED;
use tarn_sdk::log_capture::captured;
use tarn_sdk::{CreateRequest, DeleteRequest, Provider, ReadRequest, UpdateRequest, Value};

const SECRET: &str = "db-password-Q8vT3kLz";

#[tokio::test]
async fn trace_logs_never_show_the_token_or_sensitive_user_data() {
    let log = captured();
    let env = Env::start().await;
    let p = DigitalOceanProvider::default();
    let config = Value::map([
        ("token", Value::string(TOKEN).sensitive()),
        ("api_url", Value::string(env.running.base_url.as_str())),
    ]);
    p.configure(config).await.expect("configure");
    let ty = || "digitalocean_droplet".to_string();
    let user_data = Value::string(format!("#cloud-config\nwrite_files: [{{content: {SECRET}}}]\n")).sensitive();
    let want = with(&planned("logged"), "user_data", user_data.clone());
    let created = p.create(CreateRequest { type_name: ty(), planned: want, correlation: "tarn-log-0".into() });
    let created = with(&created.await.expect("create"), "user_data", user_data);
    let read = p.read(ReadRequest { type_name: ty(), state: created.clone() }).await.expect("read");
    assert!(read.is_some(), "the droplet reads back");
    let renamed = with(&created, "name", Value::string("logged-2"));
    let updated = p.update(UpdateRequest { type_name: ty(), prior: created.clone(), planned: renamed });
    let updated = updated.await.expect("update");
    assert_eq!(s(&updated, "name"), "logged-2");
    let _ = env.client().get("v2/droplets/1").await;
    p.delete(DeleteRequest { type_name: ty(), state: updated }).await.expect("delete");

    let text = String::from_utf8_lossy(&log.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(text.contains("http request body") && text.contains("http response body"), "trace bodies: {text}");
    assert!(!text.contains(TOKEN), "the token reached the log:\n{text}");
    assert!(!text.contains(SECRET), "sensitive user data reached the log:\n{text}");
    assert!(text.contains(REDACTED), "the redaction is visible where the secret was:\n{text}");
    assert!(text.contains("logged-2"), "the rest of the bodies is there to debug with: {text}");
}
