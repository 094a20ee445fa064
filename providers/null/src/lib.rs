//! tarn-provider-null: the `null` provider, a faithful counterpart of hashicorp/null 2.1.2.
//!
//! Owns one resource type, `null_resource`, an object that lives only in tarn's state: `create`
//! mints a random decimal `id`, `read` returns the recorded state unchanged, and `delete` has
//! nothing to remove. Any change to `triggers` replaces the resource (the schema marks it
//! `force_new`), which is what makes it useful for sequencing.
//!
//! Crash safety: there is no external object, so there is nothing a `correlation` tag could be
//! attached to and nothing an interrupted apply could leave behind. `adopt` therefore always
//! answers `Ok(None)`: the executor then treats the interrupted create as never having happened
//! and simply creates again, which for an object without existence outside the state is exact.
//!
//! The deprecated `null_data_source` is deliberately absent (upstream recommends `locals` or
//! `terraform_data`). This crate must not do IO: benchmarks run 100,000 instances, so create and
//! read move the request's value instead of copying it.

mod schema;

pub use schema::provider_schema;

use async_trait::async_trait;
use std::sync::Arc;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, Provider, ProviderError, ProviderSchema, ReadRequest, UpdateRequest,
    Value,
};

pub const RESOURCE: &str = "null_resource";

/// The `null` provider. Stateless: every instance is interchangeable.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullProvider;

impl NullProvider {
    pub fn new() -> Self {
        NullProvider
    }
}

/// The provider as the CLI registers it.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(NullProvider::new())
}

/// A random non-negative 63-bit integer in decimal, the shape of Go's `rand.Int()` that
/// hashicorp/null uses for its ids, so ids look the same under both tools.
fn random_id() -> String {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    (u64::from_le_bytes(word) >> 1).to_string()
}

fn check_type(type_name: &str) -> Result<(), ProviderError> {
    if type_name == RESOURCE {
        Ok(())
    } else {
        Err(ProviderError::permanent(format!(
            "The null provider has no resource type \"{type_name}\"; it offers only \"{RESOURCE}\"."
        )))
    }
}

/// Checks that `triggers` is null or a map of strings, as the schema says, so a bad value from
/// a buggy caller is a clear error rather than a state that cannot be diffed.
fn check_triggers(object: &Value) -> Result<(), ProviderError> {
    match object.get("triggers").map(|t| t.unmark().0) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Map(m)) => match m.iter().find(|(_, v)| v.as_str().is_none()) {
            None => Ok(()),
            Some((k, v)) => Err(ProviderError::permanent(format!(
                "The trigger \"{k}\" of null_resource must be a string, but it is a {}.",
                v.type_name()
            ))),
        },
        Some(other) => Err(ProviderError::permanent(format!(
            "The triggers attribute of null_resource must be a map of strings, but it is a {}.",
            other.type_name()
        ))),
    }
}

/// Takes the request's object by value and sets `id` in place: no copy of the triggers.
fn with_id(object: Value, id: Value) -> Result<Value, ProviderError> {
    match object {
        Value::Map(mut m) => {
            m.insert("id".to_string(), id);
            Ok(Value::Map(m))
        }
        Value::Null => Ok(Value::map([("triggers", Value::Null), ("id", id)])),
        other => Err(ProviderError::permanent(format!(
            "A null_resource must be an object of attributes, but the engine passed a {}; this is a bug in tarn.",
            other.type_name()
        ))),
    }
}

#[async_trait]
impl Provider for NullProvider {
    fn name(&self) -> &str {
        "null"
    }

    fn schema(&self) -> ProviderSchema {
        provider_schema()
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        check_type(&req.type_name)?;
        // The object exists exactly as long as the state records it.
        Ok(Some(req.state))
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        check_type(&req.type_name)?;
        check_triggers(&req.planned)?;
        with_id(req.planned, Value::String(random_id()))
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        // Every configurable attribute forces replacement, so an update can only be a no-op
        // refresh of the recorded values: keep the id.
        check_type(&req.type_name)?;
        check_triggers(&req.planned)?;
        let id = req.prior.get("id").cloned().unwrap_or(Value::Null);
        with_id(req.planned, id)
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        check_type(&req.type_name)
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        // Any id names a valid null_resource: there is nothing to look up.
        check_type(type_name)?;
        Ok(Some(Value::map([("triggers", Value::Null), ("id", Value::string(id))])))
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        // No external object can exist: see the module header.
        check_type(&req.type_name)?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
