//! `/nodes/{node}/qemu…`: VMs. Create and config take Proxmox's parameters (`name`, `onboot`,
//! `netN`, `scsiN` with `import-from=<file>`, …) as JSON; a disk imported from a file that does
//! not exist fails the task, as on Proxmox. Start, stop and delete return tasks; delete with
//! `purge` and `destroy-unreferenced-disks` removes the VM's volumes too.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value as Json, json};

use super::{Pve, Shared, Vm, data};

fn lock(pve: &Shared) -> std::sync::MutexGuard<'_, Pve> {
    pve.lock().unwrap_or_else(|e| e.into_inner())
}

fn err(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({ "data": null, "message": message }))).into_response()
}

fn param(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        other => other.to_string(),
    }
}

/// Applies config parameters; disks with `import-from` become volumes `storage:vm-ID-disk-N`.
fn apply(pve: &mut Pve, vmid: u32, params: &Map<String, Json>) -> Result<(), String> {
    let mut imported = Vec::new();
    let mut set = Vec::new();
    for (k, v) in params {
        if k == "vmid" || k == "node" {
            continue;
        }
        let mut value = param(v);
        if let Some(from) = value.split(',').find_map(|p| p.strip_prefix("import-from=")).map(str::to_string) {
            if !std::path::Path::new(&from).is_file() {
                return Err(format!("import-from: {from} does not exist"));
            }
            let storage = value.split(':').next().unwrap_or("local").to_string();
            if !super::STORAGES.contains(&storage.as_str()) {
                return Err(format!("storage '{storage}' does not exist"));
            }
            let n = pve.volumes.keys().filter(|k| k.contains(&format!("vm-{vmid}-disk-"))).count();
            let volume = format!("{storage}:vm-{vmid}-disk-{n}");
            imported.push((volume.clone(), from));
            value = volume;
        }
        set.push((k.clone(), value));
    }
    let vm = pve.vms.get_mut(&vmid).ok_or_else(|| format!("VM {vmid} does not exist"))?;
    for (k, v) in set {
        if k == "name" {
            vm.name = v.clone();
        }
        if k == "delete" {
            for key in v.split(',') {
                vm.config.remove(key.trim());
            }
            continue;
        }
        vm.config.insert(k, v);
    }
    pve.volumes.extend(imported);
    Ok(())
}

/// Keys the spec types as boolean or integer; the rest are (property) strings.
const BOOLEAN_KEYS: &[&str] =
    &["onboot", "acpi", "kvm", "numa", "protection", "tablet", "template", "reboot", "autostart"];
const INTEGER_KEYS: &[&str] = &["sockets", "cores", "vcpus", "balloon", "cpuunits", "shares", "migrate_downtime"];

/// A stored parameter as the spec types it in a config answer.
fn typed(key: &str, value: &str) -> Json {
    if BOOLEAN_KEYS.contains(&key) {
        return json!(value == "1" || value == "true");
    }
    if INTEGER_KEYS.contains(&key) {
        if let Ok(n) = value.parse::<i64>() {
            return json!(n);
        }
    }
    json!(value)
}

async fn list(State(pve): State<Shared>) -> Response {
    let pve = lock(&pve);
    let vms: Vec<Json> = pve
        .vms
        .values()
        .map(|vm| json!({ "vmid": vm.vmid, "name": vm.name, "status": if vm.running { "running" } else { "stopped" } }))
        .collect();
    data(Json::Array(vms)).into_response()
}

async fn create(State(pve): State<Shared>, axum::Json(body): axum::Json<Map<String, Json>>) -> Response {
    let mut pve = lock(&pve);
    let Some(vmid) = body.get("vmid").and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok())) else {
        return err(StatusCode::BAD_REQUEST, "vmid: property is missing");
    };
    let vmid = vmid as u32;
    if pve.vms.contains_key(&vmid) {
        return err(StatusCode::INTERNAL_SERVER_ERROR, &format!("VM {vmid} already exists"));
    }
    pve.vms.insert(vmid, Vm { vmid, name: format!("VM{vmid}"), running: false, config: Default::default() });
    let outcome = apply(&mut pve, vmid, &body);
    if outcome.is_err() {
        pve.vms.remove(&vmid);
    }
    let upid = pve.task("qmcreate", &vmid.to_string(), outcome);
    data(json!(upid)).into_response()
}

async fn config_get(State(pve): State<Shared>, Path((_, vmid)): Path<(String, u32)>) -> Response {
    let pve = lock(&pve);
    let Some(vm) = pve.vms.get(&vmid) else { return err(StatusCode::INTERNAL_SERVER_ERROR, "no such VM") };
    let mut o: Map<String, Json> = vm.config.iter().map(|(k, v)| (k.clone(), typed(k, v))).collect();
    o.insert("name".into(), json!(vm.name));
    // The config's digest: what a client sends back to detect concurrent changes.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&format!("{:?}{}", vm.config, vm.name), &mut h);
    o.insert("digest".into(), json!(format!("{:040x}", u128::from(std::hash::Hasher::finish(&h)))));
    data(Json::Object(o)).into_response()
}

