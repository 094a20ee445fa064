//! tarn-provider-local: the `local` provider, hashicorp/local's `local_file` and
//! `local_sensitive_file` resources and data sources, with the same attribute names and
//! meanings (the deprecated `sensitive_content` is left out: use `local_sensitive_file`).
//!
//! What it owns: files on the machine tarn runs on. Relative filenames are resolved against the
//! process's current directory, which the CLI sets for `-C`, so they are relative to the
//! configuration directory. It must not touch anything but the file named by `filename`, the
//! directories it creates for it, and the `source` file it reads.
//!
//! Choices beyond upstream, each for honest plans:
//! - Writes are atomic (temporary file beside the target, explicit mode, rename), and modes are
//!   set exactly rather than filtered by the umask, so the recorded permission is the real one.
//! - `read` reports drift instead of silently forgetting the object: changed content shows in
//!   `content`/`content_base64`, `id` and the checksums; a changed mode in `file_permission`.
//!   Both force replacement. A missing file is `None`.
//! - `plan` computes `id` and the checksums when the content is known at plan time (upstream
//!   shows them as known after apply), and fills the default permissions ("0777", or "0700" for
//!   sensitive files). Content from `source` is read at apply, so its checksums stay unknown.
//! - `local_file` imports (upstream has no import): the ID is the file name, and the state is
//!   the file as found. `local_sensitive_file` does not, so that an import never reads a secret
//!   file into a plan: declare it and let tarn write it.
//! - Crash safety: a file cannot carry the correlation tag, so `adopt` claims the file at
//!   `filename` only when it holds exactly the planned content; otherwise the create runs again
//!   and overwrites it, which is what the interrupted create was doing anyway.
//!
//! Errors are Permanent: IO failures name the path and carry the OS's words; bad permissions and
//! a wrong number of content attributes are explained in a full sentence.

mod content;
mod data;
mod file;
mod resource;
mod schema;

pub use schema::{Kind, provider_schema};

use async_trait::async_trait;
use std::sync::Arc;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

/// The `local` provider. It has no configuration and no state of its own.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalProvider;

impl LocalProvider {
    pub fn new() -> Self {
        LocalProvider
    }
}

/// The provider as the CLI registers it.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(LocalProvider::new())
}

fn kind(type_name: &str, what: &str) -> Result<Kind, ProviderError> {
    Kind::from_type_name(type_name).ok_or_else(|| {
        ProviderError::permanent(format!(
            "The local provider has no {what} \"{type_name}\"; it offers \"local_file\" and \"local_sensitive_file\"."
        ))
    })
}

#[async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &str {
        "local"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        resource::read(kind(&req.type_name, "resource type")?, req.state).await
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        resource::plan(kind(&req.type_name, "resource type")?, req.prior, req.proposed).await
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        resource::create(kind(&req.type_name, "resource type")?, req.planned).await
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        resource::update(kind(&req.type_name, "resource type")?, req.prior, req.planned).await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        kind(&req.type_name, "resource type")?;
        resource::delete(req.state).await
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        data::read(kind(&req.type_name, "data source")?, req.config).await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        resource::import(kind(type_name, "resource type")?, id).await
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        resource::adopt(kind(&req.type_name, "resource type")?, req.planned).await
    }
}

#[cfg(test)]
mod tests;
