//! tarn-provider-cloudflare: the `cloudflare` provider (DNS records, zone lockdown rules, and
//! zones as a data source) on Cloudflare's API v4, and the emulator of that API that its tests,
//! `tarn --sandbox` and `tarn sim serve` run against.
//!
//! What it owns: the mapping between tarn's attributes and the API's objects
//! (`record`, `lockdown`, `zone`) and the calls (`api`, on `tarn_sdk::http`). The emulator
//! (`emulator`) follows `specs/cloudflare-v4.subset.yaml`; nothing in the provider
//! depends on it.
//!
//! Contract details:
//! - `read` answers `None` when the object or its zone is gone (404), so the engine plans a
//!   create; anything else it reports is what the API has (see `record` for spelling).
//! - Crash safety: DNS records carry the tag `tarn-correlation:<tag>` (unless
//!   `correlation_tags = false`), found again by `adopt`; lockdown rules are adopted by content.
//! - Credentials: `api_token` or CLOUDFLARE_API_TOKEN, sent only as a redacted Bearer header.

mod api;
pub mod emulator;
mod lockdown;
mod record;
mod schema;
mod values;
mod zone;

pub use api::{Api, DEFAULT_BASE_URL};
pub use schema::{DNS_RECORD, ZONE, ZONE_LOCKDOWN, provider_schema};

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

use tarn_sdk::http::Secrets;
use values::{attr_bool, attr_str, required_str};

/// The `cloudflare` provider. Unusable until `configure` has run.
#[derive(Debug, Default)]
pub struct CloudflareProvider {
    configured: Mutex<Option<Configured>>,
}

#[derive(Debug, Clone)]
struct Configured {
    api: Api,
    correlation_tags: bool,
}

/// The provider as the CLI registers it.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(CloudflareProvider::default())
}

/// The emulator as the CLI's sandbox registry sees it.
pub fn emulated() -> Arc<dyn tarn_sdk::sim::Emulated> {
    Arc::new(emulator::CloudflareEmulator)
}

impl CloudflareProvider {
    /// A provider already configured with `api` (tests).
    pub fn with_api(api: Api) -> CloudflareProvider {
        CloudflareProvider { configured: Mutex::new(Some(Configured { api, correlation_tags: true })) }
    }

    fn configured(&self) -> Result<Configured, ProviderError> {
        self.configured.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| {
            ProviderError::permanent("the cloudflare provider was used before it was configured; this is a bug in tarn")
        })
    }

    /// The API for one call, masking the sensitive values among `values` (the call's planned
    /// object, prior state or configuration) in what it logs and in its errors.
    fn api<'v>(&self, values: impl IntoIterator<Item = &'v Value>) -> Result<Api, ProviderError> {
        self.configured().map(|c| c.api.redacting(Secrets::of(values)))
    }
}

fn unknown_type(type_name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "The cloudflare provider has no resource type \"{type_name}\"; it offers \"{DNS_RECORD}\" and \"{ZONE_LOCKDOWN}\"."
    ))
}

/// Splits an import id `<zone_id>/<object id>`.
fn import_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once('/').filter(|(z, o)| !z.is_empty() && !o.is_empty()).ok_or_else(|| {
        ProviderError::permanent(format!("import id {id:?} must be <zone_id>/<id>, e.g. 023e105f4ecef8ad9ca31a8372d0c353/372e67954025e0ba6aaa6d586b9e0b59"))
    })
}

