//! `cloudflare_zone_lockdown`: tarn attributes ⇄ the API's zone lockdown rule.
//!
//! Rules carry no tags, so `adopt` recognises the rule an interrupted create made by its whole
//! content (URLs, configurations, description, paused): an identical rule does exactly what the
//! planned one would, so claiming it is safe. Unset `description` and `paused` stay null while
//! the API holds "" and false.

use serde_json::{Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use tarn_sdk::attrs::{attr_bool, attr_str, required_str};

pub fn body(planned: &Value) -> Result<Json, ProviderError> {
    let urls: Vec<String> = match planned.get("urls").map(|v| v.unmark().0) {
        Some(Value::List(list)) => list.iter().filter_map(|u| u.unmark().0.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let configurations: Vec<Json> = match planned.get("configurations").map(|v| v.unmark().0) {
        Some(Value::List(list)) => list
            .iter()
            .map(|c| {
                Ok(json!({
                    "target": required_str(c.unmark().0, "target")?,
                    "value": required_str(c.unmark().0, "value")?,
                }))
            })
            .collect::<Result<_, ProviderError>>()?,
        _ => Vec::new(),
    };
    Ok(json!({
        "urls": urls,
        "configurations": configurations,
        "description": attr_str(planned, "description").unwrap_or_default(),
        "paused": attr_bool(planned, "paused").unwrap_or(false),
    }))
}

pub fn state(api: &Json, zone_id: &str, wanted: &Value) -> Value {
    let text = |k: &str| api.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
    let urls =
        api.get("urls").and_then(Json::as_array).map(|l| l.iter().map(Value::from_json).collect()).unwrap_or_default();
    let configurations = api
        .get("configurations")
        .and_then(Json::as_array)
        .map(|l| {
            l.iter()
                .map(|c| {
                    Value::map([
                        ("target", Value::string(c.get("target").and_then(Json::as_str).unwrap_or_default())),
                        ("value", Value::string(c.get("value").and_then(Json::as_str).unwrap_or_default())),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    let description = text("description");
    let paused = api.get("paused").and_then(Json::as_bool).unwrap_or(false);
    let description_v = if description.is_empty() && attr_str(wanted, "description").is_none() {
        Value::Null
    } else {
        Value::string(description)
    };
    let paused_v = if !paused && attr_bool(wanted, "paused").is_none() { Value::Null } else { Value::Bool(paused) };
    Value::map([
        ("zone_id", Value::string(zone_id)),
        ("urls", Value::List(urls)),
        ("configurations", Value::List(configurations)),
        ("description", description_v),
        ("paused", paused_v),
        ("id", Value::string(text("id"))),
        ("created_on", Value::string(text("created_on"))),
    ])
}

/// Finds a rule identical to the planned one (see the module header).
pub async fn adopt(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let zone_id = required_str(planned, "zone_id")?;
    let wanted = body(planned)?;
    let rules = api.lockdowns(&zone_id).await?;
    let same = |r: &Json| ["urls", "configurations", "description", "paused"].iter().all(|k| r.get(k) == wanted.get(k));
    Ok(rules.iter().find(|r| same(r)).map(|r| state(r, &zone_id, planned)))
}