async fn config_post(
    State(pve): State<Shared>,
    Path((_, vmid)): Path<(String, u32)>,
    axum::Json(body): axum::Json<Map<String, Json>>,
) -> Response {
    let mut pve = lock(&pve);
    if !pve.vms.contains_key(&vmid) {
        return err(StatusCode::INTERNAL_SERVER_ERROR, &format!("VM {vmid} does not exist"));
    }
    let outcome = apply(&mut pve, vmid, &body);
    let upid = pve.task("qmconfig", &vmid.to_string(), outcome);
    data(json!(upid)).into_response()
}

async fn current(State(pve): State<Shared>, Path((_, vmid)): Path<(String, u32)>) -> Response {
    let pve = lock(&pve);
    let Some(vm) = pve.vms.get(&vmid) else { return err(StatusCode::INTERNAL_SERVER_ERROR, "no such VM") };
    let agent = vm.config.get("agent").is_some_and(|a| a.contains('1'));
    data(json!({
        "vmid": vm.vmid, "name": vm.name, "status": if vm.running { "running" } else { "stopped" },
        "ha": { "managed": 0 }, "agent": agent,
    }))
    .into_response()
}

async fn power(pve: Shared, vmid: u32, on: bool) -> Response {
    let mut pve = lock(&pve);
    let outcome = match pve.vms.get_mut(&vmid) {
        Some(vm) if on && !vm.config.keys().any(|k| k.starts_with("scsi") && k != "scsihw") => {
            Err("no boot disk".to_string())
        }
        Some(vm) => {
            vm.running = on;
            Ok(())
        }
        None => return err(StatusCode::INTERNAL_SERVER_ERROR, &format!("VM {vmid} does not exist")),
    };
    if outcome.is_ok() {
        if on {
            pve.started.insert(vmid, std::time::Instant::now());
        } else {
            pve.started.remove(&vmid);
        }
    }
    let upid = pve.task(if on { "qmstart" } else { "qmstop" }, &vmid.to_string(), outcome);
    data(json!(upid)).into_response()
}

async fn start(State(pve): State<Shared>, Path((_, vmid)): Path<(String, u32)>) -> Response {
    power(pve, vmid, true).await
}

async fn stop(State(pve): State<Shared>, Path((_, vmid)): Path<(String, u32)>) -> Response {
    power(pve, vmid, false).await
}

async fn agent_ping(State(pve): State<Shared>, Path((_, vmid)): Path<(String, u32)>) -> Response {
    let pve = lock(&pve);
    // A VM started outside this emulator's start call (a test fixture) counts as long up.
    let up_long_enough = pve.started.get(&vmid).is_none_or(|t| t.elapsed() >= pve.faults.agent_delay);
    match pve.vms.get(&vmid) {
        Some(vm) if vm.running && up_long_enough && vm.config.get("agent").is_some_and(|a| a.contains('1')) => {
            data(json!({ "result": {} })).into_response()
        }
        _ => err(StatusCode::INTERNAL_SERVER_ERROR, "QEMU guest agent is not running"),
    }
}

async fn destroy(
    State(pve): State<Shared>,
    Path((_, vmid)): Path<(String, u32)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let mut pve = lock(&pve);
    let outcome = match pve.vms.get(&vmid) {
        None => return err(StatusCode::INTERNAL_SERVER_ERROR, &format!("VM {vmid} does not exist")),
        Some(vm) if vm.running => Err(format!("VM {vmid} is running - destroy failed")),
        Some(_) => Ok(()),
    };
    if outcome.is_ok() {
        pve.vms.remove(&vmid);
        if q.get("destroy-unreferenced-disks").is_some_and(|v| v == "1") || q.get("purge").is_some_and(|v| v == "1") {
            pve.volumes.retain(|k, _| !k.contains(&format!(":vm-{vmid}-disk-")));
        }
    }
    let upid = pve.task("qmdestroy", &vmid.to_string(), outcome);
    data(json!(upid)).into_response()
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/nodes/{node}/qemu", get(list).post(create))
        .route("/nodes/{node}/qemu/{vmid}", axum::routing::delete(destroy))
        .route("/nodes/{node}/qemu/{vmid}/config", get(config_get).post(config_post))
        .route("/nodes/{node}/qemu/{vmid}/status/current", get(current))
        .route("/nodes/{node}/qemu/{vmid}/status/start", post(start))
        .route("/nodes/{node}/qemu/{vmid}/status/stop", post(stop))
        .route("/nodes/{node}/qemu/{vmid}/agent/ping", post(agent_ping))
}
