//! `scaleway_instance_server`: tarn attributes ⇄ the API's server, and its lifecycle.
//!
//! Create posts the server (from an image, or "from scratch" from an existing volume), sets the
//! user data, and powers it on unless `state = "stopped"`; once the server exists any later
//! failure is `PartiallyCreated`, so it is recorded, never lost. Update stops the server around
//! the changes the API refuses on a running server (the commercial type, local volumes), then
//! brings it back to the planned power state. Delete powers off first, deletes the server, then
//! its root volume only with `delete_volumes_on_destroy = true` (kept, detached, by default). Every server carries the tag
//! `tarn-correlation:<tag>`, which `adopt` looks for and which state never shows.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::Ctx;
use crate::api::Api;
use crate::limits;
use crate::tags::{correlation_tags, user_tags};
use crate::values::{
    attr_bool, attr_num, attr_str, attr_strings, bytes_to_gb, gb_to_bytes, known_str, required_str, string_list,
};

/// The tag that carries a create's correlation: `tarn-correlation:<tag>`.
pub const CORRELATION_TAG: &str = "tarn-correlation";

/// The power states a configuration may ask for.
const STATES: &[&str] = &["started", "stopped"];
const BOOT_TYPES: &[&str] = &["local", "bootscript", "rescue"];
const ROOT_TYPES: &[&str] = &["l_ssd", "b_ssd", "sbs_volume"];

