//! The emulator's own behaviour: validation errors with Cloudflare's codes, 404 shapes,
//! snapshots that survive a restart, and the admin endpoints (faults, zones) over HTTP.

use std::time::Duration;

use crate::common::{Env, TOKEN, example_com};
use serde_json::json;
use tarn_provider_cloudflare::emulator::{Emulator, SEED_ZONES, Settings};
use tarn_sdk::ErrorClass;
use tarn_sdk::http::Client;

fn admin(env: &Env) -> Client {
    Client::builder(env.running.server.url())
        .max_attempts(1)
        .request_timeout(Duration::from_secs(5))
        .build()
        .expect("admin client")
}

fn once(env: &Env) -> Client {
    Client::builder(&env.running.base_url)
        .bearer_token(TOKEN)
        .max_attempts(1)
        .request_timeout(Duration::from_millis(400))
        .build()
        .expect("client")
}

#[tokio::test]
async fn invalid_records_get_every_problem_with_cloudflare_codes() {
    let env = Env::start().await;
    let path = format!("zones/{}/dns_records", example_com());
    let err = once(&env)
        .post(&path, &json!({"type": "A", "name": "x", "content": "300.1.1.1", "ttl": 5}))
        .await
        .expect_err("invalid");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("HTTP 400"), "{}", err.message);
    assert!(
        err.message.contains("(code 9005)") && err.message.contains("(code 9021)"),
        "both problems: {}",
        err.message
    );
    let err = once(&env)
        .post(&path, &json!({"type": "TXT", "name": "t", "content": "v", "proxied": true}))
        .await
        .expect_err("txt");
    assert!(err.message.contains("This record type cannot be proxied. (code 9004)"), "{}", err.message);
    let err = once(&env).post(&path, &json!({"type": "BOGUS", "name": "t", "content": "v"})).await.expect_err("type");
    assert!(err.message.contains("(code 9020)"), "{}", err.message);
    once(&env).post(&path, &json!({"type": "A", "name": "www", "content": "192.0.2.1"})).await.expect("A");
    let err = once(&env)
        .post(&path, &json!({"type": "CNAME", "name": "www", "content": "elsewhere.example.net"}))
        .await
        .expect_err("clash");
    assert!(err.message.contains("(code 81053)"), "{}", err.message);
    let err = once(&env).post(&path, &b"not json".to_vec()).await.expect_err("body");
    assert!(err.message.contains("(code 9207)"), "{}", err.message);
}

#[tokio::test]
async fn missing_objects_and_zones_answer_404_in_the_envelope() {
    let env = Env::start().await;
    let err = once(&env)
        .get(&format!("zones/{}/dns_records/{}", example_com(), "0".repeat(32)))
        .await
        .expect_err("no record");
    assert_eq!(err.class, ErrorClass::NotFound);
    assert!(err.message.contains("Record does not exist. (code 81044)"), "{}", err.message);
    let err = once(&env).get(&format!("zones/{}/dns_records", "f".repeat(32))).await.expect_err("no zone");
    assert_eq!(err.class, ErrorClass::NotFound);
    assert!(err.message.contains("(code 7003)"), "{}", err.message);
    let err = once(&env).get("no/such/route").await.expect_err("no route");
    assert!(err.message.contains("(code 7003)"), "{}", err.message);
}

#[tokio::test]
async fn objects_survive_a_restart_through_the_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cloudflare.json");
    let first = Emulator::open(Some(file.clone()), Settings::accepting(TOKEN)).expect("open");
    let running = first.serve(None).await.expect("serve");
    let client = Client::builder(&running.base_url).bearer_token(TOKEN).build().expect("client");
    let created = client
        .post(
            &format!("zones/{}/dns_records", example_com()),
            &json!({"type": "TXT", "name": "kept", "content": "v=1"}),
        )
        .await
        .expect("create");
    running.server.shutdown().await;

    let second = Emulator::open(Some(file), Settings::accepting(TOKEN)).expect("reopen");
    let dump = second.dump();
    let records = dump["records"].as_array().expect("records");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], created["result"]["id"]);
    assert_eq!(dump["zones"].as_array().map(Vec::len), Some(SEED_ZONES.len()), "seed zones not added twice");
}

#[tokio::test]
async fn fault_controls_over_http_and_zones_added_by_admin() {
    let env = Env::start().await;
    let admin = admin(&env);
    admin.post("__sim/faults", &json!({"fail_next": {"count": 1, "status": 503}})).await.expect("set fault");
    let err = once(&env).get("zones").await.expect_err("faulted");
    assert!(err.message.contains("HTTP 503"), "{}", err.message);
    once(&env).get("zones").await.expect("fault used up");

    admin.post("__sim/faults", &json!({"hang": true})).await.expect("hang");
    let err = once(&env).get("zones").await.expect_err("hangs");
    assert!(err.message.contains("timed out"), "{}", err.message);
    let status = admin.get("__sim/faults").await.expect("admin answers while the API hangs");
    assert!(status["requests"].as_u64().is_some_and(|n| n >= 3), "{status}");
    admin.delete("__sim/faults").await.expect("clear");
    once(&env).get("zones").await.expect("answers again");

    let err = admin.post("__sim/faults", &json!({"fail_nxt": 1})).await.expect_err("typo refused");
    assert!(err.message.contains("unknown field"), "{}", err.message);

    admin.post("__sim/zones", &json!({"name": "tarn.test"})).await.expect("add zone");
    let zones = env.api().zones_named("tarn.test").await.expect("list");
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0]["account"]["id"].as_str().map(str::len), Some(32));
}
