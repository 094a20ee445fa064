//! The dynamic value every expression evaluates to and every provider exchanges.
//!
//! Two marks ride on values: `Unknown` ("known after apply") stands in for any value that only
//! an apply can produce, and `Sensitive` wraps a value that must never be printed or written in
//! clear text. Operations on values must propagate both marks: combining anything with an
//! unknown gives an unknown; combining anything with a sensitive value gives a sensitive result.
//! This module must not know about HCL syntax or files.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::fmt;

pub use crate::number::Number;

/// A configuration or provider value.
///
/// `List` serves HCL tuples and lists, `Set` sets, `Map` objects and maps. Map keys keep
/// insertion order; functions that Terraform defines as sorting (`keys`, `values`,
/// for-expressions over maps) sort explicitly.
///
/// A set is a language notion: the expression language refuses to index one or to pass it where
/// Terraform requires a list or tuple, and prints it as `toset([...])`. Everywhere else it is a
/// list: JSON (state, plans, the plugin protocol) writes it as an array, so it reads back as a
/// `List`; [`Value::as_list`] gives the elements of both; [`Value::sets_as_lists`] is what the
/// engine hands providers. Its elements are kept sorted and distinct by the language's one value
/// order (tarn-core's `functions::set`), which is the only place that builds a `Set`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Sorted, distinct elements (unknown ones last).
    Set(Vec<Value>),
    Map(IndexMap<String, Value>),
    /// Known only after apply.
    Unknown,
    /// A value that must never be shown or stored in clear text.
    Sensitive(Box<Value>),
}

impl Value {
    /// A number from anything that converts: integers (exact, at 64 bits), f64 (at 53 bits) or
    /// a [`Number`].
    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    pub fn map<K: Into<String>>(entries: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Wrap in the sensitive mark (idempotent).
    pub fn sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            v => Value::Sensitive(Box::new(v)),
        }
    }

    /// The value with its top-level sensitive mark removed, and whether it had one.
    pub fn unmark(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.unmark().0, true),
            v => (v, false),
        }
    }

    /// Removes every sensitive mark, at every depth. For provider calls and hashing only.
    pub fn unmark_deep(&self) -> Value {
        match self {
            Value::Sensitive(inner) => inner.unmark_deep(),
            Value::List(items) => Value::List(items.iter().map(Value::unmark_deep).collect()),
            Value::Set(items) => Value::Set(items.iter().map(Value::unmark_deep).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.unmark_deep())).collect()),
            v => v.clone(),
        }
    }

    /// The value with every set, at every depth, made a list of its elements in set order:
    /// what providers, state and plans see (the set notion belongs to the expression language).
    /// Marks stay where they are.
    pub fn sets_as_lists(&self) -> Value {
        match self {
            Value::Sensitive(inner) => Value::Sensitive(Box::new(inner.sets_as_lists())),
            Value::List(items) | Value::Set(items) => Value::List(items.iter().map(Value::sets_as_lists).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), v.sets_as_lists())).collect()),
            v => v.clone(),
        }
    }

    /// The elements of a list, tuple or set (looking through a sensitive mark), else `None`.
    /// Where a set must be refused (indexing, Terraform's list-or-tuple parameters), match
    /// `Value::List` instead.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.unmark().0 {
            Value::List(l) | Value::Set(l) => Some(l),
            _ => None,
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// True if this value or anything inside it is sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) | Value::Set(items) => items.iter().any(Value::contains_sensitive),
            Value::Map(m) => m.values().any(Value::contains_sensitive),
            _ => false,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self.unmark().0, Value::Unknown)
    }

    /// True if this value is fully known (no unknown at any depth).
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(inner) => inner.is_wholly_known(),
            Value::List(items) | Value::Set(items) => items.iter().all(Value::is_wholly_known),
            Value::Map(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmark().0, Value::Null)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmark().0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unmark().0 {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.unmark().0 {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as the nearest f64.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::to_f64)
    }

    /// The number if it is a whole number that fits an i64.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::to_i64)
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Value>> {
        match self.unmark().0 {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Attribute lookup on a map value; `None` when absent or not a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// A short name of the value's type, for messages: "string", "number", "list", ...
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "object",
            Value::Unknown => "unknown",
            Value::Sensitive(inner) => inner.type_name(),
        }
    }

    /// Converts a known, unmarked value from JSON.
    pub fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(Number::from_json(n)),
            serde_json::Value::String(s) => Value::String(s.clone()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// Converts to plain JSON, dropping marks: unknowns become null and sensitive values are
    /// exposed. Callers that write to disk or output must redact or encrypt first.
    pub fn to_json_unmarked(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => n.to_json(),
            Value::String(s) => serde_json::Value::String(s.clone()),
            Value::List(l) | Value::Set(l) => serde_json::Value::Array(l.iter().map(Value::to_json_unmarked).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json_unmarked())).collect())
            }
            Value::Sensitive(inner) => inner.to_json_unmarked(),
        }
    }

    /// JSON for display and machine output: sensitive values become the string "(sensitive)"
    /// and unknowns the string "(known after apply)". Never leaks a sensitive value.
    pub fn to_json_redacted(&self) -> serde_json::Value {
        match self {
            Value::Sensitive(_) => serde_json::Value::String("(sensitive)".into()),
            Value::Unknown => serde_json::Value::String("(known after apply)".into()),
            Value::List(l) | Value::Set(l) => serde_json::Value::Array(l.iter().map(Value::to_json_redacted).collect()),
            Value::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json_redacted())).collect())
            }
            v => v.to_json_unmarked(),
        }
    }
}

