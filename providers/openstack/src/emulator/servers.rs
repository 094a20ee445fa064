//! Nova's servers: list and detail (`limit`/`marker`, `servers_links`), create (202 with
//! `Location`; BUILD, then ACTIVE or, when a build failure is switched on, ERROR with a fault),
//! show, PUT (the name and access addresses), delete (204; gone after the action time) and the
//! actions `os-start`, `os-stop` and `reboot` (202, empty body; 409 when the server is not in a
//! state the action applies to, as Nova's `InstanceInvalidState`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value as Json, json};

use super::data::{
    Data, IMAGES, NETWORKS, SECURITY_GROUPS, Server, after, flavor, now_text, origin, server_json, updated_json,
};
use super::fault::Fault;
use super::nova::{page, paged};

type Answer = Result<Response, Fault>;

fn missing(id: &str) -> Fault {
    Fault::not_found(format!("Instance {id} could not be found."))
}

/// `GET /servers` and `GET /servers/detail`.
pub async fn list(State(data): State<Data>, headers: HeaderMap, Query(query): Query<Vec<(String, String)>>) -> Answer {
    index(&data, &headers, &query, false)
}

pub async fn detail(
    State(data): State<Data>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
) -> Answer {
    index(&data, &headers, &query, true)
}

fn index(data: &Data, headers: &HeaderMap, query: &[(String, String)], detail: bool) -> Answer {
    data.settle_all();
    let (limit, marker) = page(query)?;
    let items = data
        .servers
        .after(marker.as_deref(), limit)
        .ok_or_else(|| Fault::bad_request(format!("marker [{}] not found", marker.unwrap_or_default())))?;
    let o = origin(headers);
    let s = data.settings();
    let bodies: Vec<Json> = items
        .iter()
        .map(|v| {
            if detail {
                server_json(v, &o, &s.project_id, &s.user_id)
            } else {
                json!({"id": v.id, "name": v.name, "links": super::data::links(&o, "servers", &v.id)})
            }
        })
        .collect();
    let path = if detail { "servers/detail" } else { "servers" };
    Ok(paged("servers", bodies, limit, &format!("{o}/compute/v2.1/{path}")).into_response())
}

pub async fn show(State(data): State<Data>, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    let server = data.server(&id).ok_or_else(|| missing(&id))?;
    let s = data.settings();
    Ok(axum::Json(json!({"server": server_json(&server, &origin(&headers), &s.project_id, &s.user_id)}))
        .into_response())
}

const CREATE_FIELDS: &[&str] = &[
    "name",
    "imageRef",
    "flavorRef",
    "adminPass",
    "metadata",
    "networks",
    "OS-DCF:diskConfig",
    "accessIPv4",
    "accessIPv6",
    "personality",
    "availability_zone",
    "block_device_mapping",
    "block_device_mapping_v2",
    "config_drive",
    "key_name",
    "min_count",
    "max_count",
    "return_reservation_id",
    "security_groups",
    "user_data",
];

fn str_field<'a>(server: &'a Json, key: &str) -> Result<Option<&'a str>, Fault> {
    match server.get(key) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s)),
        Some(other) => Err(Fault::bad_request(format!(
            "Invalid input for field/attribute {key}. Value: {other}. {other} is not of type 'string'"
        ))),
    }
}

