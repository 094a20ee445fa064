//! Reading tarn values: typed attribute getters that see through sensitive marks, the errors
//! for attributes the engine should have filled, and DigitalOcean's numeric ids as strings.
//! No IO.

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

pub fn attr_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(|x| x.unmark().0.as_str()).map(str::to_string)
}

pub fn attr_bool(v: &Value, name: &str) -> Option<bool> {
    v.get(name).and_then(|x| x.unmark().0.as_bool())
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

/// Whether the attribute is unset (absent or null).
pub fn unset(v: &Value, name: &str) -> bool {
    v.get(name).is_none_or(Value::is_null)
}

/// A string list as a tarn value.
pub fn string_list(items: &[String]) -> Value {
    Value::List(items.iter().map(|s| Value::string(s.as_str())).collect())
}

/// A JSON id (DigitalOcean's are numbers) as the string tarn keeps.
pub fn id_text(json: Option<&Json>) -> String {
    match json {
        Some(Json::Number(n)) => n.to_string(),
        Some(Json::String(s)) => s.clone(),
        _ => String::new(),
    }
}

/// A JSON string field as a tarn value, null when absent or empty.
pub fn opt_text(json: &Json, pointer: &str) -> Value {
    json.pointer(pointer).and_then(Json::as_str).filter(|s| !s.is_empty()).map_or(Value::Null, Value::string)
}

/// `actual` unless it is the API's default and the configuration left the attribute unset, so
/// an unset attribute does not read back as its default (and a real difference still shows).
pub fn unless_default(wanted: &Value, name: &str, actual: Value, default: Value) -> Value {
    if actual == default && unset(wanted, name) { Value::Null } else { actual }
}

/// The string ids of a JSON list of numbers.
pub fn ids_of(json: Option<&Json>) -> Vec<String> {
    json.and_then(Json::as_array).map(|l| l.iter().map(|i| id_text(Some(i))).collect()).unwrap_or_default()
}

/// A string id as the JSON number the API expects.
pub fn id_number(id: &str, what: &str) -> Result<Json, ProviderError> {
    crate::api::number(id, what)?
        .parse::<u64>()
        .map(Json::from)
        .map_err(|_| ProviderError::permanent(format!("{id:?} is not a DigitalOcean {what}")))
}
