//! The standard library: functions callable from expressions (`upper`, `merge`, `cidrsubnet`,
//! `jsonencode`, `file`, ...). Each takes evaluated argument values and returns a value.
//!
//! This file owns the entry points (`call`, `names`), the one dispatch path every call takes
//! (arity, marks, parameter types) and the table that declares every function. The functions
//! themselves live in one file per family and must not re-implement arity, mark or type checks.
//!
//! Marks: unless a function says otherwise ([`Marks::Deep`]), an unknown argument (at any depth)
//! makes the result unknown, and a sensitive argument makes the result sensitive. Functions
//! declared [`Marks::Shallow`] see only their top-level marks removed, so they can move unknown
//! or sensitive elements into their result in place (`concat`, `merge`, `length`, ...);
//! [`Marks::Raw`] functions see their arguments untouched (`coalesce`, `sensitive`). `try`,
//! `can` and `templatefile` are not here: they need the evaluator and are handled there.

mod args;
mod collection;
mod convert;
mod encoding;
mod format;
mod fs;
mod hash;
mod net;
mod numeric;
mod set;
mod string;
mod table;
mod datetime;

use std::path::Path;
use tarn_sdk::Value;

pub(crate) use args::Args;
use table::{Marks, Spec, Ty};

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

impl FuncError {
    /// An error that blames the call as a whole.
    pub(crate) fn call(message: impl Into<String>) -> FuncError {
        FuncError { arg: None, message: message.into() }
    }
}

/// Calls function `name`. `None` when no such function exists.
pub fn call(name: &str, args: Vec<Value>, ctx: &FuncContext) -> Option<Result<Value, FuncError>> {
    let spec = table::lookup(name)?;
    Some(dispatch(spec, args, ctx))
}

/// Every function name, for "did you mean" and docs.
pub fn names() -> Vec<&'static str> {
    table::TABLE.iter().map(|s| s.name).collect()
}

fn dispatch(spec: &'static Spec, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
    check_arity(spec, args.len())?;
    match spec.marks {
        Marks::Raw => (spec.imp)(&Args::new(spec, args, ctx)),
        Marks::Deep => {
            let sensitive = args.iter().any(Value::contains_sensitive);
            let known = args.iter().all(Value::is_wholly_known);
            // Known arguments are type-checked even when another is unknown, so mistakes show
            // up at plan time rather than at apply.
            let args = check_types(spec, args.iter().map(Value::unmark_deep).collect())?;
            if !known {
                return Ok(mark(Value::Unknown, sensitive));
            }
            (spec.imp)(&Args::new(spec, args, ctx)).map(|v| mark(v, sensitive))
        }
        Marks::Shallow => {
            let sensitive = args.iter().any(Value::is_sensitive);
            let args: Vec<Value> = args.iter().map(|a| a.unmark().0.clone()).collect();
            if args.iter().any(|a| matches!(a, Value::Unknown)) {
                return Ok(mark(Value::Unknown, sensitive));
            }
            let args = check_types(spec, args)?;
            (spec.imp)(&Args::new(spec, args, ctx)).map(|v| mark(v, sensitive))
        }
    }
}

fn mark(v: Value, sensitive: bool) -> Value {
    if sensitive { v.sensitive() } else { v }
}

fn check_arity(spec: &Spec, given: usize) -> Result<(), FuncError> {
    let min = spec.params.len();
    let max = min + spec.optional.len();
    let ok = given >= min && (spec.variadic.is_some() || given <= max);
    if ok {
        return Ok(());
    }
    let noun = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let were = if given == 1 { "was" } else { "were" };
    let takes = if spec.variadic.is_some() {
        format!("at least {min} {}", noun(min))
    } else if max == min {
        format!("{min} {}", noun(min))
    } else if max == min + 1 {
        format!("{min} or {max} arguments")
    } else {
        format!("{min} to {max} arguments")
    };
    Err(FuncError::call(format!(
        "Invalid number of arguments: function \"{}\" takes {takes}, but {given} {were} given.",
        spec.name
    )))
}

