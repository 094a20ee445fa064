//! The HTTP side against the emulator: pagination over several pages, 429 with Retry-After,
//! 5xx retries (and none for a create), the emulator's own rate limit and authentication.

use std::time::{Duration, Instant};

use crate::common::{Env, TOKEN, example_com};
use reqwest::Method;
use serde_json::json;
use tarn_provider_cloudflare::emulator::{Settings, THROTTLED_MESSAGE};
use tarn_sdk::ErrorClass;
use tarn_sdk::http::{Client, RetryPolicy};

#[tokio::test]
async fn lists_walk_every_page_of_result_info() {
    // An Enterprise zone: 200 active lockdown rules, so twelve fit.
    let env = Env::with(Settings { lockdown_limit: 200, ..Settings::accepting(TOKEN) }).await;
    let client = env.client();
    let zone = example_com();
    for i in 0..7 {
        client
            .post(
                &format!("zones/{zone}/dns_records"),
                &json!({"type": "A", "name": format!("h{i}"), "content": format!("192.0.2.{i}")}),
            )
            .await
            .expect("create");
    }
    for i in 0..12 {
        client
            .post(
                &format!("zones/{zone}/firewall/lockdowns"),
                &json!({"urls": [format!("example.com/p{i}")], "configurations": [{"target": "ip", "value": "192.0.2.1"}]}),
            )
            .await
            .expect("create rule");
    }
    let before = env.running.faults.requests();
    let records = env.api().page_size(3).records(&zone, &[]).await.expect("list");
    assert_eq!(records.len(), 7);
    assert_eq!(env.running.faults.requests() - before, 3, "pages of 3, 3 and 1");
    let mut names: Vec<&str> = records.iter().filter_map(|r| r["name"].as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 7, "no record twice, none missing");

    let before = env.running.faults.requests();
    let rules = env.api().page_size(5).lockdowns(&zone).await.expect("list rules");
    assert_eq!(rules.len(), 12);
    assert_eq!(env.running.faults.requests() - before, 3, "pages of 5, 5 and 2");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out() {
    let env = Env::start().await;
    let throttled = json!({"success": false, "errors": [{"code": 971, "message": THROTTLED_MESSAGE}], "messages": [], "result": null});
    env.running.faults.throttle_next(1, Some("1"), throttled);
    let start = Instant::now();
    let zones = env.api().zones_named("example.com").await.expect("succeeds after the wait");
    assert_eq!(zones.len(), 1);
    assert!(start.elapsed() >= Duration::from_secs(1), "waited {:?}", start.elapsed());
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_but_not_for_creates() {
    let env = Env::start().await;
    let zone = example_com();
    env.running.faults.fail_next(
        2,
        503,
        json!({"success": false, "errors": [{"code": 10001, "message": "busy"}], "messages": [], "result": null}),
    );
    let before = env.running.faults.requests();
    env.api().records(&zone, &[]).await.expect("third attempt succeeds");
    assert_eq!(env.running.faults.requests() - before, 3);

    env.running.faults.fail_next(1, 502, json!({"success": false, "errors": [{"code": 10001, "message": "bad gateway"}], "messages": [], "result": null}));
    let err = env
        .client()
        .post(&format!("zones/{zone}/dns_records"), &json!({"type": "A", "name": "x", "content": "192.0.2.1"}))
        .await
        .expect_err("a POST is not repeated after a 5xx");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("bad gateway (code 10001)"), "{}", err.message);
    assert!(env.api().records(&zone, &[]).await.expect("list").is_empty(), "the failed create made nothing");
}

#[tokio::test]
async fn the_emulator_enforces_its_rate_limit_with_headers() {
    let env =
        Env::with(Settings { rate_limit: 3, rate_window: Duration::from_secs(60), ..Settings::accepting(TOKEN) }).await;
    // No waiting on the server's reset (the client would otherwise hold until the window ends).
    let policy = RetryPolicy { max_attempts: 1, max_server_wait: Duration::ZERO, ..RetryPolicy::default() };
    let client =
        Client::builder(&env.running.base_url).bearer_token(TOKEN).retry_policy(policy).build().expect("client");
    let first = client.request(Method::GET, "zones").send().await.expect("first");
    let header = |name: &str| first.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    assert_eq!(header("ratelimit").as_deref(), Some("\"default\";r=2;t=60"));
    assert_eq!(header("ratelimit-policy").as_deref(), Some("\"default\";q=3;w=60"));
    client.get("zones").await.expect("second");
    client.get("zones").await.expect("third");
    let err = client.get("zones").await.expect_err("fourth is throttled");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("HTTP 429"), "{}", err.message);
    assert!(err.message.contains("(code 971)"), "{}", err.message);
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_an_authentication_error() {
    let env = Env::with(Settings::accepting("right")).await;
    let wrong = Client::builder(&env.running.base_url).bearer_token("wrong").max_attempts(1).build().expect("client");
    let err = wrong.get("zones").await.expect_err("refused");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(
        err.message.contains("HTTP 403") && err.message.contains("Authentication error (code 10000)"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("wrong"), "the token never appears in messages: {}", err.message);
    let none = Client::builder(&env.running.base_url).max_attempts(1).build().expect("client");
    let err = none.get("zones").await.expect_err("refused");
    assert!(err.message.contains("HTTP 401"), "{}", err.message);
    let right = Client::builder(&env.running.base_url).bearer_token("right").build().expect("client");
    right.get("zones").await.expect("the right token is accepted");
    // The legacy key pair is checked against the same tokens.
    let legacy = |key: &str| {
        Client::builder(&env.running.base_url)
            .header("x-auth-email", "ops@example.com")
            .header("x-auth-key", key)
            .max_attempts(1)
            .build()
            .expect("client")
    };
    let err = legacy("wrong").get("zones").await.expect_err("an unknown key is refused");
    assert!(err.message.contains("HTTP 403"), "{}", err.message);
    legacy("right").get("zones").await.expect("a known key is accepted");
    // A malformed Authorization header is Cloudflare's "Invalid request headers".
    let malformed =
        Client::builder(&env.running.base_url).header("authorization", "Basic abc").max_attempts(1).build().expect("c");
    let err = malformed.get("zones").await.expect_err("malformed");
    assert!(err.message.contains("HTTP 400") && err.message.contains("(code 6003)"), "{}", err.message);
}

#[tokio::test]
async fn token_verification_answers_as_cloudflare_does() {
    let env = Env::with(Settings::accepting("right")).await;
    let client = |token: Option<&str>| {
        let b = Client::builder(&env.running.base_url).max_attempts(1);
        match token {
            Some(t) => b.bearer_token(t),
            None => b,
        }
        .build()
        .expect("client")
    };
    let ok = client(Some("right")).get("user/tokens/verify").await.expect("a known token verifies");
    assert_eq!(ok["result"]["status"], "active");
    assert_eq!(ok["result"]["id"].as_str().map(str::len), Some(32));
    assert_eq!(ok["messages"][0]["message"], "This API Token is valid and active");
    let again = client(Some("right")).get("user/tokens/verify").await.expect("again");
    assert_eq!(again["result"]["id"], ok["result"]["id"], "a token's id is stable");
    let err = client(Some("wrong")).get("user/tokens/verify").await.expect_err("unknown");
    assert!(
        err.message.contains("HTTP 401") && err.message.contains("Invalid API Token (code 1000)"),
        "{}",
        err.message
    );
    let err = client(None).get("user/tokens/verify").await.expect_err("none");
    assert!(err.message.contains("HTTP 400") && err.message.contains("(code 1001)"), "{}", err.message);
}
