//! `scaleway_instance_security_group` and `scaleway_instance_security_group_rule`: groups with
//! their default policies (tagged with the correlation tag, adopted by it), and rules, which
//! carry no tags and are adopted by content (an identical rule does exactly what the planned
//! one would). Unset optional attributes stay null while the API holds their defaults.

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::Ctx;
use crate::api::{checked_zone, uuid};
use crate::server::CORRELATION_TAG;
use crate::tags::{correlation_tags, user_tags};
use crate::values::{attr_bool, attr_num, attr_strings, known_str, required_str};

const POLICIES: &[&str] = &["accept", "drop"];

fn policy(planned: &Value, name: &str) -> Result<String, ProviderError> {
    let p = known_str(planned, name).unwrap_or_else(|| "accept".into());
    if POLICIES.contains(&p.as_str()) {
        Ok(p)
    } else {
        Err(ProviderError::permanent(format!("{name} = {p:?} is not accept or drop")))
    }
}

fn group_body(planned: &Value, tags: Vec<String>) -> Result<Map<String, Json>, ProviderError> {
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    b.insert("description".into(), json!(known_str(planned, "description").unwrap_or_default()));
    b.insert("inbound_default_policy".into(), json!(policy(planned, "inbound_default_policy")?));
    b.insert("outbound_default_policy".into(), json!(policy(planned, "outbound_default_policy")?));
    b.insert("stateful".into(), json!(attr_bool(planned, "stateful").unwrap_or(true)));
    b.insert("tags".into(), json!(tags));
    Ok(b)
}

pub async fn create_group(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(planned);
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.push(format!("{CORRELATION_TAG}:{correlation}"));
    let mut b = group_body(planned, tags)?;
    let project = known_str(planned, "project_id").unwrap_or_else(|| ctx.project.clone());
    if !project.is_empty() {
        b.insert("project".into(), json!(project));
    }
    let created = ctx.api.create_group(&zone, &Json::Object(b)).await?;
    Ok(group_state(&created, planned, &zone))
}

pub async fn read_group(ctx: &Ctx, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(wanted);
    Ok(ctx.api.group(&zone, &required_str(wanted, "id")?).await?.map(|g| group_state(&g, wanted, &zone)))
}

pub async fn update_group(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(prior);
    let id = required_str(prior, "id")?;
    let Some(current) = ctx.api.group(&zone, &id).await? else {
        return Err(ProviderError::not_found(format!("security group {id} no longer exists in {zone}")));
    };
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.extend(correlation_tags(&current));
    let updated = ctx.api.update_group(&zone, &id, &Json::Object(group_body(planned, tags)?)).await?;
    Ok(group_state(&updated, planned, &zone))
}

pub async fn delete_group(ctx: &Ctx, state: &Value) -> Result<(), ProviderError> {
    let zone = ctx.zone_of(state);
    ctx.api.delete_group(&zone, &required_str(state, "id")?).await.map(|_| ())
}

pub async fn adopt_group(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(planned);
    let tag = format!("{CORRELATION_TAG}:{correlation}");
    let found = ctx.api.groups(&zone, &[("tags", tag.as_str())]).await?;
    Ok(found.first().map(|g| group_state(g, planned, &zone)))
}

pub async fn import_group(ctx: &Ctx, zone: &str, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(ctx.api.group(zone, id).await?.map(|g| group_state(&g, &Value::Null, zone)))
}

pub fn group_state(api: &Json, wanted: &Value, zone: &str) -> Value {
    let text = |k: &str| api.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
    let unless = |name: &str, actual: Value, default: Value| {
        if actual == default && wanted.get(name).is_none_or(Value::is_null) { Value::Null } else { actual }
    };
    let tags_v = user_tags(api, wanted);
    Value::map([
        ("name", Value::string(text("name"))),
        ("zone", Value::string(zone)),
        ("project_id", Value::string(text("project"))),
        ("description", unless("description", Value::string(text("description")), Value::string(""))),
        (
            "inbound_default_policy",
            unless("inbound_default_policy", Value::string(text("inbound_default_policy")), Value::string("accept")),
        ),
        (
            "outbound_default_policy",
            unless("outbound_default_policy", Value::string(text("outbound_default_policy")), Value::string("accept")),
        ),
        (
            "stateful",
            unless(
                "stateful",
                Value::Bool(api.get("stateful").and_then(Json::as_bool).unwrap_or(false)),
                Value::Bool(true),
            ),
        ),
        ("tags", tags_v),
        ("id", Value::string(text("id"))),
    ])
}