/// Checks (and where Terraform converts, converts) each argument against its declared type.
fn check_types(spec: &Spec, args: Vec<Value>) -> Result<Vec<Value>, FuncError> {
    args.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let Some(param) = spec.param(i) else { return Ok(v) };
            if v.is_null() {
                return if param.nullable {
                    Ok(Value::Null)
                } else {
                    Err(args::param_error(param.name, i, "argument must not be null."))
                };
            }
            // An unknown element inside a shallow function's argument is that function's job.
            if matches!(v, Value::Unknown) {
                return Ok(v);
            }
            convert_param(param.ty, v).ok_or_else(|| {
                args::param_error(param.name, i, &format!("{} required.", param.ty.describe()))
            })
        })
        .collect()
}

/// Terraform's automatic conversions between primitive types for typed parameters.
fn convert_param(ty: Ty, v: Value) -> Option<Value> {
    match (ty, v) {
        (Ty::Any, v) => Some(v),
        (Ty::String, Value::String(s)) => Some(Value::String(s)),
        (Ty::String, Value::Number(n)) => Some(Value::String(tarn_sdk::value::format_number(n))),
        (Ty::String, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (Ty::Number, Value::Number(n)) => Some(Value::Number(n)),
        (Ty::Number, Value::String(s)) => convert::parse_number(&s).map(Value::Number),
        (Ty::List, v @ Value::List(_)) => Some(v),
        (Ty::Map, v @ Value::Map(_)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers shared by the per-family tests.
    use super::*;

    pub fn s(x: &str) -> Value {
        Value::string(x)
    }
    pub fn n(x: f64) -> Value {
        Value::Number(x)
    }
    pub fn b(x: bool) -> Value {
        Value::Bool(x)
    }
    pub fn l(items: Vec<Value>) -> Value {
        Value::List(items)
    }
    pub fn sl(items: &[&str]) -> Value {
        Value::List(items.iter().map(|x| s(x)).collect())
    }
    pub fn m(entries: Vec<(&str, Value)>) -> Value {
        Value::map(entries)
    }

    /// Calls `name` with the current directory as module directory.
    pub fn call_in(dir: &Path, name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        let ctx = FuncContext { module_dir: dir };
        match super::call(name, args, &ctx) {
            Some(r) => r,
            None => panic!("no function {name}"),
        }
    }
    pub fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
        call_in(Path::new("."), name, args)
    }
    pub fn ok(name: &str, args: Vec<Value>) -> Value {
        match call(name, args) {
            Ok(v) => v,
            Err(e) => panic!("{name} failed: {}", e.message),
        }
    }
    pub fn err(name: &str, args: Vec<Value>) -> String {
        match call(name, args) {
            Ok(v) => panic!("{name} unexpectedly returned {v}"),
            Err(e) => e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::{FuncContext, names};
    use std::path::Path;
    use tarn_sdk::Value;

    #[test]
    fn unknown_function_is_none() {
        let ctx = FuncContext { module_dir: Path::new(".") };
        assert!(super::call("nope", vec![], &ctx).is_none());
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

    #[test]
    fn arity_errors_are_uniform() {
        assert_eq!(
            err("upper", vec![s("a"), s("b")]),
            "Invalid number of arguments: function \"upper\" takes 1 argument, but 2 were given."
        );
        assert_eq!(
            err("replace", vec![s("a")]),
            "Invalid number of arguments: function \"replace\" takes 3 arguments, but 1 was given."
        );
        assert_eq!(
            err("max", vec![]),
            "Invalid number of arguments: function \"max\" takes at least 1 argument, but 0 were given."
        );
    }

    #[test]
    fn type_errors_name_the_argument() {
        let e = call("upper", vec![l(vec![])]).unwrap_err();
        assert_eq!(e.arg, Some(0));
        assert_eq!(e.message, "Invalid value for \"str\" parameter: string required.");
        let e = call("upper", vec![Value::Null]).unwrap_err();
        assert_eq!(e.message, "Invalid value for \"str\" parameter: argument must not be null.");
        let e = call("max", vec![n(1.0), s("x")]).unwrap_err();
        assert_eq!(e.arg, Some(1));
        assert_eq!(e.message, "Invalid value for \"numbers\" parameter: number required.");
    }

    #[test]
    fn primitives_convert_like_terraform() {
        assert_eq!(ok("upper", vec![n(5.0)]), s("5"));
        assert_eq!(ok("abs", vec![s("-2.5")]), n(2.5));
        assert_eq!(ok("alltrue", vec![l(vec![s("true"), b(true)])]), b(true));
    }

    #[test]
    fn unknown_anywhere_makes_result_unknown() {
        assert_eq!(ok("upper", vec![Value::Unknown]), Value::Unknown);
        assert_eq!(ok("join", vec![s(","), l(vec![s("a"), Value::Unknown])]), Value::Unknown);
        // Even with a type error hidden behind it: it cannot be checked yet.
        assert_eq!(ok("jsonencode", vec![m(vec![("a", Value::Unknown)])]), Value::Unknown);
    }

    #[test]
    fn known_arguments_are_type_checked_beside_unknown_ones() {
        let e = call("replace", vec![Value::Unknown, l(vec![]), s("x")]).unwrap_err();
        assert_eq!(e.arg, Some(1));
        assert_eq!(ok("replace", vec![Value::Unknown, s("a"), s("x")]), Value::Unknown);
    }

    #[test]
    fn sensitive_anywhere_makes_result_sensitive() {
        assert_eq!(ok("upper", vec![s("pw").sensitive()]), s("PW").sensitive());
        assert_eq!(ok("join", vec![s("-"), l(vec![s("a"), s("b").sensitive()])]), s("a-b").sensitive());
        assert_eq!(ok("upper", vec![Value::Unknown.sensitive()]), Value::Unknown.sensitive());
    }

    #[test]
    fn shallow_functions_keep_unknown_elements() {
        assert_eq!(ok("length", vec![l(vec![Value::Unknown, Value::Unknown])]), n(2.0));
        assert_eq!(ok("length", vec![Value::Unknown]), Value::Unknown);
        assert_eq!(
            ok("concat", vec![l(vec![s("a")]), l(vec![Value::Unknown])]),
            l(vec![s("a"), Value::Unknown])
        );
        assert_eq!(
            ok("merge", vec![m(vec![("a", Value::Unknown)]), m(vec![("b", n(1.0))])]),
            m(vec![("a", Value::Unknown), ("b", n(1.0))])
        );
        assert_eq!(ok("concat", vec![l(vec![]), Value::Unknown]), Value::Unknown);
        assert_eq!(ok("keys", vec![m(vec![("b", Value::Unknown), ("a", n(1.0))])]), sl(&["a", "b"]));
    }

    #[test]
    fn structural_functions_move_unknown_elements() {
        let u = Value::Unknown;
        let list = l(vec![s("a"), u.clone(), s("c")]);
        assert_eq!(ok("reverse", vec![list.clone()]), l(vec![s("c"), u.clone(), s("a")]));
        assert_eq!(ok("slice", vec![list.clone(), n(1.0), n(3.0)]), l(vec![u.clone(), s("c")]));
        assert_eq!(ok("element", vec![list.clone(), n(2.0)]), s("c"));
        assert_eq!(ok("element", vec![list.clone(), n(1.0)]), u.clone());
        assert_eq!(ok("chunklist", vec![list.clone(), n(2.0)]), l(vec![l(vec![s("a"), u.clone()]), sl(&["c"])]));
        assert_eq!(ok("one", vec![l(vec![u.clone()])]), u.clone());
        assert_eq!(ok("tolist", vec![list.clone()]), list.clone());
        assert_eq!(ok("coalescelist", vec![sl(&[]), list.clone()]), list.clone());
        assert_eq!(ok("coalescelist", vec![Value::Unknown, list.clone()]), u.clone());
        let mp = m(vec![("b", u.clone()), ("a", n(1.0))]);
        assert_eq!(ok("values", vec![mp.clone()]), l(vec![n(1.0), u.clone()]));
        assert_eq!(ok("lookup", vec![mp.clone(), s("a")]), n(1.0));
        assert_eq!(ok("lookup", vec![mp.clone(), s("b")]), u.clone());
        assert_eq!(ok("lookup", vec![mp.clone(), Value::Unknown]), u.clone());
        assert_eq!(ok("tomap", vec![mp.clone()]), mp);
        // Functions whose result depends on every element stay unknown.
        assert_eq!(ok("sort", vec![list.clone()]), u.clone());
        assert_eq!(ok("distinct", vec![list.clone()]), u.clone());
        assert_eq!(ok("flatten", vec![l(vec![list.clone()])]), u.clone());
        assert_eq!(ok("compact", vec![list]), u);
    }

    #[test]
    fn shallow_functions_keep_sensitive_elements_in_place() {
        let secret = s("pw").sensitive();
        assert_eq!(ok("concat", vec![l(vec![secret.clone()]), sl(&["x"])]), l(vec![secret.clone(), s("x")]));
        assert_eq!(ok("element", vec![l(vec![s("x"), secret.clone()]), n(0.0)]), s("x"));
        assert_eq!(ok("values", vec![m(vec![("a", secret.clone())])]), l(vec![secret.clone()]));
        assert_eq!(ok("keys", vec![m(vec![("a", secret.clone())])]), sl(&["a"]));
        assert_eq!(ok("toset", vec![l(vec![secret.clone(), s("a")])]), l(vec![s("a"), secret.clone()]));
        // A sensitive key makes the whole map sensitive: the key is visible in the result.
        assert!(ok("zipmap", vec![l(vec![secret.clone()]), sl(&["v"])]).is_sensitive());
        assert!(ok("lookup", vec![m(vec![("a", n(1.0))]), s("a").sensitive()]).is_sensitive());
        let r = ok("merge", vec![m(vec![("a", s("x").sensitive())]), m(vec![("b", n(1.0))])]);
        assert_eq!(r, m(vec![("a", s("x").sensitive()), ("b", n(1.0))]));
        let r = ok("length", vec![l(vec![s("x").sensitive()])]);
        assert_eq!(r, n(1.0));
        // A sensitive collection makes the whole result sensitive.
        assert_eq!(ok("length", vec![sl(&["a"]).sensitive()]), n(1.0).sensitive());
    }

    mod no_panics {
        use super::super::{FuncContext, call, names};
        use proptest::prelude::*;
        use tarn_sdk::Value;

        fn value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                Just(Value::Unknown),
                any::<bool>().prop_map(Value::Bool),
                prop_oneof![
                    Just(0.0),
                    Just(-1.0),
                    Just(1.5),
                    Just(1e300),
                    Just(-9.0e15),
                    (-40i32..300).prop_map(f64::from)
                ]
                .prop_map(Value::Number),
                "[a-z0-9%/.*{},:\\[\\]~ü🤔-]{0,8}".prop_map(Value::String),
                prop_oneof![
                    Just("10.0.0.0/8"),
                    Just("fd00::/56"),
                    Just("2018-01-02T23:12:01Z"),
                    Just("/(a)(?P<x>b)/"),
                    Just("%[3]*d %-08.3q"),
                    Just("YYYY 'x"),
                    Just("1h-3m")
                ]
                .prop_map(Value::string),
            ];
            leaf.prop_recursive(3, 16, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
                    prop::collection::vec(("[a-c]{1,2}", inner.clone()), 0..3).prop_map(|kv| Value::map(kv)),
                    inner.prop_map(Value::sensitive),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]
            #[test]
            fn no_function_panics_on_any_input(args in prop::collection::vec(value(), 5)) {
                // Keep the filesystem functions inside an empty directory.
                let dir = tempfile::tempdir().unwrap();
                let ctx = FuncContext { module_dir: dir.path() };
                let absolute = args.first().and_then(Value::as_str).is_some_and(|p| p.starts_with('/') || p.starts_with('~'));
                for name in names() {
                    if name == "fileset" && absolute {
                        continue;
                    }
                    for k in 0..=args.len() {
                        let _ = call(name, args.get(..k).unwrap_or(&[]).to_vec(), &ctx);
                    }
                }
            }
        }
    }
}
