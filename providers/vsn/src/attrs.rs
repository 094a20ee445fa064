//! Reading attributes out of resource objects: strings, lists, maps, with a full-sentence error
//! naming the attribute when the engine hands over something else. Nothing else.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use tarn_sdk::{ProviderError, Value};

pub type Map = IndexMap<String, Value>;

pub fn object(v: Value, what: &str) -> Result<Map, ProviderError> {
    match v {
        Value::Map(m) => Ok(m),
        other => Err(ProviderError::permanent(format!(
            "{what} must be an object of attributes, not a {}; this is a bug in tarn",
            other.type_name()
        ))),
    }
}

pub fn opt_str(o: &Map, key: &str) -> Option<String> {
    o.get(key).and_then(Value::as_str).map(str::to_string)
}

pub fn req_str(o: &Map, key: &str, what: &str) -> Result<String, ProviderError> {
    opt_str(o, key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ProviderError::permanent(format!("{what}: \"{key}\" must be a non-empty string")))
}

pub fn opt_bool(o: &Map, key: &str) -> Option<bool> {
    o.get(key).and_then(Value::as_bool)
}

pub fn opt_num(o: &Map, key: &str) -> Option<f64> {
    o.get(key).and_then(Value::as_f64)
}

pub fn strings(o: &Map, key: &str) -> Vec<String> {
    o.get(key)
        .and_then(Value::as_list)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

pub fn string_map(o: &Map, key: &str) -> BTreeMap<String, String> {
    o.get(key)
        .and_then(Value::as_map)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

pub fn set_str(o: &mut Map, key: &str, v: impl Into<String>) {
    o.insert(key.to_string(), Value::String(v.into()));
}

/// A map attribute's value from key/value pairs, or null when there are none and the prior
/// value was null (so an unset map does not drift to `{}`).
pub fn map_value(pairs: &BTreeMap<String, String>, prior_null: bool) -> Value {
    if pairs.is_empty() && prior_null {
        return Value::Null;
    }
    Value::map(pairs.iter().map(|(k, v)| (k.clone(), Value::string(v.clone()))))
}

/// Container and data-directory names: what both engines accept, and safe as a path segment.
pub fn check_name(name: &str, what: &str) -> Result<(), ProviderError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ProviderError::permanent(format!(
            "{what}: the name \"{name}\" is not valid: use letters, digits, '_', '.', '-', starting with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_data_root_are_refused() {
        assert!(check_name("db-data_1.x", "v").is_ok());
        for bad in ["", "../etc", "a/b", ".hidden", "-x", "a b"] {
            assert!(check_name(bad, "v").is_err(), "{bad}");
        }
    }
}
