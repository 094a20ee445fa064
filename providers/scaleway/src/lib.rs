//! tarn-provider-scaleway: the `scaleway` provider (Instance API v1: servers, flexible IPs,
//! volumes, images made by server backups, security groups and rules; server types, images and
//! servers as data sources), and the emulator of that API that its tests, `tarn --sandbox` and
//! `tarn sim serve` run against.
//!
//! What it owns: the mapping between tarn's attributes and the API's objects (`server`, `ip`,
//! `volume`, `image`, `security_group`, `lookup`), the seed's volume-size rule (`limits`) and the calls (`api`, on
//! `tarn_sdk::http`). The emulator (`emulator`) follows `specs/scaleway-instance-v1.subset.yaml`;
//! nothing in the provider depends on it.
//!
//! Contract details:
//! - `read` answers `None` when the object is gone (404), so the engine plans a create.
//! - Crash safety: servers, IPs, volumes, images and security groups carry the tag
//!   `tarn-correlation:<tag>`, found again by `adopt` with the list endpoints' `tags` filter;
//!   rules carry no tags and are adopted by content.
//! - Credentials: `secret_key` or SCW_SECRET_KEY, sent only as the redacted X-Auth-Token header.
//! - Import ids: `<zone>/<id>`, or the id alone for the provider's zone.

mod api;
pub mod emulator;
mod image;
mod ip;
mod limits;
mod lookup;
mod schema;
mod security_group;
mod server;
mod tags;
mod values;
mod volume;

pub use api::{Api, DEFAULT_API_URL, Polling, ZONES};
pub use schema::{
    IMAGE, IP, SECURITY_GROUP, SECURITY_GROUP_RULE, SERVER, SERVER_TYPES, SERVERS, VOLUME, provider_schema,
};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

use values::{attr_num, attr_str};

/// The zone objects go to when neither they nor the provider block name one.
pub const DEFAULT_ZONE: &str = "fr-par-1";

/// The `scaleway` provider. Unusable until `configure` has run.
#[derive(Debug, Default)]
pub struct ScalewayProvider {
    configured: Mutex<Option<Ctx>>,
}

/// What every call needs: the API, the default zone and the default Project.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub api: Api,
    pub zone: String,
    pub project: String,
}

impl Ctx {
    /// The object's zone, else the provider's.
    pub fn zone_of(&self, v: &Value) -> String {
        attr_str(v, "zone").filter(|z| !z.is_empty()).unwrap_or_else(|| self.zone.clone())
    }
}

/// The provider as the CLI registers it.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(ScalewayProvider::default())
}

/// The emulator as the CLI's sandbox registry sees it.
pub fn emulated() -> Arc<dyn tarn_sdk::sim::Emulated> {
    Arc::new(emulator::ScalewayEmulator)
}

impl ScalewayProvider {
    /// A provider already configured (tests).
    pub fn with_api(api: Api, zone: &str, project: &str) -> ScalewayProvider {
        ScalewayProvider {
            configured: Mutex::new(Some(Ctx { api, zone: zone.to_string(), project: project.to_string() })),
        }
    }

    fn ctx(&self) -> Result<Ctx, ProviderError> {
        self.configured.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| {
            ProviderError::permanent("the scaleway provider was used before it was configured; this is a bug in tarn")
        })
    }
}

fn unknown_type(type_name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "The scaleway provider has no resource type \"{type_name}\"; it offers \"{SERVER}\", \"{IP}\", \"{VOLUME}\", \"{IMAGE}\", \"{SECURITY_GROUP}\" and \"{SECURITY_GROUP_RULE}\"."
    ))
}

/// Splits an import id `<zone>/<id>` (or `<id>`, in the provider's zone).
fn import_id<'a>(ctx: &'a Ctx, id: &'a str) -> Result<(&'a str, &'a str), ProviderError> {
    let (zone, object) = id.split_once('/').unwrap_or((ctx.zone.as_str(), id));
    api::checked_zone(zone)?;
    api::uuid(object, "import")?;
    Ok((zone, object))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

