//! Evaluation of configuration expressions into [`Value`]s, tarn's own evaluator over the
//! hcl-edit tree. Unknown and sensitive marks propagate through every operator and function;
//! `try`/`can` evaluate their arguments lazily; every error points at the exact sub-expression.
//!
//! The evaluator knows nothing of resources or state: names are looked up through a
//! [`Resolver`] supplied by the planner, which may consume several traversal steps at once
//! (`null_resource.a[4]`) so that one instance is found without materialising a whole block.

// Diagnostics are the error type of the language front end by design (they carry spans).
#![allow(clippy::result_large_err)]

mod body;
mod call;
mod constants;
mod convert;
mod expr;
mod lines;
mod ops;
mod refs;
mod template;
mod traverse;
mod variable;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
pub(crate) mod tests;

use crate::config::Expr;
use crate::diag::{Diagnostic, Diagnostics, Span};
use hcl::edit::Span as _;
use std::path::Path;
use tarn_sdk::Value;

pub use body::{body_references, evaluate_body};
pub use constants::LoadingConstants;
pub use convert::{convert, convert_with_defaults};
pub use ops::{equal, parse_number};
pub use refs::references;
pub use traverse::apply_step;
pub use variable::{Given, variable_value};

/// Evaluates a configuration expression. Every error points at the sub-expression at fault.
pub fn evaluate(expr: &Expr, ctx: &EvalContext) -> Result<Value, Diagnostics> {
    let base = expr.expr.span().map(|r| expr.span.start.saturating_sub(r.start)).unwrap_or(expr.span.start);
    evaluate_raw(&expr.expr, expr.span.file, base, expr.span, ctx)
}

/// Evaluates a raw hcl-edit expression whose inner spans are offsets into some text that starts
/// at byte `base` of file `file`; `fallback` is used for nodes without spans.
pub fn evaluate_raw(
    e: &hcl::edit::expr::Expression,
    file: crate::diag::FileId,
    base: usize,
    fallback: Span,
    ctx: &EvalContext,
) -> Result<Value, Diagnostics> {
    let mut ev = expr::Evaluator { ctx, file, base, fallback, scopes: Vec::new(), isolated: false, depth: 0 };
    ev.eval(e)
}

/// Evaluates with extra variables in scope (shadowing the resolver), e.g. for tests and
/// for `dynamic` blocks' iterators.
pub fn evaluate_with(
    expr: &Expr,
    ctx: &EvalContext,
    vars: indexmap::IndexMap<String, Value>,
) -> Result<Value, Diagnostics> {
    let base = expr.expr.span().map(|r| expr.span.start.saturating_sub(r.start)).unwrap_or(expr.span.start);
    let mut ev = expr::Evaluator {
        ctx,
        file: expr.span.file,
        base,
        fallback: expr.span,
        scopes: vec![vars],
        isolated: false,
        depth: 0,
    };
    ev.eval(&expr.expr)
}

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

    /// The run's working directory, for `abspath`; `None` outside a run.
    fn cwd(&self) -> Option<&Path> {
        None
    }

    /// The run's home directory, for `pathexpand`; `None` outside a run or when the caller
    /// gave none.
    fn home(&self) -> Option<&Path> {
        None
    }
}

/// Everything an evaluation needs besides the expression.
pub struct EvalContext<'a> {
    pub resolver: &'a dyn Resolver,
    /// The module's directory: base of `file()`, `templatefile()`, `path.module`.
    pub module_dir: &'a Path,
}
