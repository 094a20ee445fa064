//! The checker every emulator test shares: a recorder in front of the emulator keeps every
//! exchange, and [`Recorded::check`] holds each against the vendor's files — every OneFlow
//! answer against `specs/opennebula-oneflow-xmlrpc.subset.yaml` (an endpoint it lists, a
//! status it documents, the service document's fields, service and role state numbers,
//! plain-text error bodies), every XML-RPC exchange against the subset and
//! `specs/opennebula-xmlrpc.extract.yaml` (a listed method, no more parameters than it takes,
//! the `[ok, result, errcode]` envelope with a listed error code), and every XML answer against
//! its XSD with `xmllint --schema`, the namespace put on the root element as OpenNebula's own
//! `share/doc/xsd/test.sh` does.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde_json::Value as Json;
use tarn_provider_opennebula::emulator::{Emulator, Settings as EmuSettings};
use tarn_provider_opennebula::xmlrpc::{Response as RpcResponse, RpcValue, decode_call, decode_response};
use tarn_sdk::sim::SimServer;

use crate::common::{Env, PASSWORD};

#[derive(Debug, Clone)]
struct Exchange {
    method: String,
    path: String,
    status: u16,
    request: String,
    response: String,
}

/// The exchanges, and whether recording is paused (`None` while it is).
type Log = Arc<Mutex<Option<Vec<Exchange>>>>;

async fn record(log: Log, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let request_text = String::from_utf8_lossy(&bytes).into_owned();
    let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    if let Some(log) = log.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
        log.push(Exchange {
            method,
            path,
            status: parts.status.as_u16(),
            request: request_text,
            response: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    Response::from_parts(parts, Body::from(bytes))
}

pub fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs")
}

pub fn yaml(file: &str) -> Json {
    let text = std::fs::read_to_string(specs().join(file)).unwrap_or_else(|e| panic!("the vendor file {file}: {e}"));
    serde_yaml::from_str(&text).expect("YAML")
}

pub fn xmllint() {
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

/// An emulator behind the recorder, and what it recorded.
pub struct Recorded {
    pub env: Env,
    log: Log,
    /// What was recorded before a pause.
    parked: Mutex<Vec<Exchange>>,
}

/// How many exchanges [`Recorded::check`] held against the vendor files, and the XML-RPC
/// methods that answered with success.
#[derive(Debug)]
pub struct Checked {
    pub flow: usize,
    pub rpc: usize,
    pub xml: usize,
    pub methods: BTreeSet<String>,
    /// Every OneFlow status seen, in order.
    pub flow_statuses: Vec<u16>,
}

impl Recorded {
    /// An emulator whose VMs and services move one `step` apart, behind the recorder.
    pub async fn start(step: Duration) -> Recorded {
        let log: Log = Arc::new(Mutex::new(Some(Vec::new())));
        let emulator = Emulator::new(EmuSettings { step, password: PASSWORD.into() });
        let recorder = log.clone();
        let router = emulator.router().layer(middleware::from_fn(move |r, n| record(recorder.clone(), r, n)));
        let server = SimServer::start(router).await.expect("serve");
        let base = server.url().trim_end_matches('/').to_string();
        let env = Env {
            running: tarn_sdk::sim::RunningEmulator { server, faults: emulator.faults().clone(), base_url: base },
            emulator,
        };
        Recorded { env, log, parked: Mutex::default() }
    }

    /// Stops recording (`true`) or starts again: for the answers of the fault switches, which
    /// are the test harness's and not OpenNebula's, and are checked by the test itself.
    pub fn pause(&self, paused: bool) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        match (paused, log.is_some()) {
            (true, true) => {
                self.parked.lock().unwrap_or_else(|p| p.into_inner()).extend(log.take().unwrap_or_default())
            }
            (false, false) => *log = Some(std::mem::take(&mut *self.parked.lock().unwrap_or_else(|p| p.into_inner()))),
            _ => {}
        }
    }

    /// Holds every exchange so far against the vendor files; panics listing what does not
    /// follow them.
    pub fn check(&self) -> Checked {
        xmllint();
        let subset = yaml("opennebula-oneflow-xmlrpc.subset.yaml");
        let extract = yaml("opennebula-xmlrpc.extract.yaml");
        let log = &self.log;
        let mut exchanges = self.parked.lock().unwrap_or_else(|p| p.into_inner()).clone();
        exchanges.extend(log.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default());
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
        std::fs::write(&vmtemplate_xsd, extract["xsd"]["vmtemplate.xsd"].as_str().expect("vmtemplate.xsd"))
            .expect("write");
        let mut problems = Vec::new();
        let (mut flow_checked, mut rpc_checked, mut xml_checked) = (0, 0, 0);
        let mut seen_methods = BTreeSet::new();
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
            let Some(endpoint) = endpoints.iter().find(|e| {
                e["method"] == x.method.as_str() && template_matches(e["path"].as_str().unwrap_or(""), &x.path)
            }) else {
                problems.push(format!("{at}: no such OneFlow endpoint in the subset"));
                continue;
            };
            let success: Vec<u64> = endpoint["status"]
                .as_str()
                .map(|s| {
                    s.split(|c: char| !c.is_ascii_digit())
                        .filter_map(|d| d.parse().ok())
                        .filter(|d| *d >= 200)
                        .collect()
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
        let flow_statuses =
            exchanges.iter().filter(|x| x.path != "/RPC2" && !x.path.starts_with("/__sim")).map(|x| x.status).collect();
        Checked { flow: flow_checked, rpc: rpc_checked, xml: xml_checked, methods: seen_methods, flow_statuses }
    }
}