#[async_trait]
impl Provider for ScalewayProvider {
    fn name(&self) -> &str {
        "scaleway"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let key = attr_str(&config, "secret_key")
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .or_else(|| env("SCW_SECRET_KEY"))
            .ok_or_else(|| {
                ProviderError::permanent(
                    "no secret key: set secret_key in the provider block or the SCW_SECRET_KEY environment variable \
                     (or try the configuration without an account: tarn plan --sandbox)",
                )
            })?;
        let zone = attr_str(&config, "zone").or_else(|| env("SCW_DEFAULT_ZONE")).unwrap_or_else(|| DEFAULT_ZONE.into());
        api::checked_zone(&zone)?;
        let project = attr_str(&config, "project_id").or_else(|| env("SCW_DEFAULT_PROJECT_ID")).unwrap_or_default();
        if !project.is_empty() {
            api::uuid(&project, "project_id")?;
        }
        let url = attr_str(&config, "api_url").or_else(|| env("SCW_API_URL")).unwrap_or_else(|| DEFAULT_API_URL.into());
        let mut polling = Polling::default();
        if let Some(secs) = attr_num(&config, "action_timeout") {
            if !(secs > 0.0 && secs.is_finite()) {
                return Err(ProviderError::permanent("action_timeout must be a positive number of seconds"));
            }
            polling.timeout = Duration::from_secs_f64(secs);
        }
        let api = Api::new(&url, &key)?.polling(polling);
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) = Some(Ctx { api, zone, project });
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        let ctx = self.ctx()?;
        match req.type_name.as_str() {
            SERVER => server::read(&ctx, &req.state).await,
            IP => ip::read(&ctx, &req.state).await,
            IMAGE => image::read(&ctx, &req.state).await,
            VOLUME => volume::read(&ctx, &req.state).await,
            SECURITY_GROUP => security_group::read_group(&ctx, &req.state).await,
            SECURITY_GROUP_RULE => security_group::read_rule(&ctx, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        // The refinements check and fill what a new object gets; an update's plan is the
        // engine's (the planner now asks for updates too).
        let planned = match req.type_name.as_str() {
            _ if req.prior.is_some() => req.proposed,
            SERVER => server::refine(&self.ctx()?, req.proposed).await?,
            IMAGE => image::refine(&self.ctx()?, req.proposed).await?,
            _ => req.proposed,
        };
        Ok(PlanResponse { planned, requires_replace: Vec::new() })
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        let ctx = self.ctx()?;
        match req.type_name.as_str() {
            SERVER => server::create(&ctx, &req.planned, &req.correlation).await,
            IP => ip::create(&ctx, &req.planned, &req.correlation).await,
            IMAGE => image::create(&ctx, &req.planned, &req.correlation).await,
            VOLUME => volume::create(&ctx, &req.planned, &req.correlation).await,
            SECURITY_GROUP => security_group::create_group(&ctx, &req.planned, &req.correlation).await,
            SECURITY_GROUP_RULE => security_group::create_rule(&ctx, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        let ctx = self.ctx()?;
        match req.type_name.as_str() {
            SERVER => server::update(&ctx, &req.prior, &req.planned).await,
            IP => ip::update(&ctx, &req.prior, &req.planned).await,
            IMAGE => image::update(&ctx, &req.prior, &req.planned).await,
            VOLUME => volume::update(&ctx, &req.prior, &req.planned).await,
            SECURITY_GROUP => security_group::update_group(&ctx, &req.prior, &req.planned).await,
            SECURITY_GROUP_RULE => security_group::update_rule(&ctx, &req.prior, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let ctx = self.ctx()?;
        // Already gone is success: the contract says so.
        match req.type_name.as_str() {
            SERVER => server::delete(&ctx, &req.state).await,
            IP => ip::delete(&ctx, &req.state).await,
            IMAGE => image::delete(&ctx, &req.state).await,
            VOLUME => volume::delete(&ctx, &req.state).await,
            SECURITY_GROUP => security_group::delete_group(&ctx, &req.state).await,
            SECURITY_GROUP_RULE => security_group::delete_rule(&ctx, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        let ctx = self.ctx()?;
        match req.type_name.as_str() {
            SERVER_TYPES => lookup::server_types(&ctx, &req.config).await,
            IMAGE => lookup::image(&ctx, &req.config).await,
            SERVERS => lookup::servers(&ctx, &req.config).await,
            other => Err(ProviderError::permanent(format!(
                "The scaleway provider has no data source \"{other}\"; it offers \"{SERVER_TYPES}\", \"{IMAGE}\" and \"{SERVERS}\"."
            ))),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        let ctx = self.ctx()?;
        if type_name == SECURITY_GROUP_RULE {
            return security_group::import_rule(&ctx, id).await;
        }
        let (zone, object) = import_id(&ctx, id)?;
        match type_name {
            SERVER => server::import(&ctx, zone, object).await,
            IP => ip::import(&ctx, zone, object).await,
            IMAGE => image::import(&ctx, zone, object).await,
            VOLUME => volume::import(&ctx, zone, object).await,
            SECURITY_GROUP => security_group::import_group(&ctx, zone, object).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        let ctx = self.ctx()?;
        match req.type_name.as_str() {
            SERVER => server::adopt(&ctx, &req.planned, &req.correlation).await,
            IP => ip::adopt(&ctx, &req.planned, &req.correlation).await,
            IMAGE => image::adopt(&ctx, &req.planned, &req.correlation).await,
            VOLUME => volume::adopt(&ctx, &req.planned, &req.correlation).await,
            SECURITY_GROUP => security_group::adopt_group(&ctx, &req.planned, &req.correlation).await,
            SECURITY_GROUP_RULE => security_group::adopt_rule(&ctx, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }
}
