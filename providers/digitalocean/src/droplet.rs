//! `digitalocean_droplet`: create (waiting on the create action), read, update through droplet
//! actions (rename; power off, resize, power on; enable IPv6; power on or off) and the tag
//! endpoints, delete, import and adoption by correlation tag.
//!
//! The API never shows a droplet's user data or SSH keys again, so state keeps them as
//! configured (both are fixed at creation: a change replaces the droplet). Tags are split three
//! ways: tarn's correlation tag and the `project` tag never show in `tags`.

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{PlanResponse, ProviderError, Value};

use crate::api::{Api, tag_name};
use crate::values::{
    attr_bool, attr_str, attr_strings, id_text, known_str, opt_text, required_str, string_list, unless_default, unset,
};

pub const CORRELATION_TAG: &str = "tarn-correlation";

/// The tag `adopt` finds a droplet by: the correlation with any character the API refuses in
/// a tag replaced by `_`.
pub fn correlation_tag(correlation: &str) -> String {
    let clean: String =
        correlation.chars().map(|c| if c.is_ascii_alphanumeric() || "_-:".contains(c) { c } else { '_' }).collect();
    format!("{CORRELATION_TAG}:{clean}")
}

fn is_correlation(tag: &str) -> bool {
    tag.strip_prefix(CORRELATION_TAG).is_some_and(|rest| rest.starts_with(':'))
}

fn power_state(planned: &Value) -> Result<&'static str, ProviderError> {
    match known_str(planned, "power_state").as_deref() {
        None | Some("on") => Ok("on"),
        Some("off") => Ok("off"),
        Some(other) => Err(ProviderError::permanent(format!("power_state must be \"on\" or \"off\", not {other:?}"))),
    }
}

/// Checks what the API would refuse later, before any call.
fn validate(planned: &Value) -> Result<(), ProviderError> {
    power_state(planned)?;
    for tag in attr_strings(planned, "tags").unwrap_or_default() {
        tag_name(&tag)?;
        if is_correlation(&tag) {
            return Err(ProviderError::permanent(format!("the tag {tag:?} is reserved for tarn's own bookkeeping")));
        }
    }
    if let Some(project) = known_str(planned, "project") {
        tag_name(&project).map_err(|e| ProviderError::permanent(format!("project: {}", e.message)))?;
        if attr_strings(planned, "tags").unwrap_or_default().contains(&project) {
            return Err(ProviderError::permanent(format!(
                "the tag {project:?} is the droplet's project tag already: remove it from tags"
            )));
        }
    }
    if attr_str(planned, "user_data").is_some_and(|u| u.len() > 64 * 1024) {
        return Err(ProviderError::permanent("user_data is larger than the 64 KiB the API accepts"));
    }
    Ok(())
}

/// A number where the API takes ids, the string otherwise (image slugs, key fingerprints).
fn id_or_text(s: &str) -> Json {
    s.parse::<u64>().map(Json::from).unwrap_or_else(|_| json!(s))
}

/// Every tag the droplet should carry: the user's, the project's and tarn's.
fn all_tags(planned: &Value, correlation: Option<&str>) -> Vec<String> {
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    if let Some(project) = known_str(planned, "project")
        && !tags.contains(&project)
    {
        tags.push(project);
    }
    if let Some(c) = correlation {
        tags.push(c.to_string());
    }
    tags
}

fn create_body(planned: &Value, correlation: &str) -> Result<Json, ProviderError> {
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    b.insert("region".into(), json!(required_str(planned, "region")?));
    b.insert("size".into(), json!(required_str(planned, "size")?));
    b.insert("image".into(), id_or_text(&required_str(planned, "image")?));
    let keys: Vec<Json> = attr_strings(planned, "ssh_keys").unwrap_or_default().iter().map(|k| id_or_text(k)).collect();
    b.insert("ssh_keys".into(), Json::Array(keys));
    b.insert("tags".into(), json!(all_tags(planned, Some(&correlation_tag(correlation)))));
    if let Some(user_data) = attr_str(planned, "user_data") {
        b.insert("user_data".into(), json!(user_data));
    }
    b.insert("ipv6".into(), json!(attr_bool(planned, "ipv6").unwrap_or(false)));
    b.insert("monitoring".into(), json!(attr_bool(planned, "monitoring").unwrap_or(false)));
    Ok(Json::Object(b))
}

