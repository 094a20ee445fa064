//! The emulator's answers against the vendor's OpenAPI file: every emulated operation is driven
//! (successes and failures), every answer is recorded on the way out and validated against the
//! response schema of its operation and status. The spec is read from `specs/` at the root of
//! the repository (a byte-identical copy of `../shared/specs/scaleway-instance-v1.subset.yaml`).
//!
//! The vendor file declares success answers only. What it lacks, its own `x-observed-behaviour`
//! block records, and the checker is given exactly that, taken from the block, before loading:
//! an error answer (every status >= 400) must be the observed error body (`message` and `type`,
//! the type one the block lists, the optional fields typed as listed); actions answer 202 (the
//! file says 200) with the same body; and `GET /tasks/{id}`, which the file omits but the
//! observed `Location` header names, answers `{"task": Task}` with the file's own Task schema.
//! The snapshot operations the subset lacks (`GET`/`DELETE /snapshots/{id}`, an image's
//! snapshots) are taken, with their schemas, from the full vendor file beside it.

use std::path::PathBuf;

use crate::common::{KEY, ZONE};
use serde_json::{Value as Json, json};
use tarn_provider_scaleway::emulator::{Emulator, Settings};
use tarn_sdk::http::{Client, Method};
use tarn_sdk::sim::SimServer;
use tarn_sdk::sim::spec::{OpenApi, Recorder};

fn spec_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs").join(name);
    assert!(path.exists(), "the vendor spec is missing at {}", path.display());
    path
}

/// The snapshot operations the subset lacks, from the full vendor file, with the schemas they
/// use (an image's snapshots are read and deleted there).
fn fold_snapshots(doc: &mut Json) {
    let text = std::fs::read_to_string(spec_path("scaleway-instance-v1.full.yaml")).expect("read the full spec");
    let full: Json = serde_yaml::from_str(&text).expect("parse the full spec");
    let mut item = full["paths"]["/instance/v1/zones/{zone}/snapshots/{snapshot_id}"].clone();
    let item_map = item.as_object_mut().expect("the snapshot path");
    item_map.retain(|method, _| method == "get" || method == "delete" || method == "parameters");
    doc["paths"]
        .as_object_mut()
        .expect("paths")
        .insert("/instance/v1/zones/{zone}/snapshots/{snapshot_id}".into(), item);
    let ours = doc["components"]["schemas"].as_object_mut().expect("schemas");
    for (name, schema) in full["components"]["schemas"].as_object().expect("full schemas") {
        ours.entry(name.clone()).or_insert_with(|| schema.clone());
    }
}

/// The vendor document with its `x-observed-behaviour` folded in (see the module header).
pub fn observed_spec(dir: &tempfile::TempDir) -> OpenApi {
    let text = std::fs::read_to_string(spec_path("scaleway-instance-v1.subset.yaml")).expect("read the spec");
    let mut doc: Json = serde_yaml::from_str(&text).expect("parse the spec");
    fold_snapshots(&mut doc);
    let observed = doc["x-observed-behaviour"]["error_body"].clone();
    let mut types: Vec<Json> = observed["types"].as_object().expect("error types").keys().map(|k| json!(k)).collect();
    // The block's rate-limit note lets a 429 carry any type; the emulator names it so.
    types.push(json!("too_many_requests"));
    let common = observed["common_fields"].as_object().expect("common fields");
    assert!(
        ["message", "type", "resource", "resource_id", "fields", "details"].iter().all(|k| common.contains_key(*k))
    );
    let error = json!({"content": {"application/json": {"schema": {
        "type": "object",
        "required": ["message", "type"],
        "properties": {
            "message": {"type": "string"},
            "type": {"enum": types},
            "resource": {"type": "string"},
            "resource_id": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "details": {"type": "array"},
            "current_state": {"type": "string"},
            "method": {"enum": ["unknown_method", "jwt", "api_key"]},
            "reason": {"enum": ["unknown_reason", "invalid_argument", "not_found", "expired"]}
        }
    }}}});
    let paths = doc["paths"].as_object_mut().expect("paths");
    for item in paths.values_mut() {
        for op in item.as_object_mut().expect("path item").values_mut() {
            if let Some(responses) = op.get_mut("responses").and_then(Json::as_object_mut) {
                responses.insert("4XX".into(), error.clone());
            }
        }
    }
    let action = &mut paths["/instance/v1/zones/{zone}/servers/{server_id}/action"]["post"]["responses"];
    action["202"] = action["200"].clone();
    paths.insert(
        "/instance/v1/zones/{zone}/tasks/{task_id}".into(),
        json!({"get": {"responses": {
            "200": {"content": {"application/json": {"schema": {"type": "object", "required": ["task"],
                "properties": {"task": {"$ref": "#/components/schemas/scaleway.instance.v1.Task"}}}}}},
            "4XX": error,
        }}}),
    );
    let file = dir.path().join("scaleway-observed.json");
    std::fs::write(&file, serde_json::to_vec(&doc).expect("encode")).expect("write");
    OpenApi::load(&file).expect("load the spec")
}

