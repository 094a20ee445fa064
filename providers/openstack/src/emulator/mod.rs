//! The Keystone v3 + Nova 2.1 emulator: tokens (password auth with project scope, validate,
//! revoke, catalog) under `/v3`, and servers with their actions, flavors and key pairs under
//! `/compute/v2.1`, on 127.0.0.1, as `specs/openstack-nova-v2.1-keystone-v3.subset.yaml` says
//! (statuses, fault bodies, microversion and request-id headers, `limit`/`marker` pages).
//!
//! Every API answer passes the fault switches; Nova's answers pass the token check first.
//! Beside them, never faulted: `/__sim/faults`, `GET /__sim/state`, and the test switches
//! `POST /__sim/tokens` (`{"expire_all": true}`, `{"lifetime_secs": N}`; GET tells how many
//! tokens were issued) and `POST /__sim/builds` (`{"fail_next": N}`: the next N servers end in
//! ERROR). Not emulated: Glance, Neutron and Cinder (images, networks and security groups are a
//! fixed seed), server metadata calls, resize, and every microversion but 2.1. All regions of
//! the catalog share one compute endpoint and one set of objects.

mod catalog;
mod data;
mod fault;
mod keypairs;
mod keystone;
mod nova;
mod servers;

pub use data::{FLAVORS, IMAGES, NETWORKS, SECURITY_GROUPS};
pub use fault::{fault_name, nova_body};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use tarn_sdk::Value;
use tarn_sdk::sim::{Emulated, EmulatorError, EmulatorOptions, FaultBodies, Faults, RunningEmulator, SimServer, admin};
use time::OffsetDateTime;

use data::Data;

/// The identity the sandbox gives the provider.
pub const SANDBOX_USER: &str = "tarn-sandbox";
pub const SANDBOX_PASSWORD: &str = "sandbox-password";
pub const SANDBOX_PROJECT: &str = "0123456789abcdef0123456789abcdef";
pub const SANDBOX_REGION: &str = "GRA11";

/// How an emulator behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    pub user_name: String,
    pub user_id: String,
    /// Accept only this password (401 otherwise); `None`: any non-empty one.
    pub password: Option<String>,
    pub project_id: String,
    pub project_name: String,
    /// The regions the catalog lists compute in.
    pub regions: Vec<String>,
    /// How long a token lives.
    pub token_lifetime: Duration,
    /// How long a build takes (BUILD → ACTIVE).
    pub build_time: Duration,
    /// How long os-start, os-stop, reboot and delete take.
    pub action_time: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            user_name: SANDBOX_USER.into(),
            user_id: "d4e5f6a7b8c94d0e8f1a2b3c4d5e6f70".into(),
            password: None,
            project_id: SANDBOX_PROJECT.into(),
            project_name: "1234567890123456".into(),
            regions: vec!["GRA11".into(), "SBG5".into(), "BHS5".into()],
            token_lifetime: Duration::from_secs(24 * 3600),
            build_time: Duration::from_millis(300),
            action_time: Duration::from_millis(200),
        }
    }
}

/// One emulator's objects, tokens, faults and settings. Clones share them.
#[derive(Debug, Clone)]
pub struct Emulator {
    data: Data,
    faults: Faults,
}

impl Emulator {
    pub fn new(settings: Settings) -> Emulator {
        Emulator { data: Data::new(settings), faults: Faults::default() }
    }

    /// An emulator whose objects live in `snapshot` (read now if it exists, written on change).
    pub fn open(snapshot: Option<PathBuf>, settings: Settings) -> Result<Emulator, EmulatorError> {
        let data = match snapshot {
            Some(path) => Data::open(path, settings)?,
            None => Data::new(settings),
        };
        Ok(Emulator { data, faults: Faults::default() })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Every token issued so far expires now: the next call with one is refused with 401.
    pub fn expire_tokens(&self) {
        let past = OffsetDateTime::now_utc() - time::Duration::SECOND;
        for t in self.data.tokens.lock().unwrap_or_else(|p| p.into_inner()).values_mut() {
            t.expires_at = past;
        }
    }

    /// Tokens issued from now on live this long.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.data.settings.lock().unwrap_or_else(|p| p.into_inner()).token_lifetime = lifetime;
    }

    /// How many tokens Keystone has issued.
    pub fn tokens_issued(&self) -> u64 {
        self.data.issued.load(Ordering::SeqCst)
    }

    /// How many Nova requests were refused for want of a live token (401).
    pub fn tokens_refused(&self) -> u64 {
        self.data.refused.load(Ordering::SeqCst)
    }

    /// Every token value issued so far (tests check that none reaches a log).
    pub fn token_values(&self) -> Vec<String> {
        self.data.tokens.lock().unwrap_or_else(|p| p.into_inner()).keys().cloned().collect()
    }

    /// The next `n` servers created end in ERROR with a fault.
    pub fn fail_next_builds(&self, n: u32) {
        self.data.failing_builds.store(n, Ordering::SeqCst);
    }

    /// Every object, as the snapshot file holds them.
    pub fn dump(&self) -> serde_json::Value {
        self.data.dump()
    }

