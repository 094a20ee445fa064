//! tarn-provider-digitalocean: the `digitalocean` provider (API v2: droplets and their power
//! state through actions, SSH keys, domains and their records, load balancers, tags; droplets
//! by tag as a data source), and the emulator of that API that its tests, `tarn --sandbox`
//! and `tarn sim serve` run against.
//!
//! What it owns: the mapping between tarn's attributes and the API's objects (`droplet`,
//! `ssh_key`, `domain`, `record`, `loadbalancer`, `tag`, `lookup`) and the calls (`api`, on
//! `tarn_sdk::http`). The emulator (`emulator`) follows `specs/digitalocean-v2.subset.yaml`
//! and `specs/digitalocean-v2.ssh-keys.extract.yaml`; nothing in the provider depends on it.
//!
//! Contract details:
//! - `read` answers `None` when the object is gone (404), so the engine plans a create.
//! - Crash safety: droplets carry the tag `tarn-correlation:<tag>`, found again by `adopt`
//!   with the droplet list's `tag_name` filter; SSH keys, domains, records, load balancers and
//!   tags carry no tags and are adopted by content (name, public key, record data).
//! - Credentials: `token` or DIGITALOCEAN_TOKEN, sent only as the redacted bearer token.
//! - Import ids: the id (droplets, load balancers), the id or fingerprint (SSH keys), the name
//!   (domains, tags),
//!   `<domain>,<record id>` (records).

mod api;
mod domain;
mod droplet;
pub mod emulator;
mod loadbalancer;
mod lookup;
mod record;
mod schema;
mod ssh_key;
mod tag;
mod values;

pub use api::{Api, DEFAULT_API_URL, Polling};
pub use schema::{DOMAIN, DROPLET, DROPLETS, LOADBALANCER, RECORD, SSH_KEY, TAG, provider_schema};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tarn_sdk::http::Secrets;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

use values::{attr_num, attr_str};

/// The `digitalocean` provider. Unusable until `configure` has run.
#[derive(Debug, Default)]
pub struct DigitalOceanProvider {
    configured: Mutex<Option<Api>>,
}

/// The provider as the CLI registers it.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(DigitalOceanProvider::default())
}

/// The emulator as the CLI's sandbox registry sees it.
pub fn emulated() -> Arc<dyn tarn_sdk::sim::Emulated> {
    Arc::new(emulator::DigitalOceanEmulator)
}

impl DigitalOceanProvider {
    /// A provider already configured (tests).
    pub fn with_api(api: Api) -> DigitalOceanProvider {
        DigitalOceanProvider { configured: Mutex::new(Some(api)) }
    }

    /// The API for one call, masking the sensitive values among `values` (the call's planned
    /// object, prior state) in what it logs and in its errors.
    fn api<'v>(&self, values: impl IntoIterator<Item = &'v Value>) -> Result<Api, ProviderError> {
        let api = self.configured.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| {
            ProviderError::permanent(
                "the digitalocean provider was used before it was configured; this is a bug in tarn",
            )
        })?;
        Ok(api.redacting(Secrets::of(values)))
    }
}

fn unknown_type(type_name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "The digitalocean provider has no resource type \"{type_name}\"; it offers \"{DROPLET}\", \"{SSH_KEY}\", \"{DOMAIN}\", \"{RECORD}\", \"{LOADBALANCER}\" and \"{TAG}\"."
    ))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

