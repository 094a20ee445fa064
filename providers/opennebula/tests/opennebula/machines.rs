//! The emulator's state machines as a client sees them, over time: a OneFlow service and its
//! roles (PENDING → DEPLOYING → RUNNING; FAILED_DEPLOYING, recovered or deleted; WARNING and
//! back; the asynchronous undeploy UNDEPLOYING → UNDEPLOYING_NETS → gone), a VM's states
//! (PENDING → PROLOG → BOOT → RUNNING, PROLOG_FAILURE, SHUTDOWN_POWEROFF → POWEROFF →
//! BOOT_POWEROFF → RUNNING, SHUTDOWN → DONE), the document pool, and every fault switch. States
//! are named by the vendor's subset (`service_states`, `role_states`), and every exchange is
//! checked against the vendor files and, for XML, the XSDs (`vendor::Recorded::check`).
//! Scaling is not emulated (the emulator's header says so): no test of it here.

use std::future::Future;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use tarn_provider_opennebula::Api;
use tarn_provider_opennebula::emulator::SANDBOX_USER;
use tarn_provider_opennebula::emulator::world::Document;
use tarn_provider_opennebula::oneflow;
use tarn_sdk::ErrorKind;

use crate::common::PASSWORD;
use crate::vendor::{Recorded, yaml};

/// A VM or service step: long enough for a poll every few milliseconds to see each state,
/// also on a loaded machine.
const STEP: Duration = Duration::from_millis(250);

/// State number → name, from the vendor's subset (`service_states` or `role_states`).
fn names(key: &str) -> impl Fn(i64) -> String {
    let table = yaml("opennebula-oneflow-xmlrpc.subset.yaml")["oneflow"][key].clone();
    move |n| {
        table
            .as_object()
            .and_then(|m| m.iter().find(|(_, v)| v.as_i64() == Some(n)))
            .map_or_else(|| format!("not in the subset: {n}"), |(k, _)| k.clone())
    }
}

/// A service as `(service state, [role states])` by the subset's names; `None` once gone.
async fn service_states(api: &Api, id: u64) -> Option<(String, Vec<String>)> {
    let (service, role) = (names("service_states"), names("role_states"));
    let s = api.flow.service(id).await.expect("GET /service/{id}")?;
    let roles = oneflow::body(&s)["roles"].as_array().cloned().unwrap_or_default();
    Some((service(oneflow::state(&s)), roles.iter().map(|r| role(r["state"].as_i64().unwrap_or(-1))).collect()))
}

/// A VM's `STATE/LCM_STATE`, named by the subset's `vm_states` and `vm_lcm_states`.
async fn vm_state(api: &Api, id: u64) -> String {
    let vm = api.oned.vm(id).await.expect("one.vm.info").expect("the VM exists");
    let xmlrpc = yaml("opennebula-oneflow-xmlrpc.subset.yaml")["xmlrpc"].clone();
    let name = |table: &str, n: u32| {
        xmlrpc[table][n.to_string()].as_str().map_or_else(|| format!("not in the subset: {n}"), str::to_string)
    };
    let named = format!("{}/{}", name("vm_states", vm.state), name("vm_lcm_states", vm.lcm_state));
    assert_eq!(named, vm.state_text(), "the provider names the VM's state as the subset does");
    named
}

