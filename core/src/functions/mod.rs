//! The standard library: functions callable from expressions (`upper`, `merge`, `cidrsubnet`,
//! `jsonencode`, `file`, ...). Each takes evaluated argument values and returns a value.
//!
//! Marks: unless a function says otherwise, an unknown argument (at any depth) makes the result
//! unknown, and a sensitive argument makes the result sensitive. `try`, `can` and
//! `templatefile` are not here: they need the evaluator and are handled there.

use std::path::Path;
use tarn_sdk::Value;

/// What functions may need from their surroundings.
pub struct FuncContext<'a> {
    /// The calling module's directory: base for relative paths in `file()` and friends.
    pub module_dir: &'a Path,
}

/// Why a call failed. The evaluator turns it into a diagnostic pointing at the call, or at the
/// argument when `arg` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncError {
    /// 0-based index of the offending argument, if one is to blame.
    pub arg: Option<usize>,
    pub message: String,
}

/// Calls function `name`. `None` when no such function exists.
pub fn call(name: &str, args: Vec<Value>, ctx: &FuncContext) -> Option<Result<Value, FuncError>> {
    let _ = (name, args, ctx);
    None
}

/// Every function name, for "did you mean" and docs.
pub fn names() -> Vec<&'static str> {
    Vec::new()
}
