//! tarn-provider-vsn: the `vsn` provider. A VSN (virtual server node, see
//! ../shared/seeds/vsn.txt) runs a host container and REST containers (volume containers with
//! their data directories, stateless service containers) under podman or docker; tarn drives
//! it over SSH.
//!
//! - `configure` connects and validates the VSN first (bash and the needed commands, the engine,
//!   root or passwordless sudo): one error lists every failed check, before any change.
//! - Resources `vsn_host`, `vsn_volume`, `vsn_service` (containers; kinds.rs, lifecycle.rs) and
//!   `vsn_healthcheck_cron` (cron.rs), `vsn_maintenance_cron` (maintenance.rs),
//!   `vsn_image_cleanup` (images.rs); data source `vsn_deployment_plan` (deployment.rs).
//! - Every container carries `tarn.correlation` so `adopt` finds what a crashed apply made.
//! - Every resource is `restorable`: a rollback of a delete-then-create replacement creates the
//!   previous container again from its recorded state while its image is there (restore.rs),
//!   and otherwise leaves the VSN without it, its data kept.
//! - Data is never lost: a volume's data directory survives destroy and replacement unless
//!   `delete_data_on_destroy` is true, which the plan flags as irreversible.
//! - A volume with `migrate_from` gets its data copied from another VSN before its container
//!   starts, verified by checksum manifests (migrate.rs, manifest.rs).
//!
//! One provider instance serves one VSN; several VSNs are provider aliases.

mod aside;
mod attrs;
pub mod config;
mod cron;
pub mod deployment;
pub mod engine;
mod images;
mod kinds;
mod lifecycle;
mod maintenance;
mod manifest;
mod migrate;
pub mod node;
mod plan;
mod remote;
mod restore;
pub mod schema;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, RestoreRequest, UpdateRequest, Value,
};

use config::NodeConfig;
use kinds::Kind;
use node::Node;

/// The `vsn` provider: one VSN per instance.
#[derive(Default)]
pub struct VsnProvider {
    node: OnceLock<Node>,
}

pub fn provider() -> Arc<dyn Provider> {
    Arc::new(VsnProvider::default())
}

enum Type {
    Container(Kind),
    Cron,
    Maintenance,
    Images,
}

fn resource_type(name: &str) -> Result<Type, ProviderError> {
    if let Some(k) = Kind::from_type_name(name) {
        return Ok(Type::Container(k));
    }
    if name == schema::CRON {
        return Ok(Type::Cron);
    }
    if name == schema::MAINTENANCE {
        return Ok(Type::Maintenance);
    }
    if name == schema::IMAGES {
        return Ok(Type::Images);
    }
    Err(ProviderError::permanent(format!(
        "the vsn provider has no resource type \"{name}\"; it offers vsn_host, vsn_volume, vsn_service, vsn_healthcheck_cron, vsn_maintenance_cron and vsn_image_cleanup"
    )))
}

impl VsnProvider {
    fn node(&self) -> Result<&Node, ProviderError> {
        self.node.get().ok_or_else(|| {
            ProviderError::permanent("the vsn provider was used before it was configured; this is a bug in tarn")
        })
    }
}

#[async_trait]
impl Provider for VsnProvider {
    fn name(&self) -> &str {
        "vsn"
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let parsed = NodeConfig::parse(&config)?;
        let node = Node::connect(parsed).await?;
        let _ = self.node.set(node);
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        match resource_type(&req.type_name)? {
            Type::Container(k) => lifecycle::read(self.node()?, k, req.state).await,
            Type::Cron => cron::read(self.node()?, req.state).await,
            Type::Maintenance => maintenance::read(self.node()?, req.state).await,
            Type::Images => images::read(req.state).await,
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        match resource_type(&req.type_name)? {
            Type::Container(k) => {
                let node = self.node()?;
                let new_host = k == Kind::Host && req.prior.is_none();
                let response = plan::plan(&node.config, k, req.prior, req.proposed)?;
                // A new host object replaces any running one of its name: the seed's guard
                // refuses that at plan time, before anything changes.
                if new_host && let Ok(o) = attrs::object(response.planned.clone(), schema::HOST) {
                    if let Some(name) = o.get("name").and_then(Value::as_str) {
                        lifecycle::refuse_running_host(node, &o, name).await?;
                    }
                }
                Ok(response)
            }
            Type::Cron | Type::Maintenance => Ok(PlanResponse { planned: req.proposed, requires_replace: Vec::new() }),
            Type::Images => images::plan(self.node()?, req.proposed).await,
        }
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        match resource_type(&req.type_name)? {
            Type::Container(k) => lifecycle::create(self.node()?, k, req.planned, &req.correlation).await,
            Type::Cron => cron::create(self.node()?, req.planned).await,
            Type::Maintenance => maintenance::create(self.node()?, req.planned).await,
            Type::Images => images::create(self.node()?, req.planned).await,
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        match resource_type(&req.type_name)? {
            Type::Container(k) => lifecycle::update(self.node()?, k, req.prior, req.planned).await,
            Type::Cron => cron::update(self.node()?, req.planned).await,
            Type::Maintenance => maintenance::create(self.node()?, req.planned).await,
            // Every argument forces replacement; only computed values are left to change.
            Type::Images => Ok(req.planned),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        match resource_type(&req.type_name)? {
            Type::Container(k) => lifecycle::delete(self.node()?, k, req.state).await,
            Type::Cron => cron::delete(self.node()?, req.state).await,
            Type::Maintenance => maintenance::delete(self.node()?, req.state).await,
            // Images are removed by the next deployment's create, never by a delete.
            Type::Images => Ok(()),
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        if req.type_name != schema::PLAN {
            return Err(ProviderError::permanent(format!(
                "the vsn provider has no data source \"{}\"; it offers vsn_deployment_plan",
                req.type_name
            )));
        }
        let cap = self.node()?.config.volume_size_limit_bytes as f64 / config::GB as f64;
        let config = req.config;
        tokio::task::spawn_blocking(move || deployment::read(&config, cap))
            .await
            .map_err(|e| ProviderError::permanent(format!("reading the deployment plan failed: {e}")))?
    }

    async fn restore(&self, req: RestoreRequest) -> Result<Value, ProviderError> {
        match resource_type(&req.type_name)? {
            Type::Container(k) => restore::restore(self.node()?, k, req.state, &req.correlation).await,
            // The cron files are written again from the recorded state.
            Type::Cron => cron::create(self.node()?, req.state).await,
            Type::Maintenance => maintenance::create(self.node()?, req.state).await,
            // Its delete changed nothing on the VSN.
            Type::Images => Ok(req.state),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        match resource_type(&req.type_name)? {
            Type::Container(k) => lifecycle::adopt(self.node()?, k, req.planned, &req.correlation).await,
            // The cron files carry no correlation; the create rewrites them, which is idempotent.
            Type::Cron | Type::Maintenance | Type::Images => Ok(None),
        }
    }
}
