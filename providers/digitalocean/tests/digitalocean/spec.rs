//! The emulator's answers against the vendor's OpenAPI files: every emulated operation is
//! driven (successes and failures), every answer is recorded on the way out and validated
//! against the response schema of its operation and status. The specs are read from `specs/`
//! at the root of the repository: `digitalocean-v2.subset.yaml` (a byte-identical copy of
//! `../shared/specs/`) and `digitalocean-v2.ssh-keys.extract.yaml` (the SSH key operations,
//! extracted from DigitalOcean's own OpenAPI as `specs/README.md` says), which serves
//! `/v2/account/keys`.
//!
//! Both files declare error answers (401, 404, 429, 500 and `default`) with the error body
//! `{id, message, request_id}`, so nothing is folded in: the checker reads them as they are.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::TOKEN;
use serde_json::{Value as Json, json};
use tarn_provider_digitalocean::emulator::{Emulator, Settings};
use tarn_sdk::http::{Client, Method};
use tarn_sdk::sim::SimServer;
use tarn_sdk::sim::spec::{Exchange, OpenApi, Recorder};

const KEYS_PREFIX: &str = "/v2/account/keys";

fn spec(file: &str) -> OpenApi {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs").join(file);
    assert!(path.exists(), "the vendor spec is missing at {}", path.display());
    OpenApi::load(&path).expect("load the spec")
}

/// Checks `exchanges` against `spec`: every answer valid, every operation answered successfully.
fn check(spec: &OpenApi, exchanges: &[Exchange]) -> usize {
    let report = spec.check_all(exchanges);
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "answers that do not match the spec:\n{}", failures.join("\n\n"));
    let uncovered = spec.uncovered(&report);
    assert_eq!(uncovered, Vec::<(String, String)>::new(), "operations never exercised successfully");
    report.checked.iter().filter(|(_, _, s)| *s >= 400).count()
}

