//! Evaluation of configuration expressions into [`Value`]s, tarn's own evaluator over the
//! hcl-edit tree. Unknown and sensitive marks propagate through every operator and function;
//! `try`/`can` evaluate their arguments lazily; every error points at the exact sub-expression.
//!
//! The evaluator knows nothing of resources or state: names are looked up through a
//! [`Resolver`] supplied by the planner, which may consume several traversal steps at once
//! (`null_resource.a[4]`) so that one instance is found without materialising a whole block.

use crate::config::{Expr, Reference};
use crate::diag::{Diagnostic, Diagnostics, Span};
use std::path::PathBuf;
use tarn_sdk::Value;

/// One step of a traversal after its root name, with index expressions already evaluated.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Attr(String),
    Index(Value),
}

/// What a resolver found: the value, and how many of the offered steps it consumed.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub value: Value,
    pub consumed: usize,
}

/// Looks up root names (`var`, `local`, `null_resource`, `data`, `module`, `count`, `each`,
/// `path`, `self`, ...). Implemented by the planner and the executor.
pub trait Resolver {
    /// Resolve `root` followed by `steps`. Return `Ok(None)` when `root` is not a name this
    /// resolver knows (the evaluator then reports an undefined reference with suggestions).
    /// Errors are diagnostics pointing at `span` (the traversal's span).
    fn resolve(&self, root: &str, steps: &[Step], span: Span) -> Result<Option<Resolved>, Diagnostic>;

    /// Root names in scope, for "did you mean" suggestions.
    fn root_names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Everything an evaluation needs besides the expression.
pub struct EvalContext<'a> {
    pub resolver: &'a dyn Resolver,
    /// The module's directory: base of `file()`, `templatefile()`, `path.module`.
    pub module_dir: PathBuf,
}
