//! A run: one use of the engine against one stack, from opening the state to the last write.
//! OpenTofu's `Context` is the model. [`Run`] owns the order every command and a server share
//! — lock → recover → refresh → plan → apply (or import), outputs recorded after — and the
//! rules that go with it: a saved plan applies only to the state and configuration it was made
//! from, a sensitive value is never stored without a state key, outputs are evaluated once
//! every value is known. `tarn drift` is [`Run::check_drift`], which never locks or writes.
//!
//! A run is fed one [`Settings`] value, checked before anything is locked or called
//! ([`Settings::check`]); it returns results and [`RunError`]s and reports what happens on the
//! way as [`RunEvent`]s to an [`Observer`]. It prints nothing, reads no environment variable
//! and does not look at the process's current directory: the settings carry the working
//! directory and the user's home directory (`abspath`, `pathexpand` and `path.cwd` use those);
//! providers come from the caller's [`ProviderSetup`]. A `Run` is `Send`: a server drives one
//! per request on any task.
//!
//! Code map: `settings` (raw request → checked settings), `variables` (root variable inputs),
//! `open` (lock, recover, providers), `plan` (refresh and plan; with `validate`, the only
//! places planner input is assembled; saved plans checked), `apply` (the execution graph, refresh-only plans, outputs),
//! `import` (one object into the state), `drift` (the read-only check), `validate` (`tarn
//! validate`'s plan in validation mode: no state, no provider call), `planfile` (saved plans on
//! disk), `lease` (the lock and its heartbeat), `events`, `error`.

mod apply;
mod drift;
mod error;
mod events;
mod import;
mod lease;
mod open;
mod outputs;
mod plan;
pub mod planfile;
mod settings;
mod validate;
mod variables;

#[cfg(test)]
mod tests;

pub use apply::Applied;
pub use drift::DriftCheck;
pub use error::RunError;
pub use events::{Collect, Observer, RunEvent, Silent};
pub use import::ImportTarget;
pub use lease::Lease;
pub use open::{FromFactory, ProviderSetup};
pub use outputs::{is_output_digest, sensitive_output_digest};
pub use settings::{DEFAULT_LEASE, DEFAULT_PARALLELISM, DEFAULT_REFRESH_PARALLELISM, Request, Selection, Settings};
pub use validate::{Validation, validate};
pub use variables::{VarArg, VariableSources, automatic_var_files, resolve as resolve_variables};

use crate::config::Config;
use crate::plan::ProviderSet;
use std::sync::Arc;
use tarn_state::{Backend, Snapshot};

/// One run against one stack: the configuration, its checked settings, the providers set up
/// for it, the state it plans against and, when a state exists, the backend and the lock held
/// on it until [`Run::close`].
pub struct Run {
    settings: Settings,
    config: Arc<Config>,
    providers: ProviderSet,
    snapshot: Snapshot,
    /// `None` for a plan where no state exists yet (nothing to lock, nothing to write).
    state: Option<Held>,
    observer: Arc<dyn Observer>,
}

/// The state a run writes and the lock it holds on it.
pub(crate) struct Held {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) lease: Lease,
}

impl Run {
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    /// The state as the run found it (after recovery).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
    pub fn providers(&self) -> &ProviderSet {
        &self.providers
    }
    /// The state backend, when the run has one.
    pub fn backend(&self) -> Option<&Arc<dyn Backend>> {
        self.state.as_ref().map(|h| &h.backend)
    }
}
