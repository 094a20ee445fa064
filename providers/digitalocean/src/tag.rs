//! `digitalocean_tag`: a tag, created and deleted by name (its id). Creating a tag that exists
//! answers the existing one, so a create after a crash adopts it naturally.

use tarn_sdk::{ProviderError, Value};

use crate::api::{Api, tag_name};
use crate::values::required_str;

pub async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let name = required_str(planned, "name")?;
    tag_name(&name)?;
    let created = api.create_tag(&name).await?;
    Ok(state(created.get("name").and_then(serde_json::Value::as_str).unwrap_or(&name)))
}

pub async fn read(api: &Api, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let name = required_str(wanted, "name")?;
    Ok(api.tag(&name).await?.map(|t| state(t.get("name").and_then(serde_json::Value::as_str).unwrap_or(&name))))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    api.delete_tag(&required_str(state, "name")?).await.map(|_| ())
}

pub async fn import(api: &Api, name: &str) -> Result<Option<Value>, ProviderError> {
    Ok(api.tag(name).await?.map(|t| state(t.get("name").and_then(serde_json::Value::as_str).unwrap_or(name))))
}

fn state(name: &str) -> Value {
    Value::map([("name", Value::string(name)), ("id", Value::string(name))])
}