async fn until_completed(c: &Client, action: &Json) {
    let id = action["id"].as_u64().expect("action id");
    for _ in 0..300 {
        let a = c.get(&format!("v2/actions/{id}")).await.expect("action");
        if a["action"]["status"] == "completed" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("action {id} never completed");
}

const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq3mTZ0f0c4o1y4v1mR0n8bq6Xo2fYV6m1cQw9Zs8Tj spec@test";

#[tokio::test]
async fn every_emulated_operation_answers_as_the_vendor_specs_say() {
    let subset = spec("digitalocean-v2.subset.yaml");
    let keys = spec("digitalocean-v2.ssh-keys.extract.yaml");
    let recorder = Recorder::default();
    let emulator = Emulator::new(Settings { action_time: Duration::from_millis(50), ..Settings::default() });
    let server = SimServer::start(recorder.wrap(emulator.router())).await.expect("serve");
    let c = Client::builder(server.url()).bearer_token(TOKEN).max_attempts(1).build().expect("client");

    // SSH keys.
    let key =
        c.post("v2/account/keys", &json!({"name": "spec", "public_key": PUBLIC_KEY})).await.expect("key")["ssh_key"]
            .clone();
    let key_id = key["id"].as_u64().expect("key id");
    let fingerprint = key["fingerprint"].as_str().expect("fingerprint").to_string();
    c.get("v2/account/keys?per_page=1").await.expect("keys");
    c.get(&format!("v2/account/keys/{fingerprint}")).await.expect("key by fingerprint");
    c.put(&format!("v2/account/keys/{key_id}"), &json!({"name": "spec-2"})).await.expect("rename key");
    let _ = c.get("v2/account/keys/1").await.expect_err("no such key");
    let _ = c.post("v2/account/keys", &json!({"name": "x", "public_key": "nonsense"})).await.expect_err("bad key");

    // Droplets and actions.
    let create = json!({"name": "spec-1", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "ubuntu-24-04-x64",
        "ssh_keys": [key_id], "tags": ["spec"], "ipv6": true, "monitoring": true, "user_data": "#cloud-config\n"});
    let created = c.post("v2/droplets", &create).await.expect("create droplet");
    let id = created["droplet"]["id"].as_u64().expect("id");
    let create_action = created["links"]["actions"][0].clone();
    until_completed(&c, &create_action).await;
    c.get("v2/droplets?tag_name=spec&per_page=1").await.expect("list droplets");
    c.get(&format!("v2/droplets/{id}")).await.expect("droplet");
    c.get(&format!("v2/droplets/{id}/actions")).await.expect("droplet actions");
    let off = c.post(&format!("v2/droplets/{id}/actions"), &json!({"type": "power_off"})).await.expect("power off");
    let _ =
        c.post(&format!("v2/droplets/{id}/actions"), &json!({"type": "power_on"})).await.expect_err("pending event");
    c.get(&format!("v2/droplets/{id}/actions/{}", off["action"]["id"])).await.expect("droplet action");
    until_completed(&c, &off["action"]).await;
    let resize = json!({"type": "resize", "size": "s-2vcpu-2gb", "disk": false});
    let resize = c.post(&format!("v2/droplets/{id}/actions"), &resize).await.expect("resize");
    until_completed(&c, &resize["action"]).await;
    let on = c.post("v2/droplets/actions?tag_name=spec", &json!({"type": "power_on"})).await.expect("tagged power on");
    until_completed(&c, &on["actions"][0]).await;
    let _ = c.get("v2/droplets/42").await.expect_err("no such droplet");
    let _ = c
        .post(
            "v2/droplets",
            &json!({"name": "x", "region": "nowhere", "size": "s-1vcpu-1gb", "image": "debian-12-x64"}),
        )
        .await
        .expect_err("region");
    let _ = c.get("v2/actions/42").await.expect_err("no such action");

    // Domains and records.
    c.post("v2/domains", &json!({"name": "spec.example", "ip_address": "203.0.113.5"})).await.expect("domain");
    c.get("v2/domains").await.expect("domains");
    c.get("v2/domains/spec.example").await.expect("domain");
    let record = c
        .post(
            "v2/domains/spec.example/records",
            &json!({"type": "MX", "name": "@", "data": "mx.spec.example.", "priority": 10, "ttl": 600}),
        )
        .await
        .expect("record");
    let rid = record["domain_record"]["id"].as_u64().expect("record id");
    c.get("v2/domains/spec.example/records?type=NS&name=spec.example").await.expect("records");
    c.get(&format!("v2/domains/spec.example/records/{rid}")).await.expect("record");
    c.patch(&format!("v2/domains/spec.example/records/{rid}"), &json!({"priority": 20})).await.expect("patch record");
    c.put(
        &format!("v2/domains/spec.example/records/{rid}"),
        &json!({"type": "MX", "name": "@", "data": "mx2.spec.example.", "priority": 5}),
    )
    .await
    .expect("put record");
    let _ = c
        .post("v2/domains/spec.example/records", &json!({"type": "AAAA", "name": "x", "data": "1.2.3.4"}))
        .await
        .expect_err("bad AAAA");
    c.delete(&format!("v2/domains/spec.example/records/{rid}")).await.expect("delete record");
    let _ = c.get("v2/domains/nowhere.example").await.expect_err("no such domain");

    // Load balancers.
    let lb = json!({"name": "spec-lb", "region": "nyc3", "droplet_ids": [id],
        "forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 8080}],
        "health_check": {"protocol": "http", "port": 8080, "path": "/"}});
    let lb = c.post("v2/load_balancers", &lb).await.expect("lb")["load_balancer"].clone();
    let lb_id = lb["id"].as_str().expect("lb id").to_string();
    c.get("v2/load_balancers").await.expect("lbs");
    c.get(&format!("v2/load_balancers/{lb_id}")).await.expect("lb");
    let put = json!({"name": "spec-lb", "region": "nyc3", "tag": "spec",
        "forwarding_rules": [{"entry_protocol": "tcp", "entry_port": 22, "target_protocol": "tcp", "target_port": 22}]});
    c.put(&format!("v2/load_balancers/{lb_id}"), &put).await.expect("put lb");
    let _ = c
        .post(&format!("v2/load_balancers/{lb_id}/droplets"), &json!({"droplet_ids": [id]}))
        .await
        .expect_err("by tag");
    c.put(&format!("v2/load_balancers/{lb_id}"), &json!({"name": "spec-lb", "region": "nyc3",
        "forwarding_rules": [{"entry_protocol": "tcp", "entry_port": 22, "target_protocol": "tcp", "target_port": 22}]})).await.expect("put lb");
    c.post(&format!("v2/load_balancers/{lb_id}/droplets"), &json!({"droplet_ids": [id]})).await.expect("add droplet");
    c.request(Method::DELETE, &format!("v2/load_balancers/{lb_id}/droplets"))
        .json(&json!({"droplet_ids": [id]}))
        .send()
        .await
        .expect("remove droplet");
    let rule = json!({"forwarding_rules": [{"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}]});
    c.post(&format!("v2/load_balancers/{lb_id}/forwarding_rules"), &rule).await.expect("add rule");
    c.request(Method::DELETE, &format!("v2/load_balancers/{lb_id}/forwarding_rules"))
        .json(&rule)
        .send()
        .await
        .expect("remove rule");
    c.delete(&format!("v2/load_balancers/{lb_id}")).await.expect("delete lb");

    // Tags.
    c.post("v2/tags", &json!({"name": "extra"})).await.expect("tag");
    c.get("v2/tags").await.expect("tags");
    c.get("v2/tags/extra").await.expect("tag");
    let resources = json!({"resources": [{"resource_id": id.to_string(), "resource_type": "droplet"}]});
    c.post("v2/tags/extra/resources", &resources).await.expect("tag resources");
    c.request(Method::DELETE, "v2/tags/extra/resources").json(&resources).send().await.expect("untag");
    c.delete("v2/tags/extra").await.expect("delete tag");
    let _ = c.get("v2/tags/extra").await.expect_err("gone");

    // Deletes, faults, authentication.
    c.delete(&format!("v2/droplets/{id}")).await.expect("delete droplet");
    c.post(
        "v2/droplets",
        &json!({"name": "spec-2", "region": "nyc3", "size": "s-1vcpu-1gb", "image": "debian-12-x64", "tags": ["bulk"]}),
    )
    .await
    .expect("create");
    c.request(Method::DELETE, "v2/droplets").query("tag_name", "bulk").send().await.expect("delete tagged");
    c.delete("v2/domains/spec.example").await.expect("delete domain");
    c.delete(&format!("v2/account/keys/{key_id}")).await.expect("delete key");
    emulator.faults().throttle_next(1, Some("1"), tarn_provider_digitalocean::emulator::fault_bodies().throttled);
    let _ = c.get("v2/tags").await.expect_err("throttled");
    emulator.faults().fail_next(1, 500, tarn_provider_digitalocean::emulator::fault_bodies().server_error);
    let _ = c.get("v2/droplets").await.expect_err("server error");
    let anonymous = Client::builder(server.url()).max_attempts(1).build().expect("client");
    let _ = anonymous.get("v2/droplets").await.expect_err("no token");
    let _ = anonymous.get("v2/account/keys").await.expect_err("no token");

    let exchanges = recorder.exchanges();
    let (of_keys, others): (Vec<Exchange>, Vec<Exchange>) =
        exchanges.iter().cloned().partition(|e| e.path.starts_with(KEYS_PREFIX));
    let errors = check(&subset, &others) + check(&keys, &of_keys);
    assert!(errors >= 12, "error answers were checked too ({errors})");
    for e in exchanges.iter().filter(|e| e.status >= 400) {
        assert!(e.body["id"].is_string() && e.body["message"].is_string(), "{} {}: {}", e.method, e.path, e.body);
    }
}

#[test]
fn the_checker_catches_an_answer_that_breaks_the_spec() {
    let subset = spec("digitalocean-v2.subset.yaml");
    let exchange =
        |status: u16, body: Json| Exchange { method: "GET".into(), path: "/v2/actions/7".into(), status, body };
    let err =
        subset.check(&exchange(200, json!({"action": {"id": 7, "status": "sleeping"}}))).expect_err("no such status");
    assert!(err.to_string().contains("sleeping"), "{err}");
    let err = subset.check(&exchange(404, json!({"message": "gone"}))).expect_err("no id");
    assert!(err.to_string().contains("id"), "{err}");
    subset.check(&exchange(404, json!({"id": "not_found", "message": "gone"}))).expect("the error body");
}