/// The checks that need no API: values in their enums.
pub fn validate(planned: &Value) -> Result<(), ProviderError> {
    let one_of = |name: &str, allowed: &[&str]| match known_str(planned, name) {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(ProviderError::permanent(format!("{name} = {v:?} is not one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    };
    one_of("state", STATES)?;
    one_of("boot_type", BOOT_TYPES)?;
    one_of("root_volume_type", ROOT_TYPES)
}

/// A new server needs exactly one way to get its root volume (once made, state has both the
/// image and the root volume it produced).
fn validate_new(planned: &Value) -> Result<(), ProviderError> {
    validate(planned)?;
    let image = planned.get("image").is_some_and(|v| !v.is_null());
    let root = planned.get("root_volume_id").is_some_and(|v| !v.is_null() && !v.is_unknown());
    if image == root {
        return Err(ProviderError::permanent(
            "a server needs exactly one of image (an id or a label) and root_volume_id (an existing volume, for a server made from scratch)",
        ));
    }
    Ok(())
}

/// The plan-time check of the local volume sizes (creates), and the defaults the API would
/// pick, so the plan shows them.
pub async fn refine(ctx: &Ctx, proposed: Value) -> Result<Value, ProviderError> {
    validate_new(&proposed)?;
    let zone = ctx.zone_of(&proposed);
    let mut planned = proposed;
    if let Value::Map(m) = &mut planned {
        if m.get("zone").is_some_and(Value::is_unknown) {
            m.insert("zone".into(), Value::string(zone.as_str()));
        }
        if m.get("project_id").is_some_and(Value::is_unknown) && !ctx.project.is_empty() {
            m.insert("project_id".into(), Value::string(ctx.project.as_str()));
        }
        if m.get("root_volume_type").is_some_and(Value::is_unknown) && m.get("image").is_some_and(|v| !v.is_null()) {
            m.insert("root_volume_type".into(), Value::string("l_ssd"));
        }
    }
    let Some(commercial_type) = known_str(&planned, "type") else { return Ok(planned) };
    let (bounds, _) = limits::limits(&ctx.api, &zone, &commercial_type).await?;
    if planned.get("image").is_some_and(|v| !v.is_null()) {
        let root_local = known_str(&planned, "root_volume_type").is_none_or(|t| t == "l_ssd");
        let root = match attr_num(&planned, "root_volume_size_in_gb") {
            Some(gb) => gb_to_bytes(gb),
            // The API picks at least the type's minimum.
            None => limits::default_root_size(bounds, 0),
        };
        let extra = additional_local_sizes(&ctx.api, &zone, &planned).await?;
        let total = (if root_local { root } else { 0 }) + extra.iter().sum::<u64>();
        limits::check(&commercial_type, bounds, total, &parts(root_local.then_some(root), &extra))?;
    }
    Ok(planned)
}

/// The sizes of the additional volumes that are local and already exist (ids not yet known are
/// checked when the server is changed).
async fn additional_local_sizes(api: &Api, zone: &str, planned: &Value) -> Result<Vec<u64>, ProviderError> {
    let mut sizes = Vec::new();
    for id in attr_strings(planned, "additional_volume_ids").unwrap_or_default() {
        let Some(volume) = api.volume(zone, &id).await? else {
            return Err(ProviderError::permanent(format!("additional volume {id} does not exist in {zone}")));
        };
        if volume.get("volume_type").and_then(Json::as_str) == Some("l_ssd") {
            sizes.push(volume.get("size").and_then(Json::as_u64).unwrap_or(0));
        }
    }
    Ok(sizes)
}

fn parts(root: Option<u64>, extra: &[u64]) -> String {
    let mut p: Vec<String> = root.map(|r| format!("root {} GB", bytes_to_gb(r))).into_iter().collect();
    p.extend(extra.iter().map(|s| format!("{} GB", bytes_to_gb(*s))));
    if p.is_empty() { "no local volume".into() } else { p.join(" + ") }
}

/// The create body.
fn create_body(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Json, ProviderError> {
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    b.insert("commercial_type".into(), json!(required_str(planned, "type")?));
    let project = known_str(planned, "project_id").unwrap_or_else(|| ctx.project.clone());
    if !project.is_empty() {
        b.insert("project".into(), json!(project));
    }
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.push(format!("{CORRELATION_TAG}:{correlation}"));
    b.insert("tags".into(), json!(tags));
    b.insert("dynamic_ip_required".into(), json!(attr_bool(planned, "enable_dynamic_ip").unwrap_or(true)));
    b.insert("enable_ipv6".into(), json!(attr_bool(planned, "enable_ipv6").unwrap_or(true)));
    b.insert("boot_type".into(), json!(known_str(planned, "boot_type").unwrap_or_else(|| "local".into())));
    if let Some(sg) = known_str(planned, "security_group_id") {
        b.insert("security_group".into(), json!(sg));
    }
    if let Some(ips) = attr_strings(planned, "public_ip_ids").filter(|l| !l.is_empty()) {
        b.insert("public_ips".into(), json!(ips));
    }
    let mut volumes = Map::new();
    match (known_str(planned, "image"), known_str(planned, "root_volume_id")) {
        (Some(image), _) => {
            b.insert("image".into(), json!(image));
            let mut root = Map::new();
            if let Some(gb) = attr_num(planned, "root_volume_size_in_gb") {
                root.insert("size".into(), json!(gb_to_bytes(gb)));
            }
            root.insert(
                "volume_type".into(),
                json!(known_str(planned, "root_volume_type").unwrap_or_else(|| "l_ssd".into())),
            );
            volumes.insert("0".into(), Json::Object(root));
        }
        (None, Some(root_id)) => {
            volumes.insert("0".into(), json!({"id": root_id, "boot": true}));
        }
        (None, None) => return Err(ProviderError::permanent("a server needs an image or a root_volume_id")),
    }
    for (i, id) in attr_strings(planned, "additional_volume_ids").unwrap_or_default().iter().enumerate() {
        volumes.insert((i + 1).to_string(), json!({"id": id}));
    }
    b.insert("volumes".into(), Json::Object(volumes));
    Ok(Json::Object(b))
}

pub async fn create(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    validate_new(planned)?;
    let zone = ctx.zone_of(planned);
    let created = ctx.api.create_server(&zone, &create_body(ctx, planned, correlation)?).await?;
    let id = created.get("id").and_then(Json::as_str).unwrap_or_default().to_string();
    // From here on the server exists: whatever fails is reported with its state, so the engine
    // records it rather than losing it.
    let partial = |e: ProviderError, server: &Json| {
        ProviderError::partially_created(
            format!("server {id} was created, but finishing it failed: {}", e.message),
            state(server, planned, &zone, None),
        )
    };
    let user_data = user_data_of(planned);
    for (key, value) in &user_data {
        if let Err(e) = ctx.api.set_user_data(&zone, &id, key, value).await {
            return Err(partial(e, &created));
        }
    }
    if known_str(planned, "state").as_deref() != Some("stopped")
        && let Err(e) = ctx.api.action(&zone, &id, "poweron").await
    {
        return Err(partial(e, &created));
    }
    let current = match ctx.api.server(&zone, &id).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(ProviderError::permanent(format!("server {id} vanished right after it was created"))),
        Err(e) => return Err(partial(e, &created)),
    };
    Ok(state(&current, planned, &zone, planned.get("user_data").is_some_and(|v| !v.is_null()).then_some(&user_data)))
}

pub async fn read(ctx: &Ctx, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(wanted);
    let id = required_str(wanted, "id")?;
    let Some(server) = ctx.api.server(&zone, &id).await? else { return Ok(None) };
    let user_data: Option<BTreeMap<String, String>> = match wanted.get("user_data") {
        Some(v) if !v.is_null() => Some(ctx.api.user_data(&zone, &id).await?.into_iter().collect()),
        _ => None,
    };
    Ok(Some(state(&server, wanted, &zone, user_data.as_ref())))
}

pub async fn update(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    validate(planned)?;
    let zone = ctx.zone_of(prior);
    let id = required_str(prior, "id")?;
    let Some(server) = ctx.api.server(&zone, &id).await? else {
        return Err(ProviderError::not_found(format!("server {id} no longer exists in {zone}")));
    };
    let commercial_type = required_str(planned, "type")?;
    let type_changed = attr_str(prior, "type").as_deref() != Some(commercial_type.as_str());
    let volumes_changed = attr_strings(prior, "additional_volume_ids").unwrap_or_default()
        != attr_strings(planned, "additional_volume_ids").unwrap_or_default();
    if type_changed || volumes_changed {
        check_local_total(ctx, &zone, &commercial_type, &server, planned).await?;
    }
    let local_volumes_changed = volumes_changed && local_set_changed(ctx, &zone, prior, planned).await?;
    let running = is_running(&server);
    // The API refuses these on a running server: stop it, change, and start it again below.
    let cycle = running && (type_changed || local_volumes_changed);
    if cycle {
        ctx.api.action(&zone, &id, "poweroff").await?;
    }
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.extend(correlation_tags(&server));
    b.insert("tags".into(), json!(tags));
    b.insert("dynamic_ip_required".into(), json!(attr_bool(planned, "enable_dynamic_ip").unwrap_or(true)));
    b.insert("enable_ipv6".into(), json!(attr_bool(planned, "enable_ipv6").unwrap_or(true)));
    b.insert("boot_type".into(), json!(known_str(planned, "boot_type").unwrap_or_else(|| "local".into())));
    if let Some(sg) = known_str(planned, "security_group_id") {
        b.insert("security_group".into(), json!({"id": sg}));
    }
    if let Some(ips) = attr_strings(planned, "public_ip_ids") {
        b.insert("public_ips".into(), json!(ips));
    }
    if type_changed {
        b.insert("commercial_type".into(), json!(commercial_type));
    }
    if volumes_changed {
        let root = server.pointer("/volumes/0/id").and_then(Json::as_str).unwrap_or_default();
        let mut volumes = Map::new();
        volumes.insert("0".into(), json!({"id": root}));
        for (i, v) in attr_strings(planned, "additional_volume_ids").unwrap_or_default().iter().enumerate() {
            volumes.insert((i + 1).to_string(), json!({"id": v}));
        }
        b.insert("volumes".into(), Json::Object(volumes));
    }
    ctx.api.update_server(&zone, &id, &Json::Object(b)).await?;
    let user_data = user_data_of(planned);
    if planned.get("user_data") != prior.get("user_data") {
        let before = user_data_of(prior);
        for key in before.keys().filter(|k| !user_data.contains_key(*k)) {
            ctx.api.delete_user_data(&zone, &id, key).await?;
        }
        for (key, value) in user_data.iter().filter(|(k, v)| before.get(*k) != Some(*v)) {
            ctx.api.set_user_data(&zone, &id, key, value).await?;
        }
    }
    let want_running = known_str(planned, "state").as_deref() != Some("stopped");
    let now_running = running && !cycle;
    if want_running && !now_running {
        ctx.api.action(&zone, &id, "poweron").await?;
    } else if !want_running && now_running {
        ctx.api.action(&zone, &id, "poweroff").await?;
    }
    let current = ctx
        .api
        .server(&zone, &id)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("server {id} vanished during its update")))?;
    Ok(state(&current, planned, &zone, planned.get("user_data").is_some_and(|v| !v.is_null()).then_some(&user_data)))
}

/// Checks the local total the planned server would have (apply time: every id is known now).
async fn check_local_total(
    ctx: &Ctx,
    zone: &str,
    commercial_type: &str,
    server: &Json,
    planned: &Value,
) -> Result<(), ProviderError> {
    let (bounds, _) = limits::limits(&ctx.api, zone, commercial_type).await?;
    let root = server.pointer("/volumes/0");
    let root_local = root.and_then(|r| r.get("volume_type")).and_then(Json::as_str) == Some("l_ssd");
    let root_size = root.and_then(|r| r.get("size")).and_then(Json::as_u64).unwrap_or(0);
    let extra = additional_local_sizes(&ctx.api, zone, planned).await?;
    let total = (if root_local { root_size } else { 0 }) + extra.iter().sum::<u64>();
    limits::check(commercial_type, bounds, total, &parts(root_local.then_some(root_size), &extra))
}

/// Whether the set of local volumes differs between prior and planned (block volumes can be
/// attached to a running server).
async fn local_set_changed(ctx: &Ctx, zone: &str, prior: &Value, planned: &Value) -> Result<bool, ProviderError> {
    let before = attr_strings(prior, "additional_volume_ids").unwrap_or_default();
    let after = attr_strings(planned, "additional_volume_ids").unwrap_or_default();
    for id in before.iter().filter(|i| !after.contains(i)).chain(after.iter().filter(|i| !before.contains(i))) {
        let local = match ctx.api.volume(zone, id).await? {
            Some(v) => v.get("volume_type").and_then(Json::as_str) == Some("l_ssd"),
            None => false,
        };
        if local {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn delete(ctx: &Ctx, state: &Value) -> Result<(), ProviderError> {
    let zone = ctx.zone_of(state);
    let id = required_str(state, "id")?;
    let Some(server) = ctx.api.server(&zone, &id).await? else { return Ok(()) };
    if server.get("state").and_then(Json::as_str) != Some("stopped") {
        ctx.api.action(&zone, &id, "poweroff").await?;
    }
    let root = server.pointer("/volumes/0/id").and_then(Json::as_str).map(str::to_string);
    ctx.api.delete_server(&zone, &id).await?;
    // Data is deleted only when asked for: the default keeps the root volume, detached.
    if attr_bool(state, "delete_volumes_on_destroy") == Some(true)
        && let Some(root) = root
    {
        ctx.api.delete_volume(&zone, &root).await?;
    }
    Ok(())
}

/// Finds the server an interrupted create made, by its correlation tag.
pub async fn adopt(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(planned);
    let tag = format!("{CORRELATION_TAG}:{correlation}");
    let found = ctx.api.servers(&zone, &[("tags", tag.as_str())]).await?;
    Ok(found.first().map(|s| state(s, planned, &zone, None)))
}

/// Import id `<zone>/<server id>`, or the id alone in the provider's zone.
pub async fn import(ctx: &Ctx, zone: &str, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(ctx.api.server(zone, id).await?.map(|s| state(&s, &Value::Null, zone, None)))
}

fn is_running(server: &Json) -> bool {
    matches!(server.get("state").and_then(Json::as_str), Some("running" | "starting"))
}

fn user_data_of(v: &Value) -> BTreeMap<String, String> {
    v.get("user_data")
        .and_then(|u| u.unmark().0.as_map())
        .map(|m| m.iter().filter_map(|(k, v)| v.unmark().0.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

/// The state for an API server. Defaults the configuration left unset stay null while the API
/// holds them; `public_ip_ids` and `user_data` are reported only when the configuration manages
/// them (a `scaleway_instance_ip` may attach itself otherwise).
pub fn state(api: &Json, wanted: &Value, zone: &str, user_data: Option<&BTreeMap<String, String>>) -> Value {
    let text = |p: &str| api.pointer(p).and_then(Json::as_str).unwrap_or_default().to_string();
    let opt_text = |p: &str| api.pointer(p).and_then(Json::as_str).filter(|s| !s.is_empty()).map(Value::string);
    let unless_default = |name: &str, actual: Value, default: Value| {
        if actual == default && wanted.get(name).is_none_or(Value::is_null) { Value::Null } else { actual }
    };
    let image_id = text("/image/id");
    let image = match attr_str(wanted, "image") {
        // A label or the id, as configured, while the server still runs the image it resolved to.
        Some(img) if attr_str(wanted, "image_id").is_none_or(|i| i == image_id) || img == image_id => {
            Value::string(img)
        }
        _ if image_id.is_empty() => Value::Null,
        _ => Value::string(image_id.as_str()),
    };
    let mut keys: Vec<(usize, &Json)> = api
        .get("volumes")
        .and_then(Json::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, v))).collect())
        .unwrap_or_default();
    keys.sort_by_key(|(i, _)| *i);
    let root = keys.iter().find(|(i, _)| *i == 0).map(|(_, v)| *v);
    let additional: Vec<String> = keys
        .iter()
        .filter(|(i, _)| *i > 0)
        .filter_map(|(_, v)| v.get("id").and_then(Json::as_str).map(str::to_string))
        .collect();
    let additional_v = if additional.is_empty() && wanted.get("additional_volume_ids").is_none_or(Value::is_null) {
        Value::Null
    } else {
        string_list(&additional)
    };
    let tags_v = user_tags(api, wanted);
    let public_ip_ids = match wanted.get("public_ip_ids") {
        Some(v) if !v.is_null() => {
            let ids: Vec<String> = api
                .get("public_ips")
                .and_then(Json::as_array)
                .map(|l| {
                    l.iter()
                        .filter(|ip| ip.get("dynamic").and_then(Json::as_bool) != Some(true))
                        .filter_map(|ip| ip.get("id").and_then(Json::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            string_list(&ids)
        }
        _ => Value::Null,
    };
    let power = match text("/state").as_str() {
        "running" | "starting" => "started",
        _ => "stopped",
    };
    let user_data_v = match user_data {
        Some(map) => Value::map(map.iter().map(|(k, v)| (k.clone(), Value::string(v.as_str())))),
        None => wanted.get("user_data").cloned().unwrap_or(Value::Null),
    };
    let public_ip = api
        .get("public_ips")
        .and_then(Json::as_array)
        .and_then(|l| l.iter().find_map(|ip| ip.get("address").and_then(Json::as_str)))
        .or_else(|| api.pointer("/public_ip/address").and_then(Json::as_str))
        .map_or(Value::Null, Value::string);
    let bool_of = |p: &str| api.pointer(p).and_then(Json::as_bool).unwrap_or(true);
    Value::map([
        ("name", Value::string(text("/name"))),
        ("zone", Value::string(zone)),
        ("project_id", Value::string(text("/project"))),
        ("type", Value::string(text("/commercial_type"))),
        ("image", image),
        ("image_id", if image_id.is_empty() { Value::Null } else { Value::string(image_id.as_str()) }),
        ("root_volume_id", root.and_then(|r| r.get("id")).and_then(Json::as_str).map_or(Value::Null, Value::string)),
        (
            "root_volume_size_in_gb",
            root.and_then(|r| r.get("size"))
                .and_then(Json::as_u64)
                .map_or(Value::Null, |s| Value::number(bytes_to_gb(s))),
        ),
        (
            "root_volume_type",
            root.and_then(|r| r.get("volume_type")).and_then(Json::as_str).map_or(Value::Null, Value::string),
        ),
        ("additional_volume_ids", additional_v),
        (
            "enable_dynamic_ip",
            unless_default("enable_dynamic_ip", Value::Bool(bool_of("/dynamic_ip_required")), Value::Bool(true)),
        ),
        ("enable_ipv6", unless_default("enable_ipv6", Value::Bool(bool_of("/enable_ipv6")), Value::Bool(true))),
        ("public_ip_ids", public_ip_ids),
        ("security_group_id", opt_text("/security_group/id").unwrap_or(Value::Null)),
        ("tags", tags_v),
        ("user_data", user_data_v),
        ("boot_type", unless_default("boot_type", Value::string(text("/boot_type")), Value::string("local"))),
        ("state", unless_default("state", Value::string(power), Value::string("started"))),
        ("delete_volumes_on_destroy", wanted.get("delete_volumes_on_destroy").cloned().unwrap_or(Value::Null)),
        ("id", Value::string(text("/id"))),
        ("public_ip", public_ip),
        ("ipv6_address", opt_text("/ipv6/address").unwrap_or(Value::Null)),
        ("private_ip", opt_text("/private_ip").unwrap_or(Value::Null)),
        ("creation_date", Value::string(text("/creation_date"))),
    ])
}
