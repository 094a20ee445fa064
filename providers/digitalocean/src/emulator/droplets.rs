//! Droplet routes: list (filters `tag_name`, `name`), create (202 with the `create` action
//! linked), get, delete (one, or every droplet with a tag), and droplet actions: start one
//! (201), list and get them, `/v2/actions/{id}`, and actions on every droplet with a tag.
//!
//! The API's rules the emulator keeps: a droplet with an action in progress (a new one too)
//! refuses another action with 422; resize needs the droplet off; IPv6, once enabled, stays.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

use super::data::{self, Action, Data, Droplet, action_json, droplet_json, now_text};
use super::envelope::{self, Failure, no_content, object, ok, parse_body, text};

type Answer = Result<Response, Failure>;

/// Droplet names: letters, digits, `.` and `-`, as the spec's pattern says.
fn valid_name(name: &str) -> bool {
    name.len() <= 255
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-'])
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
}

pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.len() <= 255 && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_-:".contains(c))
}

fn find(data: &Data, id: &str) -> Result<Droplet, Failure> {
    data.settle();
    data.droplets.get(id).ok_or_else(Failure::not_found)
}

pub async fn list(State(data): State<Data>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Answer {
    data.settle();
    let items = data
        .droplets
        .list()
        .into_iter()
        .filter(|d| q.get("tag_name").is_none_or(|t| d.tags.contains(t)))
        .filter(|d| q.get("name").is_none_or(|n| &d.name == n))
        .map(|d| droplet_json(&d))
        .collect();
    envelope::list("droplets", items, &q, &headers, "/v2/droplets")
}

pub async fn create(State(data): State<Data>, headers: HeaderMap, body: Bytes) -> Answer {
    let body = parse_body(&body)?;
    if body.contains_key("names") {
        return Err(Failure::unprocessable("creating several droplets at once is not emulated; send one name"));
    }
    let name = text(&body, "name")?;
    if !valid_name(name) {
        return Err(Failure::unprocessable(
            "Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)",
        ));
    }
    let region = text(&body, "region")?;
    data::region(region).ok_or_else(|| Failure::unprocessable(format!("Region {region:?} is not available.")))?;
    let size = text(&body, "size")?;
    data::size(size)
        .ok_or_else(|| Failure::unprocessable(format!("Size {size:?} is not available in this region.")))?;
    let image = match body.get("image") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => return Err(Failure::unprocessable("image is required: a slug or an id")),
    };
    let image = data::image(&image)
        .ok_or_else(|| {
            Failure::unprocessable(format!("You specified an invalid image for Droplet creation: {image:?}."))
        })?
        .0;
    let mut ssh_keys = Vec::new();
    for key in body.get("ssh_keys").and_then(Json::as_array).cloned().unwrap_or_default() {
        let wanted = match &key {
            Json::Number(n) => n.to_string(),
            Json::String(s) => s.clone(),
            _ => String::new(),
        };
        let found = data.keys.list().into_iter().find(|k| k.id.to_string() == wanted || k.fingerprint == wanted);
        match found {
            Some(k) => ssh_keys.push(k.id),
            None => {
                return Err(Failure::unprocessable(format!("SSH key {wanted:?} could not be found in the account.")));
            }
        }
    }
    let tags: Vec<String> = body
        .get("tags")
        .and_then(Json::as_array)
        .map(|l| l.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(bad) = tags.iter().find(|t| !valid_tag(t)) {
        return Err(Failure::unprocessable(format!(
            "Tag {bad:?} is invalid: use letters, numbers, colons, dashes and underscores."
        )));
    }
    let user_data = body.get("user_data").and_then(Json::as_str).map(str::to_string);
    if user_data.as_ref().is_some_and(|u| u.len() > 64 * 1024) {
        return Err(Failure::unprocessable("user_data is limited to 64 KiB"));
    }
    let flag = |k: &str| body.get(k).and_then(Json::as_bool).unwrap_or(false);
    let mut features = vec!["private_networking".to_string()];
    if flag("ipv6") {
        features.push("ipv6".into());
    }
    if flag("monitoring") {
        features.push("monitoring".into());
    }
    for tag in &tags {
        data.tags.put(tag, tag.clone());
    }
    let placing = data.placing.lock().unwrap_or_else(|p| p.into_inner());
    let id = data.id();
    let droplet = Droplet {
        id,
        name: name.to_string(),
        region: region.to_string(),
        size: size.to_string(),
        image,
        status: "new".into(),
        locked: false,
        tags,
        public_v6: flag("ipv6").then(|| data::ipv6_for(id)),
        features,
        public_v4: data.next_public_v4(),
        private_v4: format!("10.10.{}.{}", (id >> 8) & 0xff, id & 0xff),
        ssh_keys,
        user_data,
        created_at: now_text(),
    };
    data.droplets.put(&id.to_string(), droplet.clone());
    drop(placing);
    let action = data.start_action(&droplet, "create", "status:active");
    data.persist();
    let shown = data.droplets.get(&id.to_string()).unwrap_or(droplet);
    let href = format!("{}/v2/actions/{}", envelope::origin(&headers), action.id);
    let body = json!({
        "droplet": droplet_json(&shown),
        "links": {"actions": [{"id": action.id, "rel": "create", "href": href}]},
    });
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

pub async fn get(State(data): State<Data>, Path(id): Path<String>) -> Answer {
    Ok(ok("droplet", droplet_json(&find(&data, &id)?)))
}

pub async fn delete(State(data): State<Data>, Path(id): Path<String>) -> Answer {
    let droplet = find(&data, &id)?;
    remove(&data, &droplet);
    data.persist();
    Ok(no_content())
}

/// Removes a droplet and what points at it (load balancer membership).
fn remove(data: &Data, droplet: &Droplet) {
    data.droplets.remove(&droplet.id.to_string());
    for lb in data.balancers.list().into_iter().filter(|b| b.droplet_ids.contains(&droplet.id)) {
        data.balancers.update(&lb.id, |b| b.droplet_ids.retain(|d| *d != droplet.id));
    }
}

/// `DELETE /v2/droplets?tag_name=…`: every droplet with the tag.
pub async fn delete_tagged(State(data): State<Data>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let tag =
        q.get("tag_name").filter(|t| !t.is_empty()).ok_or_else(|| Failure::bad_request("tag_name is required"))?;
    data.settle();
    for droplet in data.tagged(tag) {
        remove(&data, &droplet);
    }
    data.persist();
    Ok(no_content())
}

/// Starts `kind` on `droplet` after the API's checks; the effect lands when it completes.
fn act(data: &Data, droplet: &Droplet, body: &serde_json::Map<String, Json>) -> Result<Action, Failure> {
    let kind = text(body, "type")?;
    if droplet.locked || droplet.status == "new" {
        return Err(Failure::unprocessable("Droplet already has a pending event."));
    }
    let effect = match kind {
        "power_on" | "reboot" | "power_cycle" => "status:active".to_string(),
        "power_off" | "shutdown" => "status:off".to_string(),
        "rename" => {
            let name = text(body, "name")?;
            if !valid_name(name) {
                return Err(Failure::unprocessable("Name Only valid hostname characters are allowed."));
            }
            format!("name:{name}")
        }
        "resize" => {
            let size = text(body, "size")?;
            data::size(size).ok_or_else(|| Failure::unprocessable(format!("Size {size:?} is not available.")))?;
            if droplet.status != "off" {
                return Err(Failure::unprocessable("Droplet must be powered off before it can be resized."));
            }
            format!("size:{size}")
        }
        "enable_ipv6" => "ipv6".to_string(),
        "enable_backups" | "disable_backups" | "password_reset" | "snapshot" => String::new(),
        other => return Err(Failure::unprocessable(format!("the action type {other:?} is not emulated"))),
    };
    let action = data.start_action(droplet, kind, &effect);
    data.persist();
    Ok(action)
}

pub async fn action(State(data): State<Data>, Path(id): Path<String>, body: Bytes) -> Answer {
    let droplet = find(&data, &id)?;
    let body = parse_body(&body)?;
    let action = act(&data, &droplet, &body)?;
    Ok(object(StatusCode::CREATED, "action", action_json(&action)))
}

/// `POST /v2/droplets/actions?tag_name=…`: the action on every droplet with the tag.
pub async fn action_tagged(State(data): State<Data>, Query(q): Query<HashMap<String, String>>, body: Bytes) -> Answer {
    let tag =
        q.get("tag_name").filter(|t| !t.is_empty()).ok_or_else(|| Failure::bad_request("tag_name is required"))?;
    let body = parse_body(&body)?;
    let kind = text(&body, "type")?;
    if ![
        "power_cycle",
        "power_on",
        "power_off",
        "shutdown",
        "enable_ipv6",
        "enable_backups",
        "disable_backups",
        "snapshot",
    ]
    .contains(&kind)
    {
        return Err(Failure::unprocessable(format!("the action {kind:?} cannot be taken on tagged droplets")));
    }
    data.settle();
    let mut actions = Vec::new();
    for droplet in data.tagged(tag) {
        actions.push(action_json(&act(&data, &droplet, &body)?));
    }
    Ok(object(StatusCode::CREATED, "actions", Json::Array(actions)))
}

pub async fn actions(
    State(data): State<Data>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let droplet = find(&data, &id)?;
    let items =
        data.actions.list().into_iter().filter(|a| a.droplet_id == droplet.id).map(|a| action_json(&a)).collect();
    envelope::list("actions", items, &q, &headers, &format!("/v2/droplets/{id}/actions"))
}

pub async fn droplet_action(State(data): State<Data>, Path((id, action_id)): Path<(String, String)>) -> Answer {
    let droplet = find(&data, &id)?;
    match data.actions.get(&action_id) {
        Some(a) if a.droplet_id == droplet.id => Ok(ok("action", action_json(&a))),
        _ => Err(Failure::not_found()),
    }
}

pub async fn get_action(State(data): State<Data>, Path(action_id): Path<String>) -> Answer {
    data.settle();
    data.actions.get(&action_id).map(|a| ok("action", action_json(&a))).ok_or_else(Failure::not_found)
}