/// `POST /servers`.
pub async fn create(State(data): State<Data>, headers: HeaderMap, body: axum::body::Bytes) -> Answer {
    let request: Json = serde_json::from_slice(&body).map_err(|_| Fault::bad_request("Malformed request body"))?;
    let server = request.get("server").filter(|s| s.is_object()).ok_or_else(|| {
        Fault::bad_request("Invalid input for field/attribute server. Value: None. 'server' is a required property")
    })?;
    if let Some(unknown) =
        server.as_object().into_iter().flatten().map(|(k, _)| k).find(|k| !CREATE_FIELDS.contains(&k.as_str()))
    {
        return Err(Fault::bad_request(format!("Additional properties are not allowed ('{unknown}' was unexpected)")));
    }
    let name = str_field(server, "name")?.filter(|n| !n.trim().is_empty() && n.len() <= 255).ok_or_else(|| {
        Fault::bad_request("Invalid input for field/attribute name. Value: None. 'name' is a required property")
    })?;
    let flavor_ref = match server.get("flavorRef") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Number(n)) => n.to_string(),
        _ => {
            return Err(Fault::bad_request(
                "Invalid input for field/attribute flavorRef. 'flavorRef' is a required property",
            ));
        }
    };
    let flavor =
        flavor(&flavor_ref).ok_or_else(|| Fault::bad_request(format!("Flavor {flavor_ref} could not be found.")))?;
    let image = str_field(server, "imageRef")?.unwrap_or_default();
    if !IMAGES.iter().any(|(id, _)| *id == image) {
        return Err(Fault::bad_request(format!("Image {image} could not be found.")));
    }
    let key_name = str_field(server, "key_name")?.map(str::to_string);
    if let Some(k) = &key_name
        && data.keypairs.get(k).is_none()
    {
        return Err(Fault::bad_request("Invalid key_name provided."));
    }
    let mut networks = Vec::new();
    for n in server.get("networks").and_then(Json::as_array).into_iter().flatten() {
        let id = n.get("uuid").and_then(Json::as_str).unwrap_or_default();
        let known = NETWORKS.iter().find(|(nid, _, _)| *nid == id);
        let (_, net_name, _) = known.ok_or_else(|| Fault::bad_request(format!("Network {id} could not be found.")))?;
        networks.push(net_name.to_string());
    }
    if networks.is_empty() {
        networks.push(NETWORKS[0].1.to_string());
    }
    let mut groups = Vec::new();
    for g in server.get("security_groups").and_then(Json::as_array).into_iter().flatten() {
        let g = g.get("name").and_then(Json::as_str).unwrap_or_default();
        if !SECURITY_GROUPS.contains(&g) {
            return Err(Fault::bad_request(format!(
                "Security group {g} not found for project {}.",
                data.settings().project_id
            )));
        }
        groups.push(g.to_string());
    }
    if groups.is_empty() {
        groups.push("default".into());
    }
    let user_data = str_field(server, "user_data")?;
    if let Some(u) = user_data
        && (u.len() > 65535 || base64::engine::general_purpose::STANDARD.decode(u).is_err())
    {
        return Err(Fault::bad_request("User data needs to be valid base 64."));
    }
    let mut metadata = BTreeMap::new();
    for (k, v) in server.get("metadata").and_then(Json::as_object).into_iter().flatten() {
        match v.as_str() {
            Some(v) if !k.is_empty() && k.len() <= 255 && v.len() <= 255 => {
                metadata.insert(k.clone(), v.to_string());
            }
            _ => return Err(Fault::bad_request(format!("Invalid input for field/attribute metadata. Value: {k}"))),
        }
    }
    let settings = data.settings();
    let failing = data.failing_builds.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    let id = uuid::Uuid::new_v4().to_string();
    let now = now_text();
    let record = Server {
        id: id.clone(),
        name: name.to_string(),
        flavor_id: flavor.id.to_string(),
        image_id: image.to_string(),
        key_name,
        addresses: networks.iter().flat_map(|n| data.addresses_on(n)).collect(),
        security_groups: groups.clone(),
        metadata,
        user_data: user_data.map(str::to_string),
        status: "BUILD".into(),
        task_state: Some("spawning".into()),
        settles: Some((after(settings.build_time), if failing { "ERROR".into() } else { "ACTIVE".into() })),
        fault: failing.then(|| {
            json!({"code": 500, "created": now,
                "message": "No valid host was found. There are not enough hosts available.",
                "details": "Exceeded maximum number of retries."})
        }),
        deleting: false,
        created: now.clone(),
        updated: now,
        launched_at: None,
    };
    data.servers.put(&id, record);
    data.persist();
    let o = origin(&headers);
    let body = json!({"server": {
        "id": id,
        "links": super::data::links(&o, "servers", &id),
        "adminPass": uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": groups.iter().map(|g| json!({"name": g})).collect::<Vec<_>>(),
    }});
    let mut r = (StatusCode::ACCEPTED, axum::Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{o}/compute/v2.1/servers/{id}")) {
        r.headers_mut().insert("location", v);
    }
    Ok(r)
}

