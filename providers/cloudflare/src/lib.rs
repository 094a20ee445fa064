//! tarn-provider-cloudflare: the `cloudflare` provider (DNS records, zone lockdown rules, and
//! as data sources a zone, and lists of zones, of a zone's records and of its lockdown rules)
//! on Cloudflare's API v4, and the emulator of that API that its tests, `tarn --sandbox` and
//! `tarn sim serve` run against.
//!
//! What it owns: the mapping between tarn's attributes and the API's objects
//! (`record`, `lockdown`, `zone`, `lists`), the plan-time quota of active lockdown rules
//! (`quota`) and the calls (`api`, on `tarn_sdk::http`). The emulator (`emulator`) follows
//! `specs/cloudflare-v4.subset.yaml` and `specs/cloudflare-v4-user-tokens.extract.yaml`;
//! nothing in the provider depends on it.
//!
//! Contract details:
//! - `read` answers `None` when the object or its zone is gone (404), so the engine plans a
//!   create; anything else it reports is what the API has (see `record` for spelling).
//! - Crash safety: DNS records carry the tag `tarn-correlation:<tag>` (unless
//!   `correlation_tags = false`), found again by `adopt`; lockdown rules are adopted by content.
//! - Credentials: `api_token` or CLOUDFLARE_API_TOKEN, sent only as a redacted Bearer header,
//!   and verified by `configure` (`GET /user/tokens/verify`): a refused token is one error
//!   naming that call, before any plan work.

mod api;
pub mod emulator;
mod lists;
mod lockdown;
mod quota;
mod record;
mod schema;
mod zone;

pub use api::{Api, DEFAULT_BASE_URL};
pub use quota::DEFAULT_LIMIT as DEFAULT_LOCKDOWN_LIMIT;
pub use schema::{DNS_RECORD, DNS_RECORDS, ZONE, ZONE_LOCKDOWN, ZONE_LOCKDOWNS, ZONES, provider_schema};

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

use tarn_sdk::attrs::{self, attr_bool, attr_str, required_str};
use tarn_sdk::http::Secrets;

/// The `cloudflare` provider. Unusable until `configure` has run.
#[derive(Debug, Default)]
pub struct CloudflareProvider {
    configured: Mutex<Option<Configured>>,
    /// The lockdown rules the current plan creates, for the quota.
    tally: quota::Tally,
}

#[derive(Debug, Clone)]
struct Configured {
    api: Api,
    correlation_tags: bool,
    lockdown_limit: usize,
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
        CloudflareProvider::with_api_and_limit(api, quota::DEFAULT_LIMIT)
    }

    /// A provider already configured with `api` and a lockdown quota of `limit` (tests).
    pub fn with_api_and_limit(api: Api, limit: usize) -> CloudflareProvider {
        CloudflareProvider {
            configured: Mutex::new(Some(Configured { api, correlation_tags: true, lockdown_limit: limit })),
            tally: quota::Tally::default(),
        }
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

/// Asks the API whether the token works, before anything else uses it: a refused, disabled or
/// expired token is one error naming the call and where the token came from.
async fn verify_token(api: &Api, base: &str) -> Result<(), ProviderError> {
    let call = format!("GET {}/{}", base.trim_end_matches('/'), api::VERIFY_TOKEN);
    let advice = "check api_token in the provider block or CLOUDFLARE_API_TOKEN (or try the configuration without an account: tarn plan --sandbox)";
    let token = api.verify_token().await.map_err(|e| {
        let what = match e.class {
            tarn_sdk::ErrorClass::Transient => "could not be made",
            _ => "refused the API token",
        };
        ProviderError::new(e.class, format!("the Cloudflare token check {call} {what}: {}; {advice}", e.message))
    })?;
    match token.get("status").and_then(serde_json::Value::as_str) {
        Some("active") => Ok(()),
        status => Err(ProviderError::permanent(format!(
            "the Cloudflare token check {call} says the API token is {}, not active; {advice}",
            status.unwrap_or("of unknown status")
        ))),
    }
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
        let lockdown_limit = match attrs::attr_num(&config, "lockdown_limit") {
            None => quota::DEFAULT_LIMIT,
            Some(n) if n >= 0.0 && n.fract() == 0.0 => n as usize,
            Some(n) => {
                return Err(ProviderError::permanent(format!(
                    "lockdown_limit must be a whole number of rules (3 on Pro, 10 on Business, 200 on Enterprise), not {n}"
                )));
            }
        };
        verify_token(&api, &base).await?;
        self.tally.reset();
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Configured { api, correlation_tags, lockdown_limit });
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
        if req.type_name == ZONE_LOCKDOWN && req.prior.is_none() {
            let c = self.configured()?;
            let api = c.api.redacting(Secrets::of([&req.proposed]));
            self.tally.check(&api, &req.proposed, c.lockdown_limit).await?;
        }
        let mut planned = req.proposed;
        if req.type_name == DNS_RECORD {
            if attr_bool(&planned, "proxied") == Some(true)
                && attrs::attr_num(&planned, "ttl").is_some_and(|t| t != 1.0)
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
            ZONES => lists::zones(&self.api([&req.config])?, &req.config).await,
            DNS_RECORDS => lists::records(&self.api([&req.config])?, &req.config).await,
            ZONE_LOCKDOWNS => lists::lockdowns(&self.api([&req.config])?, &req.config).await,
            other => Err(ProviderError::permanent(format!(
                "The cloudflare provider has no data source \"{other}\"; it offers \"{ZONE}\", \"{ZONES}\", \"{DNS_RECORDS}\" and \"{ZONE_LOCKDOWNS}\"."
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
