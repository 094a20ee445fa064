//! tarn-provider-pond: the `pond` provider. Pond (../shared/seeds/pond.md) deploys web projects
//! to servers in blue/green pairs: each server environment holds a blue and a green copy of the
//! site, one live and one for the next release, switched by hand after testing. tarn drives it
//! over SSH (`tarn_sdk::ssh`), so provisioning, deployment and the switch are plans a person
//! reviews.
//!
//! - `pond_server` (server.rs): a host made a Pond server, idempotently.
//! - `pond_environment` (environment.rs, model.rs, remote.rs): the seed's tree on every server,
//!   virtual hosts, deployments to the inactive colour (`build`), the all-or-none switch
//!   (`live`), drift of the live colour and build tags; plan.rs predicts the build that goes
//!   live, so the plan shows it.
//! - `pond_environment_status` (status.rs): per-server status and the Pond log's tail.
//!
//! Resources name the servers they reach (conn.rs), a droplet's address typically; the
//! provider block's `host_overrides` may say an address is really reached elsewhere (the
//! sandbox's local servers). One session pool serves every server.

mod conn;
mod environment;
mod ignore;
mod model;
mod plan;
mod remote;
pub mod schema;
mod server;
mod status;
mod template;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

pub use server::{DEFAULT_COLOUR_VHOST, DEFAULT_LIVE_VHOST};

/// The `pond` provider.
#[derive(Default)]
pub struct PondProvider {
    pool: conn::Reach,
}

pub fn provider() -> Arc<dyn Provider> {
    Arc::new(PondProvider::default())
}

enum Kind {
    Server,
    Environment,
}

fn kind(name: &str) -> Result<Kind, ProviderError> {
    match name {
        schema::SERVER => Ok(Kind::Server),
        schema::ENVIRONMENT => Ok(Kind::Environment),
        other => Err(ProviderError::permanent(format!(
            "the pond provider has no resource type \"{other}\"; it offers pond_server and pond_environment"
        ))),
    }
}

#[async_trait]
impl Provider for PondProvider {
    fn name(&self) -> &str {
        "pond"
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    /// The provider block's only argument, `host_overrides`, says where addresses are really
    /// reached (what `--sandbox` sets for its local servers).
    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        self.pool.configure(&config)
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        match kind(&req.type_name)? {
            Kind::Server => server::read(&self.pool, req.state).await,
            Kind::Environment => environment::read(&self.pool, req.state).await,
        }
    }

    /// An environment's plan says which build goes live (plan.rs); a server's is the default.
    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        let planned = match kind(&req.type_name)? {
            Kind::Server => req.proposed,
            Kind::Environment => plan::environment(req.prior.as_ref(), req.proposed),
        };
        Ok(PlanResponse { planned, requires_replace: Vec::new() })
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        match kind(&req.type_name)? {
            Kind::Server => server::create(&self.pool, req.planned).await,
            Kind::Environment => environment::create(&self.pool, req.planned).await,
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        match kind(&req.type_name)? {
            Kind::Server => server::update(&self.pool, req.prior, req.planned).await,
            Kind::Environment => environment::update(&self.pool, req.prior, req.planned).await,
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        match kind(&req.type_name)? {
            Kind::Server => server::delete(&self.pool, req.state).await,
            Kind::Environment => environment::delete(&self.pool, req.state).await,
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        if req.type_name != schema::STATUS {
            return Err(ProviderError::permanent(format!(
                "the pond provider has no data source \"{}\"; it offers pond_environment_status",
                req.type_name
            )));
        }
        status::read(&self.pool, req.config).await
    }

    /// Both resources are idempotent to create again over what an interrupted create left (the
    /// settings are rewritten, the tree laid out again, the build deployed again), so there is
    /// nothing to adopt: the executor creates anew.
    async fn adopt(&self, _req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        Ok(None)
    }
}