/// The operations of the vendor file the emulator does not serve yet (the module header of
/// `emulator` says why); everything else must be exercised successfully.
const NOT_EMULATED: &[(&str, &str)] = &[
    ("POST", "/instance/v1/zones/{zone}/servers/{server_id}/attach-volume"),
    ("POST", "/instance/v1/zones/{zone}/servers/{server_id}/detach-volume"),
    ("POST", "/instance/v1/zones/{zone}/images"),
];

async fn wait_until(c: &Client, server: &str, state: &str) {
    for _ in 0..200 {
        let s = c.get(server).await.expect("server");
        if s["server"]["state"] == state {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{server} never reached {state}");
}

#[tokio::test]
async fn every_emulated_operation_answers_as_the_spec_and_its_observed_behaviour_say() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = observed_spec(&dir);
    let recorder = Recorder::default();
    let emulator =
        Emulator::new(Settings { action_time: std::time::Duration::from_millis(300), ..Settings::default() });
    let server = SimServer::start(recorder.wrap(emulator.router())).await.expect("serve");
    let c = Client::builder(server.url()).secret_header("x-auth-token", KEY).max_attempts(1).build().expect("client");
    let z = format!("instance/v1/zones/{ZONE}");

    // Catalogue.
    c.get(&format!("{z}/products/servers?per_page=2&page=2")).await.expect("server types");
    let images = c.get(&format!("{z}/images?name=Ubuntu")).await.expect("images");
    let image = images["images"][0]["id"].as_str().expect("image id").to_string();
    c.get(&format!("{z}/images/{image}")).await.expect("image");
    let _ =
        c.get(&format!("{z}/images/{}", "0".repeat(8) + "-0000-4000-8000-000000000000")).await.expect_err("no image");

    // Volumes and IPs.
    let vol = c
        .post(&format!("{z}/volumes"), &json!({"name": "d", "volume_type": "l_ssd", "size": 10_000_000_000u64}))
        .await
        .expect("volume");
    let vol_path = format!("{z}/volumes/{}", vol["volume"]["id"].as_str().expect("id"));
    c.get(&vol_path).await.expect("volume details");
    c.patch(&vol_path, &json!({"name": "d2"})).await.expect("rename volume");
    let _ = c.patch(&vol_path, &json!({"size": 20_000_000_000u64})).await.expect_err("local size fixed");
    c.get(&format!("{z}/volumes?per_page=1")).await.expect("list volumes");
    let _ = c.post(&format!("{z}/volumes"), &json!({"volume_type": "l_ssd", "size": 7})).await.expect_err("bad size");
    let ip = c.post(&format!("{z}/ips"), &json!({"tags": ["t"]})).await.expect("ip");
    let ip_path = format!("{z}/ips/{}", ip["ip"]["id"].as_str().expect("ip id"));
    c.get(&ip_path).await.expect("ip details");
    c.get(&format!("{z}/ips?tags=t")).await.expect("list ips");

    // Servers: create, details, list, update, actions, tasks, user data, delete.
    let created = c
        .post(
            &format!("{z}/servers"),
            &json!({"name": "dev-spec", "commercial_type": "DEV1-S", "image": "ubuntu_jammy", "tags": ["a"]}),
        )
        .await
        .expect("create server");
    let id = created["server"]["id"].as_str().expect("server id").to_string();
    let srv = format!("{z}/servers/{id}");
    let _ = c.post(&format!("{z}/servers"), &json!({"name": "x"})).await.expect_err("no commercial type");
    let _ = c
        .post(&format!("{z}/servers"), &json!({"name": "x", "commercial_type": "DEV1-S", "image": "ubuntu_jammy", "volumes": {"0": {"size": 50_000_000_000u64, "volume_type": "l_ssd"}}}))
        .await
        .expect_err("too much local storage");
    c.get(&srv).await.expect("server details");
    c.get(&format!("{z}/servers?name=dev&per_page=5")).await.expect("list servers");
    c.patch(&srv, &json!({"name": "dev-spec-2", "public_ips": [ip["ip"]["id"]]})).await.expect("update server");
    c.patch(&ip_path, &json!({"server": null, "reverse": "x.example.com"})).await.expect("detach ip");
    c.request(Method::PATCH, &format!("{srv}/user_data/cloud-init"))
        .text("#cloud-config", "text/plain")
        .send()
        .await
        .expect("set user data");
    c.get(&format!("{srv}/user_data")).await.expect("user data keys");
    c.get(&format!("{srv}/user_data/cloud-init")).await.expect("user data value");
    c.delete(&format!("{srv}/user_data/cloud-init")).await.expect("delete user data");
    c.get(&format!("{srv}/action")).await.expect("allowed actions");
    let task = c.post(&format!("{srv}/action"), &json!({"action": "poweron"})).await.expect("poweron");
    let _ = c.post(&format!("{srv}/action"), &json!({"action": "poweroff"})).await.expect_err("busy starting");
    c.get(&format!("{z}/tasks/{}", task["task"]["id"].as_str().expect("task id"))).await.expect("task");
    wait_until(&c, &srv, "running").await;
    // A backup: an image and its snapshots; the image renamed, deleted, then its snapshots.
    let backup =
        c.post(&format!("{srv}/action"), &json!({"action": "backup", "name": "dev-spec-image"})).await.expect("backup");
    let image_path = format!("{z}{}", backup["task"]["href_result"].as_str().expect("the task names the image"));
    let creating = c.get(&image_path).await.expect("image details");
    assert_eq!(creating["image"]["state"], "creating");
    c.get(&format!("{z}/tasks/{}", backup["task"]["id"].as_str().expect("task id"))).await.expect("backup task");
    c.patch(&image_path, &json!({"name": "dev-spec-image-2", "tags": ["kept"]})).await.expect("rename image");
    c.get(&format!("{z}/images?tags=kept&public=false")).await.expect("list private images");
    let snapshot =
        format!("{z}/snapshots/{}", creating["image"]["root_volume"]["id"].as_str().expect("root snapshot id"));
    c.get(&snapshot).await.expect("snapshot details");
    let _ = c.delete(&snapshot).await.expect_err("used by the image");
    let _ = c.delete(&format!("{z}/images/{image}")).await.expect_err("a public image stays");
    c.delete(&image_path).await.expect("delete image");
    c.delete(&snapshot).await.expect("delete snapshot");
    let _ = c.get(&snapshot).await.expect_err("deleted snapshot");
    let _ = c.delete(&srv).await.expect_err("running");
    let _ = c.patch(&srv, &json!({"commercial_type": "DEV1-M"})).await.expect_err("type change while running");
    c.post(&format!("{srv}/action"), &json!({"action": "poweroff"})).await.expect("poweroff");
    wait_until(&c, &srv, "stopped").await;
    c.delete(&srv).await.expect("delete server");
    let _ = c.get(&srv).await.expect_err("deleted server");
    c.delete(&vol_path).await.expect("delete volume");
    c.delete(&ip_path).await.expect("release ip");
    let _ = c.get(&ip_path).await.expect_err("released ip");

    // Security groups and rules.
    let sg = c
        .post(
            &format!("{z}/security_groups"),
            &json!({"name": "web", "inbound_default_policy": "drop", "stateful": true}),
        )
        .await
        .expect("create group");
    let sg_path = format!("{z}/security_groups/{}", sg["security_group"]["id"].as_str().expect("group id"));
    c.get(&sg_path).await.expect("group details");
    c.get(&format!("{z}/security_groups?name=web")).await.expect("list groups");
    c.patch(&sg_path, &json!({"description": "the web tier"})).await.expect("update group");
    c.put(&sg_path, &json!({"name": "web", "outbound_default_policy": "drop"})).await.expect("set group");
    let rule = c
        .post(&format!("{sg_path}/rules"), &json!({"protocol": "TCP", "direction": "inbound", "action": "accept", "ip_range": "0.0.0.0/0", "dest_port_from": 22}))
        .await
        .expect("create rule");
    let rule_path = format!("{sg_path}/rules/{}", rule["rule"]["id"].as_str().expect("rule id"));
    let _ = c
        .post(
            &format!("{sg_path}/rules"),
            &json!({"protocol": "TCP", "direction": "sideways", "action": "accept", "ip_range": "0.0.0.0/0"}),
        )
        .await
        .expect_err("bad direction");
    c.get(&rule_path).await.expect("rule details");
    c.get(&format!("{sg_path}/rules")).await.expect("list rules");
    c.patch(&rule_path, &json!({"dest_port_from": 443})).await.expect("patch rule");
    c.put(
        &rule_path,
        &json!({"protocol": "TCP", "direction": "inbound", "action": "accept", "ip_range": "10.0.0.0/8"}),
    )
    .await
    .expect("set rule");
    c.put(
        &format!("{sg_path}/rules"),
        &json!({"rules": [{"protocol": "ICMP", "direction": "inbound", "action": "accept", "ip_range": "0.0.0.0/0"}]}),
    )
    .await
    .expect("set all rules");
    let listed = c.get(&format!("{sg_path}/rules")).await.expect("list rules");
    let only = listed["rules"][0]["id"].as_str().expect("the one rule").to_string();
    c.delete(&format!("{sg_path}/rules/{only}")).await.expect("delete rule");
    let _ = c.get(&rule_path).await.expect_err("replaced rule");
    c.delete(&sg_path).await.expect("delete group");

    let unauthenticated = Client::builder(server.url()).max_attempts(1).build().expect("client");
    let _ = unauthenticated.get(&format!("{z}/servers")).await.expect_err("no key");

    let exchanges = recorder.exchanges();
    let report = spec.check_all(&exchanges);
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    assert!(failures.is_empty(), "answers that do not match the spec:\n{}", failures.join("\n\n"));
    let not_emulated: Vec<(String, String)> =
        NOT_EMULATED.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    let uncovered: Vec<(String, String)> =
        spec.uncovered(&report).into_iter().filter(|op| !not_emulated.contains(op)).collect();
    assert_eq!(uncovered, Vec::<(String, String)>::new(), "emulated operations never exercised successfully");
    let errors = report.checked.iter().filter(|(_, _, s)| *s >= 400).count();
    assert!(errors >= 10, "error answers were checked too ({errors})");
    for e in exchanges.iter().filter(|e| e.status >= 400) {
        assert!(e.body["type"].is_string() && e.body["message"].is_string(), "{} {}: {}", e.method, e.path, e.body);
    }
}

#[test]
fn the_checker_catches_an_answer_that_breaks_the_spec_or_the_observed_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = observed_spec(&dir);
    let exchange = |status: u16, body: Json| tarn_sdk::sim::spec::Exchange {
        method: "GET".into(),
        path: "/instance/v1/zones/fr-par-1/servers/6a0c2ca8-917a-418a-90a3-05949b55a7ae".into(),
        status,
        body,
    };
    let err = spec.check(&exchange(200, json!({"server": {"state": "sleeping"}}))).expect_err("no such state");
    assert!(err.to_string().contains("sleeping"), "{err}");
    let err = spec.check(&exchange(404, json!({"type": "gone_fishing", "message": "x"}))).expect_err("unknown type");
    assert!(err.to_string().contains("gone_fishing"), "{err}");
    spec.check(&exchange(404, json!({"type": "not_found", "message": "resource is not found"})))
        .expect("observed form");
}
