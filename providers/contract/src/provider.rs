//! The provider contract. One async trait; every call takes a request struct and returns a
//! response or a classified [`ProviderError`], so the contract can grow without breaking
//! implementors. Values passed to providers have sensitive marks removed (the provider needs the
//! clear value to do its job); values returned are re-marked by the engine from the schema.
//!
//! Contract, stricter than Terraform's:
//! - `create` is atomic or reports `PartiallyCreated` with the object's state.
//! - `create` attaches `correlation` to the object where the API allows (name, label, tag), so
//!   that `adopt` can find it after a crash.
//! - `read` returns `Ok(None)` when the object is gone, never an error.
//! - `delete` of an object that is already gone succeeds.

use crate::error::ProviderError;
use crate::schema::ProviderSchema;
use crate::value::Value;
use async_trait::async_trait;

#[derive(Debug, Clone)]
pub struct ReadRequest {
    pub type_name: String,
    /// The recorded state of the object.
    pub state: Value,
}

#[derive(Debug, Clone)]
pub struct ReadDataRequest {
    pub type_name: String,
    pub config: Value,
}

#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub type_name: String,
    /// Recorded (refreshed) state; `None` for a create.
    pub prior: Option<Value>,
    /// The configuration merged over prior computed values: what the engine's default diff
    /// would apply. Unknown leaves are "known after apply".
    pub proposed: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanResponse {
    /// The object as it will be after apply, with unknowns where only apply can tell.
    pub planned: Value,
    /// Attribute names whose change cannot be applied in place, beyond the schema's force_new.
    pub requires_replace: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub type_name: String,
    /// The final configuration: every value known.
    pub planned: Value,
    /// A tag unique to this create, to be attached to the object so `adopt` can find it.
    pub correlation: String,
}

#[derive(Debug, Clone)]
pub struct UpdateRequest {
    pub type_name: String,
    pub prior: Value,
    pub planned: Value,
}

#[derive(Debug, Clone)]
pub struct DeleteRequest {
    pub type_name: String,
    pub state: Value,
}

#[derive(Debug, Clone)]
pub struct AdoptRequest {
    pub type_name: String,
    pub correlation: String,
    /// What the interrupted create was asked to make.
    pub planned: Value,
}

#[derive(Debug, Clone)]
pub struct RestoreRequest {
    pub type_name: String,
    /// The deleted object's recorded state.
    pub state: Value,
    /// A tag to attach to the recreated object, as for a create, so `adopt` finds it after a
    /// crash.
    pub correlation: String,
}

#[async_trait]
pub trait Provider: Send + Sync {
    /// The provider's name as used in configuration (`null`, `local`).
    fn name(&self) -> &str;

    fn schema(&self) -> ProviderSchema;

    /// Receives the provider block's evaluated arguments. Called once, before anything else.
    async fn configure(&self, _config: Value) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Refresh: the object's current state, or `None` when it no longer exists.
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError>;

    /// Optional refinement of the engine's default diff, as Terraform's PlanResourceChange. The
    /// planner calls it for resource types whose schema sets `refines_plan`: for a create while
    /// the proposed value still has unknown computed attributes (the provider may fill those it
    /// can predict), and for every update, with the prior object (the provider may set computed
    /// attributes the configuration leaves unset, unknown ones included, and name in
    /// `requires_replace` the changed attributes it cannot change in place: the planner then
    /// plans a replacement because of them). An error fails the plan for that address. The
    /// provider must not change any value the configuration decides (the planner refuses a
    /// response that does).
    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        Ok(PlanResponse { planned: req.proposed, requires_replace: Vec::new() })
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError>;

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError>;

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError>;

    /// Reads a data source.
    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        Err(ProviderError::permanent(format!("{} has no data source {}", self.name(), req.type_name)))
    }

    /// Finds an existing object by its ID, for `tarn import`.
    async fn import(&self, type_name: &str, _id: &str) -> Result<Option<Value>, ProviderError> {
        Err(ProviderError::permanent(format!("{type_name} does not support import")))
    }

    /// Creates again an object this run deleted, from its recorded state: the rollback of a
    /// delete-then-create replacement. Called only for resource types whose schema sets
    /// `restorable`. Atomic like `create`; an error says what is left instead (the rollback
    /// reports it as incomplete).
    async fn restore(&self, req: RestoreRequest) -> Result<Value, ProviderError> {
        Err(ProviderError::permanent(format!("{} cannot recreate a deleted {}", self.name(), req.type_name)))
    }

    /// Finds the object an interrupted create may have made, by correlation tag. `Ok(None)`:
    /// no such object exists.
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError>;
}
