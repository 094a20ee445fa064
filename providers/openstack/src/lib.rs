//! tarn-provider-openstack: the `openstack` provider (Keystone v3 password authentication with
//! project scope, Nova 2.1: servers with their power actions, key pairs, flavors as a data
//! source; OVH Public Cloud's defaults), and the emulator of those APIs that its tests,
//! `tarn --sandbox` and `tarn sim serve` run against.
//!
//! What it owns: the Keystone session and its token (`auth`: issued, cached, renewed before it
//! expires and once when Nova refuses it), the Nova calls (`api`, on `tarn_sdk::http`), and the
//! mapping between tarn's attributes and Nova's objects (`instance`, `keypair`, `flavors`). The
//! emulator (`emulator`) follows `specs/openstack-nova-v2.1-keystone-v3.subset.yaml`; nothing in
//! the provider depends on it.
//!
//! Contract details:
//! - `read` answers `None` when the object is gone (404), so the engine plans a create.
//! - Crash safety: servers carry the metadata key `tarn-correlation`, found again by `adopt`;
//!   key pairs are adopted by name when they hold the planned public key.
//! - Credentials: `password` or OS_PASSWORD, sent only in the sensitive body of the token
//!   request; the token only in the redacted X-Auth-Token header. Neither is ever logged.
//! - Import ids: a server's UUID; a key pair's name.

mod api;
mod auth;
pub mod emulator;
mod flavors;
mod instance;
mod keypair;
mod schema;

pub use api::{Api, Polling};
pub use auth::{COMPUTE_MICROVERSION, Credentials, DEFAULT_DOMAIN, OVH_AUTH_URL, Project, Session, Tuning};
pub use schema::{FLAVORS, INSTANCE, KEYPAIR, provider_schema};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

use tarn_sdk::attrs::{attr_num, attr_str};

/// The `openstack` provider. Unusable until `configure` has run.
#[derive(Debug, Default)]
pub struct OpenStackProvider {
    configured: Mutex<Option<Api>>,
}

/// The provider as the CLI registers it.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(OpenStackProvider::default())
}

/// The emulator as the CLI's sandbox registry sees it.
pub fn emulated() -> Arc<dyn tarn_sdk::sim::Emulated> {
    Arc::new(emulator::OpenStackEmulator)
}

impl OpenStackProvider {
    /// A provider already configured (tests).
    pub fn with_api(api: Api) -> OpenStackProvider {
        OpenStackProvider { configured: Mutex::new(Some(api)) }
    }

    fn api(&self) -> Result<Api, ProviderError> {
        self.configured.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| {
            ProviderError::permanent("the openstack provider was used before it was configured; this is a bug in tarn")
        })
    }
}

fn unknown_type(type_name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "The openstack provider has no resource type \"{type_name}\"; it offers \"{INSTANCE}\" and \"{KEYPAIR}\"."
    ))
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// An attribute of the provider block, else the first of the environment variables set.
fn setting(config: &Value, name: &str, vars: &[&str]) -> Option<String> {
    attr_str(config, name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .or_else(|| vars.iter().find_map(|v| env(v)))
}

/// The credentials of a provider block, with the OS_* variables and OVH's defaults.
pub fn credentials(config: &Value) -> Result<Credentials, ProviderError> {
    let missing = |what: &str, var: &str| {
        ProviderError::permanent(format!(
            "no {what}: set {what} in the provider block or the {var} environment variable (OVH: source the openrc file of the project; or try the configuration without an account: tarn plan --sandbox)"
        ))
    };
    let user_name =
        setting(config, "user_name", &["OS_USERNAME"]).ok_or_else(|| missing("user_name", "OS_USERNAME"))?;
    let password = setting(config, "password", &["OS_PASSWORD"]).ok_or_else(|| missing("password", "OS_PASSWORD"))?;
    let project = match (
        setting(config, "project_id", &["OS_PROJECT_ID", "OS_TENANT_ID"]),
        setting(config, "project_name", &["OS_PROJECT_NAME", "OS_TENANT_NAME"]),
    ) {
        (Some(id), _) => Project::Id(id),
        (None, Some(name)) => Project::Name {
            name,
            domain: setting(config, "project_domain_name", &["OS_PROJECT_DOMAIN_NAME"])
                .unwrap_or_else(|| DEFAULT_DOMAIN.into()),
        },
        (None, None) => return Err(missing("project_id", "OS_PROJECT_ID (or project_name, OS_PROJECT_NAME)")),
    };
    Ok(Credentials {
        auth_url: setting(config, "auth_url", &["OS_AUTH_URL"]).unwrap_or_else(|| OVH_AUTH_URL.into()),
        user_name,
        user_domain: setting(config, "user_domain_name", &["OS_USER_DOMAIN_NAME"])
            .unwrap_or_else(|| DEFAULT_DOMAIN.into()),
        password,
        project,
        region: setting(config, "region", &["OS_REGION_NAME"]),
    })
}

#[async_trait]
impl Provider for OpenStackProvider {
    fn name(&self) -> &str {
        "openstack"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let creds = credentials(&config)?;
        let mut polling = Polling::default();
        if let Some(secs) = attr_num(&config, "action_timeout") {
            if !(secs > 0.0 && secs.is_finite()) {
                return Err(ProviderError::permanent("action_timeout must be a positive number of seconds"));
            }
            polling.timeout = Duration::from_secs_f64(secs);
        }
        // No call yet: the first one authenticates, so a plan that needs no API needs no token.
        let api = Api::new(Session::new(creds, Tuning::default())?).polling(polling);
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) = Some(api);
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        let api = self.api()?;
        match req.type_name.as_str() {
            INSTANCE => instance::read(&api, &req.state).await,
            KEYPAIR => keypair::read(&api, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        if req.type_name == INSTANCE {
            instance::validate(&req.proposed)?;
        }
        Ok(PlanResponse { planned: req.proposed, requires_replace: Vec::new() })
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        let api = self.api()?;
        match req.type_name.as_str() {
            INSTANCE => instance::create(&api, &req.planned, &req.correlation).await,
            KEYPAIR => keypair::create(&api, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        let api = self.api()?;
        match req.type_name.as_str() {
            INSTANCE => instance::update(&api, &req.prior, &req.planned).await,
            // Every key pair attribute forces a replacement; an update is a no-op.
            KEYPAIR => Ok(req.planned),
            other => Err(unknown_type(other)),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let api = self.api()?;
        // Already gone is success: the contract says so.
        match req.type_name.as_str() {
            INSTANCE => instance::delete(&api, &req.state).await,
            KEYPAIR => keypair::delete(&api, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        let api = self.api()?;
        match req.type_name.as_str() {
            FLAVORS => flavors::read(&api, &req.config).await,
            other => Err(ProviderError::permanent(format!(
                "The openstack provider has no data source \"{other}\"; it offers \"{FLAVORS}\"."
            ))),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        let api = self.api()?;
        match type_name {
            INSTANCE => instance::import(&api, id).await,
            KEYPAIR => keypair::import(&api, id).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        let api = self.api()?;
        match req.type_name.as_str() {
            INSTANCE => instance::adopt(&api, &req.planned, &req.correlation).await,
            KEYPAIR => keypair::adopt(&api, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }
}