/// A number as JSON: its exact text as a JSON number (`1` stays `1`, `1/3` keeps its 155
/// digits); infinities become null.
pub fn number_to_json(n: &Number) -> serde_json::Value {
    n.to_json()
}

/// Formats a number as Terraform prints it: `3`, `2.5`, `-0.125`, `0.3` for `0.1 + 0.2`.
pub fn format_number(n: &Number) -> String {
    n.to_text()
}

impl fmt::Display for Value {
    /// HCL-like rendering for humans; sensitive values print as `(sensitive value)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&n.to_text()),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) => write_items(f, items),
            Value::Set(items) => {
                f.write_str("toset(")?;
                write_items(f, items)?;
                f.write_str(")")
            }
            Value::Map(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

fn write_items(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
    f.write_str("[")?;
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{v}")?;
    }
    f.write_str("]")
}

/// The persisted form of a value, used in saved plans: known values as plain JSON, marks as
/// one-key objects `{"$tarn":"unknown"}` / `{"$tarn":"sensitive","v":...}`. Sensitive payloads
/// are written by the caller's encryption layer, never here in clear: serializing a sensitive
/// value through this type writes it redacted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(transparent)]
pub struct WireValue(pub serde_json::Value);

impl From<&Value> for WireValue {
    fn from(v: &Value) -> Self {
        fn enc(v: &Value) -> serde_json::Value {
            match v {
                Value::Unknown => serde_json::json!({"$tarn": "unknown"}),
                Value::Sensitive(_) => serde_json::json!({"$tarn": "sensitive"}),
                Value::List(l) | Value::Set(l) => serde_json::Value::Array(l.iter().map(enc).collect()),
                Value::Map(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), enc(v))).collect()),
                v => v.to_json_unmarked(),
            }
        }
        WireValue(enc(v))
    }
}

