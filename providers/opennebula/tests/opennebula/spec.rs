//! The emulator's answers against the vendor's files. Everything the provider and a few raw
//! calls send passes through a recorder; then every OneFlow answer is checked against
//! `specs/opennebula-oneflow-xmlrpc.subset.yaml` (an endpoint it lists, a status it documents,
//! the service document's fields, service and role state numbers, plain-text error bodies),
//! every XML-RPC exchange against the subset and `specs/opennebula-xmlrpc.extract.yaml` (a
//! listed method, no more parameters than it takes, the `[ok, result, errcode]` envelope with
//! a listed error code), and every XML answer against its XSD with `xmllint --schema`, the
//! namespace put on the root element as OpenNebula's own `share/doc/xsd/test.sh` does.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde_json::Value as Json;
use tarn_provider_opennebula::emulator::{Emulator, Settings as EmuSettings};
use tarn_provider_opennebula::xmlrpc::{Response as RpcResponse, RpcValue, decode_call, decode_response};
use tarn_sdk::http::{Client, Method};
use tarn_sdk::sim::SimServer;
use tarn_sdk::{DeleteRequest, Provider, UpdateRequest, Value};

use crate::common::{Env, PASSWORD, RUNTIME, create, read, runtime, s, text, try_create, with, with_in};

#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    path: String,
    status: u16,
    request: String,
    response: String,
}

type Log = Arc<Mutex<Vec<Exchange>>>;

async fn record(log: Log, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let request_text = String::from_utf8_lossy(&bytes).into_owned();
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    log.lock().unwrap_or_else(|p| p.into_inner()).push(Exchange {
        method,
        path,
        status: parts.status.as_u16(),
        request: request_text,
        response: String::from_utf8_lossy(&bytes).into_owned(),
    });
    Response::from_parts(parts, Body::from(bytes))
}

fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs")
}

fn yaml(file: &str) -> Json {
    let text = std::fs::read_to_string(specs().join(file)).unwrap_or_else(|e| panic!("the vendor file {file}: {e}"));
    serde_yaml::from_str(&text).expect("YAML")
}

fn xmllint() {
    let ok = Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "xmllint is missing: install it with `apt-get install libxml2-utils` (scripts/test.sh does)");
}

/// Validates `xml` (its root element `root`) against `xsd` with xmllint.
fn validate(xml: &str, root: &str, xsd: &std::path::Path, dir: &std::path::Path, n: usize) -> Result<(), String> {
    let ns = format!("<{root} xmlns=\"http://opennebula.org/XMLSchema\"");
    let named = if let Some(rest) = xml.strip_prefix(&format!("<{root}")) {
        format!("{ns}{rest}")
    } else {
        return Err(format!("root is not <{root}>: {xml}"));
    };
    let file = dir.join(format!("answer-{n}.xml"));
    std::fs::write(&file, named).expect("write the answer");
    let out = Command::new("xmllint").arg("--noout").arg("--schema").arg(xsd).arg(&file).output().expect("run xmllint");
    if out.status.success() { Ok(()) } else { Err(format!("{}\n{xml}", String::from_utf8_lossy(&out.stderr))) }
}

fn template_matches(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(a, b)| a.starts_with('{') || a == b)
}

fn check_document(
    doc: &Json,
    fields: &Json,
    service_states: &[i64],
    role_states: &[i64],
    problems: &mut Vec<String>,
    at: &str,
) {
    for key in fields.as_object().expect("fields").keys() {
        if key == "TEMPLATE.BODY" {
            if doc.pointer("/TEMPLATE/BODY").is_none() {
                problems.push(format!("{at}: no TEMPLATE.BODY"));
            }
        } else if doc.get(key).is_none() {
            problems.push(format!("{at}: no {key}"));
        }
    }
    for key in ["ID", "UID", "GID"] {
        if doc[key].as_str().is_none_or(|s| s.parse::<u64>().is_err()) {
            problems.push(format!("{at}: {key} is not an integer in quotes: {}", doc[key]));
        }
    }
    let perms = doc["PERMISSIONS"].as_object().map(|m| m.len());
    if perms != Some(9) || !doc["PERMISSIONS"].as_object().into_iter().flatten().all(|(_, v)| v == "0" || v == "1") {
        problems.push(format!("{at}: PERMISSIONS are not nine \"0\"/\"1\" strings"));
    }
    if doc["TYPE"] == "100" {
        let body = &doc["TEMPLATE"]["BODY"];
        if !body["state"].as_i64().is_some_and(|s| service_states.contains(&s)) {
            problems.push(format!("{at}: service state {} is not a service_states value", body["state"]));
        }
        for role in body["roles"].as_array().into_iter().flatten() {
            if !role["state"].as_i64().is_some_and(|s| role_states.contains(&s)) {
                problems.push(format!("{at}: role state {} is not a role_states value", role["state"]));
            }
        }
        if !body["log"].is_array() {
            problems.push(format!("{at}: no log"));
        }
    } else if doc["TYPE"] != "101" {
        problems.push(format!("{at}: TYPE {} is neither \"100\" nor \"101\"", doc["TYPE"]));
    }
}

