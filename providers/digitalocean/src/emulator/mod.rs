//! The DigitalOcean API v2 emulator: droplets and their actions, SSH keys, domains and
//! records, load balancers and tags, served under `/v2` on 127.0.0.1 as
//! `specs/digitalocean-v2.subset.yaml` and `specs/digitalocean-v2.ssh-keys.extract.yaml` say
//! (202 on droplet and load balancer creates, 201 on other creates and on actions, 204 on
//! deletes, the error body `{id, message, request_id}`, `links.pages` and `meta.total`,
//! `ratelimit-*` headers on every answer and 429 with `retry-after` past the burst limit).
//!
//! Every API answer passes the guard (rate limits, authentication) and the fault switches.
//! Beside them, never faulted: `/__sim/faults`, `GET /__sim/state`, and
//! `GET`/`PUT /__sim/droplet_addresses`, the pool of public IPv4 addresses new droplets take
//! (so a test can point droplets at 127.0.0.1, where its own sshd instances listen).
//! Not emulated: creating several droplets in one request, volumes, images, certificates.

mod balancers;
mod data;
mod domains;
mod droplets;
mod envelope;
mod guard;
mod keys;
mod tags;

pub use data::{IMAGES, REGIONS, SIZES};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value as Json, json};
use tarn_sdk::Value;
use tarn_sdk::sim::{Emulated, EmulatorError, EmulatorOptions, FaultBodies, Faults, RunningEmulator, SimServer, admin};

use data::Data;
use envelope::Failure;
use guard::{Guard, RateLimits};

/// The token the sandbox gives the provider (any token is accepted unless a test sets one).
pub const SANDBOX_TOKEN: &str = "dop_v1_sandbox";

/// The admin path of the droplet address pool.
pub const ADDRESSES_PATH: &str = "/__sim/droplet_addresses";

/// The environment variable `tarn --sandbox` and `tarn sim serve` read the address pool from
/// when the emulator starts: addresses separated by commas or spaces.
pub const ADDRESSES_ENV: &str = "TARN_SIM_DIGITALOCEAN_DROPLET_ADDRESSES";

