//! The HTTP side against the emulator: `page`/`per_page` with `X-Total-Count` and `Link` walked
//! over several pages, Scaleway's error types mapped to tarn's classes, tasks polled until they
//! succeed or time out, authentication refused without leaking the key, snapshots, faults.

use std::time::Duration;

use crate::common::{Env, KEY, ZONE};
use serde_json::json;
use tarn_provider_scaleway::Polling;
use tarn_provider_scaleway::emulator::{Emulator, Settings};
use tarn_sdk::http::{Client, Method};
use tarn_sdk::{ErrorClass, Provider, Value};

fn once(env: &Env) -> Client {
    Client::builder(&env.running.base_url)
        .secret_header("x-auth-token", KEY)
        .max_attempts(1)
        .request_timeout(Duration::from_secs(2))
        .build()
        .expect("client")
}

#[tokio::test]
async fn lists_walk_every_page_with_total_count_and_link_headers() {
    let env = Env::start().await;
    let c = once(&env);
    for i in 0..7 {
        c.post(
            &format!("instance/v1/zones/{ZONE}/volumes"),
            &json!({"name": format!("v{i}"), "volume_type": "b_ssd", "size": 1_000_000_000u64}),
        )
        .await
        .expect("create");
    }
    let first = c
        .request(Method::GET, &format!("instance/v1/zones/{ZONE}/volumes"))
        .query("per_page", 3)
        .send()
        .await
        .expect("page 1");
    let header = |name: &str| first.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("x-total-count"), "7");
    assert!(header("link").contains("page=2&per_page=3>; rel=\"next\""), "{}", header("link"));
    assert!(header("link").contains("page=3&per_page=3>; rel=\"last\""), "{}", header("link"));
    assert_eq!(first.body["volumes"].as_array().map(Vec::len), Some(3));

    let before = env.running.faults.requests();
    let all = env.api().page_size(3).volumes(ZONE, &[]).await.expect("list");
    assert_eq!(all.len(), 7);
    assert_eq!(env.running.faults.requests() - before, 3, "pages of 3, 3 and 1");
    let err = c.get(&format!("instance/v1/zones/{ZONE}/volumes?per_page=101")).await.expect_err("too many per page");
    assert!(err.message.contains("(invalid_arguments)") && err.message.contains("HTTP 400"), "{}", err.message);
}

#[tokio::test]
async fn error_types_become_classes_and_messages() {
    let env = Env::start().await;
    let c = once(&env);
    let missing = format!("instance/v1/zones/{ZONE}/servers/{}", uuid_like(9));
    let err = c.get(&missing).await.expect_err("no such server");
    assert_eq!(err.class, ErrorClass::NotFound);
    assert!(err.message.contains("resource is not found (not_found)"), "{}", err.message);
    let err = c.post(&format!("instance/v1/zones/{ZONE}/servers"), &json!({"name": "x"})).await.expect_err("no type");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("(invalid_arguments)"), "{}", err.message);
    let err = c.get("instance/v1/zones/mars-1/servers").await.expect_err("no such zone");
    assert!(err.message.contains("HTTP 400"), "{}", err.message);

    // A server busy starting answers transient_state, which tarn retries.
    let slow = Env::with(Settings { action_time: Duration::from_secs(30), ..Settings::default() }).await;
    let api = slow.api();
    let created = api
        .create_server(ZONE, &json!({"name": "dev-slow", "commercial_type": "DEV1-S", "image": "ubuntu_jammy"}))
        .await
        .expect("create");
    let slow_id = created["id"].as_str().expect("id").to_string();
    let path = format!("instance/v1/zones/{ZONE}/servers/{slow_id}/action");
    once(&slow).post(&path, &json!({"action": "poweron"})).await.expect("accepted");
    let err = api.action(ZONE, &slow_id, "poweroff").await.expect_err("busy");
    assert_eq!(err.class, ErrorClass::Transient, "{}", err.message);
    assert!(err.message.contains("(transient_state)"), "{}", err.message);
}

fn uuid_like(n: u8) -> String {
    format!("{n:08}-0000-4000-8000-000000000000")
}

