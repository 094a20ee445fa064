//! `digitalocean_ssh_key`: an SSH public key of the account. Create, read, rename (PUT), delete,
//! import by id or fingerprint, and adoption by content (a key carries no tags: after a crash,
//! the key with the planned public key is the one the create made).

use serde_json::{Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use crate::values::{id_text, opt_text, required_str};

/// The key part of a public key line (`ssh-ed25519 AAAA… comment` → `ssh-ed25519 AAAA…`).
fn key_part(public_key: &str) -> String {
    public_key.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

pub async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let name = required_str(planned, "name")?;
    let public_key = required_str(planned, "public_key")?;
    let created = api.create_ssh_key(&json!({"name": name, "public_key": public_key.trim()})).await?;
    Ok(state(&created, planned))
}

pub async fn read(api: &Api, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let id = required_str(wanted, "id")?;
    Ok(api.ssh_key(&id).await?.map(|k| state(&k, wanted)))
}

pub async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let id = required_str(prior, "id")?;
    let updated = api.update_ssh_key(&id, &json!({"name": required_str(planned, "name")?})).await?;
    Ok(state(&updated, planned))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    api.delete_ssh_key(&required_str(state, "id")?).await.map(|_| ())
}

pub async fn import(api: &Api, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(api.ssh_key(id).await?.map(|k| state(&k, &Value::Null)))
}

pub async fn adopt(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let wanted = key_part(&required_str(planned, "public_key")?);
    let keys = api.ssh_keys().await?;
    let found = keys
        .iter()
        .find(|k| k.get("public_key").and_then(Json::as_str).map(key_part).as_deref() == Some(wanted.as_str()));
    Ok(found.map(|k| state(k, planned)))
}

/// The state for an API key. The public key is kept as configured while it is the same key
/// (the API may trim or respell the comment).
pub fn state(api: &Json, wanted: &Value) -> Value {
    let actual = api.get("public_key").and_then(Json::as_str).unwrap_or_default();
    let public_key = match crate::values::attr_str(wanted, "public_key") {
        Some(w) if key_part(&w) == key_part(actual) => Value::string(w),
        _ => Value::string(actual),
    };
    Value::map([
        ("name", Value::string(api.get("name").and_then(Json::as_str).unwrap_or_default())),
        ("public_key", public_key),
        ("id", Value::string(id_text(api.get("id")))),
        ("fingerprint", opt_text(api, "/fingerprint")),
    ])
}
