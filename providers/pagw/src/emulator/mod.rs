//! A Proxmox VE emulator on the `tarn_sdk::sim` harness, following
//! `specs/proxmox-ve-9.2.subset.json` (answers in Proxmox's `{"data": …}` envelope; the tests
//! validate every `data` against the spec): the next free VMID, QEMU VMs (create, config with
//! `import-from` disks, start, stop, status, delete with its disks, guest-agent ping), and the
//! tasks every asynchronous call returns (UPIDs, polled to `stopped` / `OK`).
//!
//! Proxmox cannot be installed here: both PAGW Proxmox drivers meet this one behaviour, the SSH
//! driver through the `pvesh` and `qm` commands of `testing/pve-shims`. Owns the routes and the
//! in-memory state; must not touch a host beyond checking that an imported file exists.

mod qemu;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value as Json, json};
use tarn_sdk::sim::SimServer;

pub const NODE: &str = "pve";
pub const BASE: &str = "/api2/json";
/// The node's storages, as a default install has them.
pub const STORAGES: &[&str] = &["local", "local-lvm"];

/// One QEMU VM.
#[derive(Debug, Clone)]
pub struct Vm {
    pub vmid: u32,
    pub name: String,
    pub running: bool,
    pub config: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct Task {
    kind: String,
    id: String,
    starttime: i64,
    exitstatus: String,
}

#[derive(Default)]
pub struct Pve {
    pub vms: BTreeMap<u32, Vm>,
    /// Volumes `storage:vm-ID-disk-N` and the file each was imported from.
    pub volumes: BTreeMap<String, String>,
    tasks: BTreeMap<String, Task>,
    seq: u32,
}

pub type Shared = Arc<Mutex<Pve>>;

impl Pve {
    /// Records a finished task and returns its UPID.
    fn task(&mut self, kind: &str, id: &str, ok: Result<(), String>) -> String {
        self.seq += 1;
        let starttime = 1_760_000_000 + i64::from(self.seq);
        let upid =
            format!("UPID:{NODE}:{:08X}:{:08X}:{starttime:08X}:{kind}:{id}:root@pam:", 4000 + self.seq, self.seq);
        let exitstatus = match ok {
            Ok(()) => "OK".to_string(),
            Err(e) => e,
        };
        self.tasks.insert(upid.clone(), Task { kind: kind.into(), id: id.into(), starttime, exitstatus });
        upid
    }
}

/// `{"data": value}`.
pub fn data(value: Json) -> axum::Json<Json> {
    axum::Json(json!({ "data": value }))
}

async fn nextid(State(pve): State<Shared>) -> axum::Json<Json> {
    let pve = pve.lock().unwrap_or_else(|e| e.into_inner());
    let mut id = 100;
    while pve.vms.contains_key(&id) {
        id += 1;
    }
    data(json!(id))
}

async fn task_status(
    State(pve): State<Shared>,
    Path((node, upid)): Path<(String, String)>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let pve = pve.lock().unwrap_or_else(|e| e.into_inner());
    let Some(t) = pve.tasks.get(&upid) else {
        return (axum::http::StatusCode::NOT_FOUND, data(Json::Null)).into_response();
    };
    let pid = u32::from_str_radix(upid.split(':').nth(2).unwrap_or("0"), 16).unwrap_or(0);
    data(json!({
        "upid": upid, "node": node, "pid": pid, "pstart": 1, "starttime": t.starttime,
        "type": t.kind, "id": t.id, "user": "root@pam", "status": "stopped", "exitstatus": t.exitstatus,
    }))
    .into_response()
}

/// The emulator's routes under `/api2/json`.
pub fn router(pve: Shared) -> Router {
    let api = Router::new()
        .route("/cluster/nextid", get(nextid))
        .route("/nodes/{node}/tasks/{upid}/status", get(task_status))
        .merge(qemu::routes())
        .with_state(pve);
    Router::new().nest(BASE, api)
}

/// A running emulator and its state.
pub struct Emulator {
    pub server: SimServer,
    pub state: Shared,
}

impl Emulator {
    pub async fn start() -> std::io::Result<Emulator> {
        Self::start_with(|r| r).await
    }

    /// Starts with `wrap` applied to the router (a spec recorder in tests).
    pub async fn start_with(wrap: impl FnOnce(Router) -> Router) -> std::io::Result<Emulator> {
        let state = Shared::default();
        let server = SimServer::start(wrap(router(state.clone()))).await?;
        Ok(Emulator { server, state })
    }

    /// `http://127.0.0.1:PORT/api2/json`.
    pub fn base_url(&self) -> String {
        format!("{}{BASE}", self.server.url().trim_end_matches('/'))
    }
}