#[tokio::test]
async fn actions_answer_202_and_their_task_is_polled_until_it_succeeds_or_times_out() {
    let env = Env::with(Settings { action_time: Duration::from_millis(300), ..Settings::default() }).await;
    let api = env.api();
    let created = api
        .create_server(ZONE, &json!({"name": "dev-p", "commercial_type": "DEV1-S", "image": "ubuntu_jammy"}))
        .await
        .expect("create");
    let id = created["id"].as_str().expect("id").to_string();
    let answer = once(&env)
        .request(Method::POST, &format!("instance/v1/zones/{ZONE}/servers/{id}/action"))
        .json(&json!({"action": "poweron"}))
        .send()
        .await
        .expect("poweron");
    assert_eq!(answer.status.as_u16(), 202);
    let location = answer.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let task_id = answer.body["task"]["id"].as_str().expect("task id").to_string();
    assert!(location.ends_with(&format!("/instance/v1/zones/{ZONE}/tasks/{task_id}")), "{location}");
    assert_eq!(answer.body["task"]["status"], "pending");
    api.wait_task(ZONE, &answer.body["task"], "poweron").await.expect("succeeds after the action time");
    assert_eq!(env.server(&id).await["state"], "running");

    let impatient = api.clone().polling(Polling {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_millis(100),
    });
    let err = impatient.action(ZONE, &id, "poweroff").await.expect_err("times out");
    assert!(err.message.contains("was still pending after 0.1s"), "{}", err.message);
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_denied_without_echoing_it() {
    let env = Env::with(Settings { secret_key: Some(KEY.into()), ..Settings::default() }).await;
    let wrong_key = "99999999-9999-4999-8999-999999999999";
    let wrong = Client::builder(&env.running.base_url)
        .secret_header("x-auth-token", wrong_key)
        .max_attempts(1)
        .build()
        .expect("client");
    let err = wrong.get(&format!("instance/v1/zones/{ZONE}/servers")).await.expect_err("refused");
    assert!(err.message.contains("HTTP 401") && err.message.contains("(denied_authentication)"), "{}", err.message);
    assert!(!err.message.contains(wrong_key), "the key never appears: {}", err.message);
    let api = tarn_provider_scaleway::Api::new(&env.running.base_url, wrong_key).expect("api");
    let err = api.servers(ZONE, &[]).await.expect_err("refused");
    assert!(err.message.contains("SCW_SECRET_KEY"), "says what to check: {}", err.message);
    let none = Client::builder(&env.running.base_url).max_attempts(1).build().expect("client");
    none.get(&format!("instance/v1/zones/{ZONE}/servers")).await.expect_err("no key");
    once(&env).get(&format!("instance/v1/zones/{ZONE}/servers")).await.expect("the right key");

    let p = tarn_provider_scaleway::ScalewayProvider::default();
    let config =
        Value::map([("secret_key", Value::string(" ")), ("api_url", Value::string(env.running.base_url.as_str()))]);
    let err = p.configure(config).await.expect_err("no key");
    assert!(err.message.contains("SCW_SECRET_KEY") && err.message.contains("--sandbox"), "{}", err.message);
    let config = Value::map([("secret_key", Value::string(KEY)), ("zone", Value::string("mars-1"))]);
    let err = p.configure(config).await.expect_err("bad zone");
    assert!(err.message.contains("not a Scaleway Instance zone"), "{}", err.message);
}

#[tokio::test]
async fn objects_survive_a_restart_and_faults_are_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("scaleway.json");
    let first = Emulator::open(Some(file.clone()), Settings::default()).expect("open");
    let running = first.serve(None).await.expect("serve");
    let client = Client::builder(&running.base_url).secret_header("x-auth-token", KEY).build().expect("client");
    let created =
        client.post(&format!("instance/v1/zones/{ZONE}/ips"), &json!({"tags": ["kept"]})).await.expect("reserve");
    running.server.shutdown().await;
    let second = Emulator::open(Some(file), Settings::default()).expect("reopen");
    let dump = second.dump();
    assert_eq!(dump["ips"].as_array().map(Vec::len), Some(1));
    assert_eq!(dump["ips"][0]["address"], created["ip"]["address"], "same address after the restart");

    let env = Env::start().await;
    env.running.faults.fail_next(2, 503, json!({"type": "internal_error", "message": "busy"}));
    let before = env.running.faults.requests();
    env.api().ips(ZONE, &[]).await.expect("third attempt succeeds");
    assert_eq!(env.running.faults.requests() - before, 3);
}
