//! The executor: runs a Plan's execution graph through providers, with bounded concurrency,
//! never two operations on one address at once, a journal intent before every provider call
//! and a state row written as each action finishes. On failure it applies the failure policy
//! (rollback by default). It re-decides nothing: the plan's graph is the work.

pub mod model;

pub use model::*;
