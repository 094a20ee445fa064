//! Type conversion (`tostring`, `tonumber`, `tobool`, `tolist`, `toset`, `tomap`) and the mark
//! functions (`sensitive`, `nonsensitive`, `issensitive`). It owns the one number parser that
//! dispatch uses for string-to-number conversion. Collection conversions keep element marks.

use super::set::set_of;
use super::{Args, FuncError};
use tarn_sdk::{Number, Value};

/// A decimal number as Terraform accepts it: `12`, `-1.5`, `1e3`; no hex, no `inf`/`NaN`. Read
/// at 512 bits, as cty's `ParseNumberVal` does.
pub(crate) fn parse_number(s: &str) -> Option<Number> {
    Number::parse(s).filter(Number::is_finite)
}

pub(crate) fn tostring(a: &Args) -> Result<Value, FuncError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::String(s) => Ok(Value::String(s.clone())),
        Value::Number(n) => Ok(Value::String(n.to_text())),
        Value::Bool(b) => Ok(Value::String(b.to_string())),
        other => Err(a.err(0, format!("cannot convert {} to string.", other.type_name()))),
    }
}

pub(crate) fn tonumber(a: &Args) -> Result<Value, FuncError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Number(n) => Ok(Value::Number(n.clone())),
        Value::String(s) => parse_number(s).map(Value::Number).ok_or_else(|| {
            a.err(
                0,
                format!("cannot convert \"{s}\" to number; given string must be a decimal representation of a number."),
            )
        }),
        other => Err(a.err(0, format!("cannot convert {} to number.", other.type_name()))),
    }
}

pub(crate) fn tobool(a: &Args) -> Result<Value, FuncError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Bool(b) => Ok(Value::Bool(*b)),
        Value::String(s) if s == "true" => Ok(Value::Bool(true)),
        Value::String(s) if s == "false" => Ok(Value::Bool(false)),
        Value::String(s) => {
            Err(a
                .err(0, format!("cannot convert \"{s}\" to bool; only the strings \"true\" or \"false\" are allowed.")))
        }
        other => Err(a.err(0, format!("cannot convert {} to bool.", other.type_name()))),
    }
}

/// Brings elements to one type, as Terraform's conversion to a list, set or map does: mixed
/// primitives become strings; mixing primitives with collections is an error. Marks stay put.
fn unify(a: &Args, items: Vec<Value>, what: &str) -> Result<Vec<Value>, FuncError> {
    unify_elements(items)
        .map_err(|()| a.err(0, format!("cannot convert to {what}: all elements must have the same type.")))
}

/// The element unification of [`unify`], for functions whose parameter is a list or set of
/// any one type (`distinct`, the set functions, ...): Terraform converts the argument first.
pub(crate) fn unify_elements(items: Vec<Value>) -> Result<Vec<Value>, ()> {
    let kinds: Vec<&str> =
        items.iter().filter(|v| v.is_wholly_known() && !v.is_null()).map(|v| v.unmark().0.type_name()).collect();
    let primitive = |k: &&str| matches!(*k, "string" | "number" | "bool");
    if kinds.iter().any(primitive) && !kinds.iter().all(primitive) {
        return Err(());
    }
    if !kinds.is_empty() && !kinds.iter().any(primitive) {
        return unify_collections(items);
    }
    let mixed = kinds.windows(2).any(|w| w.first() != w.get(1));
    if !mixed {
        return Ok(items);
    }
    Ok(items
        .into_iter()
        .map(|v| {
            let (inner, sensitive) = v.unmark();
            let s = match inner {
                Value::Number(n) => Value::String(n.to_text()),
                Value::Bool(b) => Value::String(b.to_string()),
                _ => return v,
            };
            if sensitive { s.sensitive() } else { s }
        })
        .collect())
}

/// Collections of collections unify deeply: the elements of every list (or the values of
/// every map) are unified together, as cty unifies `list(number)` with `list(string)` to
/// `list(string)`. Lists beside maps do not unify.
fn unify_collections(items: Vec<Value>) -> Result<Vec<Value>, ()> {
    let (mut lists, mut maps) = (false, false);
    let mut inner = Vec::new();
    for v in &items {
        match v.unmark().0 {
            Value::List(l) | Value::Set(l) => {
                lists = true;
                inner.extend(l.iter().cloned());
            }
            Value::Map(m) => {
                maps = true;
                inner.extend(m.values().cloned());
            }
            _ => {}
        }
    }
    if lists && maps {
        return Err(());
    }
    let mut inner = unify_elements(inner)?.into_iter();
    Ok(items
        .into_iter()
        .map(|v| {
            let (value, sensitive) = v.unmark();
            let out = match value {
                Value::List(l) => Value::List(inner.by_ref().take(l.len()).collect()),
                // Unified elements may now coincide (`1` and `"1"`): the set is rebuilt.
                Value::Set(l) => set_of(inner.by_ref().take(l.len()).collect()),
                Value::Map(m) => Value::Map(m.keys().cloned().zip(inner.by_ref()).collect()),
                _ => return v,
            };
            if sensitive { out.sensitive() } else { out }
        })
        .collect())
}

