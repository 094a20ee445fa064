//! `digitalocean_loadbalancer`: forwarding rules, a health check, and droplets by id or by tag.
//! Created (waiting until it is active), read, replaced in place by PUT with the whole object,
//! deleted, imported by id, adopted by name and region (a load balancer carries no tags).
//!
//! Unset optional fields of the rules and the health check read back as null while the API
//! holds its default, so a configuration that leaves them out plans clean.

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use crate::values::{
    attr_bool, attr_strings, id_number, id_text, ids_of, known_str, opt_text, required_str, string_list,
    unless_default, unset,
};

/// The health check's defaults, as the spec gives them.
const HEALTHCHECK_DEFAULTS: &[(&str, HealthDefault)] = &[
    ("protocol", HealthDefault::Text("http")),
    ("port", HealthDefault::Number(80)),
    ("path", HealthDefault::Text("/")),
    ("check_interval_seconds", HealthDefault::Number(10)),
    ("response_timeout_seconds", HealthDefault::Number(5)),
    ("unhealthy_threshold", HealthDefault::Number(5)),
    ("healthy_threshold", HealthDefault::Number(3)),
];

enum HealthDefault {
    Text(&'static str),
    Number(u64),
}

fn field<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object.get(name).map(|v| v.unmark().0).filter(|v| !v.is_null())
}

fn rules_body(planned: &Value) -> Result<Vec<Json>, ProviderError> {
    let rules = planned.get("forwarding_rule").and_then(|v| v.unmark().0.as_list()).unwrap_or_default();
    if rules.is_empty() {
        return Err(ProviderError::permanent("a load balancer needs at least one forwarding_rule"));
    }
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let rule = rule.unmark().0;
        let text = |k: &str| {
            field(rule, k).and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
                ProviderError::permanent(format!("forwarding_rule[{i}].{k} is missing; it must be a string"))
            })
        };
        let port = |k: &str| {
            field(rule, k)
                .and_then(Value::as_f64)
                .filter(|p| (1.0..=65535.0).contains(p) && p.fract() == 0.0)
                .map(|p| p as u64)
                .ok_or_else(|| ProviderError::permanent(format!("forwarding_rule[{i}].{k} must be a port, 1..65535")))
        };
        let mut r = Map::new();
        r.insert("entry_protocol".into(), json!(text("entry_protocol")?));
        r.insert("entry_port".into(), json!(port("entry_port")?));
        r.insert("target_protocol".into(), json!(text("target_protocol")?));
        r.insert("target_port".into(), json!(port("target_port")?));
        if let Some(c) = field(rule, "certificate_id").and_then(Value::as_str) {
            r.insert("certificate_id".into(), json!(c));
        }
        if let Some(t) = field(rule, "tls_passthrough").and_then(Value::as_bool) {
            r.insert("tls_passthrough".into(), json!(t));
        }
        out.push(Json::Object(r));
    }
    Ok(out)
}

fn body(planned: &Value) -> Result<Json, ProviderError> {
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    b.insert("region".into(), json!(required_str(planned, "region")?));
    if let Some(size) = known_str(planned, "size") {
        b.insert("size".into(), json!(size));
    }
    b.insert("forwarding_rules".into(), Json::Array(rules_body(planned)?));
    if let Some(hc) = planned.get("healthcheck").map(|v| v.unmark().0).filter(|v| !v.is_null()) {
        let mut h = Map::new();
        for (name, default) in HEALTHCHECK_DEFAULTS {
            let value = match (field(hc, name), default) {
                (Some(v), HealthDefault::Text(_)) => json!(v.as_str().unwrap_or_default()),
                (Some(v), HealthDefault::Number(_)) => json!(v.as_f64().unwrap_or_default() as u64),
                (None, HealthDefault::Text(t)) => json!(t),
                (None, HealthDefault::Number(n)) => json!(n),
            };
            h.insert(name.to_string(), value);
        }
        b.insert("health_check".into(), Json::Object(h));
    }
    let ids = attr_strings(planned, "droplet_ids");
    let tag = known_str(planned, "droplet_tag");
    match (ids, tag) {
        (Some(ids), Some(_)) if !ids.is_empty() => {
            return Err(ProviderError::permanent("set droplet_ids or droplet_tag, not both"));
        }
        (_, Some(tag)) => drop(b.insert("tag".into(), json!(tag))),
        (Some(ids), None) => {
            let ids: Result<Vec<Json>, _> = ids.iter().map(|i| id_number(i, "droplet id")).collect();
            b.insert("droplet_ids".into(), Json::Array(ids?));
        }
        (None, None) => {}
    }
    b.insert("redirect_http_to_https".into(), json!(attr_bool(planned, "redirect_http_to_https").unwrap_or(false)));
    Ok(Json::Object(b))
}

