//! The evaluator's answer to config's [`Constants`]: loading-time values (descriptions, flags, a
//! module's `source`, `optional(...)` defaults) evaluated with no names in scope, and converted
//! by the language's rules. Config declares what it needs and `crate::load` hands this in, so
//! the dependency runs one way: eval on config, never back.

use super::{EvalContext, Resolved, Resolver, Step, convert, evaluate};
use crate::config::{Constants, Expr};
use crate::diag::{Diagnostic, Span};
use tarn_sdk::{Type, Value};

/// Evaluates loading-time constants: every reference is an error, functions and operators work.
pub struct LoadingConstants;

/// Rejects every reference: loading-time values must be constants.
struct NoReferences;

impl Resolver for NoReferences {
    fn resolve(&self, root: &str, _steps: &[Step], span: Span) -> Result<Option<Resolved>, Diagnostic> {
        Err(Diagnostic::error(
            "Variables not allowed",
            format!("This value must be known while loading the configuration, so it cannot refer to `{root}`. Write a literal value."),
        )
        .at(span))
    }
}

impl Constants for LoadingConstants {
    fn constant(&self, expr: &Expr) -> Result<Value, Diagnostic> {
        let ctx = EvalContext { resolver: &NoReferences, module_dir: std::path::Path::new("") };
        evaluate(expr, &ctx).map_err(|mut ds| {
            if ds.0.is_empty() {
                Diagnostic::error("Invalid value", "This value could not be evaluated.").at(expr.span)
            } else {
                ds.0.remove(0)
            }
        })
    }

    fn convert(&self, value: &Value, ty: &Type) -> Result<Value, String> {
        convert(value, ty)
    }
}
