//! The standard library: functions callable from expressions (`upper`, `merge`, `cidrsubnet`,
//! `jsonencode`, `file`, ...). Each takes evaluated argument values and returns a value.
//!
//! This file owns the public contract (`call`, `names`, `FuncContext`, `FuncError`). `table.rs`
//! declares every function, `dispatch.rs` is the one path every call takes (arity, marks,
//! parameter types), and the functions live in one file per family; they must not
//! re-implement arity, mark or type checks.
//!
//! Marks: unless a function says otherwise (`Deep`), an unknown argument (at any depth)
//! makes the result unknown, and a sensitive argument makes the result sensitive. Functions
//! declared `Shallow` see only their top-level marks removed, so they can move unknown
//! or sensitive elements into their result in place (`concat`, `merge`, `length`, ...);
//! `Raw` functions see their arguments untouched (`coalesce`, `sensitive`). `try`,
//! `can` and `templatefile` are not here: they need the evaluator and are handled there.

mod args;
mod collection;
mod convert;
mod crypto;
mod datetime;
mod dispatch;
mod docs;
mod encoding;
mod format;
mod fs;
mod hash;
mod net;
mod numeric;
mod set;
mod string;
mod table;
mod text;
mod yaml;

#[cfg(test)]
mod examples;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
pub(crate) mod testutil;

use std::path::Path;
use tarn_sdk::Value;

pub(crate) use args::Args;
pub(crate) use set::set_of;

/// What functions may need from their surroundings.
pub struct FuncContext<'a> {
    /// The calling module's directory: base for relative paths in `file()` and friends.
    pub module_dir: &'a Path,
    /// The working directory of the run (`abspath`), as the caller gave it; `None` where an
    /// expression is evaluated outside a run (constants, variable validation).
    pub cwd: Option<&'a Path>,
    /// The home directory of the run's user (`pathexpand`), as the caller gave it. Core never
    /// reads `HOME` or the process's current directory itself.
    pub home: Option<&'a Path>,
}

/// Why a call failed. The evaluator turns it into a diagnostic pointing at the call, or at the
/// argument when `arg` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncError {
    /// 0-based index of the offending argument, if one is to blame.
    pub arg: Option<usize>,
    pub message: String,
}

impl FuncError {
    /// An error that blames the call as a whole.
    pub(crate) fn call(message: impl Into<String>) -> FuncError {
        FuncError { arg: None, message: message.into() }
    }
}

/// Calls function `name`. `None` when no such function exists.
pub fn call(name: &str, args: Vec<Value>, ctx: &FuncContext) -> Option<Result<Value, FuncError>> {
    let spec = table::lookup(name)?;
    Some(dispatch::dispatch(spec, args, ctx))
}

/// Every function name, for "did you mean" and docs.
pub fn names() -> Vec<&'static str> {
    table::TABLE.iter().map(|s| s.name).collect()
}

/// The closest known function name to a misspelt one, for "Did you mean ...?" hints.
pub fn suggest(name: &str) -> Option<&'static str> {
    table::TABLE
        .iter()
        .map(|s| (strsim::jaro_winkler(name, s.name), s.name))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// A one-sentence description of a function, for help output and generated documentation.
pub fn describe(name: &str) -> Option<&'static str> {
    docs::DESCRIPTIONS.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// A function's signature as users write it, e.g. `lookup(inputMap, key, [default])`.
pub fn signature(name: &str) -> Option<String> {
    let spec = table::lookup(name)?;
    let mut parts: Vec<String> = spec.params.iter().map(|p| p.name.to_string()).collect();
    parts.extend(spec.optional.iter().map(|p| format!("[{}]", p.name)));
    parts.extend(spec.variadic.iter().map(|p| format!("{}...", p.name)));
    Some(format!("{}({})", spec.name, parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::{FuncContext, describe, names, signature, suggest};
    use std::path::Path;

    #[test]
    fn unknown_function_is_none() {
        let ctx = FuncContext { module_dir: Path::new("."), cwd: None, home: None };
        assert!(super::call("nope", vec![], &ctx).is_none());
    }

    #[test]
    fn suggestions_and_signatures() {
        assert_eq!(suggest("uper"), Some("upper"));
        assert_eq!(suggest("jsonencod"), Some("jsonencode"));
        assert_eq!(suggest("zzzzzzzz"), None);
        assert_eq!(signature("cidrsubnet").as_deref(), Some("cidrsubnet(prefix, newbits, netnum)"));
        assert_eq!(signature("lookup").as_deref(), Some("lookup(inputMap, key, [default])"));
        assert_eq!(signature("join").as_deref(), Some("join(separator, lists...)"));
        assert_eq!(signature("nope"), None);
        assert_eq!(describe("upper"), Some("Converts all letters of a string to uppercase."));
    }

    #[test]
    fn names_are_unique_and_many() {
        let mut all = names();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count);
        assert!(count >= 90, "{count}");
    }
}