pub async fn create(api: &Api, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    validate(planned)?;
    let (created, action) = api.create_droplet(&create_body(planned, correlation)?).await?;
    let id = id_text(created.get("id"));
    // From here on the droplet exists: whatever fails is reported with its state, so the
    // engine records it rather than losing it.
    let partial = |e: ProviderError, droplet: &Json| {
        ProviderError::partially_created(
            format!("droplet {id} was created, but finishing it failed: {}", e.message),
            state(droplet, planned),
        )
    };
    if let Some(action) = action
        && let Err(e) = api.wait_action_id(action, &format!("create of droplet {id}")).await
    {
        return Err(partial(e, &created));
    }
    if power_state(planned)? == "off"
        && let Err(e) = api.droplet_action(&id, &json!({"type": "power_off"})).await
    {
        return Err(partial(e, &created));
    }
    match api.droplet(&id).await {
        Ok(Some(d)) => Ok(state(&d, planned)),
        Ok(None) => Err(ProviderError::permanent(format!("droplet {id} vanished right after it was created"))),
        Err(e) => Err(partial(e, &created)),
    }
}

pub async fn read(api: &Api, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let id = required_str(wanted, "id")?;
    Ok(api.droplet(&id).await?.map(|d| state(&d, wanted)))
}

/// The plan: IPv6 can be enabled in place but never disabled, and what an update changes on the
/// droplet's addresses is known only after apply.
pub fn refine(prior: Option<&Value>, mut proposed: Value) -> Result<PlanResponse, ProviderError> {
    validate(&proposed)?;
    let mut requires_replace = Vec::new();
    if let Some(prior) = prior {
        let was = attr_bool(prior, "ipv6").unwrap_or(false);
        let will = attr_bool(&proposed, "ipv6").unwrap_or(false);
        if was && !will {
            requires_replace.push("ipv6".to_string());
        } else if !was
            && will
            && let Value::Map(m) = &mut proposed
        {
            m.insert("ipv6_address".into(), Value::Unknown);
        }
    }
    Ok(PlanResponse { planned: proposed, requires_replace })
}

pub async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    validate(planned)?;
    let id = required_str(prior, "id")?;
    let Some(droplet) = api.droplet(&id).await? else {
        return Err(ProviderError::not_found(format!("droplet {id} no longer exists")));
    };
    let mut running = droplet.get("status").and_then(Json::as_str) != Some("off");
    let name = required_str(planned, "name")?;
    if droplet.get("name").and_then(Json::as_str) != Some(name.as_str()) {
        api.droplet_action(&id, &json!({"type": "rename", "name": name})).await?;
    }
    let size = required_str(planned, "size")?;
    if droplet.get("size_slug").and_then(Json::as_str) != Some(size.as_str()) {
        // The API resizes only a droplet that is off; CPU and RAM only (disk: false), so the
        // droplet can be resized back down.
        if running {
            api.droplet_action(&id, &json!({"type": "power_off"})).await?;
            running = false;
        }
        api.droplet_action(&id, &json!({"type": "resize", "size": size, "disk": false})).await?;
    }
    let has_ipv6 = features(&droplet).iter().any(|f| f == "ipv6");
    if attr_bool(planned, "ipv6") == Some(true) && !has_ipv6 {
        api.droplet_action(&id, &json!({"type": "enable_ipv6"})).await?;
    }
    let have: Vec<String> = tags(&droplet).into_iter().filter(|t| !is_correlation(t)).collect();
    let want = all_tags(planned, None);
    for tag in want.iter().filter(|t| !have.contains(t)) {
        api.create_tag(tag).await?;
        api.tag_droplets(tag, std::slice::from_ref(&id), true).await?;
    }
    for tag in have.iter().filter(|t| !want.contains(t)) {
        api.tag_droplets(tag, std::slice::from_ref(&id), false).await?;
    }
    match (power_state(planned)? == "on", running) {
        (true, false) => api.droplet_action(&id, &json!({"type": "power_on"})).await?,
        (false, true) => api.droplet_action(&id, &json!({"type": "power_off"})).await?,
        _ => {}
    }
    let current = api
        .droplet(&id)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("droplet {id} vanished during its update")))?;
    Ok(state(&current, planned))
}

