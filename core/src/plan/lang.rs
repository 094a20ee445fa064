//! The planner's only doorway into the language crate modules (evaluation and type
//! conversion), so that their signatures are adapted in one place. Must not add semantics.

use crate::config::Expr;
use crate::diag::Diagnostics;
use crate::eval::EvalContext;
use tarn_sdk::{Type, Value};

pub(crate) fn evaluate(expr: &Expr, ctx: &EvalContext) -> Result<Value, Diagnostics> {
    crate::eval::evaluate(expr, ctx)
}

pub(crate) fn convert(value: &Value, ty: &Type) -> Result<Value, String> {
    crate::eval::convert(value, ty)
}

/// Converts a variable's value to its declared type, filling `optional(T, default)` defaults.
pub(crate) fn convert_variable(value: &Value, var: &crate::config::Variable) -> Result<Value, String> {
    crate::eval::convert_with_defaults(value, &var.ty, var.type_defaults.as_ref())
}