pub(crate) fn tolist(a: &Args) -> Result<Value, FuncError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::List(items) | Value::Set(items) => Ok(Value::List(unify(a, items.clone(), "list")?)),
        other => Err(a.err(0, format!("cannot convert {} to list.", other.type_name()))),
    }
}

pub(crate) fn toset(a: &Args) -> Result<Value, FuncError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::List(items) | Value::Set(items) => Ok(set_of(unify(a, items.clone(), "set")?)),
        other => Err(a.err(0, format!("cannot convert {} to set.", other.type_name()))),
    }
}

pub(crate) fn tomap(a: &Args) -> Result<Value, FuncError> {
    match a.get(0) {
        Value::Null => Ok(Value::Null),
        Value::Map(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let vals = unify(a, m.values().cloned().collect(), "map")?;
            Ok(Value::Map(keys.into_iter().zip(vals).collect()))
        }
        other => Err(a.err(0, format!("cannot convert {} to map.", other.type_name()))),
    }
}

pub(crate) fn sensitive(a: &Args) -> Result<Value, FuncError> {
    Ok(a.get(0).clone().sensitive())
}

/// Removes the top-level sensitive mark only; marks nested inside stay, as in Terraform.
pub(crate) fn nonsensitive(a: &Args) -> Result<Value, FuncError> {
    Ok(a.get(0).unmark().0.clone())
}

pub(crate) fn issensitive(a: &Args) -> Result<Value, FuncError> {
    let v = a.get(0);
    Ok(match v {
        Value::Sensitive(_) => Value::Bool(true),
        Value::Unknown => Value::Unknown,
        _ => Value::Bool(false),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

    #[test]
    fn primitives() {
        assert_eq!(ok("tostring", vec![n(1.5)]), s("1.5"));
        assert_eq!(ok("tostring", vec![b(true)]), s("true"));
        assert_eq!(ok("tostring", vec![Value::Null]), Value::Null);
        assert_eq!(err("tostring", vec![sl(&[])]), "Invalid value for \"v\" parameter: cannot convert list to string.");
        assert_eq!(ok("tonumber", vec![s("-1e3")]), n(-1000.0));
        assert_eq!(ok("tonumber", vec![Value::Null]), Value::Null);
        assert_eq!(
            err("tonumber", vec![s("no")]),
            "Invalid value for \"v\" parameter: cannot convert \"no\" to number; given string must be a decimal representation of a number."
        );
        assert!(err("tonumber", vec![s("inf")]).contains("cannot convert"));
        assert_eq!(ok("tobool", vec![s("false")]), b(false));
        assert!(err("tobool", vec![s("yes")]).contains("only the strings \"true\" or \"false\""));
    }

    #[test]
    fn collections() {
        assert_eq!(ok("tolist", vec![l(vec![s("a"), n(1.0), b(true)])]), sl(&["a", "1", "true"]));
        assert_eq!(ok("tolist", vec![l(vec![n(1.0), n(2.0)])]), l(vec![n(1.0), n(2.0)]));
        assert!(err("tolist", vec![l(vec![s("a"), sl(&[])])]).contains("same type"));
        assert_eq!(ok("toset", vec![sl(&["c", "b", "b"])]), ss(&["b", "c"]));
        assert_eq!(ok("toset", vec![l(vec![s("a"), Value::Unknown])]), Value::Set(vec![s("a"), Value::Unknown]));
        // A set converts back to the list of its elements, in set order.
        assert_eq!(ok("tolist", vec![ss(&["a", "b"])]), sl(&["a", "b"]));
        assert_eq!(ok("toset", vec![l(vec![n(1.0), s("1")])]), ss(&["1"]));
        assert_eq!(
            err("tostring", vec![ss(&["a"])]),
            "Invalid value for \"v\" parameter: cannot convert set to string."
        );
        assert_eq!(ok("tomap", vec![m(vec![("a", n(1.0)), ("b", s("x"))])]), m(vec![("a", s("1")), ("b", s("x"))]));
        assert!(err("tomap", vec![sl(&[])]).contains("cannot convert list to map"));
        assert_eq!(ok("tolist", vec![l(vec![s("a").sensitive(), n(1.0)])]), l(vec![s("a").sensitive(), s("1")]));
    }

    #[test]
    fn mark_functions() {
        assert_eq!(ok("sensitive", vec![s("x")]), s("x").sensitive());
        assert_eq!(ok("nonsensitive", vec![s("x").sensitive()]), s("x"));
        assert_eq!(ok("nonsensitive", vec![s("x")]), s("x"));
        assert_eq!(ok("issensitive", vec![s("x").sensitive()]), b(true));
        assert_eq!(ok("issensitive", vec![s("x")]), b(false));
        assert_eq!(ok("issensitive", vec![Value::Unknown]), Value::Unknown);
        assert_eq!(ok("sensitive", vec![Value::Unknown]), Value::Unknown.sensitive());
    }
}
