//! Reading tarn values: typed attribute getters that see through sensitive marks, and the
//! errors for attributes the engine should have filled. No IO.

use tarn_sdk::{ProviderError, Value};

pub fn attr_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(|x| x.unmark().0.as_str()).map(str::to_string)
}

pub fn attr_num(v: &Value, name: &str) -> Option<f64> {
    v.get(name).and_then(|x| x.unmark().0.as_f64())
}

pub fn required_str(v: &Value, name: &str) -> Result<String, ProviderError> {
    attr_str(v, name).filter(|s| !s.is_empty()).ok_or_else(|| {
        ProviderError::permanent(format!("the attribute {name} is missing or empty; it must be a non-empty string"))
    })
}

/// A list of strings; `None` when the attribute is null or not a list.
pub fn attr_strings(v: &Value, name: &str) -> Option<Vec<String>> {
    v.get(name)
        .and_then(|x| x.unmark().0.as_list())
        .map(|l| l.iter().filter_map(|s| s.unmark().0.as_str().map(str::to_string)).collect())
}

/// A known, non-empty string (unknown and null are `None`).
pub fn known_str(v: &Value, name: &str) -> Option<String> {
    attr_str(v, name).filter(|s| !s.is_empty())
}

/// A string list as a tarn value.
pub fn string_list(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::string(s.as_str())).collect())
}
