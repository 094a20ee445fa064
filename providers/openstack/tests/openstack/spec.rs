//! The emulator's answers, and the client's requests, against the vendor's API description
//! (`specs/openstack-nova-v2.1-keystone-v3.subset.yaml` at the root of the repository, a
//! byte-identical copy of `../shared/specs`). The file is not OpenAPI, so the sdk's OpenAPI
//! checker does not apply; this one reads the file's own structure:
//!
//! - Nova: each answer is matched to its operation by method and path template (the three
//!   actions by the request's action key); a normal status is validated against the
//!   operation's `json_schema_microversion_2_1.response` (formats included), an error status
//!   must be one the operation or the API-wide fault map lists, with the fault body
//!   `{"<faultName>": {"code", "message"}}` of that status; 401 must be keystonemiddleware's
//!   Keystone-shaped body with `WWW-Authenticate`. Requests with a body are validated against
//!   the operation's `request` schema, and every answer must carry the microversion headers.
//! - Keystone: the status must be one the operation lists; a success must hold every required
//!   body parameter of `response_parameters` with its type (anywhere in the body, as the
//!   api-ref's flattened tables give them) and `POST /v3/auth/tokens` the `X-Subject-Token`
//!   header; an error must be `{"error": {"code", "title", "message"}}`.
//!
//! Every operation of the file must be answered successfully at least once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::HeaderMap;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde_json::{Value as Json, json};
use tarn_provider_openstack::emulator::Emulator;
use tarn_provider_openstack::{INSTANCE, KEYPAIR, OpenStackProvider};
use tarn_sdk::http::{Client, Method};
use tarn_sdk::sim::SimServer;
use tarn_sdk::{AdoptRequest, DeleteRequest, Provider, ReadDataRequest, ReadRequest, UpdateRequest, Value};

use crate::common::{PASSWORD, PROJECT_ID, USER, create, public_key, server, settings, with};

#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    path: String,
    request: Json,
    status: u16,
    headers: HeaderMap,
    body: Json,
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Exchange>>>);

fn parse(bytes: &[u8]) -> Json {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Json::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Json::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}

async fn record(
    axum::extract::State(recorder): axum::extract::State<Recorder>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let (method, path) = (parts.method.to_string(), parts.uri.path().to_string());
    let request_body = parse(&bytes);
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, 1 << 22).await.unwrap_or_default();
    if !path.starts_with("/__sim") {
        recorder.0.lock().expect("recorder").push(Exchange {
            method,
            path,
            request: request_body,
            status: parts.status.as_u16(),
            headers: parts.headers.clone(),
            body: parse(&bytes),
        });
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn spec() -> Json {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs/openstack-nova-v2.1-keystone-v3.subset.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("the vendor spec at {}: {e}", path.display()));
    serde_yaml::from_str(&text).expect("the spec is YAML")
}

fn template_matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// The operation (index into the part's list) for an exchange.
fn operation<'a>(ops: &'a [Json], method: &str, path: &str, request: &Json) -> Option<&'a Json> {
    let candidates: Vec<&Json> = ops
        .iter()
        .filter(|op| op["method"] == method && template_matches(op["path"].as_str().unwrap_or_default(), path))
        .collect();
    if candidates.len() <= 1 {
        return candidates.into_iter().next();
    }
    // `/servers/detail` also fits `/servers/{server_id}`: the literal template wins.
    if let Some(literal) = candidates.iter().find(|op| op["path"].as_str() == Some(path)) {
        return Some(literal);
    }
    // The actions share a path: the request's one key names the operation.
    let key = request.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
    candidates.into_iter().find(|op| {
        op.pointer("/json_schema_microversion_2_1/request/required")
            .and_then(Json::as_array)
            .is_some_and(|r| r.contains(&json!(key)))
    })
}

