//! The Scaleway Instance API v1 emulator: servers, their actions (backups among them) and
//! tasks and user data, volumes, flexible IPs, images and their snapshots, security groups and
//! their rules, and server types, served under `/instance/v1/zones/{zone}` on
//! 127.0.0.1 as `specs/scaleway-instance-v1.subset.yaml` and its `x-observed-behaviour` block
//! say (201 + `Location` on creates, 202 + task on actions, 204 on deletes, the error body
//! `{type, message, …}`, `page`/`per_page` with `X-Total-Count` and `Link`).
//!
//! Every API answer passes the guard (authentication, request window) and the fault switches.
//! Beside them, never faulted: `/__sim/faults` and `GET /__sim/state`. Not emulated yet: image
//! creation from a snapshot (`POST /images`; backups make images), and
//! attach-volume/detach-volume (volumes move through the server's PATCH).

mod catalog;
mod data;
mod envelope;
mod groups;
mod guard;
mod images;
mod ips;
mod servers;
mod volumes;

pub use data::{ORGANIZATION_ID, SEED_IMAGES, SERVER_TYPES};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tarn_sdk::Value;
use tarn_sdk::sim::{Emulated, EmulatorError, EmulatorOptions, FaultBodies, Faults, RunningEmulator, SimServer, admin};

use data::Data;
use envelope::Failure;
use guard::{Guard, RateWindow};

/// The secret key the sandbox gives the provider (any UUID is accepted).
pub const SANDBOX_SECRET_KEY: &str = "00000000-0000-4000-8000-000000000000";

/// How an emulator behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Accept only this secret key (401 otherwise); `None`: any UUID.
    pub secret_key: Option<String>,
    /// Requests allowed per window before 429.
    pub rate_limit: u64,
    pub rate_window: Duration,
    /// How long a server action's task takes.
    pub action_time: Duration,
    /// Security groups allowed per Project and zone before 403 `quotas_exceeded`.
    pub security_group_quota: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secret_key: None,
            rate_limit: 6000,
            rate_window: Duration::from_secs(60),
            action_time: Duration::from_millis(200),
            security_group_quota: 20,
        }
    }
}

/// One emulator's objects, faults and settings. Clones share them.
#[derive(Debug, Clone)]
pub struct Emulator {
    data: Data,
    faults: Faults,
    settings: Settings,
}

impl Emulator {
    /// An emulator with the seed images, in memory only.
    pub fn new(settings: Settings) -> Emulator {
        let mut data = Data::seeded(settings.action_time);
        data.group_quota = settings.security_group_quota;
        Emulator { data, faults: Faults::default(), settings }
    }

