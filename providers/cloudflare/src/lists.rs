//! The list data sources, the seed's three "List …" calls: `cloudflare_zones` (zones the token
//! sees, optionally filtered by name with Cloudflare's operators and by status),
//! `cloudflare_dns_records` (a zone's records, optionally by name and type) and
//! `cloudflare_zone_lockdowns` (a zone's lockdown rules, with how many are active).
//!
//! Each reads every page (`result_info`) and returns the objects sorted as the API lists them.
//! No state, no writes.

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use tarn_sdk::attrs::{attr_str, required_str};

fn text(j: &Json, pointer: &str) -> Value {
    Value::string(j.pointer(pointer).and_then(Json::as_str).unwrap_or_default())
}

fn strings(j: &Json, key: &str) -> Value {
    Value::List(
        j.get(key).and_then(Json::as_array).map(|l| l.iter().map(Value::from_json).collect()).unwrap_or_default(),
    )
}

/// The configuration's filter arguments that are set, as query parameters.
fn filters(config: &Value, names: &[&'static str]) -> Vec<(&'static str, String)> {
    names.iter().filter_map(|n| attr_str(config, n).filter(|v| !v.is_empty()).map(|v| (*n, v))).collect()
}

fn query<'a>(filters: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    filters.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A zone as the list data sources and `cloudflare_zone` show it.
pub fn zone(z: &Json) -> Value {
    Value::map([
        ("id", text(z, "/id")),
        ("name", text(z, "/name")),
        ("status", text(z, "/status")),
        ("name_servers", strings(z, "name_servers")),
        ("account_id", text(z, "/account/id")),
    ])
}

pub async fn zones(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let set = filters(config, &["name", "status"]);
    let found = api.zones(&query(&set)).await?;
    let mut out = config.as_map().cloned().unwrap_or_default();
    out.insert("zones".into(), Value::List(found.iter().map(zone).collect()));
    Ok(Value::Map(out))
}

pub async fn records(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let zone_id = required_str(config, "zone_id")?;
    let set = filters(config, &["name", "type"]);
    let found = api.records(&zone_id, &query(&set)).await?;
    let record = |r: &Json| {
        Value::map([
            ("id", text(r, "/id")),
            ("name", text(r, "/name")),
            ("type", text(r, "/type")),
            ("content", text(r, "/content")),
            ("ttl", r.get("ttl").and_then(Json::as_f64).map_or(Value::Null, Value::number)),
            ("proxied", Value::Bool(r.get("proxied").and_then(Json::as_bool).unwrap_or(false))),
            ("comment", r.get("comment").and_then(Json::as_str).map_or(Value::Null, Value::string)),
        ])
    };
    let mut out = config.as_map().cloned().unwrap_or_default();
    out.insert("records".into(), Value::List(found.iter().map(record).collect()));
    Ok(Value::Map(out))
}

pub async fn lockdowns(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let zone_id = required_str(config, "zone_id")?;
    let found = api.lockdowns(&zone_id).await?;
    let rule = |r: &Json| {
        let configurations = r
            .get("configurations")
            .and_then(Json::as_array)
            .map(|l| {
                l.iter().map(|c| Value::map([("target", text(c, "/target")), ("value", text(c, "/value"))])).collect()
            })
            .unwrap_or_default();
        Value::map([
            ("id", text(r, "/id")),
            ("urls", strings(r, "urls")),
            ("configurations", Value::List(configurations)),
            ("description", text(r, "/description")),
            ("paused", Value::Bool(r.get("paused").and_then(Json::as_bool).unwrap_or(false))),
        ])
    };
    let active = found.iter().filter(|r| r.get("paused").and_then(Json::as_bool) != Some(true)).count();
    let mut out = config.as_map().cloned().unwrap_or_default();
    out.insert("rules".into(), Value::List(found.iter().map(rule).collect()));
    out.insert("active_rules".into(), Value::number(active));
    Ok(Value::Map(out))
}
