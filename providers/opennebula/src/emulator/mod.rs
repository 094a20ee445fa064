//! The OpenNebula emulator: oned's XML-RPC (`POST /RPC2`, `rpc`) and OneFlow's REST API (`/service…`,
//! `flow`) on one loopback server sharing one world (`world`), as a real front-end runs both
//! over the same oned. Served by `tarn --sandbox` and `tarn sim serve`, behind the fault
//! switches (`/__sim/faults`); `GET /__sim/state` shows the world.
//!
//! The sandbox ships the service templates the original engine's test environment uses:
//! `Function` (a FAAS role), `Function-Data` (FAAS and DAAS), `FAILED_DEPLOY` (its VMs always
//! fail in PROLOG, so the service ends in FAILED_DEPLOYING) and `DenyVMTemplate` (its VM
//! template belongs to another user and is not usable by the caller). The sandbox user is
//! `cognit` / `sandbox`.

mod flow;
mod rpc;
pub mod world;
mod xml;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};
use tarn_sdk::Value;
use tarn_sdk::sim::{
    Emulated, EmulatorError, EmulatorOptions, FaultBodies, Faults, RunningEmulator, SimServer, admin, read_snapshot,
};

use crate::template::Attr;
use world::{FlowDoc, User, VmTemplate, World, now_ms};

pub const SANDBOX_USER: &str = "cognit";
pub const SANDBOX_PASSWORD: &str = "sandbox";

/// How an emulator behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Between two steps of a VM's or a service's life (PENDING → PROLOG → BOOT → RUNNING).
    pub step: Duration,
    /// The password of the sandbox user `cognit`.
    pub password: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { step: Duration::from_millis(300), password: SANDBOX_PASSWORD.into() }
    }
}

/// The world, shared by the routes, and where it is persisted.
#[derive(Debug, Clone)]
pub struct Data {
    world: Arc<Mutex<World>>,
    snapshot: Option<PathBuf>,
    /// The version of the world last written to `snapshot`; held while writing, so that
    /// writes happen one at a time, newest last, and outside the world's lock.
    written: Arc<Mutex<u64>>,
    /// The version of the world, counted under its lock each time it is serialised.
    version: Arc<AtomicU64>,
}

impl Data {
    fn new(world: World, snapshot: Option<PathBuf>) -> Data {
        Data { world: Arc::new(Mutex::new(world)), snapshot, written: Arc::default(), version: Arc::default() }
    }

    /// Runs `f`, which may change the world, after the transitions due now; then persists it.
    pub fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        self.access(true, f)
    }

    /// Runs `f`, which only reads the world, after the transitions due now; persists the world
    /// only if a transition changed it. Under load most calls are reads (polls): writing the
    /// whole world for each of them made the emulator everyone's bottleneck.
    pub fn read<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        self.access(false, f)
    }

    fn access<T>(&self, writes: bool, f: impl FnOnce(&mut World) -> T) -> T {
        let (out, serialised) = {
            let mut w = self.world.lock().unwrap_or_else(|p| p.into_inner());
            let ticked = w.tick(now_ms());
            let out = f(&mut w);
            let serialised = match &self.snapshot {
                Some(_) if writes || ticked => match serde_json::to_vec(&*w) {
                    Ok(bytes) => Some((self.version.fetch_add(1, Ordering::SeqCst) + 1, bytes)),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot serialise the opennebula emulator");
                        None
                    }
                },
                _ => None,
            };
            (out, serialised)
        };
        if let (Some(path), Some((version, bytes))) = (&self.snapshot, serialised) {
            // A newer world was serialised meanwhile: its caller writes it, this one need not.
            if version < self.version.load(Ordering::SeqCst) {
                return out;
            }
            let mut written = self.written.lock().unwrap_or_else(|p| p.into_inner());
            // A newer world may have been written while this one waited: it stands.
            if version > *written {
                if let Err(e) = write_bytes(path, &bytes) {
                    tracing::warn!(error = %e, "cannot write the opennebula emulator snapshot");
                }
                *written = version;
            }
        }
        out
    }
}

fn a(name: &str, value: &str) -> Attr {
    Attr::Single(name.into(), value.into())
}

fn v(name: &str, pairs: &[(&str, &str)]) -> Attr {
    Attr::Vector(name.into(), pairs.iter().map(|(k, x)| (k.to_string(), x.to_string())).collect())
}