    /// An emulator whose objects live in `snapshot` (read now if it exists, written on change).
    pub fn open(snapshot: Option<PathBuf>, settings: Settings) -> Result<Emulator, EmulatorError> {
        let mut data = match snapshot {
            Some(path) => Data::open(path, settings.action_time)?,
            None => Data::seeded(settings.action_time),
        };
        data.group_quota = settings.security_group_quota;
        Ok(Emulator { data, faults: Faults::default(), settings })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every object, as the snapshot file holds them.
    pub fn dump(&self) -> serde_json::Value {
        self.data.dump()
    }

    /// The whole router: the API, guarded and faulted, and the admin routes.
    pub fn router(&self) -> Router {
        let z = "/instance/v1/zones/{zone}";
        let api = Router::new()
            .route(&format!("{z}/servers"), get(servers::list).post(servers::create))
            .route(
                &format!("{z}/servers/{{server_id}}"),
                get(servers::get).patch(servers::update).delete(servers::delete),
            )
            .route(&format!("{z}/servers/{{server_id}}/action"), get(servers::actions).post(servers::action))
            .route(&format!("{z}/servers/{{server_id}}/user_data"), get(servers::user_data_keys))
            .route(
                &format!("{z}/servers/{{server_id}}/user_data/{{key}}"),
                get(servers::user_data_get).patch(servers::user_data_set).delete(servers::user_data_delete),
            )
            .route(&format!("{z}/tasks/{{task_id}}"), get(servers::task))
            .route(&format!("{z}/volumes"), get(volumes::list).post(volumes::create))
            .route(
                &format!("{z}/volumes/{{volume_id}}"),
                get(volumes::get).patch(volumes::update).delete(volumes::delete),
            )
            .route(&format!("{z}/ips"), get(ips::list).post(ips::create))
            .route(&format!("{z}/ips/{{ip}}"), get(ips::get).patch(ips::update).delete(ips::delete))
            .route(&format!("{z}/images"), get(images::list))
            .route(&format!("{z}/images/{{image_id}}"), get(images::get).patch(images::update).delete(images::delete))
            .route(&format!("{z}/snapshots/{{snapshot_id}}"), get(images::get_snapshot).delete(images::delete_snapshot))
            .route(&format!("{z}/products/servers"), get(catalog::server_types))
            .route(&format!("{z}/security_groups"), get(groups::list).post(groups::create))
            // One route for `{security_group_id}` and the spec's `{id}` (PUT): the same group.
            .route(
                &format!("{z}/security_groups/{{security_group_id}}"),
                get(groups::get).patch(groups::update).put(groups::set).delete(groups::delete),
            )
            .route(
                &format!("{z}/security_groups/{{security_group_id}}/rules"),
                get(groups::rules).post(groups::create_rule).put(groups::set_rules),
            )
            .route(
                &format!("{z}/security_groups/{{security_group_id}}/rules/{{rule_id}}"),
                get(groups::get_rule).put(groups::change_rule).patch(groups::change_rule).delete(groups::delete_rule),
            )
            .method_not_allowed_fallback(method_not_allowed)
            .fallback(no_route)
            .with_state(self.data.clone());
        let gate = Guard {
            rate: RateWindow::new(self.settings.rate_limit, self.settings.rate_window),
            secret_key: self.settings.secret_key.clone(),
        };
        let api = self.faults.wrap(api).layer(middleware::from_fn_with_state(gate, guard::guard));
        let extra = Router::new().route("/__sim/state", get(dump)).with_state(self.data.clone());
        api.merge(admin::routes(self.faults.clone(), fault_bodies())).merge(extra)
    }

    /// Serves on `addr` (127.0.0.1 on a free port when `None`).
    pub async fn serve(&self, addr: Option<SocketAddr>) -> Result<RunningEmulator, EmulatorError> {
        let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = SimServer::start_on(addr, self.router())
            .await
            .map_err(|source| EmulatorError::Bind { addr: addr.to_string(), source })?;
        let base_url = format!("http://{}", server.addr());
        Ok(RunningEmulator { server, faults: self.faults.clone(), base_url })
    }
}

/// A path's zone, if the Instance API serves it.
fn zone(z: &str) -> Result<&str, Failure> {
    if crate::api::ZONES.contains(&z) {
        Ok(z)
    } else {
        Err(Failure::invalid_argument("zone", "constraint", format!("unknown zone {z:?}")))
    }
}

/// The bodies faults answer with, in Scaleway's error style.
pub fn fault_bodies() -> FaultBodies {
    FaultBodies {
        server_error: json!({"type": "internal_error", "message": "internal error (injected by tarn's emulator)"}),
        throttled: json!({"type": "too_many_requests", "message": "too many requests, slow down"}),
    }
}

async fn no_route(uri: Uri) -> Response {
    let body = json!({"type": "not_found", "message": format!("no route for {}", uri.path())});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn method_not_allowed() -> Response {
    Failure::invalid_request("method not allowed for this endpoint").into_response()
}

async fn dump(State(data): State<Data>) -> axum::Json<serde_json::Value> {
    axum::Json(data.dump())
}

/// The emulator as the sandbox registry sees it.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScalewayEmulator;

#[async_trait]
impl Emulated for ScalewayEmulator {
    fn provider_name(&self) -> &str {
        "scaleway"
    }

    async fn start(&self, options: EmulatorOptions) -> Result<RunningEmulator, EmulatorError> {
        Emulator::open(options.snapshot, Settings::default())?.serve(options.addr).await
    }

    fn sandbox_config(&self, base_url: &str) -> Vec<(String, Value)> {
        vec![
            ("api_url".to_string(), Value::string(base_url)),
            ("secret_key".to_string(), Value::string(SANDBOX_SECRET_KEY)),
            ("project_id".to_string(), Value::string(ORGANIZATION_ID)),
        ]
    }
}
