//! `configure` verifies the token (`GET /user/tokens/verify`) before anything else: a known
//! token configures the provider, an unknown one or an unreachable API is one error naming the
//! call, never showing the token.

use crate::common::{Env, TOKEN};
use tarn_provider_cloudflare::CloudflareProvider;
use tarn_sdk::{ErrorClass, Provider, ReadDataRequest, Value};

#[tokio::test]
async fn a_known_token_configures_the_provider() {
    let env = Env::start().await;
    let p = CloudflareProvider::default();
    p.configure(env.config(TOKEN)).await.expect("a known token is verified");
    let config = Value::map([("name", Value::string("example.com"))]);
    p.read_data(ReadDataRequest { type_name: "cloudflare_zone".into(), config }).await.expect("usable afterwards");
}

#[tokio::test]
async fn an_unknown_token_is_one_error_naming_the_verify_call() {
    let env = Env::start().await;
    let p = CloudflareProvider::default();
    let err = p.configure(env.config("stolen-or-revoked-token")).await.expect_err("refused");
    assert_eq!(err.class, ErrorClass::Permanent);
    for part in [
        "GET http://127.0.0.1:",
        "/client/v4/user/tokens/verify",
        "refused the API token",
        "HTTP 401",
        "Invalid API Token (code 1000)",
        "CLOUDFLARE_API_TOKEN",
        "--sandbox",
    ] {
        assert!(err.message.contains(part), "{part:?} missing from: {}", err.message);
    }
    assert!(!err.message.contains("stolen-or-revoked-token"), "the token never appears: {}", err.message);
    assert_eq!(env.running.faults.requests(), 1, "one call, no retries of a refused token");
}

#[tokio::test]
async fn an_unreachable_api_is_named_with_the_call() {
    let p = CloudflareProvider::default();
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let config = Value::map([
        ("api_token", Value::string(TOKEN)),
        ("base_url", Value::string(format!("http://127.0.0.1:{port}/client/v4"))),
    ]);
    let err = p.configure(config).await.expect_err("unreachable");
    assert!(
        err.message.contains(&format!("GET http://127.0.0.1:{port}/client/v4/user/tokens/verify")),
        "{}",
        err.message
    );
    assert!(err.message.contains("could not be made"), "{}", err.message);
}

#[tokio::test]
async fn a_lockdown_limit_that_is_not_a_count_is_refused() {
    let env = Env::start().await;
    let p = CloudflareProvider::default();
    let mut config = env.config(TOKEN).as_map().cloned().expect("a map");
    config.insert("lockdown_limit".into(), Value::number(2.5));
    let err = p.configure(Value::Map(config)).await.expect_err("not whole");
    assert!(err.message.contains("lockdown_limit must be a whole number"), "{}", err.message);
}