/// `PUT /servers/{id}`.
pub async fn update(
    State(data): State<Data>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Answer {
    let request: Json = serde_json::from_slice(&body).map_err(|_| Fault::bad_request("Malformed request body"))?;
    let change = request.get("server").and_then(Json::as_object).ok_or_else(|| {
        Fault::bad_request("Invalid input for field/attribute server. 'server' is a required property")
    })?;
    if let Some(unknown) =
        change.keys().find(|k| !["name", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6"].contains(&k.as_str()))
    {
        return Err(Fault::bad_request(format!("Additional properties are not allowed ('{unknown}' was unexpected)")));
    }
    let name = str_field(&request["server"], "name")?.map(str::to_string);
    if name.as_deref().is_some_and(|n| n.trim().is_empty() || n.len() > 255) {
        return Err(Fault::bad_request("Invalid input for field/attribute name."));
    }
    data.server(&id).ok_or_else(|| missing(&id))?;
    let updated = data
        .servers
        .update(&id, |s| {
            if let Some(n) = name {
                s.name = n;
            }
            s.updated = now_text();
        })
        .ok_or_else(|| missing(&id))?;
    data.persist();
    let s = data.settings();
    Ok(axum::Json(json!({"server": updated_json(&updated, &origin(&headers), &s.project_id, &s.user_id)}))
        .into_response())
}

/// `DELETE /servers/{id}`.
pub async fn delete(State(data): State<Data>, Path(id): Path<String>) -> Answer {
    let settings = data.settings();
    data.server(&id).ok_or_else(|| missing(&id))?;
    data.servers.update(&id, |s| {
        s.deleting = true;
        s.task_state = Some("deleting".into());
        s.settles = Some((after(settings.action_time), "DELETED".into()));
    });
    data.persist();
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /servers/{id}/action`.
pub async fn action(State(data): State<Data>, Path(id): Path<String>, body: axum::body::Bytes) -> Answer {
    let request: Json = serde_json::from_slice(&body).map_err(|_| Fault::bad_request("Malformed request body"))?;
    let actions = request.as_object().cloned().unwrap_or_default();
    let Some((action, args)) = actions.iter().next().filter(|_| actions.len() == 1) else {
        return Err(Fault::bad_request("Malformed request body: one action is expected"));
    };
    let server = data.server(&id).ok_or_else(|| missing(&id))?;
    let settings = data.settings();
    let label = match action.as_str() {
        "os-start" => "start",
        "os-stop" => "stop",
        "reboot" => "reboot",
        other => return Err(Fault::bad_request(format!("There is no such action: {other}"))),
    };
    if let Some(task) = &server.task_state {
        return Err(Fault::conflict(format!("Cannot '{label}' instance {id} while it is in task_state {task}")));
    }
    let vm_state = match server.status.as_str() {
        "ACTIVE" => "active",
        "SHUTOFF" => "stopped",
        "ERROR" => "error",
        _ => "building",
    };
    let (allowed, task, status_now, target) = match label {
        "start" => (vm_state == "stopped", "powering-on", "SHUTOFF", "ACTIVE"),
        "stop" => (vm_state == "active" || vm_state == "error", "powering-off", "ACTIVE", "SHUTOFF"),
        _ => {
            let kind = args.pointer("/type").and_then(Json::as_str).map(str::to_uppercase);
            match kind.as_deref() {
                Some("HARD") => (vm_state != "building", "rebooting_hard", "HARD_REBOOT", "ACTIVE"),
                Some("SOFT") => (vm_state == "active", "rebooting", "REBOOT", "ACTIVE"),
                _ => {
                    return Err(Fault::bad_request(
                        "Invalid input for field/attribute type. Value must be one of HARD, SOFT",
                    ));
                }
            }
        }
    };
    if !allowed {
        return Err(Fault::conflict(format!("Cannot '{label}' instance {id} while it is in vm_state {vm_state}")));
    }
    data.servers.update(&id, |s| {
        if label == "reboot" {
            s.status = status_now.into();
        }
        s.task_state = Some(task.into());
        s.settles = Some((after(settings.action_time), target.into()));
        s.fault = None;
    });
    data.persist();
    Ok(StatusCode::ACCEPTED.into_response())
}
