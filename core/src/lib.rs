//! tarn-core: the engine. Loads configuration, evaluates it, builds the dependency graph, plans
//! changes against prior state and executes plans through providers with rollback; `run` is
//! the one type every caller (the CLI, a server) drives a run through.
//!
//! It knows no vendor: providers arrive as `Arc<dyn tarn_sdk::Provider>` from the CLI, the only
//! composition root. Loading, evaluation, graph building and planning are synchronous and pure
//! (no IO beyond reading configuration files); async starts at the provider and state boundary.

pub mod config;
pub mod deadline;
pub mod diag;
pub mod eval;
pub mod exec;
pub mod functions;
pub mod graph;
pub mod load;
pub mod plan;
pub mod run;
pub mod text;

pub use diag::{Diagnostic, Diagnostics, Severity, SourceMap, Span};

/// The stack a thread running the engine (loading, planning, apply's finalizer) should have.
/// Evaluation recursion is bounded by the documented limits (docs/language.md, "Limits": the
/// parser's 64 levels of nesting and 128 chained operators, values nested at most
/// `plan::limits::MAX_VALUE_DEPTH` deep when recorded, locals evaluated in dependency order
/// without one nested evaluation per reference), and this much stack holds those bounds with
/// a wide margin in unoptimized builds too. It is only reserved address space: pages are
/// touched as used.
pub const ENGINE_STACK_BYTES: usize = 256 << 20;