pub async fn delete(api: &Api, state: &Value) -> Result<(), ProviderError> {
    let id = required_str(state, "id")?;
    api.delete_droplet(&id).await.map(|_| ())
}

/// Finds the droplet an interrupted create made, by its correlation tag.
pub async fn adopt(api: &Api, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let tag = correlation_tag(correlation);
    let found = api.droplets(&[("tag_name", tag.as_str())]).await?;
    Ok(found.first().map(|d| state(d, planned)))
}

pub async fn import(api: &Api, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(api.droplet(id).await?.map(|d| state(&d, &Value::Null)))
}

fn strings_at(json: &Json, key: &str) -> Vec<String> {
    json.get(key)
        .and_then(Json::as_array)
        .map(|l| l.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn tags(droplet: &Json) -> Vec<String> {
    strings_at(droplet, "tags")
}

fn features(droplet: &Json) -> Vec<String> {
    strings_at(droplet, "features")
}

/// The address of the given network type (`public`, `private`) of `v4` or `v6`.
pub fn address(droplet: &Json, family: &str, kind: &str) -> Value {
    droplet
        .pointer(&format!("/networks/{family}"))
        .and_then(Json::as_array)
        .and_then(|l| l.iter().find(|n| n.get("type").and_then(Json::as_str) == Some(kind)))
        .and_then(|n| n.get("ip_address"))
        .and_then(Json::as_str)
        .map_or(Value::Null, Value::string)
}

/// The state for an API droplet, as `wanted` (the configuration or prior state) asked for it.
pub fn state(api: &Json, wanted: &Value) -> Value {
    let text = |p: &str| api.pointer(p).and_then(Json::as_str).unwrap_or_default().to_string();
    let image_id = id_text(api.pointer("/image/id"));
    let image_slug = text("/image/slug");
    let image = match attr_str(wanted, "image") {
        Some(img) if img == image_id || img == image_slug => Value::string(img),
        _ if !image_slug.is_empty() => Value::string(image_slug),
        _ => Value::string(image_id),
    };
    let project = known_str(wanted, "project");
    let all = tags(api);
    let user_tags: Vec<String> =
        all.iter().filter(|t| !is_correlation(t) && Some(*t) != project.as_ref()).cloned().collect();
    let tags_v = if user_tags.is_empty() && unset(wanted, "tags") { Value::Null } else { string_list(&user_tags) };
    let project_v = match project {
        Some(p) if all.contains(&p) => Value::string(p),
        _ => Value::Null,
    };
    let features = features(api);
    let power = if text("/status") == "off" { "off" } else { "on" };
    let keep = |name: &str| wanted.get(name).cloned().unwrap_or(Value::Null);
    Value::map([
        ("name", Value::string(text("/name"))),
        ("region", Value::string(text("/region/slug"))),
        ("size", Value::string(text("/size_slug"))),
        ("image", image),
        ("ssh_keys", keep("ssh_keys")),
        ("tags", tags_v),
        ("project", project_v),
        ("user_data", keep("user_data")),
        ("ipv6", unless_default(wanted, "ipv6", Value::Bool(features.iter().any(|f| f == "ipv6")), Value::Bool(false))),
        (
            "monitoring",
            unless_default(
                wanted,
                "monitoring",
                Value::Bool(features.iter().any(|f| f == "monitoring")),
                Value::Bool(false),
            ),
        ),
        ("power_state", unless_default(wanted, "power_state", Value::string(power), Value::string("on"))),
        ("id", Value::string(id_text(api.get("id")))),
        ("ipv4_address", address(api, "v4", "public")),
        ("ipv4_address_private", address(api, "v4", "private")),
        ("ipv6_address", address(api, "v6", "public")),
        ("created_at", opt_text(api, "/created_at")),
    ])
}