#[async_trait]
impl Provider for CloudflareProvider {
    fn name(&self) -> &str {
        "cloudflare"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let token = attr_str(&config, "api_token")
            .or_else(|| std::env::var("CLOUDFLARE_API_TOKEN").ok())
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                ProviderError::permanent(
                    "no API token: set api_token in the provider block or the CLOUDFLARE_API_TOKEN environment variable \
                     (or try the configuration without an account: tarn plan --sandbox)",
                )
            })?;
        let base = attr_str(&config, "base_url")
            .or_else(|| std::env::var("CLOUDFLARE_BASE_URL").ok())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let api = Api::new(&base, token.trim())?;
        let correlation_tags = attr_bool(&config, "correlation_tags").unwrap_or(true);
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) = Some(Configured { api, correlation_tags });
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        let api = self.api([&req.state])?;
        let zone_id = required_str(&req.state, "zone_id")?;
        let id = required_str(&req.state, "id")?;
        match req.type_name.as_str() {
            DNS_RECORD => Ok(api.record(&zone_id, &id).await?.map(|r| record::state(&r, &req.state))),
            ZONE_LOCKDOWN => Ok(api.lockdown(&zone_id, &id).await?.map(|r| lockdown::state(&r, &zone_id, &req.state))),
            other => Err(unknown_type(other)),
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        let mut planned = req.proposed;
        if req.type_name == DNS_RECORD {
            if attr_bool(&planned, "proxied") == Some(true)
                && values::attr_num(&planned, "ttl").is_some_and(|t| t != 1.0)
            {
                return Err(ProviderError::permanent(
                    "a proxied record's ttl is always 1 (automatic): remove ttl or set it to 1",
                ));
            }
            // A renamed record gets a new fully qualified name, which only the API computes.
            let renamed = req.prior.as_ref().is_some_and(|p| p.get("name") != planned.get("name"));
            if renamed && let Value::Map(m) = &mut planned {
                m.insert("hostname".into(), Value::Unknown);
            }
        }
        Ok(PlanResponse { planned, requires_replace: Vec::new() })
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        let c = self.configured()?;
        let api = c.api.redacting(Secrets::of([&req.planned]));
        let zone_id = required_str(&req.planned, "zone_id")?;
        match req.type_name.as_str() {
            DNS_RECORD => {
                let tag = c.correlation_tags.then_some(req.correlation.as_str());
                let created = api.create_record(&zone_id, &record::body(&req.planned, tag)?).await?;
                Ok(record::state(&created, &req.planned))
            }
            ZONE_LOCKDOWN => {
                let created = api.create_lockdown(&zone_id, &lockdown::body(&req.planned)?).await?;
                Ok(lockdown::state(&created, &zone_id, &req.planned))
            }
            other => Err(unknown_type(other)),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        let api = self.api([&req.prior, &req.planned])?;
        let zone_id = required_str(&req.prior, "zone_id")?;
        let id = required_str(&req.prior, "id")?;
        match req.type_name.as_str() {
            DNS_RECORD => {
                let updated = api.patch_record(&zone_id, &id, &record::body(&req.planned, None)?).await?;
                Ok(record::state(&updated, &req.planned))
            }
            ZONE_LOCKDOWN => {
                let updated = api.put_lockdown(&zone_id, &id, &lockdown::body(&req.planned)?).await?;
                Ok(lockdown::state(&updated, &zone_id, &req.planned))
            }
            other => Err(unknown_type(other)),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let api = self.api([&req.state])?;
        let zone_id = required_str(&req.state, "zone_id")?;
        let id = required_str(&req.state, "id")?;
        // Already gone is success: the contract says so.
        match req.type_name.as_str() {
            DNS_RECORD => api.delete_record(&zone_id, &id).await.map(|_| ()),
            ZONE_LOCKDOWN => api.delete_lockdown(&zone_id, &id).await.map(|_| ()),
            other => Err(unknown_type(other)),
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        match req.type_name.as_str() {
            ZONE => zone::read(&self.api([&req.config])?, &req.config).await,
            other => Err(ProviderError::permanent(format!(
                "The cloudflare provider has no data source \"{other}\"; it offers \"{ZONE}\"."
            ))),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        // Nothing is known of the object yet, so nothing to mask: its attributes are not
        // sensitive by the schema, and an imported object's values are marked only once the
        // configuration that claims it is planned.
        let api = self.api(std::iter::empty())?;
        let (zone_id, object_id) = import_id(id)?;
        match type_name {
            DNS_RECORD => Ok(api.record(zone_id, object_id).await?.map(|r| record::state(&r, &Value::Null))),
            ZONE_LOCKDOWN => {
                Ok(api.lockdown(zone_id, object_id).await?.map(|r| lockdown::state(&r, zone_id, &Value::Null)))
            }
            other => Err(unknown_type(other)),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        let c = self.configured()?;
        let api = c.api.redacting(Secrets::of([&req.planned]));
        match req.type_name.as_str() {
            DNS_RECORD if c.correlation_tags => record::adopt(&api, &req.planned, &req.correlation).await,
            // Untagged records cannot be told apart from ones tarn did not make.
            DNS_RECORD => Ok(None),
            ZONE_LOCKDOWN => lockdown::adopt(&api, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }
}