/// Waits until the load balancer is active (it answers `new` while it is being set up).
async fn until_active(api: &Api, id: &str, mut current: Json) -> Result<Json, ProviderError> {
    let polling = api.polling_settings();
    let started = tokio::time::Instant::now();
    let mut wait = polling.interval;
    loop {
        match current.get("status").and_then(Json::as_str) {
            Some("active") => return Ok(current),
            Some("errored") => {
                return Err(ProviderError::permanent(format!("load balancer {id} errored while being set up")));
            }
            _ => {}
        }
        if started.elapsed() >= polling.timeout {
            return Err(ProviderError::permanent(format!(
                "load balancer {id} was still not active after {}s (action_timeout)",
                polling.timeout.as_secs_f64()
            )));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(polling.max_interval);
        current = api
            .load_balancer(id)
            .await?
            .ok_or_else(|| ProviderError::not_found(format!("load balancer {id} vanished while being set up")))?;
    }
}

pub async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let created = api.create_load_balancer(&body(planned)?).await?;
    let id = id_text(created.get("id"));
    match until_active(api, &id, created.clone()).await {
        Ok(lb) => Ok(state(&lb, planned)),
        Err(e) => Err(ProviderError::partially_created(
            format!("load balancer {id} was created, but did not become active: {}", e.message),
            state(&created, planned),
        )),
    }
}

pub async fn read(api: &Api, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let id = required_str(wanted, "id")?;
    Ok(api.load_balancer(&id).await?.map(|lb| state(&lb, wanted)))
}

pub async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let id = required_str(prior, "id")?;
    let updated = api.update_load_balancer(&id, &body(planned)?).await?;
    Ok(state(&updated, planned))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    api.delete_load_balancer(&required_str(state, "id")?).await.map(|_| ())
}

pub async fn import(api: &Api, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(api.load_balancer(id).await?.map(|lb| state(&lb, &Value::Null)))
}

pub async fn adopt(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let name = required_str(planned, "name")?;
    let region = required_str(planned, "region")?;
    let all = api.load_balancers().await?;
    Ok(all
        .iter()
        .find(|lb| {
            lb.get("name").and_then(Json::as_str) == Some(name.as_str())
                && lb.pointer("/region/slug").and_then(Json::as_str) == Some(region.as_str())
        })
        .map(|lb| state(lb, planned)))
}

fn rules_state(api: &Json, wanted: &Value) -> Value {
    let wanted_rules = wanted.get("forwarding_rule").and_then(|v| v.unmark().0.as_list()).unwrap_or_default();
    let rules = api.get("forwarding_rules").and_then(Json::as_array).cloned().unwrap_or_default();
    Value::List(
        rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let w = wanted_rules.get(i).map(|v| v.unmark().0.clone()).unwrap_or(Value::Null);
                let num = |k: &str| r.get(k).and_then(Json::as_f64).map_or(Value::Null, Value::number);
                let cert = r.get("certificate_id").and_then(Json::as_str).unwrap_or_default();
                let cert =
                    if cert.is_empty() && unset(&w, "certificate_id") { Value::Null } else { Value::string(cert) };
                let tls = r.get("tls_passthrough").and_then(Json::as_bool).unwrap_or(false);
                Value::map([
                    ("entry_protocol", opt_text(r, "/entry_protocol")),
                    ("entry_port", num("entry_port")),
                    ("target_protocol", opt_text(r, "/target_protocol")),
                    ("target_port", num("target_port")),
                    ("certificate_id", cert),
                    ("tls_passthrough", unless_default(&w, "tls_passthrough", Value::Bool(tls), Value::Bool(false))),
                ])
            })
            .collect(),
    )
}

fn healthcheck_state(api: &Json, wanted: &Value) -> Value {
    let Some(w) = wanted.get("healthcheck").map(|v| v.unmark().0.clone()).filter(|v| !v.is_null()) else {
        return Value::Null;
    };
    let hc = api.get("health_check").cloned().unwrap_or(Json::Null);
    Value::map(HEALTHCHECK_DEFAULTS.iter().map(|(name, default)| {
        let (actual, default) = match default {
            HealthDefault::Text(t) => (opt_text(&hc, &format!("/{name}")), Value::string(*t)),
            HealthDefault::Number(n) => {
                (hc.get(*name).and_then(Json::as_f64).map_or(Value::Null, Value::number), Value::number(*n))
            }
        };
        (*name, unless_default(&w, name, actual, default))
    }))
}

/// The state for an API load balancer, as `wanted` asked for it.
pub fn state(api: &Json, wanted: &Value) -> Value {
    let tag = api.get("tag").and_then(Json::as_str).filter(|t| !t.is_empty());
    let ids = ids_of(api.get("droplet_ids"));
    // With a tag, the API lists the tag's droplets in droplet_ids: they are not configured.
    let droplet_ids =
        if tag.is_some() || (ids.is_empty() && unset(wanted, "droplet_ids")) { Value::Null } else { string_list(&ids) };
    let redirect = api.get("redirect_http_to_https").and_then(Json::as_bool).unwrap_or(false);
    Value::map([
        ("name", opt_text(api, "/name")),
        ("region", opt_text(api, "/region/slug")),
        ("size", opt_text(api, "/size")),
        ("forwarding_rule", rules_state(api, wanted)),
        ("healthcheck", healthcheck_state(api, wanted)),
        ("droplet_ids", droplet_ids),
        ("droplet_tag", tag.map_or(Value::Null, Value::string)),
        (
            "redirect_http_to_https",
            unless_default(wanted, "redirect_http_to_https", Value::Bool(redirect), Value::Bool(false)),
        ),
        ("id", Value::string(id_text(api.get("id")))),
        ("ip", opt_text(api, "/ip")),
        ("status", opt_text(api, "/status")),
    ])
}
