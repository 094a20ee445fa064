//! `digitalocean_domain`: a domain DigitalOcean serves DNS for, created (with an optional apex A
//! record from `ip_address`), read, deleted and imported by name. The API never shows
//! `ip_address` again, so state keeps it as configured.

use serde_json::{Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::api::{Api, domain_name};
use crate::values::{known_str, required_str};

pub async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let name = required_str(planned, "name")?;
    domain_name(&name)?;
    let mut body = json!({"name": name});
    if let Some(ip) = known_str(planned, "ip_address") {
        body["ip_address"] = json!(ip);
    }
    api.create_domain(&body).await?;
    // The create answer has no TTL yet; the domain as read has.
    let current = api
        .domain(&name)
        .await?
        .ok_or_else(|| ProviderError::permanent(format!("domain {name} vanished right after it was created")))?;
    Ok(state(&current, planned))
}

pub async fn read(api: &Api, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let name = required_str(wanted, "name")?;
    Ok(api.domain(&name).await?.map(|d| state(&d, wanted)))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    api.delete_domain(&required_str(state, "name")?).await.map(|_| ())
}

pub async fn import(api: &Api, name: &str) -> Result<Option<Value>, ProviderError> {
    domain_name(name)?;
    Ok(api.domain(name).await?.map(|d| state(&d, &Value::Null)))
}

fn state(api: &Json, wanted: &Value) -> Value {
    let name = api.get("name").and_then(Json::as_str).unwrap_or_default();
    Value::map([
        ("name", Value::string(name)),
        ("ip_address", wanted.get("ip_address").cloned().unwrap_or(Value::Null)),
        ("id", Value::string(name)),
        ("ttl", api.get("ttl").and_then(Json::as_f64).map_or(Value::Null, Value::number)),
    ])
}