/// Polls `look` until `done` holds; answers every distinct value seen, in order.
async fn watch<T: PartialEq + std::fmt::Debug, F: Future<Output = T>>(
    what: &str,
    mut look: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> Vec<T> {
    let mut seen: Vec<T> = Vec::new();
    let deadline = Instant::now() + STEP * 40;
    loop {
        let now = look().await;
        let stop = done(&now);
        if seen.last() != Some(&now) {
            seen.push(now);
        }
        if stop {
            return seen;
        }
        assert!(Instant::now() < deadline, "{what}: not reached; seen {seen:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn st(service: &str, roles: &[&str]) -> Option<(String, Vec<String>)> {
    Some((service.to_string(), roles.iter().map(|r| r.to_string()).collect()))
}

/// The id of the sandbox's service template `name`.
async fn template_id(api: &Api, name: &str) -> u64 {
    let all = api.flow.service_templates().await.expect("GET /service_template");
    let t = all.iter().find(|t| t["NAME"] == name).unwrap_or_else(|| panic!("no template {name}: {all:?}"));
    t["ID"].as_str().and_then(|s| s.parse().ok()).expect("an id")
}

async fn instantiate(api: &Api, template: &str, name: &str) -> u64 {
    let id = template_id(api, template).await;
    let s = api.flow.instantiate(id, &json!({"name": name})).await.expect("instantiate");
    s["ID"].as_str().and_then(|s| s.parse().ok()).expect("the service's id")
}

fn vms_of(service: &Json) -> Vec<u64> {
    oneflow::roles(service).into_iter().flat_map(|(_, _, ids)| ids).collect()
}

fn last_log(service: &Json) -> Json {
    oneflow::body(service)["log"].as_array().and_then(|l| l.last().cloned()).unwrap_or(Json::Null)
}

#[tokio::test]
async fn a_service_and_its_roles_deploy_over_time_and_undeploy_asynchronously() {
    let r = Recorded::start(STEP).await;
    let api = r.env.api();
    let id = instantiate(&api, "Function-Data", "machines").await;
    let roles = |s: &str| st(s, &[s, s]);

    let mut seen =
        watch("DEPLOYING", || service_states(&api, id), |s| s.as_ref().is_some_and(|s| s.0 == "DEPLOYING")).await;
    // Deploying: an undeploy is refused (LifeCycleManager.undeploy_action), as OneFlow does.
    let e = api.flow.delete_service(id).await.expect_err("no undeploy while DEPLOYING");
    assert!(e.message.contains("Service cannot be undeployed in state: DEPLOYING"), "{}", e.message);
    let service = api.flow.service(id).await.expect("get").expect("there");
    let vms = vms_of(&service);
    assert_eq!(vms.len(), 2, "one VM per role: {service}");
    let vm_states = watch("the VM to run", || vm_state(&api, vms[0]), |s| s == "ACTIVE/RUNNING").await;
    assert_eq!(vm_states.last().map(String::as_str), Some("ACTIVE/RUNNING"));
    for pair in vm_states.windows(2) {
        let order = ["PENDING/LCM_INIT", "ACTIVE/PROLOG", "ACTIVE/BOOT", "ACTIVE/RUNNING"];
        let at = |s: &String| order.iter().position(|o| o == s).unwrap_or_else(|| panic!("{s} in {vm_states:?}"));
        assert!(at(&pair[0]) < at(&pair[1]), "the VM went backwards: {vm_states:?}");
    }
    seen.extend(watch("RUNNING", || service_states(&api, id), |s| s == &roles("RUNNING")).await);
    seen.dedup();
    assert_eq!(seen, [roles("PENDING"), roles("DEPLOYING"), roles("RUNNING")]);
    for vm in &vms {
        assert_eq!(vm_state(&api, *vm).await, "ACTIVE/RUNNING");
    }

    // The undeploy: 204 at once, then UNDEPLOYING while the VMs shut down, UNDEPLOYING_NETS
    // once they are DONE (the roles DONE), then gone.
    assert!(api.flow.delete_service(id).await.expect("DELETE /service/{id}"));
    let seen = watch("the service to be gone", || service_states(&api, id), Option::is_none).await;
    assert_eq!(seen, [roles("UNDEPLOYING"), st("UNDEPLOYING_NETS", &["DONE", "DONE"]), None]);
    for vm in &vms {
        assert_eq!(vm_state(&api, *vm).await, "DONE/LCM_INIT", "the VM stays readable, DONE");
    }
    assert!(!api.flow.delete_service(id).await.expect("a second DELETE"), "404 once gone");
    let c = r.check();
    assert!(c.flow_statuses.contains(&500) && c.flow_statuses.contains(&404), "{:?}", c.flow_statuses);
}

#[tokio::test]
async fn a_failed_deploy_ends_in_failed_deploying_and_recover_retries_or_removes_it() {
    let r = Recorded::start(STEP).await;
    let api = r.env.api();
    let id = instantiate(&api, "FAILED_DEPLOY", "doomed").await;
    let failed = |s: &Option<(String, Vec<String>)>| s == &st("FAILED_DEPLOYING", &["FAILED_DEPLOYING"]);
    let seen = watch("FAILED_DEPLOYING", || service_states(&api, id), failed).await;
    assert_eq!(
        seen,
        [st("PENDING", &["PENDING"]), st("DEPLOYING", &["DEPLOYING"]), st("FAILED_DEPLOYING", &["FAILED_DEPLOYING"])]
    );
    let service = api.flow.service(id).await.expect("get").expect("there");
    let log = last_log(&service);
    assert_eq!((log["severity"].as_str(), log["message"].as_str()), (Some("E"), Some("New state: FAILED_DEPLOYING")));
    let vm = vms_of(&service)[0];
    let v = api.oned.vm(vm).await.expect("info").expect("vm");
    assert_eq!(v.state_text(), "ACTIVE/PROLOG_FAILURE");
    assert!(v.user("ERROR").is_some_and(|e| e.contains("image not found")), "{v:?}");

    // recover: DEPLOYING again, roles too, the VM through PROLOG again; it fails again.
    api.flow.recover(id, false).await.expect("recover");
    assert_eq!(service_states(&api, id).await, st("DEPLOYING", &["DEPLOYING"]));
    let again = watch("the VM's retry", || vm_state(&api, vm), |s| s == "ACTIVE/PROLOG_FAILURE").await;
    assert_eq!(again, ["ACTIVE/PROLOG", "ACTIVE/PROLOG_FAILURE"]);
    watch("FAILED_DEPLOYING again", || service_states(&api, id), failed).await;

    // recover with delete: gone at once, its VMs DONE.
    api.flow.recover(id, true).await.expect("recover delete");
    assert_eq!(service_states(&api, id).await, None);
    assert_eq!(vm_state(&api, vm).await, "DONE/LCM_INIT");
    r.check();
}

#[tokio::test]
async fn a_template_the_user_may_not_use_fails_the_deploy_without_vms() {
    let r = Recorded::start(STEP).await;
    let api = r.env.api();
    let id = instantiate(&api, "DenyVMTemplate", "denied").await;
    let seen = watch(
        "FAILED_DEPLOYING",
        || service_states(&api, id),
        |s| s.as_ref().is_some_and(|s| s.0 == "FAILED_DEPLOYING"),
    )
    .await;
    assert_eq!(seen, [st("PENDING", &["PENDING"]), st("FAILED_DEPLOYING", &["FAILED_DEPLOYING"])]);
    let service = api.flow.service(id).await.expect("get").expect("there");
    assert!(vms_of(&service).is_empty(), "no VM was made: {service}");
    let log = oneflow::body(&service)["log"].to_string();
    assert!(log.contains("Not authorized to perform USE TEMPLATE"), "{log}");
    let role_template = oneflow::body(&service)["roles"][0]["template_id"].as_u64().expect("template id");
    let e = api.oned.template(role_template).await.expect_err("not this user's template");
    assert_eq!(e.kind, Some(ErrorKind::Denied), "{}", e.message);
    // FAILED_DEPLOYING is not transient: DELETE undeploys it (no VMs: gone next step).
    assert!(api.flow.delete_service(id).await.expect("delete"));
    watch("gone", || service_states(&api, id), Option::is_none).await;
    r.check();
}

#[tokio::test]
async fn a_running_service_goes_to_warning_when_a_vm_fails_and_back_when_it_runs() {
    let r = Recorded::start(STEP).await;
    let api = r.env.api();
    let id = instantiate(&api, "Function", "warn").await;
    watch("RUNNING", || service_states(&api, id), |s| s == &st("RUNNING", &["RUNNING"])).await;
    let vm = vms_of(&api.flow.service(id).await.expect("get").expect("there"))[0];

    // A VM that fails (PROLOG_FAILURE, as a host would leave it): WARNING; recover retries it
    // and OneFlow's monitor makes the service RUNNING again.
    r.env.emulator.with_world(|w| {
        let v = w.vms.iter_mut().find(|v| v.id == vm).expect("vm");
        (v.lcm, v.due) = (39, None);
    });
    let warning = st("WARNING", &["WARNING"]);
    assert_eq!(service_states(&api, id).await, warning);
    api.flow.recover(id, false).await.expect("recover");
    let vms = watch("the VM to run", || vm_state(&api, vm), |s| s == "ACTIVE/RUNNING").await;
    assert_eq!(vms, ["ACTIVE/PROLOG", "ACTIVE/BOOT", "ACTIVE/RUNNING"]);
    assert_eq!(service_states(&api, id).await, st("RUNNING", &["RUNNING"]));

    // A VM terminated outside OneFlow: SHUTDOWN, then DONE, and the service in WARNING, which
    // DELETE undeploys (its VM already DONE: UNDEPLOYING_NETS, then gone).
    api.oned.vm_action("terminate", vm).await.expect("terminate");
    let vms = watch("the VM to be DONE", || vm_state(&api, vm), |s| s == "DONE/LCM_INIT").await;
    assert_eq!(vms, ["ACTIVE/SHUTDOWN", "DONE/LCM_INIT"]);
    assert_eq!(service_states(&api, id).await, warning);
    assert!(api.flow.delete_service(id).await.expect("delete"));
    let seen = watch("gone", || service_states(&api, id), Option::is_none).await;
    assert_eq!(seen.last(), Some(&None));
    assert!(seen.contains(&st("UNDEPLOYING_NETS", &["DONE"])), "{seen:?}");
    r.check();
}

#[tokio::test]
async fn a_vm_powers_off_and_resumes_over_time() {
    let r = Recorded::start(STEP).await;
    let api = r.env.api();
    let id = instantiate(&api, "Function", "power").await;
    watch("RUNNING", || service_states(&api, id), |s| s == &st("RUNNING", &["RUNNING"])).await;
    let vm = vms_of(&api.flow.service(id).await.expect("get").expect("there"))[0];

    api.oned.vm_action("poweroff", vm).await.expect("poweroff");
    let off = watch("POWEROFF", || vm_state(&api, vm), |s| s == "POWEROFF/LCM_INIT").await;
    assert_eq!(off, ["ACTIVE/SHUTDOWN_POWEROFF", "POWEROFF/LCM_INIT"]);
    let e = api.oned.vm_action("poweroff", vm).await.expect_err("not from POWEROFF");
    assert!(e.message.contains("This action is not available for state POWEROFF"), "{}", e.message);
    let e = api.oned.vm_action("migrate", vm).await.expect_err("not emulated");
    assert!(e.message.contains("Action migrate is not supported"), "{}", e.message);
    api.oned.vm_action("resume", vm).await.expect("resume");
    let on = watch("RUNNING", || vm_state(&api, vm), |s| s == "ACTIVE/RUNNING").await;
    assert_eq!(on, ["ACTIVE/BOOT_POWEROFF", "ACTIVE/RUNNING"]);
    assert_eq!(service_states(&api, id).await, st("RUNNING", &["RUNNING"]), "a poweroff is no failure");
    let e = api.oned.vm(999_999).await.expect("NO_EXISTS");
    assert!(e.is_none());
    assert!(api.flow.delete_service(id).await.expect("delete"));
    watch("gone", || service_states(&api, id), Option::is_none).await;
    r.check();
}

#[tokio::test]
async fn the_document_pool_lists_a_users_documents_by_type() {
    let r = Recorded::start(STEP).await;
    let api = r.env.api();
    let a = api.oned.document_allocate(1337, "a", "{\"A\":1}").await.expect("allocate a");
    let b = api.oned.document_allocate(1337, "b", "{\"B\":2}").await.expect("allocate b");
    let c = api.oned.document_allocate(42, "c", "c").await.expect("allocate c");
    // A document of another user (oneadmin, uid 0) is not in this user's pool.
    r.env.emulator.with_world(|w| {
        let id = w.fresh_id();
        w.documents.push(Document { id, uid: 0, name: "theirs".into(), doc_type: 1337, body: "{}".into() });
    });
    let listed = |docs: Vec<tarn_provider_opennebula::model::Document>| -> Vec<(u64, String)> {
        docs.into_iter().map(|d| (d.id, d.name)).collect()
    };
    assert_eq!(listed(api.oned.documents(1337).await.expect("pool 1337")), [(a, "a".into()), (b, "b".into())]);
    assert_eq!(listed(api.oned.documents(42).await.expect("pool 42")), [(c, "c".into())]);
    // OneFlow's documents are oned documents too: services (100) and service templates (101).
    let templates = api.oned.documents(101).await.expect("pool 101");
    assert_eq!(templates.len(), 4, "the sandbox's service templates");
    assert!(api.oned.documents(100).await.expect("pool 100").is_empty());
    let s = instantiate(&api, "Function", "pooled").await;
    let services = api.oned.documents(100).await.expect("pool 100");
    assert_eq!(services.iter().map(|d| d.id).collect::<Vec<_>>(), [s]);
    let doc = api.oned.document(s).await.expect("info").expect("the service's document");
    assert_eq!(doc.doc_type, "100");
    assert!(api.oned.document(999_999).await.expect("NO_EXISTS reads as None").is_none());
    assert!(api.oned.document_delete(b).await.expect("delete"));
    assert_eq!(listed(api.oned.documents(1337).await.expect("pool")), [(a, "a".into())]);
    let c = r.check();
    for m in ["one.documentpool.info", "one.document.info", "one.document.allocate", "one.document.delete"] {
        assert!(c.methods.contains(m), "{m}: {:?}", c.methods);
    }
    assert!(c.xml >= 7, "{c:?}");
}

/// One plain HTTP/1.1 exchange: status, head (lower case) and body; with the sandbox user's
/// Basic credentials.
fn raw(base: &str, method: &str, path: &str, timeout: Duration) -> std::io::Result<(u16, String, String)> {
    use base64::Engine as _;
    let addr = base.trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut s = std::net::TcpStream::connect(&addr)?;
    s.set_read_timeout(Some(timeout))?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{SANDBOX_USER}:{PASSWORD}"));
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {token}\r\nConnection: close\r\n")?;
    write!(s, "Content-Length: 0\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, head.to_ascii_lowercase(), body.to_string()))
}

async fn get(base: &str, path: &str, timeout: Duration) -> std::io::Result<(u16, String, String)> {
    let (base, path) = (base.to_string(), path.to_string());
    tokio::task::spawn_blocking(move || raw(&base, "GET", &path, timeout)).await.expect("the request's thread")
}

#[tokio::test]
async fn every_fault_switch_changes_the_answers_as_it_says() {
    let r = Recorded::start(STEP).await;
    let faults = &r.env.running.faults;
    let base = r.env.running.base_url.clone();
    let long = Duration::from_secs(10);

    // fail_next: OneFlow's unhandled-error answer (documented: a 500 with a JSON message),
    // recorded and checked like every other answer; then the real one again.
    faults.fail_next(2, 500, json!({"message": "Internal server error"}));
    for _ in 0..2 {
        let (status, _, body) = get(&base, "/service", long).await.expect("answer");
        assert_eq!((status, body.as_str()), (500, "{\"message\":\"Internal server error\"}"));
    }
    assert_eq!(get(&base, "/service", long).await.expect("answer").0, 200);

    // The other switches answer what OpenNebula never does (429, a slow or no answer): not
    // recorded, checked here.
    r.pause(true);
    faults.throttle_next(1, Some("3"), json!({"message": "slow down"}));
    let (status, head, _) = get(&base, "/service", long).await.expect("answer");
    assert_eq!(status, 429);
    assert!(head.contains("retry-after: 3"), "{head}");
    assert_eq!(get(&base, "/service", long).await.expect("answer").0, 200, "one only");

    faults.set_latency(Duration::from_millis(400));
    let started = Instant::now();
    assert_eq!(get(&base, "/service_template", long).await.expect("answer").0, 200);
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    faults.set_latency(Duration::ZERO);

    faults.set_hang(true);
    let hung = get(&base, "/service", Duration::from_millis(500)).await;
    assert!(hung.is_err(), "a hung emulator answered: {hung:?}");
    faults.set_hang(false);

    let before = faults.requests();
    faults.fail_every(3, 503);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(get(&base, "/service", long).await.expect("answer").0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 2, "every third of six: {statuses:?}");
    assert!(faults.requests() >= before + 6);

    // The XML-RPC endpoint is behind the same switches.
    faults.fail_next(1, 500, json!({"message": "Internal server error"}));
    let e = r.env.api().oned.vms().await;
    assert!(e.is_ok(), "a read is retried past one fault: {e:?}");
    faults.clear();
    r.pause(false);
    assert_eq!(get(&base, "/service", long).await.expect("answer").0, 200, "cleared");
    r.check();
}
