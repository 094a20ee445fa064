//! Typed getters for a resource's attributes, as providers read them from the object the
//! engine passes: they see through sensitive marks, treat a missing attribute like null, and
//! give the error for a required attribute the engine should have filled; and the string list
//! providers hand back. No IO.

use crate::{ProviderError, Value};

/// The attribute as a string (`None` when absent, null, unknown or not a string).
pub fn attr_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(|x| x.unmark().0.as_str()).map(str::to_string)
}

/// The attribute as a bool (`None` when absent, null, unknown or not a bool).
pub fn attr_bool(v: &Value, name: &str) -> Option<bool> {
    v.get(name).and_then(|x| x.unmark().0.as_bool())
}

/// The attribute as a float (`None` when absent, null, unknown or not a number).
pub fn attr_num(v: &Value, name: &str) -> Option<f64> {
    v.get(name).and_then(|x| x.unmark().0.as_f64())
}

/// A list of strings; `None` when the attribute is null or not a list. Elements that are not
/// strings are left out.
pub fn attr_strings(v: &Value, name: &str) -> Option<Vec<String>> {
    v.get(name)
        .and_then(|x| x.unmark().0.as_list())
        .map(|l| l.iter().filter_map(|s| s.unmark().0.as_str().map(str::to_string)).collect())
}

/// A known, non-empty string (unknown, null and `""` are `None`).
pub fn known_str(v: &Value, name: &str) -> Option<String> {
    attr_str(v, name).filter(|s| !s.is_empty())
}

/// Whether the attribute is unset (absent or null).
pub fn unset(v: &Value, name: &str) -> bool {
    v.get(name).is_none_or(Value::is_null)
}

/// A non-empty string, or the error that names the attribute.
pub fn required_str(v: &Value, name: &str) -> Result<String, ProviderError> {
    known_str(v, name).ok_or_else(|| {
        ProviderError::permanent(format!("the attribute {name} is missing or empty; it must be a non-empty string"))
    })
}

/// A list of strings as an attribute's value.
pub fn string_list(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::string(s.as_str())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_see_through_marks_and_tell_unset_from_empty() {
        let v = Value::map([
            ("name", Value::Sensitive(Box::new(Value::string("db")))),
            ("empty", Value::string("")),
            ("on", Value::Bool(true)),
            ("size", Value::number(2.5)),
            ("tags", Value::List(vec![Value::string("a"), Value::number(1), Value::string("b")])),
            ("gone", Value::Null),
            ("later", Value::Unknown),
        ]);
        assert_eq!(attr_str(&v, "name").as_deref(), Some("db"));
        assert_eq!(attr_bool(&v, "on"), Some(true));
        assert_eq!(attr_num(&v, "size"), Some(2.5));
        assert_eq!(attr_strings(&v, "tags"), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(attr_strings(&v, "name"), None);
        let back = Value::map([("l", string_list(&["x".into(), "y".into()]))]);
        assert_eq!(attr_strings(&back, "l"), Some(vec!["x".to_string(), "y".to_string()]));
        assert_eq!(known_str(&v, "empty"), None);
        assert_eq!(known_str(&v, "later"), None);
        assert!(unset(&v, "gone") && unset(&v, "missing") && !unset(&v, "empty"));
        assert_eq!(required_str(&v, "name").unwrap(), "db");
        let e = required_str(&v, "empty").unwrap_err();
        assert!(e.to_string().contains("the attribute empty is missing or empty"), "{e}");
    }
}
