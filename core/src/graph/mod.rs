//! The dependency graph of configuration objects, at block level: variables, locals, outputs,
//! resource and data blocks, module calls (and everything inside called modules, keyed by
//! module path) and provider configurations. Edges come from the static references of every
//! expression, `depends_on`, and the implied resource → provider configuration edge.
//!
//! It owns reference checking (undeclared names, with suggestions), cycle reporting and the
//! DOT rendering behind `tarn graph`. It must not evaluate anything or expand instances: that
//! is the planner's walk, which visits this graph in [`BlockGraph::order`].

mod build;
mod cycle;
mod dot;
mod provider;
mod refs;

pub use build::{BlockGraph, Edge, Node, NodeKind, build};
pub use dot::to_dot;
pub use provider::{
    ProviderAddr, declares, implied_provider, module_at, provider_key, requested_provider, resolve_provider,
};