impl WireValue {
    /// Decodes; a redacted sensitive value comes back as `Sensitive(Unknown)`.
    pub fn to_value(&self) -> Value {
        fn dec(j: &serde_json::Value) -> Value {
            match j {
                serde_json::Value::Object(o) if o.len() == 1 && o.get("$tarn").is_some() => match o["$tarn"].as_str() {
                    Some("sensitive") => Value::Unknown.sensitive(),
                    _ => Value::Unknown,
                },
                serde_json::Value::Array(a) => Value::List(a.iter().map(dec).collect()),
                serde_json::Value::Object(o) => Value::Map(o.iter().map(|(k, v)| (k.clone(), dec(v))).collect()),
                j => Value::from_json(j),
            }
        }
        dec(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_json_never_contains_secret() {
        let v = Value::map([("pw", Value::string("hunter2").sensitive()), ("n", Value::number(2))]);
        let j = v.to_json_redacted().to_string();
        assert!(!j.contains("hunter2"));
        assert!(j.contains("(sensitive)"));
        assert_eq!(format!("{v}"), "{pw = (sensitive value), n = 2}");
    }

    #[test]
    fn marks_are_found_at_depth() {
        let v = Value::List(vec![Value::Null, Value::map([("x", Value::Unknown)])]);
        assert!(!v.is_wholly_known());
        assert!(!v.contains_sensitive());
        assert!(Value::List(vec![Value::Bool(true).sensitive()]).contains_sensitive());
    }

    #[test]
    fn wire_roundtrip_keeps_unknown_and_hides_sensitive() {
        let v = Value::map([("a", Value::Unknown), ("b", Value::string("s").sensitive()), ("c", Value::number(1.5))]);
        let w = WireValue::from(&v);
        assert!(!w.0.to_string().contains("\"s\""));
        let back = w.to_value();
        assert_eq!(back.get("a"), Some(&Value::Unknown));
        assert!(back.get("b").unwrap().is_sensitive());
        assert_eq!(back.get("c"), Some(&Value::number(1.5)));
    }

    #[test]
    fn a_set_is_a_list_outside_the_language() {
        let set = Value::Set(vec![Value::string("a"), Value::string("b").sensitive()]);
        let v = Value::map([("s", set.clone())]);
        assert_eq!(set.as_list().map(<[Value]>::len), Some(2));
        assert_eq!(format!("{set}"), "toset([\"a\", (sensitive value)])");
        assert_eq!(v.to_json_redacted().to_string(), r#"{"s":["a","(sensitive)"]}"#);
        assert_eq!(WireValue::from(&v).to_value().get("s").map(Value::type_name), Some("list"));
        let plain = v.sets_as_lists();
        assert_eq!(plain.get("s"), Some(&Value::List(vec![Value::string("a"), Value::string("b").sensitive()])));
        assert!(plain.contains_sensitive());
        assert_eq!(set.type_name(), "set");
    }

    #[test]
    fn integral_numbers_print_without_fraction() {
        assert_eq!(number_to_json(&Number::from(3.0)).to_string(), "3");
        assert_eq!(format_number(&Number::from(2.5)), "2.5");
    }

    #[test]
    fn exact_numbers_survive_json() {
        let third = Number::parse("1").unwrap().div(&Number::parse("3").unwrap()).unwrap();
        let v = Value::List(vec![Value::Number(third.clone()), Value::number(u64::MAX)]);
        let text = v.to_json_unmarked().to_string();
        assert!(text.contains(&third.to_text()), "{text}");
        let back = Value::from_json(&serde_json::from_str(&text).unwrap());
        assert_eq!(back, v);
        assert_eq!(back.as_list().unwrap()[1].as_number().and_then(Number::to_u64), Some(u64::MAX));
    }

    #[test]
    fn a_number_costs_no_more_than_before() {
        // The value model as it was with f64 numbers: Number (16 bytes) must not grow Value.
        #[allow(dead_code)]
        enum WithF64 {
            Null,
            Bool(bool),
            Number(f64),
            String(String),
            List(Vec<WithF64>),
            Set(Vec<WithF64>),
            Map(IndexMap<String, WithF64>),
            Unknown,
            Sensitive(Box<WithF64>),
        }
        assert_eq!(std::mem::size_of::<Value>(), std::mem::size_of::<WithF64>());
    }
}
