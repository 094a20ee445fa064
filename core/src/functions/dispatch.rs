//! The one path every call takes: arity, marks, parameter types, then the implementation.
//! Owns the rules of the mark policies declared in the table; it must not know any function.

use super::args::{self, Args};
use super::table::{Marks, Spec, Ty};
use super::{FuncContext, FuncError, convert};
use tarn_sdk::Value;

pub(super) fn dispatch(spec: &'static Spec, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
    check_arity(spec, args.len())?;
    let secrets = if args.iter().any(Value::contains_sensitive) { sensitive_texts(&args) } else { Vec::new() };
    apply(spec, args, ctx).map_err(|e| redact(e, &secrets))
}

/// Functions whose own errors Terraform 1.0.3 reports against the call as a whole (plain
/// errors in its implementation, not argument errors): the diagnostic then points at `name(`.
/// Type errors of their arguments still point at the argument.
const BLAME_CALL: &[&str] = &[
    "base64decode",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "csvdecode",
    "element",
    "filebase64sha256",
    "filebase64sha512",
    "filemd5",
    "filesha1",
    "filesha256",
    "filesha512",
    "index",
    "jsondecode",
    "length",
    "merge",
    "range",
    "setintersection",
    "setsubtract",
    "setunion",
    "timeadd",
    "uuidv5",
    "yamldecode",
    "zipmap",
];

fn apply(spec: &'static Spec, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
    let imp = |a: &Args| {
        (spec.imp)(a).map_err(|mut e| {
            if BLAME_CALL.contains(&spec.name) {
                e.arg = None;
            }
            e
        })
    };
    match spec.marks {
        Marks::Raw => imp(&Args::new(spec, args, ctx)),
        Marks::Deep => {
            let sensitive = args.iter().any(Value::contains_sensitive);
            let known = args.iter().all(Value::is_wholly_known);
            // Known arguments are type-checked even when another is unknown, so mistakes show
            // up at plan time rather than at apply.
            let args = check_types(spec, args.iter().map(Value::unmark_deep).collect())?;
            if !known {
                return Ok(mark(Value::Unknown, sensitive));
            }
            imp(&Args::new(spec, args, ctx)).map(|v| mark(v, sensitive))
        }
        Marks::Shallow => {
            let sensitive = args.iter().any(Value::is_sensitive);
            let args: Vec<Value> = args.iter().map(|a| a.unmark().0.clone()).collect();
            if args.iter().any(|a| matches!(a, Value::Unknown)) {
                return Ok(mark(Value::Unknown, sensitive));
            }
            let args = check_types(spec, args)?;
            imp(&Args::new(spec, args, ctx)).map(|v| mark(v, sensitive))
        }
    }
}

/// The texts of every sensitive leaf (strings, and numbers and bools as written), longest
/// first so that a secret containing another is redacted whole.
fn sensitive_texts(args: &[Value]) -> Vec<String> {
    fn walk(v: &Value, inside: bool, out: &mut Vec<String>) {
        match v {
            Value::Sensitive(inner) => walk(inner, true, out),
            Value::List(items) | Value::Set(items) => items.iter().for_each(|i| walk(i, inside, out)),
            Value::Map(m) => m.values().for_each(|i| walk(i, inside, out)),
            Value::String(s) if inside && !s.is_empty() => out.push(s.clone()),
            Value::Number(n) if inside => out.push(n.to_text()),
            Value::Bool(b) if inside => out.push(b.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    args.iter().for_each(|a| walk(a, false, &mut out));
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// Error messages quote the values they complain about; a sensitive value must never reach
/// one. Quoted occurrences are always redacted, bare ones when long enough to be meaningful.
fn redact(mut e: FuncError, secrets: &[String]) -> FuncError {
    const HIDDEN: &str = "(sensitive value)";
    for s in secrets {
        e.message = e.message.replace(&format!("\"{s}\""), HIDDEN);
        if s.chars().count() >= 4 {
            e.message = e.message.replace(s.as_str(), HIDDEN);
        }
    }
    e
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
            convert_param(param.ty, v)
                .ok_or_else(|| args::param_error(param.name, i, &format!("{} required.", param.ty.describe())))
        })
        .collect()
}

/// Terraform's automatic conversions between primitive types for typed parameters.
fn convert_param(ty: Ty, v: Value) -> Option<Value> {
    match (ty, v) {
        (Ty::Any, v) => Some(v),
        (Ty::String, Value::String(s)) => Some(Value::String(s)),
        (Ty::String, Value::Number(n)) => Some(Value::String(n.to_text())),
        (Ty::String, Value::Bool(b)) => Some(Value::String(b.to_string())),
        (Ty::Number, Value::Number(n)) => Some(Value::Number(n)),
        (Ty::Number, Value::String(s)) => convert::parse_number(&s).map(Value::Number),
        (Ty::List, v @ Value::List(_)) => Some(v),
        // A `list(T)` parameter takes a set as the list of its elements, in set order.
        (Ty::List, Value::Set(items)) => Some(Value::List(items)),
        // A list-or-tuple parameter: the function refuses a set with its own message.
        (Ty::Seq | Ty::Coll, v @ (Value::List(_) | Value::Set(_))) => Some(v),
        (Ty::Map, v @ Value::Map(_)) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

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
    fn error_messages_never_show_sensitive_values() {
        let e = call("tonumber", vec![s("hunter2").sensitive()]).unwrap_err();
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.contains("(sensitive value)"), "{}", e.message);
        let e = call("lookup", vec![m(vec![("a", n(1.0))]), s("k").sensitive()]).unwrap_err();
        assert!(!e.message.contains("\"k\""), "{}", e.message);
        let e = call("cidrhost", vec![l(vec![s("10.0.0.0/30")]).sensitive(), n(1.0)]).unwrap_err();
        assert!(!e.message.contains("10.0.0.0"), "{}", e.message);
        let e = call("parseint", vec![s("zz9").sensitive(), n(10.0)]).unwrap_err();
        assert!(!e.message.contains("zz9"), "{}", e.message);
        // Without sensitive arguments, messages keep their detail.
        assert!(err("tonumber", vec![s("hunter2")]).contains("hunter2"));
    }

    #[test]
    fn shallow_functions_keep_unknown_elements() {
        assert_eq!(ok("length", vec![l(vec![Value::Unknown, Value::Unknown])]), n(2.0));
        assert_eq!(ok("length", vec![Value::Unknown]), Value::Unknown);
        assert_eq!(ok("concat", vec![l(vec![s("a")]), l(vec![Value::Unknown])]), l(vec![s("a"), Value::Unknown]));
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
        assert_eq!(ok("contains", vec![list.clone(), s("z")]), u.clone());
        assert_eq!(ok("compact", vec![list]), u);
    }

    #[test]
    fn shallow_functions_keep_sensitive_elements_in_place() {
        let secret = s("pw").sensitive();
        assert_eq!(ok("concat", vec![l(vec![secret.clone()]), sl(&["x"])]), l(vec![secret.clone(), s("x")]));
        assert_eq!(ok("element", vec![l(vec![s("x"), secret.clone()]), n(0.0)]), s("x"));
        assert_eq!(ok("values", vec![m(vec![("a", secret.clone())])]), l(vec![secret.clone()]));
        assert_eq!(ok("keys", vec![m(vec![("a", secret.clone())])]), sl(&["a"]));
        assert_eq!(ok("toset", vec![l(vec![secret.clone(), s("a")])]), Value::Set(vec![s("a"), secret.clone()]));
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
}
