//! tarn-contract: the contract between tarn's engine and its providers.
//!
//! Owns the value model ([`Value`] with its unknown and sensitive marks, and Terraform's
//! arbitrary-precision [`Number`]) and typed getters for its attributes (`attrs`), resource
//! addresses, schemas, the async [`Provider`] trait, classified [`ProviderError`]s, and the secrets of the
//! provider call in progress (`call`, `secrets`). It must not know about configuration files,
//! plans or state storage, and must not depend on an SSH, HTTP or server crate: the provider
//! toolkit (tarn-toolkit) builds on it, and providers reach both through the tarn-sdk facade.

pub mod address;
pub mod attrs;
pub mod call;
pub mod error;
pub mod number;
pub mod provider;
pub mod schema;
pub mod secrets;
pub mod value;

pub use address::{Address, InstanceKey, Mode, ModuleStep};
pub use error::{ErrorClass, ErrorKind, ProviderError};
pub use provider::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ReadDataRequest, ReadRequest,
    RestoreRequest, UpdateRequest,
};
pub use schema::{AttributeSchema, ProviderSchema, ResourceSchema, Type};
pub use secrets::Secrets;
pub use value::{Number, Value, WireValue};
