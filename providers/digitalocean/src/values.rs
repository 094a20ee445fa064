//! Reading tarn values the DigitalOcean way: its numeric ids as the strings tarn keeps and
//! back, optional JSON text, and API defaults that an unset attribute must not read back as.
//! The common attribute getters (tarn-sdk's `attrs`) are re-exported for the modules here.
//! No IO.

use serde_json::Value as Json;
pub use tarn_sdk::attrs::{attr_bool, attr_num, attr_str, attr_strings, known_str, required_str, string_list, unset};
use tarn_sdk::{ProviderError, Value};

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
