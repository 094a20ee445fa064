//! The executor: runs a Plan's execution graph through providers, with bounded concurrency,
//! never two operations on one address at once, a journal intent before every provider call
//! and a state row written as each action finishes. On failure it applies the failure policy
//! (rollback by default). It re-decides nothing: the plan's graph is the work.
//!
//! Code map: `apply` (entry, phases, outcome) → `phases` (which ops each phase runs)
//! → `dispatch` (scheduling state, bounded tasks)
//! → `ops` / `rollback` (what each job is) → `worker` (journal, provider call, retry, state
//! row). `recover` resolves what an interrupted run left open. `values` converts between
//! marked values and state rows; `journal` writes intents and outcomes.

mod apply;
mod cancel;
mod dispatch;
mod error;
mod journal;
pub mod model;
mod moves;
mod ops;
mod phases;
mod recover;
mod retry;
mod rollback;
mod values;
mod worker;

pub use apply::{ApplyContext, ApplyReport, apply};
pub use cancel::CancelToken;
pub use error::ExecError;
pub use model::*;
pub use ops::OpProblem;
pub use recover::{RecoverContext, Recovered, Resolution, recover};