/// The rule body; ports only for TCP and UDP.
fn rule_body(planned: &Value) -> Result<Json, ProviderError> {
    let one_of = |name: &str, default: Option<&str>, allowed: &[&str]| -> Result<String, ProviderError> {
        let v = known_str(planned, name)
            .or(default.map(str::to_string))
            .ok_or_else(|| ProviderError::permanent(format!("{name} is required")))?;
        if allowed.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(ProviderError::permanent(format!("{name} = {v:?} is not one of {}", allowed.join(", "))))
        }
    };
    let protocol = one_of("protocol", Some("ANY"), &["TCP", "UDP", "ICMP", "ANY"])?;
    let from = attr_num(planned, "port_from").map(|p| p as u64);
    let to = attr_num(planned, "port_to").map(|p| p as u64).or(from);
    if from.is_some() && !matches!(protocol.as_str(), "TCP" | "UDP") {
        return Err(ProviderError::permanent(format!("ports apply to TCP and UDP rules only, not {protocol}")));
    }
    Ok(json!({
        "direction": one_of("direction", None, &["inbound", "outbound"])?,
        "action": one_of("action", None, &["accept", "drop"])?,
        "protocol": protocol,
        "ip_range": known_str(planned, "ip_range").unwrap_or_else(|| "0.0.0.0/0".into()),
        "dest_port_from": from,
        "dest_port_to": to,
    }))
}

pub async fn create_rule(ctx: &Ctx, planned: &Value) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(planned);
    let group = required_str(planned, "security_group_id")?;
    let created = ctx.api.create_rule(&zone, &group, &rule_body(planned)?).await?;
    Ok(rule_state(&created, planned, &zone, &group))
}

pub async fn read_rule(ctx: &Ctx, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(wanted);
    let group = required_str(wanted, "security_group_id")?;
    let found = ctx.api.rule(&zone, &group, &required_str(wanted, "id")?).await?;
    Ok(found.map(|r| rule_state(&r, wanted, &zone, &group)))
}

pub async fn update_rule(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(prior);
    let group = required_str(prior, "security_group_id")?;
    let mut body = rule_body(planned)?;
    // 0 unsets a port on PATCH (null would leave it as it is).
    for key in ["dest_port_from", "dest_port_to"] {
        if body[key].is_null() {
            body[key] = json!(0);
        }
    }
    let updated = ctx.api.update_rule(&zone, &group, &required_str(prior, "id")?, &body).await?;
    Ok(rule_state(&updated, planned, &zone, &group))
}

pub async fn delete_rule(ctx: &Ctx, state: &Value) -> Result<(), ProviderError> {
    let zone = ctx.zone_of(state);
    let group = required_str(state, "security_group_id")?;
    match ctx.api.delete_rule(&zone, &group, &required_str(state, "id")?).await {
        Ok(_) => Ok(()),
        // The group (and so the rule) is gone already.
        Err(e) if e.class == tarn_sdk::ErrorClass::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A rule identical to the planned one (rules carry no tags).
pub async fn adopt_rule(ctx: &Ctx, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(planned);
    let group = required_str(planned, "security_group_id")?;
    let wanted = rule_body(planned)?;
    let same = |r: &Json| {
        ["direction", "action", "protocol", "ip_range", "dest_port_from", "dest_port_to"]
            .iter()
            .all(|k| r.get(*k) == wanted.get(*k))
    };
    let rules = ctx.api.rules(&zone, &group).await?;
    Ok(rules.iter().find(|r| same(r)).map(|r| rule_state(r, planned, &zone, &group)))
}

/// Import id `[<zone>/]<group id>/<rule id>`.
pub async fn import_rule(ctx: &Ctx, id: &str) -> Result<Option<Value>, ProviderError> {
    let parts: Vec<&str> = id.split('/').collect();
    let (zone, group, rule) = match parts.as_slice() {
        [group, rule] => (ctx.zone.as_str(), *group, *rule),
        [zone, group, rule] => (*zone, *group, *rule),
        _ => {
            return Err(ProviderError::permanent(format!(
                "import id {id:?} must be [<zone>/]<security group id>/<rule id>"
            )));
        }
    };
    checked_zone(zone)?;
    uuid(group, "security group")?;
    Ok(ctx.api.rule(zone, group, rule).await?.map(|r| rule_state(&r, &Value::Null, zone, group)))
}

pub fn rule_state(api: &Json, wanted: &Value, zone: &str, group: &str) -> Value {
    let text = |k: &str| api.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
    let unless = |name: &str, actual: Value, default: Value| {
        if actual == default && wanted.get(name).is_none_or(Value::is_null) { Value::Null } else { actual }
    };
    let port = |k: &str| api.get(k).and_then(Json::as_u64).map_or(Value::Null, Value::number);
    let from = port("dest_port_from");
    let to = unless("port_to", port("dest_port_to"), from.clone());
    Value::map([
        ("security_group_id", Value::string(group)),
        ("zone", Value::string(zone)),
        ("direction", Value::string(text("direction"))),
        ("action", Value::string(text("action"))),
        ("protocol", unless("protocol", Value::string(text("protocol")), Value::string("ANY"))),
        ("ip_range", unless("ip_range", Value::string(text("ip_range")), Value::string("0.0.0.0/0"))),
        ("port_from", from),
        ("port_to", to),
        ("id", Value::string(text("id"))),
    ])
}
