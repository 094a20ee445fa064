//! A Proxmox VE emulator on the `tarn_sdk::sim` harness, following
//! `specs/proxmox-ve-9.2.subset.json` (answers in Proxmox's `{"data": …}` envelope; the tests
//! validate every `data` against the spec): the next free VMID, QEMU VMs (create, config with
//! `import-from` disks, start, stop, status, delete with its disks, guest-agent ping), backup
//! jobs (`backup.rs`), the node list, and the tasks every asynchronous call returns (UPIDs:
//! `running` on the first poll, then `stopped` with their exit status).
//!
//! Fault switches ([`Faults`]): a task kind that ends in error, a call that answers 500, a
//! guest agent that answers only some time after the VM started, and `nextid` answers whose id
//! another create took in the meantime (two applies on one host at once).
//!
//! Served over HTTPS only, as pveproxy serves the API: at start the emulator makes a cluster CA
//! and the node's certificate signed by it (`certs.rs`, as `pve-root-ca.pem` and `pve-ssl.pem`)
//! and serves with it (`https.rs`); clients trust it by its fingerprint or by the CA.
//!
//! Proxmox cannot be installed here: both PAGW Proxmox drivers meet this one behaviour, the SSH
//! driver through the `pvesh` and `qm` commands of `testing/pve-shims`. Owns the routes and the
//! in-memory state; must not touch a host beyond checking that an imported file exists.

mod backup;
pub mod certs;
pub mod https;
mod qemu;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde_json::{Value as Json, json};

use certs::Certificates;
use https::HttpsServer;

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
    /// Polls answered so far: the first answer says `running`.
    polls: u32,
}

/// What the emulator gets wrong on purpose, for tests.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Tasks of this type (`qmcreate`, `qmstart`, `qmdestroy`, …) end with this exit status.
    pub failing_task: Option<(String, String)>,
    /// Requests with this method whose path ends with this suffix answer 500.
    pub failing_call: Option<(String, String)>,
    /// The guest agent answers only this long after its VM started.
    pub agent_delay: Duration,
    /// This many `/cluster/nextid` answers give an id a VM already holds (while there is one):
    /// another apply's create landed between this one's `nextid` and its create.
    pub taken_nextid: u32,
}

#[derive(Default)]
pub struct Pve {
    pub vms: BTreeMap<u32, Vm>,
    /// Volumes `storage:vm-ID-disk-N` and the file each was imported from.
    pub volumes: BTreeMap<String, String>,
    /// Backup jobs by id, with their parameters.
    pub backups: BTreeMap<String, serde_json::Map<String, Json>>,
    pub faults: Faults,
    /// Every `Authorization` header the emulator was sent (API tokens; the shims send none).
    pub authorizations: std::collections::BTreeSet<String>,
    /// When each running VM started (for the guest agent's delay).
    started: BTreeMap<u32, Instant>,
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
        let exitstatus = match (ok, &self.faults.failing_task) {
            (Err(e), _) => e,
            (Ok(()), Some((k, status))) if k == kind => status.clone(),
            (Ok(()), _) => "OK".to_string(),
        };
        self.tasks.insert(upid.clone(), Task { kind: kind.into(), id: id.into(), starttime, exitstatus, polls: 0 });
        upid
    }
}

fn lock(pve: &Shared) -> std::sync::MutexGuard<'_, Pve> {
    pve.lock().unwrap_or_else(|e| e.into_inner())
}

/// Proxmox's error answer: `data` null and a message.
fn error(status: axum::http::StatusCode, message: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::Json(json!({ "data": null, "message": message }))).into_response()
}

/// `{"data": value}`.
pub fn data(value: Json) -> axum::Json<Json> {
    axum::Json(json!({ "data": value }))
}

async fn nextid(State(pve): State<Shared>) -> axum::Json<Json> {
    let mut pve = pve.lock().unwrap_or_else(|e| e.into_inner());
    if pve.faults.taken_nextid > 0 {
        if let Some(&taken) = pve.vms.keys().next() {
            pve.faults.taken_nextid -= 1;
            return data(json!(taken));
        }
    }
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
    let mut pve = lock(&pve);
    let Some(t) = pve.tasks.get_mut(&upid) else {
        return error(axum::http::StatusCode::INTERNAL_SERVER_ERROR, &format!("no such task '{upid}'"));
    };
    t.polls += 1;
    let pid = u32::from_str_radix(upid.split(':').nth(2).unwrap_or("0"), 16).unwrap_or(0);
    let mut answer = json!({
        "upid": upid, "node": node, "pid": pid, "pstart": 1, "starttime": t.starttime,
        "type": t.kind, "id": t.id, "user": "root@pam", "status": "running",
    });
    if t.polls > 1 {
        answer["status"] = json!("stopped");
        answer["exitstatus"] = json!(t.exitstatus);
    }
    data(answer).into_response()
}

async fn nodes() -> axum::Json<Json> {
    data(json!([{ "node": NODE, "status": "online", "type": "node", "maxcpu": 4, "maxmem": 8_589_934_592u64 }]))
}

/// Answers 500 to the call `Faults::failing_call` names.
async fn inject(
    State(pve): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let failing = {
        let mut pve = lock(&pve);
        if let Some(auth) = req.headers().get("authorization").and_then(|a| a.to_str().ok()) {
            pve.authorizations.insert(auth.to_string());
        }
        pve.faults.failing_call.clone()
    };
    if let Some((method, suffix)) = failing {
        if req.method().as_str() == method && req.uri().path().ends_with(&suffix) {
            return error(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "injected fault: internal server error");
        }
    }
    next.run(req).await
}

/// The emulator's routes under `/api2/json`.
pub fn router(pve: Shared) -> Router {
    let api = Router::new()
        .route("/cluster/nextid", get(nextid))
        .route("/nodes", get(nodes))
        .route("/nodes/{node}/tasks/{upid}/status", get(task_status))
        .merge(qemu::routes())
        .merge(backup::routes())
        .layer(axum::middleware::from_fn_with_state(pve.clone(), inject))
        .with_state(pve);
    Router::new().nest(BASE, api)
}

/// A running emulator, its certificates and its state.
pub struct Emulator {
    pub server: HttpsServer,
    pub certs: Certificates,
    pub state: Shared,
}

impl Emulator {
    pub async fn start() -> std::io::Result<Emulator> {
        Self::start_with(|r| r).await
    }

    /// Starts with `wrap` applied to the router (a spec recorder in tests), on HTTPS with
    /// certificates made now.
    pub async fn start_with(wrap: impl FnOnce(Router) -> Router) -> std::io::Result<Emulator> {
        let certs =
            Certificates::generate("Proxmox Virtual Environment (tarn test)", NODE).map_err(std::io::Error::other)?;
        let tls = certs.server_config().map_err(std::io::Error::other)?;
        let state = Shared::default();
        let server = HttpsServer::start(wrap(router(state.clone())), tls).await?;
        Ok(Emulator { server, certs, state })
    }

    /// `https://127.0.0.1:PORT/api2/json`.
    pub fn base_url(&self) -> String {
        format!("{}{BASE}", self.server.url().trim_end_matches('/'))
    }

    /// The SHA-256 fingerprint of the certificate it serves, as `openssl x509 -noout
    /// -fingerprint -sha256 -in /etc/pve/local/pve-ssl.pem` prints it on a Proxmox host.
    pub fn fingerprint(&self) -> String {
        self.certs.fingerprint()
    }
}