/// How an emulator behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Accept only this token (401 otherwise); `None`: any non-empty token.
    pub token: Option<String>,
    /// Requests allowed per `minute` (the burst limit: 429 with `retry-after` past it).
    pub per_minute: u64,
    pub minute: Duration,
    /// Requests allowed per `hour`.
    pub per_hour: u64,
    pub hour: Duration,
    /// How long a droplet action takes (and a load balancer's setup).
    pub action_time: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            token: None,
            per_minute: 250,
            minute: Duration::from_secs(60),
            per_hour: 5000,
            hour: Duration::from_secs(3600),
            action_time: Duration::from_millis(200),
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
    /// An empty emulator, in memory only.
    pub fn new(settings: Settings) -> Emulator {
        Emulator { data: Data::new(settings.action_time), faults: Faults::default(), settings }
    }

    /// An emulator whose objects live in `snapshot` (read now if it exists, written on change).
    pub fn open(snapshot: Option<PathBuf>, settings: Settings) -> Result<Emulator, EmulatorError> {
        let data = match snapshot {
            Some(path) => Data::open(path, settings.action_time)?,
            None => Data::new(settings.action_time),
        };
        Ok(Emulator { data, faults: Faults::default(), settings })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every object, as the snapshot file holds them.
    pub fn dump(&self) -> Json {
        self.data.dump()
    }

    /// The public IPv4 addresses new droplets take: a new droplet gets the first entry that no
    /// live droplet holds (list an address twice to let two droplets hold it, e.g. 127.0.0.1);
    /// when every entry is held, one of 203.0.113.0/24. Kept in the snapshot.
    pub fn set_droplet_addresses(&self, addresses: Vec<String>) {
        *self.data.address_pool.lock().unwrap_or_else(|p| p.into_inner()) = addresses;
        self.data.persist();
    }

    pub fn droplet_addresses(&self) -> Vec<String> {
        self.data.address_pool.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The whole router: the API, guarded and faulted, and the admin routes.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/v2/droplets", get(droplets::list).post(droplets::create).delete(droplets::delete_tagged))
            .route("/v2/droplets/actions", post(droplets::action_tagged))
            .route("/v2/droplets/{droplet_id}", get(droplets::get).delete(droplets::delete))
            .route("/v2/droplets/{droplet_id}/actions", get(droplets::actions).post(droplets::action))
            .route("/v2/droplets/{droplet_id}/actions/{action_id}", get(droplets::droplet_action))
            .route("/v2/actions/{action_id}", get(droplets::get_action))
            .route("/v2/account/keys", get(keys::list).post(keys::create))
            .route("/v2/account/keys/{key}", get(keys::get).put(keys::update).delete(keys::delete))
            .route("/v2/domains", get(domains::list).post(domains::create))
            .route("/v2/domains/{domain_name}", get(domains::get).delete(domains::delete))
            .route("/v2/domains/{domain_name}/records", get(domains::records).post(domains::create_record))
            .route(
                "/v2/domains/{domain_name}/records/{record_id}",
                get(domains::get_record)
                    .patch(domains::update_record)
                    .put(domains::update_record)
                    .delete(domains::delete_record),
            )
            .route("/v2/load_balancers", get(balancers::list).post(balancers::create))
            .route("/v2/load_balancers/{lb_id}", get(balancers::get).put(balancers::update).delete(balancers::delete))
            .route(
                "/v2/load_balancers/{lb_id}/droplets",
                post(balancers::add_droplets).delete(balancers::remove_droplets),
            )
            .route(
                "/v2/load_balancers/{lb_id}/forwarding_rules",
                post(balancers::add_rules).delete(balancers::remove_rules),
            )
            .route("/v2/tags", get(tags::list).post(tags::create))
            .route("/v2/tags/{tag_id}", get(tags::get).delete(tags::delete))
            .route("/v2/tags/{tag_id}/resources", post(tags::tag_resources).delete(tags::untag_resources))
            .method_not_allowed_fallback(method_not_allowed)
            .fallback(no_route)
            .with_state(self.data.clone());
        let gate = Guard {
            rate: RateLimits::new(
                self.settings.per_minute,
                self.settings.minute,
                self.settings.per_hour,
                self.settings.hour,
            ),
            token: self.settings.token.clone(),
        };
        let api = self.faults.wrap(api).layer(middleware::from_fn_with_state(gate, guard::guard));
        let extra = Router::new()
            .route("/__sim/state", get(dump))
            .route(ADDRESSES_PATH, get(addresses).put(set_addresses))
            .with_state(self.clone());
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

/// The bodies faults answer with, in DigitalOcean's error style.
pub fn fault_bodies() -> FaultBodies {
    FaultBodies {
        server_error: json!({"id": "server_error", "message": "Server Error (injected by tarn's emulator)"}),
        throttled: json!({"id": "too_many_requests", "message": "API Rate limit exceeded."}),
    }
}

async fn no_route(uri: Uri) -> Response {
    let body = json!({"id": "not_found", "message": format!("no route for {}", uri.path())});
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

async fn method_not_allowed() -> Response {
    Failure { status: StatusCode::METHOD_NOT_ALLOWED, id: "method_not_allowed", message: "method not allowed".into() }
        .into_response()
}

async fn dump(State(emulator): State<Emulator>) -> axum::Json<Json> {
    axum::Json(emulator.dump())
}

async fn addresses(State(emulator): State<Emulator>) -> axum::Json<Json> {
    axum::Json(json!({"addresses": emulator.droplet_addresses()}))
}

/// `PUT /__sim/droplet_addresses` with `{"addresses": ["127.0.0.1", …]}`.
async fn set_addresses(State(emulator): State<Emulator>, body: Bytes) -> Response {
    let parsed: Option<Vec<String>> = serde_json::from_slice::<Json>(&body)
        .ok()
        .and_then(|b| b.get("addresses")?.as_array()?.iter().map(|a| a.as_str().map(str::to_string)).collect());
    match parsed {
        Some(list) if list.iter().all(|a| a.parse::<std::net::Ipv4Addr>().is_ok()) => {
            emulator.set_droplet_addresses(list);
            (StatusCode::OK, axum::Json(json!({"addresses": emulator.droplet_addresses()}))).into_response()
        }
        _ => (StatusCode::BAD_REQUEST, axum::Json(json!({"message": "expected {\"addresses\": [IPv4 addresses]}"})))
            .into_response(),
    }
}

/// The address pool named by `ADDRESSES_ENV`, if set.
fn addresses_from_env() -> Option<Vec<String>> {
    let raw = std::env::var(ADDRESSES_ENV).ok()?;
    let list: Vec<String> =
        raw.split([',', ' ']).map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect();
    if list.iter().any(|a| a.parse::<std::net::Ipv4Addr>().is_err()) {
        tracing::warn!("{ADDRESSES_ENV} holds something other than IPv4 addresses; it is ignored");
        return None;
    }
    Some(list)
}

/// The emulator as the sandbox registry sees it.
#[derive(Debug, Default, Clone, Copy)]
pub struct DigitalOceanEmulator;

#[async_trait]
impl Emulated for DigitalOceanEmulator {
    fn provider_name(&self) -> &str {
        "digitalocean"
    }

    async fn start(&self, options: EmulatorOptions) -> Result<RunningEmulator, EmulatorError> {
        let emulator = Emulator::open(options.snapshot, Settings::default())?;
        if let Some(list) = addresses_from_env() {
            emulator.set_droplet_addresses(list);
        }
        emulator.serve(options.addr).await
    }

    fn sandbox_config(&self, base_url: &str) -> Vec<(String, Value)> {
        vec![("api_url".to_string(), Value::string(base_url)), ("token".to_string(), Value::string(SANDBOX_TOKEN))]
    }
}
