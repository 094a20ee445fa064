//! tarn-sdk: the contract between tarn's engine and its providers.
//!
//! Owns the value model ([`Value`] with its unknown and sensitive marks), resource addresses,
//! schemas, the async [`Provider`] trait and classified [`ProviderError`]s. It must not know
//! about configuration files, plans or state storage: providers depend on this crate only.

pub mod address;
pub mod call;
pub mod error;
pub mod http;
#[cfg(feature = "log-capture")]
pub mod log_capture;
pub mod provider;
pub mod schema;
pub mod sim;
pub mod value;

pub use address::{Address, InstanceKey, Mode, ModuleStep};
pub use error::{ErrorClass, ProviderError};
pub use provider::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ReadDataRequest, ReadRequest,
    RestoreRequest, UpdateRequest,
};
pub use schema::{AttributeSchema, ProviderSchema, ResourceSchema, Type};
pub use value::{Number, Value, WireValue};
pub mod ssh;
