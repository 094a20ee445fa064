//! tarn-provider-opennebula: the `opennebula` provider (`opennebula_serverless_runtime`: COGNIT
//! Provisioning Engine runtimes as OneFlow services), its clients for oned's XML-RPC and
//! OneFlow's REST API, and the emulator of both that its tests, `tarn --sandbox` and
//! `tarn sim serve` run against.
//!
//! What it owns: the XML-RPC codec (`xmlrpc`), oned's objects parsed from their XML (`model`),
//! OpenNebula's template syntax (`template`), the two clients (`oned`, `oneflow`, paired in
//! `api` with the waits), the configuration (`config`), what a function's VM gets (`function`)
//! and the resource (`runtime`). The emulator (`emulator`) follows
//! `specs/opennebula-oneflow-xmlrpc.subset.yaml`, `specs/opennebula-xmlrpc.extract.yaml` and
//! the XSDs in `specs/opennebula-xsd/`; nothing in the provider depends on it.
//!
//! Contract details:
//! - `read` answers `None` when the service is gone (404) or DONE, so the engine plans a create.
//! - Crash safety: the service is named `<name> [tarn:<correlation>]`; `adopt` finds it.
//! - Credentials: `username`/`password` or ONE_USERNAME/ONE_PASSWORD; the password never
//!   reaches a log (XML-RPC bodies and the instantiate body are not logged; OneFlow's Basic
//!   header is a secret header; the password and SR_AUTH are masked everywhere).
//! - Import id: the SERVERLESS_RUNTIME document's id.

pub mod api;
pub mod config;
pub mod emulator;
pub mod function;
pub mod model;
pub mod oned;
pub mod oneflow;
mod plan;
mod runtime;
mod schema;
pub mod template;
pub mod xmlrpc;

pub use api::Api;
pub use config::{Capacity, Settings, TemplateRef};
pub use runtime::{DOCUMENT_TYPE, service_name};
pub use schema::{RUNTIME, provider_schema};

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tarn_sdk::http::Secrets;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadRequest, UpdateRequest, Value,
};

/// The `opennebula` provider. Unusable until `configure` has run.
#[derive(Debug, Default)]
pub struct OpenNebulaProvider {
    configured: Mutex<Option<Api>>,
}

/// The provider as the CLI registers it.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(OpenNebulaProvider::default())
}

/// The emulator as the CLI's sandbox registry sees it.
pub fn emulated() -> Arc<dyn tarn_sdk::sim::Emulated> {
    Arc::new(emulator::OpenNebulaEmulator)
}

impl OpenNebulaProvider {
    /// A provider already configured (tests).
    pub fn with_api(api: Api) -> OpenNebulaProvider {
        OpenNebulaProvider { configured: Mutex::new(Some(api)) }
    }

    fn api<'v>(&self, values: impl IntoIterator<Item = &'v Value>) -> Result<Api, ProviderError> {
        let api = self.configured.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| {
            ProviderError::permanent("the opennebula provider was used before it was configured; this is a bug in tarn")
        })?;
        Ok(api.redacting(Secrets::of(values)))
    }
}

fn unknown_type(type_name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "The opennebula provider has no resource type \"{type_name}\"; it offers \"{RUNTIME}\"."
    ))
}

#[async_trait]
impl Provider for OpenNebulaProvider {
    fn name(&self) -> &str {
        "opennebula"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let api = Api::new(Settings::from_config(&config)?)?;
        *self.configured.lock().unwrap_or_else(|p| p.into_inner()) = Some(api);
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        let api = self.api([&req.state])?;
        match req.type_name.as_str() {
            RUNTIME => runtime::read(&api, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        let api = self.api([&req.proposed])?;
        match req.type_name.as_str() {
            RUNTIME => plan::plan(&api, req.prior.as_ref(), req.proposed).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        let api = self.api([&req.planned])?;
        match req.type_name.as_str() {
            RUNTIME => runtime::create(&api, &req.planned, &req.correlation).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        let api = self.api([&req.prior, &req.planned])?;
        match req.type_name.as_str() {
            RUNTIME => runtime::update(&api, &req.prior, &req.planned).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let api = self.api([&req.state])?;
        match req.type_name.as_str() {
            RUNTIME => runtime::delete(&api, &req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        let api = self.api([])?;
        match type_name {
            RUNTIME => runtime::import(&api, id).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        let api = self.api([&req.planned])?;
        match req.type_name.as_str() {
            RUNTIME => runtime::adopt(&api, &req.planned, &req.correlation).await,
            other => Err(unknown_type(other)),
        }
    }
}