fn id_of(state: &Value) -> u64 {
    s(state, "service_id").parse().expect("a service id")
}

#[tokio::test]
async fn every_answer_follows_the_vendor_files_and_every_xml_answer_its_xsd() {
    xmllint();
    let subset = yaml("opennebula-oneflow-xmlrpc.subset.yaml");
    let extract = yaml("opennebula-xmlrpc.extract.yaml");
    let log: Log = Arc::default();
    let emulator = Emulator::new(EmuSettings { step: std::time::Duration::from_millis(15), password: PASSWORD.into() });
    let recorder = log.clone();
    let router = emulator.router().layer(middleware::from_fn(move |r, n| record(recorder.clone(), r, n)));
    let server = SimServer::start(router).await.expect("serve");
    let base = server.url().trim_end_matches('/').to_string();
    let env = Env {
        running: tarn_sdk::sim::RunningEmulator { server, faults: emulator.faults().clone(), base_url: base.clone() },
        emulator,
    };

    // The provider's whole lifecycle, and its failures.
    let p = env.provider();
    let created = create(&p, runtime("spec", "Function", Some("Data")), "spec-1").await;
    let resized =
        with_in(&with_in(&created, "faas", "cpu", Value::number(2.0)), "faas", "disk_size", Value::number(2048.0));
    let resized = with_in(&resized, "scheduling", "policy", Value::string("latency"));
    let updated = p
        .update(UpdateRequest { type_name: RUNTIME.into(), prior: created.clone(), planned: resized })
        .await
        .expect("update");
    p.import(RUNTIME, updated.get("id").and_then(Value::as_str).expect("id")).await.expect("import");
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: updated }).await.expect("delete");
    let failed = try_create(&p, runtime("spec-f", "FAILED_DEPLOY", None), "spec-2").await.expect_err("fails");
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: failed.partial.expect("partial") })
        .await
        .expect("rollback");
    let _ = try_create(&p, runtime("spec-d", "DenyVMTemplate", None), "spec-3").await.expect_err("denied");
    let api = env.api();
    api.oned.vms().await.expect("vmpool");
    api.oned.documents(100).await.expect("documentpool");
    let _ = api.oned.vm(999).await.expect("NO_EXISTS reads as None");
    let _ = api.oned.vm_recover(999, 2).await.expect_err("no such VM");

    // The state machines' other states: a VM powered off and on again (POWEROFF,
    // BOOT_POWEROFF), refused a second poweroff; a service in WARNING (its VM failed in PROLOG)
    // recovered by an update; then asynchronously undeployed.
    let other = create(&p, runtime("spec-w", "Function", None), "spec-4").await;
    let vm_id: u64 = text(&other, &["functions", "faas", "vm_id"]).parse().expect("vm id");
    api.oned.vm_action("poweroff", vm_id).await.expect("poweroff");
    let mut off = false;
    for _ in 0..200 {
        off = api.oned.vm(vm_id).await.expect("info").expect("vm").state_text().starts_with("POWEROFF");
        if off {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(off, "the VM never reached POWEROFF");
    let _ = api.oned.vm_action("poweroff", vm_id).await.expect_err("not from POWEROFF");
    api.oned.vm_action("resume", vm_id).await.expect("resume");
    api.wait_vm_running(vm_id, "a resume").await.expect("RUNNING again");
    env.emulator.with_world(|w| {
        let vm = w.vms.iter_mut().find(|v| v.id == vm_id).expect("vm");
        (vm.lcm, vm.due) = (39, None);
    });
    let mut seen = read(&p, &other).await.expect("there");
    for _ in 0..200 {
        if s(&seen, "service_state") == "WARNING" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        seen = read(&p, &other).await.expect("there");
    }
    assert_eq!(s(&seen, "service_state"), "WARNING");
    let planned = with(&seen, "service_state", Value::string("RUNNING"));
    let repaired = p
        .update(UpdateRequest { type_name: RUNTIME.into(), prior: seen, planned })
        .await
        .unwrap_or_else(|e| panic!("recover: {}", e.message));
    // A fault switch: OneFlow answers one request with a 500, which a read retries.
    env.running.faults.fail_next(1, 500, serde_json::json!({"message": "Internal server error"}));
    assert!(api.flow.service(id_of(&repaired)).await.expect("retried").is_some());
    p.delete(DeleteRequest { type_name: RUNTIME.into(), state: repaired }).await.expect("undeploy");
    // Raw calls for the answers a client never provokes on purpose.
    let flow = env.flow_client();
    let _ = flow.delete("service/999").await.expect_err("404");
    let deploying = api.flow.instantiate(0, &serde_json::json!({"name": "raw"})).await.expect("instantiate");
    let id = deploying["ID"].as_str().expect("id").to_string();
    let _ = flow.delete(&format!("service/{id}")).await.expect_err("500 while deploying");
    let _ = flow.post("service_template/0/action", &serde_json::json!({"nothing": 1})).await.expect_err("400");
    api.flow.recover(id.parse().expect("id"), true).await.expect("recover delete");
    let anonymous = Client::builder(format!("{base}/")).max_attempts(1).build().expect("client");
    let _ = anonymous.get("service").await.expect_err("401");
    let bad = "<?xml version=\"1.0\"?><methodCall><methodName>one.vm.info</methodName><params><param><value><string>cognit:wrong</string></value></param><param><value><i4>0</i4></value></param></params></methodCall>";
    anonymous
        .request(Method::POST, &format!("{base}/RPC2"))
        .text(bad, "text/xml")
        .send()
        .await
        .expect("AUTHENTICATION envelope");
    let unknown = "<?xml version=\"1.0\"?><methodCall><methodName>one.nothing</methodName><params/></methodCall>";
    anonymous.request(Method::POST, &format!("{base}/RPC2")).text(unknown, "text/xml").send().await.expect("fault");

    // The checks.
    let exchanges = log.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let flow_spec = &subset["oneflow"];
    let endpoints = flow_spec["endpoints"].as_array().expect("endpoints");
    let documented: Vec<u64> = flow_spec["errors"]["documented_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(|c| c.as_str()?.split(' ').next()?.parse().ok())
        .collect();
    let states = |key: &str| -> Vec<i64> {
        subset["oneflow"][key].as_object().expect(key).values().filter_map(Json::as_i64).collect()
    };
    let (service_states, role_states) = (states("service_states"), states("role_states"));
    let fields = &flow_spec["service_document"]["fields"];
    let mut methods: Vec<Json> = subset["xmlrpc"]["methods"].as_array().expect("methods").clone();
    methods.extend(extract["methods"].as_array().expect("extract methods").iter().cloned());
    let codes: Vec<i64> = subset["xmlrpc"]["error_codes"]
        .as_object()
        .expect("error codes")
        .keys()
        .filter_map(|k| i64::from_str_radix(k.trim_start_matches("0x"), 16).ok())
        .collect();
    let xsd_dir = specs().join("opennebula-xsd");
    let tmp = tempfile::tempdir().expect("tempdir");
    let vmtemplate_xsd = tmp.path().join("vmtemplate.xsd");
    std::fs::write(&vmtemplate_xsd, extract["xsd"]["vmtemplate.xsd"].as_str().expect("vmtemplate.xsd")).expect("write");
    let mut problems = Vec::new();
    let (mut flow_checked, mut rpc_checked, mut xml_checked) = (0, 0, 0);
    let mut seen_methods = std::collections::BTreeSet::new();
    for (n, x) in exchanges.iter().enumerate() {
        let at = format!("{} {} -> {}", x.method, x.path, x.status);
        if x.path == "/RPC2" {
            rpc_checked += 1;
            let (name, params) = match decode_call(&x.request) {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("{at}: the request is not XML-RPC: {e}"));
                    continue;
                }
            };
            let answer = decode_response(&x.response).map_err(|e| format!("{at}: not XML-RPC: {e}"));
            let Some(spec) = methods.iter().find(|m| m["method"] == name.as_str()) else {
                if !matches!(answer, Ok(RpcResponse::Fault { .. })) {
                    problems.push(format!("{at}: {name} is in neither vendor file, yet it was not a fault"));
                }
                continue;
            };
            let ins = spec["params"].as_array().expect("params").iter().filter(|p| p["dir"] == "IN").count();
            if params.len() > ins {
                problems.push(format!("{at}: {name} takes {ins} parameters, {} were sent", params.len()));
            }
            let values = match answer {
                Ok(RpcResponse::Value(RpcValue::Array(v))) => v,
                other => {
                    problems.push(format!("{at}: {name} answered {other:?}, not the envelope"));
                    continue;
                }
            };
            let ok = values.first().and_then(RpcValue::as_bool);
            let code = values.get(2).and_then(RpcValue::as_int);
            if ok.is_none() || !code.is_some_and(|c| codes.contains(&c)) {
                problems.push(format!("{at}: {name}: envelope {values:?} lacks [ok, result, listed errcode]"));
                continue;
            }
            if ok == Some(true) {
                seen_methods.insert(name.clone());
            }
            let schema = match name.as_str() {
                "one.vm.info" => Some(("VM", xsd_dir.join("vm.xsd"))),
                "one.vmpool.info" => Some(("VM_POOL", xsd_dir.join("vm_pool.xsd"))),
                "one.document.info" => Some(("DOCUMENT", xsd_dir.join("document.xsd"))),
                "one.documentpool.info" => Some(("DOCUMENT_POOL", xsd_dir.join("document_pool.xsd"))),
                "one.template.info" => Some(("VMTEMPLATE", vmtemplate_xsd.clone())),
                _ => None,
            };
            if let (Some(true), Some((root, xsd)), Some(RpcValue::Str(xml))) = (ok, schema, values.get(1)) {
                xml_checked += 1;
                if let Err(e) = validate(xml, root, &xsd, tmp.path(), n) {
                    problems.push(format!("{at}: {name} answer does not validate against {}: {e}", xsd.display()));
                }
            }
            continue;
        }
        if x.path.starts_with("/__sim") {
            continue;
        }
        flow_checked += 1;
        let Some(endpoint) = endpoints
            .iter()
            .find(|e| e["method"] == x.method.as_str() && template_matches(e["path"].as_str().unwrap_or(""), &x.path))
        else {
            problems.push(format!("{at}: no such OneFlow endpoint in the subset"));
            continue;
        };
        let success: Vec<u64> = endpoint["status"]
            .as_str()
            .map(|s| {
                s.split(|c: char| !c.is_ascii_digit()).filter_map(|d| d.parse().ok()).filter(|d| *d >= 200).collect()
            })
            .or_else(|| endpoint["status"].as_u64().map(|s| vec![s]))
            .unwrap_or_default();
        if x.status < 400 {
            if !success.contains(&u64::from(x.status)) {
                problems.push(format!("{at}: the subset says {success:?}"));
            }
            if let Ok(body) = serde_json::from_str::<Json>(&x.response) {
                let docs: Vec<&Json> = match (body.get("DOCUMENT"), body.pointer("/DOCUMENT_POOL/DOCUMENT")) {
                    (Some(d), _) => vec![d],
                    (_, Some(Json::Array(list))) => list.iter().collect(),
                    _ => Vec::new(),
                };
                for d in docs {
                    check_document(d, fields, &service_states, &role_states, &mut problems, &at);
                }
            } else if x.status != 204 {
                problems.push(format!("{at}: a success answer that is not JSON: {}", x.response));
            }
        } else {
            if !documented.contains(&u64::from(x.status)) && x.status != 405 {
                problems.push(format!("{at}: status not among the documented codes"));
            }
            if x.response.trim().is_empty() {
                problems.push(format!("{at}: an error without a message"));
            }
        }
    }
    assert!(problems.is_empty(), "answers that do not follow the vendor files:\n{}", problems.join("\n\n"));
    for m in [
        "one.vm.info",
        "one.vm.resize",
        "one.vm.diskresize",
        "one.vm.update",
        "one.vm.action",
        "one.vmpool.info",
        "one.template.info",
        "one.document.allocate",
        "one.document.info",
        "one.document.update",
        "one.document.delete",
        "one.documentpool.info",
    ] {
        assert!(seen_methods.contains(m), "{m} was never answered successfully: {seen_methods:?}");
    }
    assert!(flow_checked >= 20 && rpc_checked >= 30 && xml_checked >= 10, "{flow_checked} {rpc_checked} {xml_checked}");
}
