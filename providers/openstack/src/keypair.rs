//! `openstack_compute_keypair`: a key pair imported from a public key. Nova cannot change a
//! key pair, so every attribute forces a replacement; the name is its id (import, adopt).
//!
//! Adoption after a crash finds the key pair by name and accepts it only when it holds the
//! planned public key: a key pair of the same name with another key is someone else's.

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::api::{Api, keypair_name};
use tarn_sdk::attrs::required_str;

pub async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let name = required_str(planned, "name")?;
    let key = required_str(planned, "public_key")?;
    let created = api.create_keypair(&name, key.trim()).await.map_err(|mut e| {
        if e.class == tarn_sdk::ErrorClass::Conflict {
            e.message.push_str(&format!(
                ": a key pair named {name:?} already exists; import it (tarn import openstack_compute_keypair.<name> {name}) or pick another name"
            ));
        }
        e
    })?;
    Ok(to_state(&created, planned))
}

pub async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let name = required_str(state, "name")?;
    Ok(api.keypair(&name).await?.map(|k| to_state(&k, state)))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    api.delete_keypair(&required_str(state, "name")?).await.map(|_| ())
}

pub async fn import(api: &Api, name: &str) -> Result<Option<Value>, ProviderError> {
    keypair_name(name)?;
    Ok(api.keypair(name).await?.map(|k| to_state(&k, &Value::Null)))
}

pub async fn adopt(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let name = required_str(planned, "name")?;
    let key = required_str(planned, "public_key")?;
    Ok(api
        .keypair(&name)
        .await?
        .filter(|k| k.get("public_key").and_then(Json::as_str).map(str::trim) == Some(key.trim()))
        .map(|k| to_state(&k, planned)))
}

/// The key pair as tarn's attributes. The public key keeps the configuration's spelling when
/// it is the same key (Nova may trim a trailing newline).
fn to_state(keypair: &Json, known: &Value) -> Value {
    let s = |key: &str| keypair.get(key).and_then(Json::as_str).unwrap_or_default().to_string();
    let api_key = s("public_key");
    let public_key = match tarn_sdk::attrs::attr_str(known, "public_key") {
        Some(k) if k.trim() == api_key.trim() => k,
        _ => api_key,
    };
    Value::map([
        ("name", Value::string(s("name"))),
        ("public_key", Value::string(public_key)),
        ("fingerprint", Value::string(s("fingerprint"))),
        ("user_id", if keypair.get("user_id").is_some() { Value::string(s("user_id")) } else { Value::Null }),
    ])
}
