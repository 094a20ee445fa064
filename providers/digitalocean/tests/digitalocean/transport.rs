//! The HTTP side against the emulator: `links.pages` walked over several pages, errors mapped
//! to classes with DigitalOcean's `{id, message}`, 429 with `retry-after` honoured (injected,
//! and the emulator's own burst limit), the `ratelimit-*` headers, actions waited for until
//! they time out, authentication, configuration, snapshots.

use std::time::{Duration, Instant};

use crate::common::{Env, TOKEN, create, s};
use crate::droplet::planned;
use serde_json::json;
use tarn_provider_digitalocean::emulator::{Emulator, Settings};
use tarn_provider_digitalocean::{DigitalOceanProvider, Polling};
use tarn_sdk::http::{Client, Method, RetryPolicy};
use tarn_sdk::{ErrorClass, Provider, Value};

#[tokio::test]
async fn lists_follow_links_pages_next_until_meta_total() {
    let env = Env::start().await;
    let c = env.once();
    for i in 0..7 {
        c.post("v2/tags", &json!({"name": format!("t{i}")})).await.expect("create tag");
    }
    let first = c.request(Method::GET, "v2/tags").query("per_page", 3).send().await.expect("page 1");
    assert_eq!(first.body["meta"]["total"], 7);
    let next = first.body["links"]["pages"]["next"].as_str().expect("next link").to_string();
    assert!(next.starts_with(&env.running.base_url) && next.ends_with("/v2/tags?page=2&per_page=3"), "{next}");
    assert!(first.body["links"]["pages"].get("prev").is_none(), "no prev on the first page");
    let last = c.get(&format!("{}/v2/tags?page=3&per_page=3", env.running.base_url)).await.expect("page 3");
    assert_eq!(last["tags"].as_array().map(Vec::len), Some(1));
    assert!(last["links"]["pages"].get("next").is_none() && last["links"]["pages"]["prev"].is_string());

    let before = env.running.faults.requests();
    let all = env.api().page_size(3).tags().await.expect("list");
    assert_eq!(all.len(), 7);
    assert_eq!(env.running.faults.requests() - before, 3, "pages of 3, 3 and 1");
    let err = c.get("v2/tags?per_page=201").await.expect_err("too many per page");
    assert!(err.message.contains("HTTP 400") && err.message.contains("(bad_request)"), "{}", err.message);
}

#[tokio::test]
async fn errors_carry_the_api_message_and_id_and_become_classes() {
    let env = Env::start().await;
    let c = env.once();
    let err = c.get("v2/droplets/12345").await.expect_err("no such droplet");
    assert_eq!(err.class, ErrorClass::NotFound);
    assert!(err.message.contains("could not be found. (not_found)"), "{}", err.message);
    let body = json!({"name": "x", "region": "mars1", "size": "s-1vcpu-1gb", "image": "debian-12-x64"});
    let err = env.api().create_droplet(&body).await.expect_err("no such region");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("HTTP 422") && err.message.contains("mars1"), "{}", err.message);
    let p = env.provider();
    let err = p
        .create(tarn_sdk::CreateRequest {
            type_name: "digitalocean_droplet".into(),
            planned: planned("bad_name"),
            correlation: "c".into(),
        })
        .await
        .expect_err("underscore");
    assert!(err.message.contains("valid hostname characters"), "{}", err.message);
    let err = p.create(tarn_sdk::CreateRequest {
        type_name: "digitalocean_nothing".into(),
        planned: Value::Null,
        correlation: "c".into(),
    });
    assert!(err.await.expect_err("unknown type").message.contains("no resource type"));

    // An action on a droplet still being created is refused by the API, and said so.
    let slow = Env::with(Settings { action_time: Duration::from_secs(30), ..Settings::default() }).await;
    let (droplet, _) = slow
        .api()
        .create_droplet(&json!({"name": "busy", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}))
        .await
        .expect("create");
    let id = droplet["id"].to_string();
    let err = slow.api().droplet_action(&id, &json!({"type": "power_off"})).await.expect_err("pending event");
    assert!(err.message.contains("pending event"), "{}", err.message);
    assert_eq!(err.class, ErrorClass::Transient, "the engine retries it once the other action is done");
}

