//! The `digitalocean_droplets` data source: the account's droplets, all or those with a tag
//! (`tag_name` filter), sorted by name.

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::api::{Api, tag_name};
use crate::droplet::address;
use crate::values::{id_text, known_str, opt_text, string_list};

pub async fn droplets(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let tag = known_str(config, "tag");
    let mut query = Vec::new();
    if let Some(tag) = &tag {
        tag_name(tag)?;
        query.push(("tag_name", tag.as_str()));
    }
    let mut found = api.droplets(&query).await?;
    found.sort_by(|a, b| {
        let name = |d: &Json| d.get("name").and_then(Json::as_str).unwrap_or_default().to_string();
        name(a).cmp(&name(b))
    });
    let list = found
        .iter()
        .map(|d| {
            let tags: Vec<String> = d
                .get("tags")
                .and_then(Json::as_array)
                .map(|l| {
                    l.iter()
                        .filter_map(Json::as_str)
                        .filter(|t| !t.starts_with("tarn-correlation:"))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Value::map([
                ("id", Value::string(id_text(d.get("id")))),
                ("name", opt_text(d, "/name")),
                ("region", opt_text(d, "/region/slug")),
                ("size", opt_text(d, "/size_slug")),
                ("status", opt_text(d, "/status")),
                ("ipv4_address", address(d, "v4", "public")),
                ("tags", string_list(&tags)),
            ])
        })
        .collect();
    Ok(Value::map([("tag", tag.map_or(Value::Null, Value::string)), ("droplets", Value::List(list))]))
}
