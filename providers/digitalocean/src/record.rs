//! `digitalocean_record`: one DNS record (A, AAAA, CNAME, TXT, MX) of a domain. Create, read,
//! update in place (PUT), delete, import as `<domain>,<record id>`, and adoption by content
//! (records carry no tags: after a crash, the record of the planned type, name and value is
//! the one the create made).

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::api::{Api, domain_name};
use crate::values::{attr_num, attr_str, id_text, required_str};

const TYPES: &[&str] = &["A", "AAAA", "CNAME", "TXT", "MX"];

fn record_type(planned: &Value) -> Result<String, ProviderError> {
    let t = required_str(planned, "type")?.to_ascii_uppercase();
    if TYPES.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(ProviderError::permanent(format!("record type {t:?} is not supported; use one of {}", TYPES.join(", "))))
    }
}

fn body(planned: &Value) -> Result<Json, ProviderError> {
    let kind = record_type(planned)?;
    let mut b = Map::new();
    b.insert("type".into(), json!(kind));
    b.insert("name".into(), json!(required_str(planned, "name")?));
    b.insert("data".into(), json!(required_str(planned, "value")?));
    if let Some(ttl) = attr_num(planned, "ttl") {
        b.insert("ttl".into(), json!(ttl as u64));
    }
    match (kind.as_str(), attr_num(planned, "priority")) {
        ("MX", Some(p)) => drop(b.insert("priority".into(), json!(p as u64))),
        ("MX", None) => return Err(ProviderError::permanent("an MX record needs a priority")),
        (_, Some(_)) => return Err(ProviderError::permanent("priority applies to MX records only")),
        _ => {}
    }
    Ok(Json::Object(b))
}

pub async fn create(api: &Api, planned: &Value) -> Result<Value, ProviderError> {
    let domain = required_str(planned, "domain")?;
    let created = api.create_record(&domain, &body(planned)?).await?;
    Ok(state(&created, &domain, planned))
}

pub async fn read(api: &Api, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let domain = required_str(wanted, "domain")?;
    let id = required_str(wanted, "id")?;
    Ok(api.record(&domain, &id).await?.map(|r| state(&r, &domain, wanted)))
}

pub async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let domain = required_str(prior, "domain")?;
    let id = required_str(prior, "id")?;
    let updated = api.update_record(&domain, &id, &body(planned)?).await?;
    Ok(state(&updated, &domain, planned))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let domain = required_str(state, "domain")?;
    api.delete_record(&domain, &required_str(state, "id")?).await.map(|_| ())
}

/// Import id `<domain>,<record id>` (Terraform's form), or `<domain>/<record id>`.
pub async fn import(api: &Api, id: &str) -> Result<Option<Value>, ProviderError> {
    let (domain, record) = id.split_once(',').or_else(|| id.split_once('/')).ok_or_else(|| {
        ProviderError::permanent(format!(
            "import id {id:?}: a record is imported as <domain>,<record id> (example.com,3352896)"
        ))
    })?;
    domain_name(domain)?;
    Ok(api.record(domain, record).await?.map(|r| state(&r, domain, &Value::Null)))
}

pub async fn adopt(api: &Api, planned: &Value) -> Result<Option<Value>, ProviderError> {
    let domain = required_str(planned, "domain")?;
    let kind = record_type(planned)?;
    let name = required_str(planned, "name")?;
    let value = required_str(planned, "value")?;
    let fqdn = fqdn(&name, &domain);
    let found = api.records(&domain, &[("type", kind.as_str()), ("name", fqdn.as_str())]).await?;
    Ok(found
        .iter()
        .find(|r| same_data(r.get("data").and_then(Json::as_str).unwrap_or_default(), &value))
        .map(|r| state(r, &domain, planned)))
}

fn fqdn(name: &str, domain: &str) -> String {
    if name == "@" || name.is_empty() { domain.to_string() } else { format!("{name}.{domain}") }
}

/// Host names compare without their final dot.
fn same_data(a: &str, b: &str) -> bool {
    a == b || a.trim_end_matches('.') == b.trim_end_matches('.')
}

fn state(api: &Json, domain: &str, wanted: &Value) -> Value {
    let name = api.get("name").and_then(Json::as_str).unwrap_or_default();
    let data = api.get("data").and_then(Json::as_str).unwrap_or_default();
    let value = match attr_str(wanted, "value") {
        Some(w) if same_data(&w, data) => Value::string(w),
        _ => Value::string(data),
    };
    // The type as configured when it names the same type (`a` and `A`).
    let actual = api.get("type").and_then(Json::as_str).unwrap_or_default();
    let kind = match attr_str(wanted, "type") {
        Some(w) if w.eq_ignore_ascii_case(actual) => Value::string(w),
        _ => Value::string(actual),
    };
    let number = |k: &str| api.get(k).and_then(Json::as_f64).map_or(Value::Null, Value::number);
    Value::map([
        ("domain", Value::string(domain)),
        ("type", kind),
        ("name", Value::string(name)),
        ("value", value),
        ("ttl", number("ttl")),
        ("priority", number("priority")),
        ("id", Value::string(id_text(api.get("id")))),
        ("fqdn", Value::string(fqdn(name, domain))),
    ])
}
