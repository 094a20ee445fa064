//! Executor tests: the real fault-injecting provider (with its overlap detector) against an
//! in-memory state backend. `scheduling`: concurrency, order, retries, journal discipline;
//! `failure`: the failure policies and rollback; `recovery`: crash recovery; `import`: import blocks
//! planned, applied and rolled back through the real planner.

pub mod memory;
mod support;

mod crash;
mod deadline;
mod deposed;
mod failure;
mod import;
mod irreversible;
pub(crate) mod pipeline;
mod provider_move;
mod recovery;
mod scheduling;
