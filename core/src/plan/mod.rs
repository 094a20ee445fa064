//! Planning: from configuration × prior (refreshed) state × provider schemas to a [`Plan`]:
//! one [`ResourceChange`] per resource instance and the execution graph apply will run.
//! Pure and synchronous; provider calls (setup, refresh, data source reads) happen in the
//! async functions around it, at the provider boundary.
//!
//! The CLI calls, in order: [`resolve_variables`], [`setup_providers`],
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
pub use providers::{ProviderFactory, ProviderSet, Schemas, parse_provider_key, setup_providers};
pub use refresh::{PriorObject, PriorState, RefreshOptions, prior_from_snapshot, refresh};
pub use schema_check::unsupported_argument;
pub use statevalue::{mark_sensitive, record_from_value, value_from_record};
pub use variables::{RootVariables, VarInput, check_defaults, resolve_variables};

use crate::config::Config;
use crate::diag::Diagnostics;
use std::collections::HashMap;
use std::path::PathBuf;
use tarn_sdk::{Address, Value};

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub mode: PlanMode,
    /// `--target`: plan only these (blocks or instances) and what they depend on.
    pub targets: Vec<Address>,
    /// `--exclude`: leave these and everything depending on them out.
    pub excludes: Vec<Address>,
    /// `--replace`: replace these even if unchanged.
    pub replace: Vec<Address>,
    /// The working directory, for `path.cwd`.
    pub cwd: PathBuf,
    /// `tarn validate`: plan with every root variable unknown, an unknown count or for_each
    /// standing for one instance, and no provider read (data sources, imports and plan
    /// refinements stay unknown), only to find the configuration's errors.
    pub validate: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            mode: PlanMode::Normal,
            targets: Vec::new(),
            excludes: Vec::new(),
            replace: Vec::new(),
            cwd: PathBuf::from("."),
            validate: false,
        }
    }
}

/// A provider call the plan needs before it can be final: a data source read (a `data`
/// address; its configuration is wholly known at plan time), or the refinement of a managed
/// instance's planned value by `Provider::plan` (a managed address; `config` is the proposed
/// value, `prior` the recorded object).
#[derive(Debug, Clone)]
pub struct DataRead {
    pub address: Address,
    pub provider: String,
    pub type_name: String,
    pub config: Value,
    /// For a plan refinement: the prior object (`None` for a create, and for data reads).
    pub prior: Option<Value>,
}

/// Provider answers so far, by address → (what was asked, the answer): for a data source the
/// configuration read with and the result; for a managed instance the proposed value and the
/// provider's planned value.
pub type DataResults = HashMap<Address, (Value, Value)>;

/// Everything a plan is made from.
#[derive(Clone, Copy)]
pub struct PlanInput<'a> {
    pub config: &'a Config,
    pub prior: &'a PriorState,
    pub drift: &'a [Drift],
    pub schemas: &'a Schemas,
    pub variables: &'a RootVariables,
    pub data: &'a DataResults,
    /// Objects found by `import {}` blocks so far (see [`plan_with_data`], which reads them).
    pub imported: &'a ImportResults,
    pub options: &'a PlanOptions,
    pub binding: &'a PlanBinding,
}

/// A plan (absent when there are errors or imports are pending), the problems found, and data
/// sources and imports that still need reading.
#[derive(Debug)]
pub struct PlanOutcome {
    pub plan: Option<Plan>,
    pub diagnostics: Diagnostics,
    pub pending_reads: Vec<DataRead>,
    /// Imports to read before the targets can be planned; while any is pending there is no plan.
    pub pending_imports: Vec<ImportRead>,
}
