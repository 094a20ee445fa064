//! Planning: from configuration × prior (refreshed) state × provider schemas to a [`Plan`]:
//! one [`ResourceChange`] per resource instance and the execution graph apply will run.
//! Pure and synchronous; provider calls (setup, refresh, data source reads) happen in the
//! async functions around it, at the provider boundary.
//!
//! The run type (`crate::run`) calls, in order: [`resolve_variables`], [`setup_providers`],
//! [`prior_from_snapshot`] then [`refresh`] (unless `--refresh=false`), [`plan_with_data`]
//! (or [`plan`] when no data source or import needs reading), and hands the executor an
//! [`ApplyEvaluator`] as its [`Finalizer`].

mod assemble;
mod conditions;
pub mod console;
mod data;
mod diff;
pub mod drift;
mod execgraph;
mod expand;
mod finalize;
mod import;
mod lang;
pub mod limits;
pub mod model;
mod providers;
mod refresh;
pub mod render;
mod resolver;
mod schema_check;
mod scope;
pub mod statevalue;
mod variables;
mod walk;

pub use assemble::plan;
pub use conditions::{CHECK_FAILED, POSTCONDITION_FAILED, PRECONDITION_FAILED};
pub use console::Console;
pub use data::plan_with_data;
pub use diff::{Diff, diff, same};
pub use finalize::ApplyEvaluator;
pub use import::{
    ImportRead, ImportResults, ImportedObject, check_imports, import_failed, import_object, read_imports,
};
pub use model::*;
pub use providers::{ProviderFactory, ProviderSet, Schemas, SetupContext, parse_provider_key, setup_providers};
pub use refresh::{PriorObject, PriorState, RefreshOptions, prior_from_snapshot, refresh};
pub use schema_check::unsupported_argument;
pub use statevalue::{mark_sensitive, record_from_value, value_from_record};
pub use variables::{RootVariables, VarInput, check_defaults, resolve_variables};
