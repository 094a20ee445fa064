//! `openstack_compute_flavors`: the region's flavors (every page of GET /flavors/detail),
//! filtered by name and by minimum CPUs, RAM and disk, sorted by RAM then name.

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use tarn_sdk::attrs::{attr_num, known_str};

pub async fn read(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let all = api.flavors().await?;
    let name = known_str(config, "name");
    let at_least = |f: &Json, key: &str, attr: &str| match attr_num(config, attr) {
        Some(min) => f.get(key).and_then(Json::as_f64).is_some_and(|v| v >= min),
        None => true,
    };
    let mut chosen: Vec<&Json> = all
        .iter()
        .filter(|f| name.as_deref().is_none_or(|n| f.get("name").and_then(Json::as_str) == Some(n)))
        .filter(|f| {
            at_least(f, "vcpus", "min_vcpus") && at_least(f, "ram", "min_ram") && at_least(f, "disk", "min_disk")
        })
        .collect();
    if let (Some(name), true) = (&name, chosen.is_empty()) {
        let mut names: Vec<&str> = all.iter().filter_map(|f| f.get("name").and_then(Json::as_str)).collect();
        names.sort();
        return Err(ProviderError::permanent(format!(
            "no flavor is named {name:?} with the given minimums; the region has: {}",
            names.join(", ")
        )));
    }
    let num = |f: &Json, key: &str| f.get(key).and_then(Json::as_f64).unwrap_or(0.0);
    let text = |f: &Json, key: &str| f.get(key).and_then(Json::as_str).unwrap_or_default().to_string();
    chosen.sort_by(|a, b| num(a, "ram").total_cmp(&num(b, "ram")).then_with(|| text(a, "name").cmp(&text(b, "name"))));
    let flavors: Vec<Value> = chosen
        .iter()
        .map(|f| {
            Value::map([
                ("id", Value::string(text(f, "id"))),
                ("name", Value::string(text(f, "name"))),
                ("vcpus", Value::number(num(f, "vcpus"))),
                ("ram", Value::number(num(f, "ram"))),
                ("disk", Value::number(num(f, "disk"))),
            ])
        })
        .collect();
    let ids: Vec<Value> = chosen.iter().map(|f| Value::string(text(f, "id"))).collect();
    let mut out = config.as_map().cloned().unwrap_or_default();
    out.insert("flavors".into(), Value::List(flavors));
    out.insert("ids".into(), Value::List(ids));
    Ok(Value::Map(out))
}