fn codes(op: &Json, key: &str) -> Vec<u16> {
    op[key]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .filter_map(|c| {
            let digits: String = c.chars().filter(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

fn validate(schema: &Json, instance: &Json) -> Vec<String> {
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .expect("the spec's schema compiles");
    validator.iter_errors(instance).map(|e| format!("at {}: {e}", e.instance_path())).collect()
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

fn json_type_ok(kind: &str, value: &Json) -> bool {
    match kind {
        "string" => value.is_string(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "float" | "number" => value.is_number(),
        _ => true,
    }
}

/// Every value under `key`, at any depth.
fn find_all<'j>(body: &'j Json, key: &str, out: &mut Vec<&'j Json>) {
    match body {
        Json::Object(m) => {
            for (k, v) in m {
                if k == key {
                    out.push(v);
                }
                find_all(v, key, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|i| find_all(i, key, out)),
        _ => {}
    }
}

/// The problems of one exchange, and the operation it exercised successfully.
fn check(spec: &Json, x: &Exchange) -> (Vec<String>, Option<String>) {
    let mut problems = Vec::new();
    let mut covered = None;
    let label = format!("{} {} → {}", x.method, x.path, x.status);
    if let Some(path) = x.path.strip_prefix("/compute/v2.1") {
        let ops = spec["compute"]["operations"].as_array().expect("compute operations");
        let Some(op) = operation(ops, &x.method, path, &x.request) else {
            return (vec![format!("{label}: no operation of the spec matches")], None);
        };
        let schemas = &op["json_schema_microversion_2_1"];
        // A 401 comes from keystonemiddleware and a 5xx here from the fault switches (a front
        // proxy's failure), both before Nova: only Nova's own answers carry the versions.
        let from_nova = x.status != 401 && x.status < 500;
        if from_nova
            && (header(&x.headers, "openstack-api-version") != "compute 2.1"
                || header(&x.headers, "x-openstack-nova-api-version") != "2.1")
        {
            problems.push(format!("{label}: the microversion headers are missing"));
        }
        let success = codes(op, "normal_codes").contains(&x.status);
        // What the emulator accepts must be what the spec allows: every accepted request (the
        // client's included) validates; the deliberately bad ones are refused with 400.
        if let (Some(request_schema), false) = (schemas.get("request"), x.request.is_null()) {
            let errors = validate(request_schema, &x.request);
            if success {
                problems.extend(errors.iter().map(|e| format!("{label}: an accepted request breaks the spec: {e}")));
            } else if !errors.is_empty() && x.status != 400 {
                problems.push(format!("{label}: a request the spec refuses was not answered 400"));
            }
        }
        if success {
            covered = Some(format!(
                "{} {}",
                op["method"].as_str().unwrap_or_default(),
                op["title"].as_str().unwrap_or_default()
            ));
            let schema = schemas.get("response").cloned().unwrap_or(json!({"type": "null"}));
            for e in validate(&schema, &x.body) {
                problems.push(format!("{label}: {e}\nbody: {}", x.body));
            }
        } else if x.status == 401 {
            let body = &x.body["error"];
            if body["code"] != 401 || !body["title"].is_string() || !body["message"].is_string() {
                problems.push(format!("{label}: 401 is not keystonemiddleware's body: {}", x.body));
            }
            if !header(&x.headers, "www-authenticate").starts_with("Keystone uri=") {
                problems.push(format!("{label}: 401 without WWW-Authenticate"));
            }
        } else {
            let names = &spec["compute"]["errors"]["fault_names"];
            let name = names.get(x.status.to_string()).unwrap_or(&names["other"]).as_str().unwrap_or_default();
            let listed = codes(op, "error_codes").contains(&x.status)
                || names.get(x.status.to_string()).is_some()
                || x.status >= 500;
            let fault_schema = json!({"type": "object", "required": [name], "additionalProperties": false, "properties": {name: {
                "type": "object", "required": ["code", "message"], "additionalProperties": false,
                "properties": {"code": {"const": x.status}, "message": {"type": "string"}, "retryAfter": {"type": "string"}}}}});
            if !listed && name != "computeFault" {
                problems.push(format!("{label}: status not listed for the operation"));
            }
            for e in validate(&fault_schema, &x.body) {
                problems.push(format!("{label}: not a Nova fault body: {e}\nbody: {}", x.body));
            }
        }
    } else if x.path.starts_with("/v3/") {
        let ops = spec["identity"]["operations"].as_array().expect("identity operations");
        let Some(op) = operation(ops, &x.method, &x.path, &x.request) else {
            return (vec![format!("{label}: no operation of the spec matches")], None);
        };
        if codes(op, "normal_codes").contains(&x.status) {
            covered = Some(format!(
                "{} {}",
                op["method"].as_str().unwrap_or_default(),
                op["title"].as_str().unwrap_or_default()
            ));
            for p in op["response_parameters"].as_array().into_iter().flatten().filter(|p| p["required"] == true) {
                let name = p["name"].as_str().unwrap_or_default();
                if p["in"] == "header" {
                    if x.headers.get(name).is_none() {
                        problems.push(format!("{label}: the {name} header is missing"));
                    }
                    continue;
                }
                let mut found = Vec::new();
                find_all(&x.body, name, &mut found);
                let kind = p["type"].as_str().unwrap_or_default();
                if found.is_empty() {
                    problems.push(format!("{label}: the required body parameter {name} is missing"));
                } else if !found.iter().any(|v| json_type_ok(kind, v)) {
                    problems.push(format!("{label}: {name} is not of type {kind}: {found:?}"));
                }
            }
        } else {
            if !codes(op, "error_codes").contains(&x.status) && x.status < 500 {
                problems.push(format!("{label}: status not listed for the operation"));
            }
            let e = &x.body["error"];
            if x.status < 500 && (e["code"] != x.status || !e["title"].is_string() || !e["message"].is_string()) {
                problems.push(format!("{label}: not Keystone's error body: {}", x.body));
            }
        }
    } else {
        problems.push(format!("{label}: outside both APIs"));
    }
    (problems, covered)
}

#[tokio::test]
async fn every_answer_and_request_follows_the_spec() {
    let spec = spec();
    let recorder = Recorder::default();
    let emulator = Emulator::new(settings());
    let router = emulator.router().layer(middleware::from_fn_with_state(recorder.clone(), record));
    let sim = SimServer::start(router).await.expect("serve");
    let origin = sim.url().trim_end_matches('/').to_string();
    let env_creds = tarn_provider_openstack::Credentials {
        auth_url: format!("{origin}/v3"),
        user_name: USER.into(),
        user_domain: "Default".into(),
        password: PASSWORD.into(),
        project: tarn_provider_openstack::Project::Id(PROJECT_ID.into()),
        region: Some("SBG5".into()),
    };
    let quick = tarn_provider_openstack::Tuning {
        retry: tarn_sdk::http::RetryPolicy { max_attempts: 1, ..Default::default() },
        request_timeout: std::time::Duration::from_secs(5),
    };
    let api =
        tarn_provider_openstack::Api::new(tarn_provider_openstack::Session::new(env_creds, quick).expect("session"))
            .page_size(2)
            .polling(tarn_provider_openstack::Polling {
                interval: std::time::Duration::from_millis(10),
                max_interval: std::time::Duration::from_millis(40),
                timeout: std::time::Duration::from_secs(5),
            });
    let p = OpenStackProvider::with_api(api.clone());

    // The provider's whole lifecycle: every Nova operation it uses.
    let key = create(&p, KEYPAIR, crate::keypair::keypair("spec-key", &public_key(1)), "k").await;
    let planned = with(
        &with(&server("dev-spec"), "key_pair", Value::string("spec-key")),
        "user_data",
        Value::string("#!/bin/sh\n"),
    );
    let planned = with(&planned, "metadata", Value::map([("env", Value::string("dev"))]));
    let planned = with(&planned, "security_groups", crate::common::strings(&["default", "ssh"]));
    let vm = create(&p, INSTANCE, planned.clone(), "spec-c").await;
    create(&p, INSTANCE, server("dev-spec-2"), "spec-c2").await;
    create(
        &p,
        INSTANCE,
        with(&server("dev-spec-3"), "network_ids", crate::common::strings(&["b7f2a1c0-2222-4222-8222-000000000a0a"])),
        "spec-c3",
    )
    .await;
    let renamed = p
        .update(UpdateRequest {
            type_name: INSTANCE.into(),
            prior: vm.clone(),
            planned: with(&vm, "name", Value::string("dev-spec-b")),
        })
        .await
        .expect("rename");
    let stopped = p
        .update(UpdateRequest {
            type_name: INSTANCE.into(),
            prior: renamed.clone(),
            planned: with(&renamed, "power_state", Value::string("shutoff")),
        })
        .await
        .expect("stop");
    let started = p
        .update(UpdateRequest {
            type_name: INSTANCE.into(),
            prior: stopped.clone(),
            planned: with(&stopped, "power_state", Value::string("active")),
        })
        .await
        .expect("start");
    let rebooted = p
        .update(UpdateRequest {
            type_name: INSTANCE.into(),
            prior: started.clone(),
            planned: with(&started, "reboot_trigger", Value::string("1")),
        })
        .await
        .expect("reboot");
    p.adopt(AdoptRequest { type_name: INSTANCE.into(), correlation: "spec-c".into(), planned })
        .await
        .expect("adopt (servers/detail, two pages)");
    p.read_data(ReadDataRequest {
        type_name: tarn_provider_openstack::FLAVORS.into(),
        config: Value::map([("name", Value::string("d2-4"))]),
    })
    .await
    .expect("flavors");
    p.read(ReadRequest { type_name: KEYPAIR.into(), state: key.clone() }).await.expect("keypair");
    api.keypairs().await.expect("list keypairs");
    p.delete(DeleteRequest { type_name: INSTANCE.into(), state: rebooted }).await.expect("delete");
    p.delete(DeleteRequest { type_name: KEYPAIR.into(), state: key }).await.expect("delete key");

    // What the provider does not call: raw requests with a token of our own, and failures.
    let keystone = Client::builder(format!("{origin}/v3")).max_attempts(1).build().expect("client");
    let auth = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": USER,
        "domain": {"name": "Default"}, "password": PASSWORD}}}, "scope": {"project": {"id": PROJECT_ID}}}});
    let issued = keystone.request(Method::POST, "auth/tokens").json(&auth).sensitive().send().await.expect("token");
    let token = header(&issued.headers, "x-subject-token").to_string();
    let mut wrong = auth.clone();
    wrong["auth"]["identity"]["password"]["user"]["password"] = json!("nope");
    keystone.request(Method::POST, "auth/tokens").json(&wrong).sensitive().send().await.expect_err("401");
    keystone.request(Method::POST, "auth/tokens").json(&json!({"auth": {}})).send().await.expect_err("400");
    let authed = Client::builder(format!("{origin}/v3"))
        .secret_header("x-auth-token", &token)
        .max_attempts(1)
        .build()
        .expect("client");
    let second = keystone.request(Method::POST, "auth/tokens").json(&auth).sensitive().send().await.expect("token 2");
    let subject = header(&second.headers, "x-subject-token").to_string();
    let with_subject = |s: &str| {
        Client::builder(format!("{origin}/v3"))
            .secret_header("x-auth-token", &token)
            .secret_header("x-subject-token", s)
            .max_attempts(1)
            .build()
            .expect("client")
    };
    with_subject(&subject).get("auth/tokens").await.expect("validate");
    authed.get("auth/catalog").await.expect("catalog");
    with_subject(&subject).delete("auth/tokens").await.expect("revoke");
    with_subject(&subject).get("auth/tokens").await.expect_err("404 once revoked");

    let nova = Client::builder(format!("{origin}/compute/v2.1"))
        .secret_header("x-auth-token", &token)
        .max_attempts(1)
        .build()
        .expect("client");
    nova.get("servers?limit=1").await.expect("list servers");
    nova.get("flavors?limit=3").await.expect("list flavors");
    nova.get("flavors/0c9a5b8e-31c4-4f2e-9a7e-d2a000000002").await.expect("show flavor");
    nova.get("flavors/nope").await.expect_err("404 flavor");
    nova.get("servers/9168b536-cd40-4630-b43f-b259807c6e87").await.expect_err("404 server");
    nova.post("servers", &json!({"server": {"name": "x"}})).await.expect_err("400 no flavor");
    nova.post("servers", &json!({"server": {"name": "x", "flavorRef": "0c9a5b8e-31c4-4f2e-9a7e-d2a000000002", "imageRef": crate::common::UBUNTU, "bogus": 1}})).await.expect_err("400 unknown field");
    let generated = nova.post("os-keypairs", &json!({"keypair": {"name": "generated"}})).await.expect("generate");
    assert!(generated["keypair"]["private_key"].is_string());
    nova.post("os-keypairs", &json!({"keypair": {"name": "generated"}})).await.expect_err("409");
    nova.get("os-keypairs/nobody").await.expect_err("404 keypair");
    let any = api.servers(&[]).await.expect("servers")[0]["id"].as_str().expect("id").to_string();
    nova.post(&format!("servers/{any}/action"), &json!({"os-start": null})).await.expect_err("409 running");
    nova.put(&format!("servers/{any}"), &json!({"server": {"flavor": "x"}})).await.expect_err("400 update");
    let stale = Client::builder(format!("{origin}/compute/v2.1"))
        .secret_header("x-auth-token", "gAAAAABstale")
        .max_attempts(1)
        .build()
        .expect("client");
    stale.get("servers").await.expect_err("401");
    Client::builder(format!("{origin}/compute/v2.1"))
        .secret_header("x-auth-token", &token)
        .header("openstack-api-version", "compute 2.90")
        .max_attempts(1)
        .build()
        .expect("client")
        .get("servers")
        .await
        .expect_err("406");
    emulator.faults().fail_next(1, 503, tarn_provider_openstack::emulator::nova_body(503, "maintenance"));
    nova.get("flavors").await.expect_err("503 injected");

    let exchanges = recorder.0.lock().expect("recorder").clone();
    let mut problems = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    for x in &exchanges {
        let (p, c) = check(&spec, x);
        problems.extend(p);
        covered.extend(c);
    }
    assert!(
        problems.is_empty(),
        "{} of {} answers break the spec:\n{}",
        problems.len(),
        exchanges.len(),
        problems.join("\n")
    );
    let mut all = Vec::new();
    for part in ["compute", "identity"] {
        for op in spec[part]["operations"].as_array().expect("operations") {
            all.push(format!(
                "{} {}",
                op["method"].as_str().unwrap_or_default(),
                op["title"].as_str().unwrap_or_default()
            ));
        }
    }
    let missing: Vec<&String> = all.iter().filter(|o| !covered.contains(*o)).collect();
    assert!(missing.is_empty(), "operations never answered successfully: {missing:?}");
    assert!(exchanges.len() > 60, "{} exchanges checked", exchanges.len());
}
