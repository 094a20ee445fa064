//! `scaleway_instance_volume`: a volume of its own, attached to servers through their
//! `additional_volume_ids` (or booted from, as `root_volume_id`). As the seed says, a local
//! (l_ssd) volume can only be renamed; a block one can also grow. Deleting a volume attached to
//! a running server is refused before any call, with the server named.

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::Ctx;
use crate::server::CORRELATION_TAG;
use crate::tags::{correlation_tags, user_tags};
use crate::values::{attr_num, attr_strings, bytes_to_gb, gb_to_bytes, known_str, required_str};

const TYPES: &[&str] = &["l_ssd", "b_ssd", "sbs_volume"];

pub async fn create(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(planned);
    let kind = required_str(planned, "type")?;
    if !TYPES.contains(&kind.as_str()) {
        return Err(ProviderError::permanent(format!("type = {kind:?} is not one of {}", TYPES.join(", "))));
    }
    let size = attr_num(planned, "size_in_gb")
        .ok_or_else(|| ProviderError::permanent("size_in_gb is required: the volume's size in GB"))?;
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    b.insert("volume_type".into(), json!(kind));
    b.insert("size".into(), json!(gb_to_bytes(size)));
    let project = known_str(planned, "project_id").unwrap_or_else(|| ctx.project.clone());
    if !project.is_empty() {
        b.insert("project".into(), json!(project));
    }
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.push(format!("{CORRELATION_TAG}:{correlation}"));
    b.insert("tags".into(), json!(tags));
    let created = ctx.api.create_volume(&zone, &Json::Object(b)).await?;
    Ok(state(&created, planned, &zone))
}

pub async fn read(ctx: &Ctx, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(wanted);
    Ok(ctx.api.volume(&zone, &required_str(wanted, "id")?).await?.map(|v| state(&v, wanted, &zone)))
}

pub async fn update(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(prior);
    let id = required_str(prior, "id")?;
    let Some(current) = ctx.api.volume(&zone, &id).await? else {
        return Err(ProviderError::not_found(format!("volume {id} no longer exists in {zone}")));
    };
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.extend(correlation_tags(&current));
    b.insert("tags".into(), json!(tags));
    let (before, after) = (attr_num(prior, "size_in_gb"), attr_num(planned, "size_in_gb"));
    if before != after {
        let kind = required_str(prior, "type")?;
        if kind == "l_ssd" {
            return Err(ProviderError::permanent(format!(
                "volume {id} is local (l_ssd): only its name can change, not its size; make a new volume to resize"
            )));
        }
        if after < before {
            return Err(ProviderError::permanent(format!("volume {id} can only grow, not shrink")));
        }
        b.insert("size".into(), json!(after.map(gb_to_bytes)));
    }
    let updated = ctx.api.update_volume(&zone, &id, &Json::Object(b)).await?;
    Ok(state(&updated, planned, &zone))
}

pub async fn delete(ctx: &Ctx, state: &Value) -> Result<(), ProviderError> {
    let zone = ctx.zone_of(state);
    let id = required_str(state, "id")?;
    let Some(volume) = ctx.api.volume(&zone, &id).await? else { return Ok(()) };
    if let Some(server_id) = volume.pointer("/server/id").and_then(Json::as_str)
        && let Some(server) = ctx.api.server(&zone, server_id).await?
        && server.get("state").and_then(Json::as_str) != Some("stopped")
    {
        return Err(ProviderError::permanent(format!(
            "volume {id} is attached to server {server_id} ({}), which is running: stop the server or detach the volume (remove it from additional_volume_ids) first",
            server.get("name").and_then(Json::as_str).unwrap_or_default()
        )));
    }
    ctx.api.delete_volume(&zone, &id).await.map(|_| ())
}

pub async fn adopt(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(planned);
    let tag = format!("{CORRELATION_TAG}:{correlation}");
    let found = ctx.api.volumes(&zone, &[("tags", tag.as_str())]).await?;
    Ok(found.first().map(|v| state(v, planned, &zone)))
}

pub async fn import(ctx: &Ctx, zone: &str, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(ctx.api.volume(zone, id).await?.map(|v| state(&v, &Value::Null, zone)))
}

pub fn state(api: &Json, wanted: &Value, zone: &str) -> Value {
    let text = |p: &str| api.pointer(p).and_then(Json::as_str).filter(|s| !s.is_empty()).map(Value::string);
    let tags_v = user_tags(api, wanted);
    Value::map([
        ("name", text("/name").unwrap_or(Value::Null)),
        ("zone", Value::string(zone)),
        ("project_id", text("/project").unwrap_or(Value::Null)),
        ("type", text("/volume_type").unwrap_or(Value::Null)),
        ("size_in_gb", api.get("size").and_then(Json::as_u64).map_or(Value::Null, |s| Value::number(bytes_to_gb(s)))),
        ("tags", tags_v),
        ("id", text("/id").unwrap_or(Value::Null)),
        ("server_id", text("/server/id").unwrap_or(Value::Null)),
    ])
}