    /// The whole router: Keystone and Nova, faulted, Nova guarded; and the admin routes.
    pub fn router(&self) -> Router {
        let nova = Router::new()
            .route("/servers", get(servers::list).post(servers::create))
            .route("/servers/detail", get(servers::detail))
            .route("/servers/{server_id}", get(servers::show).put(servers::update).delete(servers::delete))
            .route("/servers/{server_id}/action", post(servers::action))
            .route("/flavors", get(catalog::list))
            .route("/flavors/detail", get(catalog::detail))
            .route("/flavors/{flavor_id}", get(catalog::show))
            .route("/os-keypairs", get(keypairs::list).post(keypairs::create))
            .route("/os-keypairs/{keypair_name}", get(keypairs::show).delete(keypairs::delete))
            .method_not_allowed_fallback(method_not_allowed)
            .fallback(no_route)
            .layer(middleware::from_fn_with_state(self.data.clone(), nova::guard))
            .with_state(self.data.clone());
        let keystone = Router::new()
            .route("/v3/auth/tokens", post(keystone::issue).get(keystone::validate).delete(keystone::revoke))
            .route("/v3/auth/catalog", get(keystone::catalog_route))
            .with_state(self.data.clone());
        let api = self.faults.wrap(keystone.nest("/compute/v2.1", nova));
        let extra = Router::new()
            .route("/__sim/state", get(dump))
            .route("/__sim/tokens", get(tokens_show).post(tokens_set))
            .route("/__sim/builds", post(builds_set))
            .with_state(self.clone());
        api.merge(admin::routes(self.faults.clone(), fault_bodies())).merge(extra)
    }

    /// Serves on `addr` (127.0.0.1 on a free port when `None`).
    pub async fn serve(&self, addr: Option<SocketAddr>) -> Result<RunningEmulator, EmulatorError> {
        let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = SimServer::start_on(addr, self.router())
            .await
            .map_err(|source| EmulatorError::Bind { addr: addr.to_string(), source })?;
        let base_url = format!("http://{}/v3", server.addr());
        Ok(RunningEmulator { server, faults: self.faults.clone(), base_url })
    }
}

/// The bodies faults answer with, in Nova's fault style.
pub fn fault_bodies() -> FaultBodies {
    FaultBodies {
        server_error: nova_body(500, "Unexpected API Error (injected by tarn's emulator)."),
        throttled: json!({"overLimit": {"code": 429, "message": "Rate limit exceeded.", "retryAfter": "1"}}),
    }
}

async fn no_route(uri: Uri) -> Response {
    fault::Fault::not_found(format!("The resource could not be found: {}", uri.path())).into_response()
}

async fn method_not_allowed() -> Response {
    fault::Fault::new(405, "The method is not allowed for the requested URL.").into_response()
}

async fn dump(State(e): State<Emulator>) -> axum::Json<serde_json::Value> {
    axum::Json(e.dump())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenSwitch {
    expire_all: Option<bool>,
    lifetime_secs: Option<f64>,
}

async fn tokens_show(State(e): State<Emulator>) -> axum::Json<serde_json::Value> {
    axum::Json(json!({"issued": e.tokens_issued(), "refused": e.tokens_refused()}))
}

async fn tokens_set(State(e): State<Emulator>, body: axum::body::Bytes) -> Response {
    let Ok(switch) = serde_json::from_slice::<TokenSwitch>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "expected {\"expire_all\": true} and/or {\"lifetime_secs\": N}"})),
        )
            .into_response();
    };
    if let Some(secs) = switch.lifetime_secs.filter(|s| s.is_finite() && *s > 0.0) {
        e.set_token_lifetime(Duration::from_secs_f64(secs));
    }
    if switch.expire_all == Some(true) {
        e.expire_tokens();
    }
    axum::Json(json!({"issued": e.tokens_issued()})).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildSwitch {
    fail_next: u32,
}

async fn builds_set(State(e): State<Emulator>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<BuildSwitch>(&body) {
        Ok(s) => {
            e.fail_next_builds(s.fail_next);
            axum::Json(json!({"fail_next": s.fail_next})).into_response()
        }
        Err(_) => {
            (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "expected {\"fail_next\": N}"}))).into_response()
        }
    }
}

/// The emulator as the sandbox registry sees it.
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenStackEmulator;

#[async_trait]
impl Emulated for OpenStackEmulator {
    fn provider_name(&self) -> &str {
        "openstack"
    }

    async fn start(&self, options: EmulatorOptions) -> Result<RunningEmulator, EmulatorError> {
        Emulator::open(options.snapshot, Settings::default())?.serve(options.addr).await
    }

    fn sandbox_config(&self, base_url: &str) -> Vec<(String, Value)> {
        vec![
            ("auth_url".to_string(), Value::string(base_url)),
            ("user_name".to_string(), Value::string(SANDBOX_USER)),
            ("password".to_string(), Value::string(SANDBOX_PASSWORD)),
            ("project_id".to_string(), Value::string(SANDBOX_PROJECT)),
            ("project_name".to_string(), Value::Null),
            ("region".to_string(), Value::string(SANDBOX_REGION)),
        ]
    }
}
