//! `scaleway_instance_image`: an image made by backing a server up (the seed's "Backup Server":
//! an image plus a snapshot of each of the server's volumes, in the server's own zone).
//!
//! The plan checks the same-zone rule when the server already exists. Create runs the server's
//! `backup` action, which answers a task naming the new image; the
//! task is polled until it ends, then the image is tagged with tarn's correlation tag. Once the
//! action was accepted the image exists, so any later failure is `PartiallyCreated`. Only the
//! name and tags change in place (PATCH); another server replaces the image. Delete removes the
//! image, then its snapshots only with `delete_snapshots_on_destroy = true` (kept by default,
//! as a server's volumes are). `adopt` finds the image by its tag, or, when a crash came
//! between the backup and the tagging, by the server it was made from and its name.

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::server::CORRELATION_TAG;
use crate::tags::{correlation_tags, user_tags};
use crate::values::{attr_bool, attr_strings, known_str, required_str, string_list};
use crate::{Ctx, api};

/// The plan of a new image: the zone it gets, and, when the server is already known, the
/// same-zone rule checked before anything is made.
pub async fn refine(ctx: &Ctx, proposed: Value) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(&proposed);
    let mut planned = proposed;
    if let Value::Map(m) = &mut planned
        && m.get("zone").is_some_and(Value::is_unknown)
    {
        m.insert("zone".into(), Value::string(zone.as_str()));
    }
    if let Some(server) = known_str(&planned, "server_id") {
        same_zone(ctx, &zone, &server).await?;
    }
    Ok(planned)
}

/// A backup stays in the server's zone: a server of another zone is not found in this one.
async fn same_zone(ctx: &Ctx, zone: &str, server: &str) -> Result<(), ProviderError> {
    api::uuid(server, "server_id")?;
    if ctx.api.server(zone, server).await?.is_none() {
        return Err(ProviderError::permanent(format!(
            "server {server} does not exist in {zone}: an image is made from a server of its own zone (set zone to the server's)"
        )));
    }
    Ok(())
}

pub async fn create(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(planned);
    let name = required_str(planned, "name")?;
    let server = required_str(planned, "server_id")?;
    same_zone(ctx, &zone, &server).await?;
    let (id, task) = ctx.api.backup(&zone, &server, &name).await?;
    // From here on the image exists: whatever fails is reported with it, so it is recorded.
    let partial = |e: ProviderError| {
        let known = json!({"id": id, "name": name, "from_server": server, "zone": zone});
        ProviderError::partially_created(
            format!("image {id} was created from server {server}, but finishing it failed: {}", e.message),
            state(&known, planned, &zone),
        )
    };
    if let Err(e) = ctx.api.wait_task(&zone, &task, &format!("backup of server {server}")).await {
        return Err(partial(e));
    }
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.push(format!("{CORRELATION_TAG}:{correlation}"));
    match ctx.api.update_image(&zone, &id, &json!({"tags": tags})).await {
        Ok(image) => Ok(state(&image, planned, &zone)),
        Err(e) => Err(partial(e)),
    }
}

pub async fn read(ctx: &Ctx, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(wanted);
    Ok(ctx.api.image(&zone, &required_str(wanted, "id")?).await?.map(|i| state(&i, wanted, &zone)))
}

pub async fn update(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let zone = ctx.zone_of(prior);
    let id = required_str(prior, "id")?;
    let Some(current) = ctx.api.image(&zone, &id).await? else {
        return Err(ProviderError::not_found(format!("image {id} no longer exists in {zone}")));
    };
    let mut b = Map::new();
    b.insert("name".into(), json!(required_str(planned, "name")?));
    let mut tags = attr_strings(planned, "tags").unwrap_or_default();
    tags.extend(correlation_tags(&current));
    b.insert("tags".into(), json!(tags));
    let updated = ctx.api.update_image(&zone, &id, &Json::Object(b)).await?;
    Ok(state(&updated, planned, &zone))
}

pub async fn delete(ctx: &Ctx, state: &Value) -> Result<(), ProviderError> {
    let zone = ctx.zone_of(state);
    let id = required_str(state, "id")?;
    let Some(image) = ctx.api.image(&zone, &id).await? else { return Ok(()) };
    ctx.api.delete_image(&zone, &id).await?;
    // Snapshots hold the data: deleted only when asked for, and only once no image uses them.
    if attr_bool(state, "delete_snapshots_on_destroy") == Some(true) {
        for snapshot in snapshot_ids(&image) {
            ctx.api.delete_snapshot(&zone, &snapshot).await?;
        }
    }
    Ok(())
}

pub async fn adopt(ctx: &Ctx, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let zone = ctx.zone_of(planned);
    let tag = format!("{CORRELATION_TAG}:{correlation}");
    if let Some(found) = ctx.api.images(&zone, &[("tags", tag.as_str())]).await?.first() {
        return Ok(Some(state(found, planned, &zone)));
    }
    // A crash between the backup and its tagging leaves an untagged image of that server and name.
    let (Ok(name), Ok(server)) = (required_str(planned, "name"), required_str(planned, "server_id")) else {
        return Ok(None);
    };
    let found = ctx.api.images(&zone, &[("name", name.as_str()), ("public", "false")]).await?;
    Ok(found
        .iter()
        .find(|i| {
            i.get("name").and_then(Json::as_str) == Some(name.as_str())
                && i.get("from_server").and_then(Json::as_str) == Some(server.as_str())
                && correlation_tags(i).is_empty()
        })
        .map(|i| state(i, planned, &zone)))
}

pub async fn import(ctx: &Ctx, zone: &str, id: &str) -> Result<Option<Value>, ProviderError> {
    Ok(ctx.api.image(zone, id).await?.map(|i| state(&i, &Value::Null, zone)))
}

/// The snapshots of an image: its root volume, then its extra volumes by position.
fn snapshot_ids(image: &Json) -> Vec<String> {
    let root = image.pointer("/root_volume/id").and_then(Json::as_str).map(str::to_string);
    root.into_iter().chain(extra_ids(image)).collect()
}

fn extra_ids(image: &Json) -> Vec<String> {
    let mut extra: Vec<(usize, String)> = image
        .get("extra_volumes")
        .and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.parse::<usize>().ok()?, v.get("id").and_then(Json::as_str)?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    extra.sort();
    extra.into_iter().map(|(_, id)| id).collect()
}

pub fn state(api: &Json, wanted: &Value, zone: &str) -> Value {
    let text = |p: &str| api.pointer(p).and_then(Json::as_str).filter(|s| !s.is_empty()).map(Value::string);
    let server = text("/from_server").or_else(|| wanted.get("server_id").cloned()).unwrap_or(Value::Null);
    Value::map([
        ("name", text("/name").unwrap_or(Value::Null)),
        ("zone", Value::string(zone)),
        ("server_id", server),
        ("project_id", text("/project").unwrap_or(Value::Null)),
        ("tags", user_tags(api, wanted)),
        ("delete_snapshots_on_destroy", wanted.get("delete_snapshots_on_destroy").cloned().unwrap_or(Value::Null)),
        ("id", text("/id").unwrap_or(Value::Null)),
        ("root_snapshot_id", text("/root_volume/id").unwrap_or(Value::Null)),
        ("additional_snapshot_ids", string_list(&extra_ids(api))),
        ("arch", text("/arch").unwrap_or(Value::Null)),
        ("creation_date", text("/creation_date").unwrap_or(Value::Null)),
    ])
}
