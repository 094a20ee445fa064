//! The Cloudflare API emulator: zones, DNS records and zone lockdown rules (with a quota of
//! active rules per zone) served under `/client/v4` on 127.0.0.1, field for field and status
//! code for status code as `specs/cloudflare-v4.subset.yaml` says, and token verification as
//! `specs/cloudflare-v4-user-tokens.extract.yaml` says; built on `tarn_sdk::sim`.
//!
//! Every API answer passes the guard (rate limit 1200 per 5 minutes with `Ratelimit` headers,
//! authentication against the tokens the emulator knows) and the fault switches. Beside them, never faulted: `/__sim/faults` (the
//! sdk's fault controls), `POST /__sim/zones` (add a zone) and `GET /__sim/state`.
//! The objects persist to a snapshot file when one is given, after every change.

mod data;
mod envelope;
mod guard;
mod lockdowns;
mod records;
mod tokens;
mod zones;

pub use data::{ACCOUNT_ID, SEED_ZONES, zone_id};
pub use guard::THROTTLED_MESSAGE;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tarn_sdk::Value;
use tarn_sdk::sim::{Emulated, EmulatorError, EmulatorOptions, FaultBodies, Faults, RunningEmulator, SimServer, admin};

use data::Data;
use envelope::Failure;
use guard::{Credentials, Guard, RateWindow};

/// Where the API lives on the server, as on api.cloudflare.com.
pub const BASE_PATH: &str = "/client/v4";

/// The token the sandbox gives the provider, and the one a default emulator (`tarn sim serve`)
/// knows.
pub const SANDBOX_TOKEN: &str = "tarn-sandbox-token";

/// Active (unpaused) zone lockdown rules a zone may hold by default: 3, the Pro plan's quota
/// (Business 10, Enterprise 200, Free 0; Cloudflare's "Zone Lockdown" availability table).
pub const DEFAULT_LOCKDOWN_LIMIT: usize = 3;

/// How an emulator behaves.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The API tokens it knows: any other credential, or none, is refused (401 without one,
    /// 403 with an unknown one, code 10000; `/user/tokens/verify` answers 401 with code 1000).
    /// An `X-Auth-Key` is accepted when it is one of these too.
    pub tokens: Vec<String>,
    /// Active lockdown rules per zone; a create (or an unpausing PUT) past it is refused.
    pub lockdown_limit: usize,
    /// Requests allowed per window before 429 (Cloudflare: 1200 per 5 minutes).
    pub rate_limit: u64,
    pub rate_window: Duration,
}

impl Settings {
    /// Default settings that know exactly `token`.
    pub fn accepting(token: &str) -> Settings {
        Settings { tokens: vec![token.to_string()], ..Settings::default() }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tokens: vec![SANDBOX_TOKEN.to_string()],
            lockdown_limit: DEFAULT_LOCKDOWN_LIMIT,
            rate_limit: 1200,
            rate_window: Duration::from_secs(300),
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
    /// An emulator with the seed zones, kept in memory only.
    pub fn new(settings: Settings) -> Emulator {
        Emulator { data: Data::seeded(), faults: Faults::default(), settings }
    }

    /// An emulator whose objects live in `snapshot` (read now if it exists, written on change);
    /// `None`: in memory only.
    pub fn open(snapshot: Option<PathBuf>, settings: Settings) -> Result<Emulator, EmulatorError> {
        let data = match snapshot {
            Some(path) => Data::open(path)?,
            None => Data::seeded(),
        };
        Ok(Emulator { data, faults: Faults::default(), settings })
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Adds a zone (idempotent by name); returns its id.
    pub fn add_zone(&self, name: &str) -> String {
        self.data.add_zone(name).id
    }

    /// Every object, as the snapshot file holds them.
    pub fn dump(&self) -> serde_json::Value {
        self.data.dump()
    }

    /// The whole router: the API under [`BASE_PATH`], guarded and faulted, and the admin routes.
    pub fn router(&self) -> Router {
        let limits = lockdowns::Limits { active_rules: self.settings.lockdown_limit };
        let lockdown_routes = Router::new()
            .route("/zones/{zone_id}/firewall/lockdowns", get(lockdowns::list).post(lockdowns::create))
            .route(
                "/zones/{zone_id}/firewall/lockdowns/{id}",
                get(lockdowns::get).put(lockdowns::put).delete(lockdowns::delete),
            )
            .with_state((self.data.clone(), limits));
        let known = tokens::Known::new(&self.settings.tokens);
        let token_routes = Router::new().route("/user/tokens/verify", get(tokens::verify)).with_state(known.clone());
        let api = Router::new()
            .route("/zones", get(zones::list))
            .route("/zones/{zone_id}", get(zones::get))
            .route("/zones/{zone_id}/dns_records", get(records::list).post(records::create))
            .route(
                "/zones/{zone_id}/dns_records/{dns_record_id}",
                get(records::get).put(records::put).patch(records::patch).delete(records::delete),
            )
            .with_state(self.data.clone())
            .merge(lockdown_routes)
            .merge(token_routes)
            .method_not_allowed_fallback(method_not_allowed);
        let api = Router::new().nest(BASE_PATH, api).fallback(no_route);
        let gate = Guard {
            rate: RateWindow::new(self.settings.rate_limit, self.settings.rate_window),
            credentials: Credentials { known },
        };
        let api = self.faults.wrap(api).layer(middleware::from_fn_with_state(gate, guard::guard));
        let extra = Router::new()
            .route("/__sim/zones", post(zones::add))
            .route("/__sim/state", get(zones::dump))
            .with_state(self.data.clone());
        api.merge(admin::routes(self.faults.clone(), fault_bodies())).merge(extra)
    }

    /// Serves on `addr` (127.0.0.1 on a free port when `None`).
    pub async fn serve(&self, addr: Option<SocketAddr>) -> Result<RunningEmulator, EmulatorError> {
        let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let server = SimServer::start_on(addr, self.router())
            .await
            .map_err(|source| EmulatorError::Bind { addr: addr.to_string(), source })?;
        let base_url = format!("http://{}{BASE_PATH}", server.addr());
        Ok(RunningEmulator { server, faults: self.faults.clone(), base_url })
    }
}

/// The bodies faults answer with, in Cloudflare's envelope.
pub fn fault_bodies() -> FaultBodies {
    FaultBodies {
        server_error: envelope::failure_body(&[(10001, "Internal server error (injected by tarn's emulator)".into())]),
        throttled: envelope::failure_body(&[(971, THROTTLED_MESSAGE.into())]),
    }
}

async fn no_route(uri: Uri) -> Response {
    Failure { status: StatusCode::NOT_FOUND, errors: vec![(7003, format!("No route for the URI {}", uri.path()))] }
        .into_response()
}

async fn method_not_allowed() -> Response {
    Failure::new(StatusCode::METHOD_NOT_ALLOWED, 10405, "Method not allowed for this endpoint").into_response()
}

/// The emulator as the sandbox registry sees it.
#[derive(Debug, Default, Clone, Copy)]
pub struct CloudflareEmulator;

#[async_trait]
impl Emulated for CloudflareEmulator {
    fn provider_name(&self) -> &str {
        "cloudflare"
    }

    async fn start(&self, options: EmulatorOptions) -> Result<RunningEmulator, EmulatorError> {
        Emulator::open(options.snapshot, Settings::default())?.serve(options.addr).await
    }

    fn sandbox_config(&self, base_url: &str) -> Vec<(String, Value)> {
        vec![("base_url".to_string(), Value::string(base_url)), ("api_token".to_string(), Value::string(SANDBOX_TOKEN))]
    }
}
