//! `openstack_compute_instance`: tarn attributes ⇄ Nova's server, and its lifecycle.
//!
//! Create posts the server (flavor by id, or by name resolved through the flavor list), then
//! waits for ACTIVE and, with `power_state = "shutoff"`, stops it. Once Nova has accepted the
//! server any later failure (ERROR with its fault, a time-out) is `PartiallyCreated`, so the
//! server is recorded, never lost. Update renames in place (PUT), changes the power state
//! (os-start / os-stop, waited for) and reboots when `reboot_trigger` changes. Delete waits until
//! the server is gone. Every server carries the metadata key `tarn-correlation`, which `adopt`
//! looks for and which state never shows.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::api::{Api, WaitError, uuid};
use tarn_sdk::attrs::{attr_str, attr_strings, known_str, required_str, string_list};

/// The metadata key that carries a create's correlation.
pub const CORRELATION_KEY: &str = "tarn-correlation";

const POWER_STATES: &[&str] = &["active", "shutoff"];
const REBOOT_TYPES: &[&str] = &["SOFT", "HARD"];

/// The checks that need no API.
pub fn validate(planned: &Value) -> Result<(), ProviderError> {
    let one_of = |name: &str, allowed: &[&str]| match known_str(planned, name) {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(ProviderError::permanent(format!("{name} = {v:?} is not one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    };
    one_of("power_state", POWER_STATES)?;
    one_of("reboot_type", REBOOT_TYPES)?;
    if let Some(image) = known_str(planned, "image_id") {
        uuid(&image, "image_id")?;
    }
    for network in attr_strings(planned, "network_ids").unwrap_or_default() {
        uuid(&network, "network id")?;
    }
    Ok(())
}

/// The flavor id of `planned`: `flavor_id`, else the flavor named `flavor_name`.
async fn flavor_id(api: &Api, planned: &Value) -> Result<String, ProviderError> {
    if let Some(id) = known_str(planned, "flavor_id") {
        return Ok(id);
    }
    let Some(name) = known_str(planned, "flavor_name") else {
        return Err(ProviderError::permanent(
            "a server needs a flavor: set flavor_id or flavor_name (OVH: d2-2, b3-8, …)",
        ));
    };
    let flavors = api.flavors().await?;
    match flavors.iter().find(|f| f.get("name").and_then(Json::as_str) == Some(name.as_str())) {
        Some(f) => Ok(f.get("id").and_then(Json::as_str).unwrap_or_default().to_string()),
        None => {
            let mut names: Vec<&str> = flavors.iter().filter_map(|f| f.get("name").and_then(Json::as_str)).collect();
            names.sort();
            Err(ProviderError::permanent(format!(
                "no flavor is named {name:?} in this region; there are: {}",
                names.join(", ")
            )))
        }
    }
}

/// The create body.
fn create_body(planned: &Value, flavor: &str, correlation: &str) -> Result<Json, ProviderError> {
    let mut s = Map::new();
    s.insert("name".into(), json!(required_str(planned, "name")?));
    s.insert("flavorRef".into(), json!(flavor));
    s.insert("imageRef".into(), json!(uuid(&required_str(planned, "image_id")?, "image_id")?));
    if let Some(key) = known_str(planned, "key_pair") {
        s.insert("key_name".into(), json!(key));
    }
    if let Some(networks) = attr_strings(planned, "network_ids").filter(|n| !n.is_empty()) {
        s.insert("networks".into(), json!(networks.iter().map(|n| json!({"uuid": n})).collect::<Vec<_>>()));
    }
    if let Some(groups) = attr_strings(planned, "security_groups").filter(|g| !g.is_empty()) {
        s.insert("security_groups".into(), json!(groups.iter().map(|g| json!({"name": g})).collect::<Vec<_>>()));
    }
    if let Some(data) = attr_str(planned, "user_data").filter(|d| !d.is_empty()) {
        s.insert("user_data".into(), json!(base64::engine::general_purpose::STANDARD.encode(data.as_bytes())));
    }
    let mut metadata = user_metadata(planned);
    metadata.insert(CORRELATION_KEY.to_string(), correlation.to_string());
    s.insert("metadata".into(), json!(metadata));
    Ok(json!({"server": s}))
}

fn user_metadata(v: &Value) -> BTreeMap<String, String> {
    v.get("metadata")
        .and_then(|m| m.unmark().0.as_map().cloned())
        .map(|m| m.iter().filter_map(|(k, v)| v.unmark().0.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

pub async fn create(api: &Api, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    validate(planned)?;
    let flavor = flavor_id(api, planned).await?;
    let created = api.create_server(&create_body(planned, &flavor, correlation)?).await?;
    let id = created.get("id").and_then(Json::as_str).unwrap_or_default().to_string();
    if id.is_empty() {
        return Err(ProviderError::permanent("Nova accepted the server but named no id; check the project's servers"));
    }
    // From here on the server exists: every failure must hand it back to be recorded.
    let partial = |message: String, server: Option<Json>| {
        let state = match &server {
            Some(s) => to_state(s, planned, None),
            None => placeholder(planned, &id, &flavor),
        };
        ProviderError::partially_created(format!("{message}; the server {id} exists and is recorded"), state)
    };
    let server = match api.wait_status(&id, &["ACTIVE"], "its build").await {
        Ok(s) => s,
        Err(WaitError::Failed { message, server } | WaitError::TimedOut { message, server }) => {
            return Err(partial(message, Some(server)));
        }
        Err(other) => return Err(partial(other.into_error(&id).message, None)),
    };
    let server = if known_str(planned, "power_state").as_deref() == Some("shutoff") {
        match power(api, &id, "shutoff").await {
            Ok(s) => s,
            Err(e) => return Err(partial(e.message, Some(server))),
        }
    } else {
        server
    };
    let flavor_name = flavor_name(api, &server, planned).await.ok().flatten();
    Ok(to_state(&server, planned, flavor_name))
}

/// The state of a server Nova accepted but tarn never saw again.
fn placeholder(planned: &Value, id: &str, flavor: &str) -> Value {
    let mut m = planned.as_map().cloned().unwrap_or_default();
    m.insert("id".into(), Value::string(id));
    m.insert("flavor_id".into(), Value::string(flavor));
    for key in ["status", "access_ip_v4", "access_ip_v6", "created", "flavor_name", "security_groups"] {
        if m.get(key).is_none_or(Value::is_unknown) {
            m.insert(key.into(), Value::Null);
        }
    }
    Value::Map(m)
}

/// Starts or stops the server and waits for the status; answers the server as it then is.
async fn power(api: &Api, id: &str, wanted: &str) -> Result<Json, ProviderError> {
    let (body, status) = match wanted {
        "shutoff" => (json!({"os-stop": null}), "SHUTOFF"),
        _ => (json!({"os-start": null}), "ACTIVE"),
    };
    api.action(id, &body).await?;
    api.wait_status(id, &[status], &format!("{} to {status}", if status == "SHUTOFF" { "os-stop" } else { "os-start" }))
        .await
        .map_err(|e| e.into_error(id))
}

pub async fn read(api: &Api, state: &Value) -> Result<Option<Value>, ProviderError> {
    let id = required_str(state, "id")?;
    let Some(server) = api.server(&id).await? else { return Ok(None) };
    let flavor_name = flavor_name(api, &server, state).await?;
    Ok(Some(to_state(&server, state, flavor_name)))
}

/// The flavor's name: looked up when the flavor changed or was never named.
async fn flavor_name(api: &Api, server: &Json, prior: &Value) -> Result<Option<String>, ProviderError> {
    let id = server.pointer("/flavor/id").and_then(Json::as_str).unwrap_or_default();
    if known_str(prior, "flavor_id").as_deref() == Some(id)
        && let Some(name) = known_str(prior, "flavor_name")
    {
        return Ok(Some(name));
    }
    if id.is_empty() {
        return Ok(None);
    }
    Ok(api.flavor(id).await?.and_then(|f| f.get("name").and_then(Json::as_str).map(str::to_string)))
}

pub async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    validate(planned)?;
    let id = required_str(prior, "id")?;
    let name = required_str(planned, "name")?;
    // Compared with the server as it is now, not with `prior`: a change made behind tarn's
    // back must be undone even when the prior state does not show it.
    let Some(mut server) = api.server(&id).await? else {
        return Err(ProviderError::not_found(format!("server {id} is gone")));
    };
    if server.get("name").and_then(Json::as_str) != Some(name.as_str()) {
        api.rename_server(&id, &name).await?;
        server = api.server(&id).await?.ok_or_else(|| ProviderError::not_found(format!("server {id} is gone")))?;
    }
    let wanted = known_str(planned, "power_state").unwrap_or_else(|| "active".into());
    let now = if server.get("status").and_then(Json::as_str) == Some("SHUTOFF") { "shutoff" } else { "active" };
    if wanted != now {
        server = power(api, &id, &wanted).await?;
    }
    let trigger = attr_str(planned, "reboot_trigger");
    if trigger.is_some() && trigger != attr_str(prior, "reboot_trigger") {
        if wanted == "shutoff" {
            return Err(ProviderError::permanent(
                "reboot_trigger changed on a server whose power_state is shutoff; Nova reboots only running servers",
            ));
        }
        let kind = known_str(planned, "reboot_type").unwrap_or_else(|| "SOFT".into());
        api.action(&id, &json!({"reboot": {"type": kind}})).await?;
        server = api.wait_status(&id, &["ACTIVE"], "its reboot").await.map_err(|e| e.into_error(&id))?;
    }
    let flavor_name = flavor_name(api, &server, prior).await?;
    Ok(to_state(&server, planned, flavor_name))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let id = required_str(state, "id")?;
    if api.delete_server(&id).await? {
        api.wait_gone(&id).await?;
    }
    Ok(())
}

pub async fn import(api: &Api, id: &str) -> Result<Option<Value>, ProviderError> {
    uuid(id, "import id (a server id)")?;
    let Some(server) = api.server(id).await? else { return Ok(None) };
    let flavor_name = flavor_name(api, &server, &Value::Null).await?;
    Ok(Some(to_state(&server, &Value::Null, flavor_name)))
}

/// The server an interrupted create made, found by its correlation metadata.
pub async fn adopt(api: &Api, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let name = attr_str(planned, "name").unwrap_or_default();
    let servers = api.servers(&[]).await?;
    let found = servers.into_iter().find(|s| {
        s.pointer(&format!("/metadata/{CORRELATION_KEY}")).and_then(Json::as_str) == Some(correlation)
            && (name.is_empty() || s.get("name").and_then(Json::as_str) == Some(name.as_str()))
    });
    let Some(server) = found else { return Ok(None) };
    let flavor_name = flavor_name(api, &server, planned).await?;
    Ok(Some(to_state(&server, planned, flavor_name)))
}

/// The server as tarn's attributes. What the API never shows (user data, the reboot trigger)
/// is kept from `known`: the planned or prior object.
pub fn to_state(server: &Json, known: &Value, flavor_name: Option<String>) -> Value {
    let s = |key: &str| server.get(key).and_then(Json::as_str).unwrap_or_default().to_string();
    let opt = |v: Option<String>| v.map(Value::string).unwrap_or(Value::Null);
    let status = s("status");
    let power_state = if status == "SHUTOFF" {
        Some("shutoff".to_string())
    } else {
        // Null while the API holds the default, unless the configuration names it.
        known_str(known, "power_state").filter(|p| p == "active")
    };
    let metadata: BTreeMap<String, String> = server
        .get("metadata")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| k.as_str() != CORRELATION_KEY)
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let metadata = if metadata.is_empty() && known.get("metadata").is_none_or(Value::is_null) {
        Value::Null
    } else {
        Value::Map(metadata.into_iter().map(|(k, v)| (k, Value::string(v))).collect())
    };
    let groups: Vec<String> = server
        .get("security_groups")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.get("name").and_then(Json::as_str).map(str::to_string))
        .collect();
    let networks = attr_strings(known, "network_ids");
    let (v4, v6) = first_addresses(server);
    let key = server.get("key_name").and_then(Json::as_str).map(str::to_string);
    Value::map([
        ("name", Value::string(s("name"))),
        ("flavor_id", opt(server.pointer("/flavor/id").and_then(Json::as_str).map(str::to_string))),
        ("flavor_name", opt(flavor_name)),
        ("image_id", opt(server.pointer("/image/id").and_then(Json::as_str).map(str::to_string))),
        ("key_pair", opt(key)),
        ("network_ids", networks.map(|n| string_list(&n)).unwrap_or(Value::Null)),
        ("security_groups", string_list(&groups)),
        ("user_data", known.get("user_data").map(|v| v.unmark().0.clone()).unwrap_or(Value::Null)),
        ("metadata", metadata),
        ("power_state", opt(power_state)),
        ("reboot_trigger", opt(attr_str(known, "reboot_trigger"))),
        ("reboot_type", opt(known_str(known, "reboot_type"))),
        ("id", Value::string(s("id"))),
        ("status", Value::string(status)),
        ("access_ip_v4", opt(v4)),
        ("access_ip_v6", opt(v6)),
        ("created", opt(Some(s("created")).filter(|c| !c.is_empty()))),
    ])
}

/// The first IPv4 and IPv6 addresses, in network name order.
fn first_addresses(server: &Json) -> (Option<String>, Option<String>) {
    let mut v4 = None;
    let mut v6 = None;
    if let Some(networks) = server.get("addresses").and_then(Json::as_object) {
        for addr in networks.values().filter_map(Json::as_array).flatten() {
            let ip = addr.get("addr").and_then(Json::as_str).map(str::to_string);
            match addr.get("version").and_then(Json::as_u64) {
                Some(4) if v4.is_none() => v4 = ip,
                Some(6) if v6.is_none() => v6 = ip,
                _ => {}
            }
        }
    }
    (v4, v6)
}