#[tokio::test]
async fn a_create_action_that_outlasts_action_timeout_leaves_a_partially_created_droplet() {
    let env = Env::with(Settings { action_time: Duration::from_secs(30), ..Settings::default() }).await;
    let api = env.api().polling(Polling {
        interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_millis(150),
    });
    let p = DigitalOceanProvider::with_api(api);
    let err = p
        .create(tarn_sdk::CreateRequest {
            type_name: "digitalocean_droplet".into(),
            planned: planned("slow"),
            correlation: "c".into(),
        })
        .await
        .expect_err("times out");
    assert_eq!(err.class, ErrorClass::PartiallyCreated);
    assert!(err.message.contains("was still in progress after 0.15s"), "{}", err.message);
    let partial = err.partial.expect("the droplet's state, to record");
    assert_eq!(env.droplet(&s(&partial, "id")).await["status"], "new");
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_the_burst_limit_answers_one() {
    let env = Env::start().await;
    env.running.faults.throttle_next(
        1,
        Some("1"),
        json!({"id": "too_many_requests", "message": "API Rate limit exceeded."}),
    );
    let started = Instant::now();
    let before = env.running.faults.requests();
    env.api().tags().await.expect("the second attempt succeeds");
    assert!(started.elapsed() >= Duration::from_millis(900), "retry-after: 1 was honoured ({:?})", started.elapsed());
    assert_eq!(env.running.faults.requests() - before, 2);

    // The emulator's own limits: 3 requests per 3 seconds here instead of 250 per minute.
    let tight = Env::with(Settings { per_minute: 3, minute: Duration::from_secs(3), ..Settings::default() }).await;
    let c = tight.once();
    let answer = c.request(Method::GET, "v2/tags").send().await.expect("first");
    let header = |r: &tarn_sdk::http::Response, name: &str| {
        r.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    };
    assert_eq!(header(&answer, "ratelimit-limit").as_deref(), Some("5000"));
    assert_eq!(header(&answer, "ratelimit-remaining").as_deref(), Some("4999"));
    assert!(header(&answer, "ratelimit-reset").and_then(|r| r.parse::<u64>().ok()).is_some_and(|r| r > 1_700_000_000));
    c.get("v2/tags").await.expect("second");
    c.get("v2/tags").await.expect("third");
    let err = c.get("v2/tags").await.expect_err("over the burst limit");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("HTTP 429") && err.message.contains("API Rate limit exceeded"), "{}", err.message);
    let (status, retry_after) = raw_get(&tight).await;
    assert_eq!(status, 429);
    let secs = retry_after.and_then(|r| r.parse::<u64>().ok()).expect("retry-after on a burst-limit 429");
    assert!((1..=3).contains(&secs), "retry-after names the seconds left in the burst window: {secs}");
    // With retries, the client waits the burst window out.
    let patient = Client::builder(&tight.running.base_url)
        .bearer_token(TOKEN)
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_server_wait: Duration::from_secs(5),
        })
        .build()
        .expect("client");
    patient.get("v2/tags").await.expect("after retry-after");
}

/// A GET over a bare socket, for the status and the `retry-after` header of an answer the
/// toolkit client would only report as an error.
async fn raw_get(env: &Env) -> (u16, Option<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = env.running.server.addr();
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request =
        format!("GET /v2/tags HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut text = String::new();
    stream.read_to_string(&mut text).await.expect("read");
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let retry =
        text.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().to_string()));
    (status, retry)
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_with_a_hint_and_never_echoed() {
    let env = Env::with(Settings { token: Some(TOKEN.into()), ..Settings::default() }).await;
    let wrong = "dop_v1_0000000000000000000000000000000000000000000000000000000000000000";
    let api = tarn_provider_digitalocean::Api::new(&env.running.base_url, wrong).expect("api");
    let err = api.droplets(&[]).await.expect_err("refused");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("HTTP 401") && err.message.contains("(unauthorized)"), "{}", err.message);
    assert!(err.message.contains("DIGITALOCEAN_TOKEN"), "says what to check: {}", err.message);
    assert!(!err.message.contains(wrong), "the token never appears: {}", err.message);
    let none = Client::builder(&env.running.base_url).max_attempts(1).build().expect("client");
    none.get("v2/droplets").await.expect_err("no token");
    env.once().get("v2/droplets").await.expect("the right token");

    let p = DigitalOceanProvider::default();
    let config = Value::map([("token", Value::string(" ")), ("api_url", Value::string(env.running.base_url.as_str()))]);
    let err = p.configure(config).await.expect_err("no token");
    assert!(err.message.contains("DIGITALOCEAN_TOKEN") && err.message.contains("--sandbox"), "{}", err.message);
    let config = Value::map([("token", Value::string(TOKEN)), ("action_timeout", Value::number(-1.0))]);
    assert!(p.configure(config).await.expect_err("bad timeout").message.contains("action_timeout"));
    let config = Value::map([
        ("token", Value::string(TOKEN).sensitive()),
        ("api_url", Value::string(env.running.base_url.as_str())),
        ("action_timeout", Value::number(5.0)),
    ]);
    p.configure(config).await.expect("configured");
    let created =
        create(&p, "digitalocean_tag", Value::map([("name", Value::string("ok")), ("id", Value::Unknown)]), "c").await;
    assert_eq!(s(&created, "id"), "ok");
}

#[tokio::test]
async fn objects_and_the_address_pool_survive_a_restart_and_faults_are_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("digitalocean.json");
    let first = Emulator::open(Some(file.clone()), Settings::default()).expect("open");
    first.set_droplet_addresses(vec!["127.0.0.1".into()]);
    let running = first.serve(None).await.expect("serve");
    let client = Client::builder(&running.base_url).bearer_token(TOKEN).build().expect("client");
    let created = client
        .post(
            "v2/droplets",
            &json!({"name": "kept", "region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}),
        )
        .await
        .expect("create");
    running.server.shutdown().await;
    let second = Emulator::open(Some(file), Settings::default()).expect("reopen");
    let dump = second.dump();
    assert_eq!(dump["droplets"][0]["id"], created["droplet"]["id"], "same droplet after the restart");
    assert_eq!(dump["droplets"][0]["public_v4"], "127.0.0.1");
    assert_eq!(second.droplet_addresses(), ["127.0.0.1"]);
    let running = second.serve(None).await.expect("serve again");
    let client = Client::builder(&running.base_url).bearer_token(TOKEN).build().expect("client");
    let next = client
        .post(
            "v2/droplets",
            &json!({"name": "next", "region": "ams3", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}),
        )
        .await
        .expect("create");
    assert_ne!(next["droplet"]["id"], created["droplet"]["id"], "ids are not given out twice after a restart");

    let env = Env::start().await;
    env.running.faults.fail_next(2, 503, json!({"id": "server_error", "message": "busy"}));
    let before = env.running.faults.requests();
    env.api().droplets(&[]).await.expect("third attempt succeeds");
    assert_eq!(env.running.faults.requests() - before, 3);
}
