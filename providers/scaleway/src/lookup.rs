//! The data sources: `scaleway_instance_server_types` (products/servers with the volume limits
//! the server rule uses), `scaleway_instance_image` (by exact name, newest first) and
//! `scaleway_instance_servers` (by name prefix, as meveo lists only `dev-` servers).

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::Ctx;
use crate::values::{attr_str, bytes_to_gb, required_str};

fn zone(ctx: &Ctx, config: &Value) -> String {
    attr_str(config, "zone").filter(|z| !z.is_empty()).unwrap_or_else(|| ctx.zone.clone())
}

pub async fn server_types(ctx: &Ctx, config: &Value) -> Result<Value, ProviderError> {
    let zone = zone(ctx, config);
    let types = ctx.api.server_types(&zone).await?;
    let mut names: Vec<&String> = types.keys().collect();
    names.sort();
    let num = |t: &Json, p: &str| t.pointer(p).and_then(Json::as_f64).map_or(Value::Null, Value::number);
    let gb =
        |t: &Json, p: &str| t.pointer(p).and_then(Json::as_u64).map_or(Value::Null, |b| Value::number(bytes_to_gb(b)));
    let list = names
        .into_iter()
        .map(|name| {
            let t = &types[name.as_str()];
            Value::map([
                ("name", Value::string(name.as_str())),
                ("ncpus", num(t, "/ncpus")),
                ("ram", num(t, "/ram")),
                ("arch", t.get("arch").and_then(Json::as_str).map_or(Value::Null, Value::string)),
                ("hourly_price", num(t, "/hourly_price")),
                ("volumes_min_size_in_gb", gb(t, "/volumes_constraint/min_size")),
                ("volumes_max_size_in_gb", gb(t, "/volumes_constraint/max_size")),
            ])
        })
        .collect();
    Ok(Value::map([("zone", Value::string(zone)), ("types", Value::List(list))]))
}

pub async fn image(ctx: &Ctx, config: &Value) -> Result<Value, ProviderError> {
    let zone = zone(ctx, config);
    let name = required_str(config, "name")?;
    let mut found: Vec<Json> = ctx
        .api
        .images(&zone, &[("name", name.as_str())])
        .await?
        .into_iter()
        .filter(|i| i.get("name").and_then(Json::as_str) == Some(name.as_str()))
        .collect();
    // RFC 3339 dates of one format sort as text: the newest first.
    found.sort_by(|a, b| {
        b.get("creation_date").and_then(Json::as_str).cmp(&a.get("creation_date").and_then(Json::as_str))
    });
    let Some(image) = found.first() else {
        return Err(ProviderError::permanent(format!("no image named {name:?} in {zone}")));
    };
    let text = |p: &str| image.pointer(p).and_then(Json::as_str).map_or(Value::Null, Value::string);
    Ok(Value::map([
        ("zone", Value::string(zone.as_str())),
        ("name", Value::string(name)),
        ("id", text("/id")),
        ("arch", text("/arch")),
        ("public", image.get("public").and_then(Json::as_bool).map_or(Value::Null, Value::Bool)),
        (
            "root_volume_size_in_gb",
            image
                .pointer("/root_volume/size")
                .and_then(Json::as_u64)
                .map_or(Value::Null, |b| Value::number(bytes_to_gb(b))),
        ),
    ]))
}

pub async fn servers(ctx: &Ctx, config: &Value) -> Result<Value, ProviderError> {
    let zone = zone(ctx, config);
    let prefix = required_str(config, "name_prefix")?;
    // `name` filters by substring on the API side; the prefix is checked here.
    let mut found: Vec<Json> = ctx
        .api
        .servers(&zone, &[("name", prefix.as_str())])
        .await?
        .into_iter()
        .filter(|s| s.get("name").and_then(Json::as_str).is_some_and(|n| n.starts_with(&prefix)))
        .collect();
    found.sort_by(|a, b| a.get("name").and_then(Json::as_str).cmp(&b.get("name").and_then(Json::as_str)));
    let list = found
        .iter()
        .map(|s| {
            let text = |p: &str| s.pointer(p).and_then(Json::as_str).map_or(Value::Null, Value::string);
            let tags = s
                .get("tags")
                .and_then(Json::as_array)
                .map(|l| l.iter().map(Value::from_json).collect())
                .unwrap_or_default();
            let ip = s
                .get("public_ips")
                .and_then(Json::as_array)
                .and_then(|l| l.iter().find_map(|ip| ip.get("address").and_then(Json::as_str)))
                .map_or(Value::Null, Value::string);
            Value::map([
                ("id", text("/id")),
                ("name", text("/name")),
                ("type", text("/commercial_type")),
                ("state", text("/state")),
                ("public_ip", ip),
                ("tags", Value::List(tags)),
            ])
        })
        .collect();
    Ok(Value::map([
        ("zone", Value::string(zone)),
        ("name_prefix", Value::string(prefix)),
        ("servers", Value::List(list)),
    ]))
}