#[async_trait]
impl Provider for DigitalOceanProvider {
    fn name(&self) -> &str {
        "digitalocean"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let token = attr_str(&config, "token")
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .or_else(|| env("DIGITALOCEAN_TOKEN"))
            .or_else(|| env("DIGITALOCEAN_ACCESS_TOKEN"))
            .ok_or_else(|| {
                ProviderError::permanent(
                    "no API token: set token in the provider block or the DIGITALOCEAN_TOKEN environment variable \
                     (or try the configuration without an account: tarn plan --sandbox)",
                )
            })?;
        let url = attr_str(&config, "api_url")
            .or_else(|| env("DIGITALOCEAN_API_URL"))
            .unwrap_or_else(|| DEFAULT_API_URL.into());
        let mut polling = Polling::default();
        if let Some(secs) = attr_num(&config, "action_timeout") {
            if !(secs > 0.0 && secs.is_finite()) {
                return Err(ProviderError::permanent("action_timeout must be a positive number of seconds"));
            }
            polling.timeout = Duration::from_secs_f64(secs);
        }
        let api = Api::new(&url, &token)?.polling(polling);
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) = Some(api);
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        let api = self.api([&req.state])?;
        match req.type_name.as_str() {
            DROPLET => droplet::read(&api, &req.state).await,
            SSH_KEY => ssh_key::read(&api, &req.state).await,
            DOMAIN => domain::read(&api, &req.state).await,
            RECORD => record::read(&api, &req.state).await,
            LOADBALANCER => loadbalancer::read(&api, &req.state).await,
            TAG => tag::read(&api, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        match req.type_name.as_str() {
            DROPLET => droplet::refine(req.prior.as_ref(), req.proposed),
            _ => Ok(PlanResponse { planned: req.proposed, requires_replace: Vec::new() }),
        }
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        let api = self.api([&req.planned])?;
        match req.type_name.as_str() {
            DROPLET => droplet::create(&api, &req.planned, &req.correlation).await,
            SSH_KEY => ssh_key::create(&api, &req.planned).await,
            DOMAIN => domain::create(&api, &req.planned).await,
            RECORD => record::create(&api, &req.planned).await,
            LOADBALANCER => loadbalancer::create(&api, &req.planned).await,
            TAG => tag::create(&api, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        let api = self.api([&req.prior, &req.planned])?;
        match req.type_name.as_str() {
            DROPLET => droplet::update(&api, &req.prior, &req.planned).await,
            SSH_KEY => ssh_key::update(&api, &req.prior, &req.planned).await,
            DOMAIN => domain::read(&api, &req.planned)
                .await?
                .ok_or_else(|| ProviderError::not_found("the domain no longer exists")),
            RECORD => record::update(&api, &req.prior, &req.planned).await,
            LOADBALANCER => loadbalancer::update(&api, &req.prior, &req.planned).await,
            TAG => {
                tag::read(&api, &req.planned).await?.ok_or_else(|| ProviderError::not_found("the tag no longer exists"))
            }
            other => Err(unknown_type(other)),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let api = self.api([&req.state])?;
        // Already gone is success: the contract says so.
        match req.type_name.as_str() {
            DROPLET => droplet::delete(&api, &req.state).await,
            SSH_KEY => ssh_key::delete(&api, &req.state).await,
            DOMAIN => domain::delete(&api, &req.state).await,
            RECORD => record::delete(&api, &req.state).await,
            LOADBALANCER => loadbalancer::delete(&api, &req.state).await,
            TAG => tag::delete(&api, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        let api = self.api([&req.config])?;
        match req.type_name.as_str() {
            DROPLETS => lookup::droplets(&api, &req.config).await,
            other => Err(ProviderError::permanent(format!(
                "The digitalocean provider has no data source \"{other}\"; it offers \"{DROPLETS}\"."
            ))),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        let api = self.api([])?;
        let id = id.trim();
        match type_name {
            DROPLET => droplet::import(&api, id).await,
            SSH_KEY => ssh_key::import(&api, id).await,
            DOMAIN => domain::import(&api, id).await,
            RECORD => record::import(&api, id).await,
            LOADBALANCER => loadbalancer::import(&api, id).await,
            TAG => tag::import(&api, id).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        let api = self.api([&req.planned])?;
        match req.type_name.as_str() {
            DROPLET => droplet::adopt(&api, &req.planned, &req.correlation).await,
            SSH_KEY => ssh_key::adopt(&api, &req.planned).await,
            DOMAIN => domain::read(&api, &req.planned).await,
            RECORD => record::adopt(&api, &req.planned).await,
            LOADBALANCER => loadbalancer::adopt(&api, &req.planned).await,
            TAG => tag::read(&api, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }
}
