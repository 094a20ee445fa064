//! `scaleway_instance_ip`: a flexible IP, reserved with `POST /ips`, attached, moved and detached
//! with `PATCH /ips/{id}` (`server`), which keeps the address: moving it is one call, never a
//! release and a new reservation. Carries the correlation tag like servers do. `server_id`
//! manages the attachment only when set: unset, a server's `public_ip_ids` may attach the IP.

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::Ctx;
use crate::server::CORRELATION_TAG;
use crate::tags::{correlation_tags, user_tags};
use crate::values::{attr_strings, known_str, required_str};

const TYPES: &[&str] = &["routed_ipv4", "routed_ipv6"];

pub async fn create(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(planned);
    let mut b = Map::new();
    let project = known_str(planned, "project_id").unwrap_or_else(|| ctx.project.clone());
    if !project.is_empty() {
        b.insert("project".into(), json!(project));
    }
    let kind = known_str(planned, "type").unwrap_or_else(|| "routed_ipv4".into());
    if !TYPES.contains(&kind.as_str()) {
        return Err(ProviderError::permanent(format!("type = {kind:?} is not one of {}", TYPES.join(", "))));
    }
    b.insert("type".into(), json!(kind));
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.push(format!("{CORRELATION_TAG}:{correlation}"));
    b.insert("tags".into(), json!(tags));
    if let Some(server) = known_str(planned, "server_id") {
        b.insert("server".into(), json!(server));
    }
    let created = ctx.api.create_ip(&zone, &Json::Object(b)).await?;
    let id = created.get("id").and_then(Json::as_str).unwrap_or_default().to_string();
    if let Some(reverse) = known_str(planned, "reverse")
        && let Err(e) = ctx.api.update_ip(&zone, &id, &json!({"reverse": reverse})).await
    {
        return Err(ProviderError::partially_created(
            format!("IP {id} was reserved, but setting its reverse failed: {}", e.message),
            state(&created, planned, &zone),
        ));
    }
    let current = ctx.api.ip(&zone, &id).await?.unwrap_or(created);
    Ok(state(&current, planned, &zone))
}

pub async fn read(ctx: &Ctx, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(wanted);
    let id = required_str(wanted, "id")?;
    Ok(ctx.api.ip(&zone, &id).await?.map(|ip| state(&ip, wanted, &zone)))
}

/// Attaches, moves (same address) or detaches, and sets reverse and tags, in one PATCH.
pub async fn update(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(prior);
    let id = required_str(prior, "id")?;
    let Some(current) = ctx.api.ip(&zone, &id).await? else {
        return Err(ProviderError::not_found(format!("IP {id} no longer exists in {zone}")));
    };
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.extend(correlation_tags(&current));
    let mut b = Map::new();
    b.insert("tags".into(), json!(tags));
    // Sent only when it changes: an IP the configuration does not attach may be attached by a
    // server's public_ip_ids, which this update must leave alone.
    if planned.get("server_id") != prior.get("server_id") {
        b.insert("server".into(), known_str(planned, "server_id").map_or(Json::Null, |s| json!(s)));
    }
    if planned.get("reverse") != prior.get("reverse") {
        b.insert("reverse".into(), known_str(planned, "reverse").map_or(Json::Null, |r| json!(r)));
    }
    let updated = ctx.api.update_ip(&zone, &id, &Json::Object(b)).await?;
    Ok(state(&updated, planned, &zone))
}

pub async fn delete(ctx: &Ctx, state: &Value) -> Result<(), ProviderError> {
    let zone = ctx.zone_of(state);
    ctx.api.delete_ip(&zone, &required_str(state, "id")?).await.map(|_| ())
}

pub async fn adopt(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(planned);
    let tag = format!("{CORRELATION_TAG}:{correlation}");
    let found = ctx.api.ips(&zone, &[("tags", tag.as_str())]).await?;
    Ok(found.first().map(|ip| state(ip, planned, &zone)))
}

pub async fn import(ctx: &Ctx, zone: &str, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(ctx.api.ip(zone, id).await?.map(|ip| state(&ip, &Value::Null, zone)))
}

pub fn state(api: &Json, wanted: &Value, zone: &str) -> Value {
    let text = |p: &str| api.pointer(p).and_then(Json::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    let tags_v = user_tags(api, wanted);
    let reverse = text("/reverse").map_or(Value::Null, Value::string);
    // Reported only where the configuration manages the attachment (see `update`).
    let server_id = match wanted.get("server_id") {
        Some(v) if !v.is_null() => text("/server/id").map_or(Value::Null, Value::string),
        _ => Value::Null,
    };
    Value::map([
        ("zone", Value::string(zone)),
        ("project_id", text("/project").map_or(Value::Null, Value::string)),
        ("type", text("/type").map_or(Value::Null, Value::string)),
        ("server_id", server_id),
        ("reverse", reverse),
        ("tags", tags_v),
        ("id", text("/id").map_or(Value::Null, Value::string)),
        ("address", text("/address").map_or(Value::Null, Value::string)),
    ])
}
