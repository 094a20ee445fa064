//! tarn-core: the engine. Loads configuration, evaluates it, builds the dependency graph, plans
//! changes against prior state and executes plans through providers with rollback.
//!
//! It knows no vendor: providers arrive as `Arc<dyn tarn_sdk::Provider>` from the CLI, the only
//! composition root. Loading, evaluation, graph building and planning are synchronous and pure
//! (no IO beyond reading configuration files); async starts at the provider and state boundary.

pub mod config;
pub mod diag;
pub mod eval;
pub mod exec;
pub mod functions;
pub mod graph;
pub mod plan;

pub use diag::{Diagnostic, Diagnostics, Severity, SourceMap, Span};