/// The sandbox's users, VM templates and service templates.
pub fn catalogue(settings: &Settings) -> World {
    let step = settings.step;
    let function_vm = |id: u64, uid: u64, name: &str, owner_only: bool| VmTemplate {
        id,
        uid,
        name: name.into(),
        owner_only,
        regtime: 1_700_000_000,
        attrs: vec![
            a("CPU", "1"),
            a("VCPU", "1"),
            a("MEMORY", "512"),
            v("DISK", &[("IMAGE_ID", "0"), ("IMAGE", "cognit-function"), ("IMAGE_UNAME", "oneadmin")]),
            v("NIC", &[("NETWORK_ID", "0"), ("NETWORK", "public")]),
            v("CONTEXT", &[("NETWORK", "YES"), ("SSH_PUBLIC_KEY", "$USER[SSH_PUBLIC_KEY]"), ("TOKEN", "YES")]),
        ],
    };
    let role = |name: &str, tpl: u64| {
        json!({"name": name, "type": "vm", "cardinality": 1, "template_id": tpl, "parents": [],
               "min_vms": 1, "max_vms": 1, "cooldown": 300, "elasticity_policies": [], "scheduled_policies": []})
    };
    let service_template = |id: u64, name: &str, roles: Vec<Json>, doomed: bool| FlowDoc {
        id,
        uid: 0,
        name: name.into(),
        body: json!({"name": name, "deployment": "straight", "description": "", "roles": roles,
                     "ready_status_gate": false, "automatic_deletion": false, "registration_time": 1_700_000_000}),
        due: None,
        doomed,
    };
    World {
        next_id: 4,
        next_vm: 0,
        next_ip: 0,
        step_ms: step.as_millis() as u64,
        users: vec![
            User { id: 0, name: "oneadmin".into(), password: None },
            User { id: 1, name: "serveradmin".into(), password: None },
            User { id: 2, name: SANDBOX_USER.into(), password: Some(settings.password.clone()) },
        ],
        vm_templates: vec![
            function_vm(0, 0, "cognit-faas", false),
            function_vm(1, 0, "cognit-daas", false),
            function_vm(2, 1, "private-faas", true),
        ],
        service_templates: vec![
            service_template(0, "Function", vec![role("FAAS", 0)], false),
            service_template(1, "Function-Data", vec![role("FAAS", 0), role("DAAS", 1)], false),
            service_template(2, "FAILED_DEPLOY", vec![role("FAAS", 0)], true),
            service_template(3, "DenyVMTemplate", vec![role("FAAS", 2)], false),
        ],
        services: Vec::new(),
        vms: Vec::new(),
        documents: Vec::new(),
    }
}

/// One emulator's world, faults and settings. Clones share them.
#[derive(Debug, Clone)]
pub struct Emulator {
    data: Data,
    faults: Faults,
}

impl Emulator {
    /// The sandbox catalogue, in memory only.
    pub fn new(settings: Settings) -> Emulator {
        Emulator { data: Data::new(catalogue(&settings), None), faults: Faults::default() }
    }

    /// An emulator whose world lives in `snapshot` (read now if it exists, written on change).
    pub fn open(snapshot: Option<PathBuf>, settings: Settings) -> Result<Emulator, EmulatorError> {
        let mut world = catalogue(&settings);
        if let Some(path) = &snapshot {
            if let Some(json) = read_snapshot(path)? {
                world = serde_json::from_value(json).map_err(|e| EmulatorError::Snapshot {
                    path: path.clone(),
                    detail: format!("not an opennebula emulator snapshot: {e}"),
                })?;
                world.step_ms = settings.step.as_millis() as u64;
            }
        }
        Ok(Emulator { data: Data::new(world, snapshot), faults: Faults::default() })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Runs `f` on the world (tests: a VM resized or deleted outside tarn).
    pub fn with_world<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        self.data.with(f)
    }

    pub fn dump(&self) -> Json {
        self.data.read(|w| serde_json::to_value(&*w).unwrap_or(Json::Null))
    }

    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/RPC2", post(rpc::handle))
            .route("/service_template", get(flow::templates))
            .route("/service_template/{id}", get(flow::template))
            .route("/service_template/{id}/action", post(flow::template_action))
            .route("/service", get(flow::services))
            .route("/service/{id}", get(flow::service).delete(flow::delete_service))
            .route("/service/{id}/action", post(flow::service_action))
            .fallback(no_route)
            .with_state(self.data.clone());
        let extra = Router::new().route("/__sim/state", get(dump)).with_state(self.clone());
        self.faults.wrap(api).merge(admin::routes(self.faults.clone(), fault_bodies())).merge(extra)
    }

    pub async fn serve(&self, addr: Option<SocketAddr>) -> Result<RunningEmulator, EmulatorError> {
        let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = SimServer::start_on(addr, self.router())
            .await
            .map_err(|source| EmulatorError::Bind { addr: addr.to_string(), source })?;
        let base_url = format!("http://{}", server.addr());
        Ok(RunningEmulator { server, faults: self.faults.clone(), base_url })
    }
}

/// `bytes` into `path` atomically (a temporary file renamed into place), as `write_snapshot`
/// does, without making a JSON value of the world first.
fn write_bytes(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// What faults answer with: oneflow-server's unhandled-error body.
pub fn fault_bodies() -> FaultBodies {
    FaultBodies {
        server_error: json!({"message": "Internal server error", "reason": "injected by tarn's emulator"}),
        throttled: json!({"message": "Too many requests", "reason": "injected by tarn's emulator"}),
    }
}

async fn no_route(uri: axum::http::Uri) -> Response {
    (StatusCode::NOT_FOUND, format!("no route for {}", uri.path())).into_response()
}

async fn dump(State(emulator): State<Emulator>) -> axum::Json<Json> {
    axum::Json(emulator.dump())
}

/// The emulator as the sandbox registry sees it.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenNebulaEmulator;

#[async_trait]
impl Emulated for OpenNebulaEmulator {
    fn provider_name(&self) -> &str {
        "opennebula"
    }

    async fn start(&self, options: EmulatorOptions) -> Result<RunningEmulator, EmulatorError> {
        Emulator::open(options.snapshot, Settings::default())?.serve(options.addr).await
    }

    fn sandbox_config(&self, base_url: &str) -> Vec<(String, Value)> {
        let base = base_url.trim_end_matches('/');
        vec![
            ("one_xmlrpc".to_string(), Value::string(format!("{base}/RPC2"))),
            ("oneflow_server".to_string(), Value::string(base)),
            ("username".to_string(), Value::string(SANDBOX_USER)),
            ("password".to_string(), Value::string(SANDBOX_PASSWORD)),
        ]
    }
}
