//! `/servers[/{id}]`, `/servers/{id}/action`, `/tasks/{id}` and `/servers/{id}/user_data`:
//! servers made from an image (root volume sized within the type's limits) or from an existing
//! volume, the seed's rules as the API enforces them (total local size within
//! `volumes_constraint`; type and local volumes change only while stopped; delete only when
//! stopped, volumes kept and detached), and actions that answer 202 with a task which finishes
//! after the emulator's action time (`backup` among them: an image and a snapshot per volume).

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value as Json, json};

use super::data::{
    Data, Image, ORGANIZATION_ID, Server, Task, Volume, VolumeSnapshot, allowed_actions, new_id, now_ms, now_text,
    server_type,
};
use super::envelope::{self, Failure, Paging};
use super::zone;

const GB: u64 = 1_000_000_000;

fn server_in(data: &Data, zone: &str, id: &str) -> Result<Server, Failure> {
    data.settle();
    data.servers.get(id).filter(|s| s.zone == zone).ok_or_else(|| Failure::not_found("instance_server", id))
}

pub async fn list(
    State(data): State<Data>,
    Path(z): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let paging = Paging::parse(&q)?;
    data.settle();
    let mut servers: Vec<Server> = data
        .servers
        .list()
        .into_iter()
        .filter(|s| s.zone == z)
        .filter(|s| q.get("name").is_none_or(|n| s.name.contains(n.as_str())))
        .filter(|s| q.get("state").is_none_or(|st| s.state == *st))
        .filter(|s| q.get("commercial_type").is_none_or(|t| s.commercial_type == *t))
        .filter(|s| q.get("project").is_none_or(|p| s.project == *p))
        .filter(|s| envelope::has_tags(&s.tags, q.get("tags")))
        .collect();
    if q.get("order").is_none_or(|o| o.ends_with("_desc")) {
        servers.reverse();
    }
    let items = servers.iter().map(|s| s.to_json(&data)).collect();
    Ok(envelope::list("servers", items, paging, &format!("/instance/v1/zones/{z}/servers")))
}

pub async fn get(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let z = zone(&z)?;
    Ok(envelope::ok("server", server_in(&data, z, &id)?.to_json(&data)))
}

fn strings(body: &Map<String, Json>, key: &str) -> Result<Option<Vec<String>>, Failure> {
    match body.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Array(l)) if l.iter().all(Json::is_string) => {
            Ok(Some(l.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()))
        }
        Some(_) => Err(Failure::invalid_argument(key, "format", format!("{key} must be a list of strings"))),
    }
}

fn flag(body: &Map<String, Json>, key: &str) -> Result<Option<bool>, Failure> {
    match body.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(Failure::invalid_argument(key, "format", format!("{key} must be a boolean"))),
    }
}

fn text<'a>(body: &'a Map<String, Json>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Json::as_str).filter(|s| !s.is_empty())
}

/// The total local size must meet the type's `volumes_constraint`.
fn check_local_total(data: &Data, commercial_type: &str, volume_ids: &[String]) -> Result<(), Failure> {
    let Some(t) = server_type(commercial_type) else { return Ok(()) };
    let total: u64 = volume_ids
        .iter()
        .filter_map(|id| data.volumes.get(id))
        .filter(|v| v.volume_type == "l_ssd")
        .map(|v| v.size)
        .sum();
    if total < t.min_gb * GB || total > t.max_gb * GB {
        return Err(Failure::invalid_request(format!(
            "The total size of local-volume(s) must be between {} GB and {} GB for {}, got {} GB",
            t.min_gb,
            t.max_gb,
            t.name,
            total / GB
        )));
    }
    Ok(())
}

/// A free volume of this zone, for attaching.
fn free_volume(data: &Data, zone: &str, id: &str) -> Result<Volume, Failure> {
    let v = data.volumes.get(id).filter(|v| v.zone == zone).ok_or_else(|| Failure::not_found("instance_volume", id))?;
    if v.server_id.is_some() {
        return Err(Failure::invalid_request(format!("volume {id} is already attached to a server")));
    }
    Ok(v)
}

pub async fn create(State(data): State<Data>, Path(z): Path<String>, body: Bytes) -> Result<Response, Failure> {
    let z = zone(&z)?.to_string();
    let body = envelope::parse_body(&body)?;
    let name = text(&body, "name")
        .ok_or_else(|| Failure::invalid_argument("name", "required", "required key not provided"))?;
    let commercial_type = text(&body, "commercial_type")
        .ok_or_else(|| Failure::invalid_argument("commercial_type", "required", "required key not provided"))?;
    let t = server_type(commercial_type).ok_or_else(|| {
        Failure::invalid_argument(
            "commercial_type",
            "constraint",
            format!("unknown commercial type {commercial_type:?}"),
        )
    })?;
    let project = text(&body, "project").unwrap_or(ORGANIZATION_ID).to_string();
    let boot_type = text(&body, "boot_type").unwrap_or("local").to_string();
    if !["local", "bootscript", "rescue"].contains(&boot_type.as_str()) {
        return Err(Failure::invalid_argument(
            "boot_type",
            "constraint",
            "boot_type must be local, bootscript or rescue",
        ));
    }
    let _changing = data.changing.lock().unwrap_or_else(|p| p.into_inner());
    let image = match text(&body, "image") {
        None => None,
        Some(i) if uuid::Uuid::try_parse(i).is_ok() => Some(
            data.images.get(i).filter(|img| img.zone == z).ok_or_else(|| Failure::not_found("instance_image", i))?,
        ),
        // A label: the zone's latest image carrying it.
        Some(label) => Some(
            data.images
                .list()
                .into_iter()
                .filter(|img| img.zone == z && img.label == label)
                .max_by(|a, b| a.creation_date.cmp(&b.creation_date))
                .ok_or_else(|| {
                    Failure::invalid_argument("image", "constraint", format!("no image with label {label:?} in {z}"))
                })?,
        ),
    };
    let volumes_in = match body.get("volumes") {
        None | Some(Json::Null) => Map::new(),
        Some(Json::Object(m)) => m.clone(),
        Some(_) => return Err(Failure::invalid_argument("volumes", "format", "volumes must be an object")),
    };
    let id = new_id();
    let stamp = now_text();
    let mut made: Vec<Volume> = Vec::new();
    let mut volumes: BTreeMap<usize, String> = BTreeMap::new();
    let mut keys: Vec<(usize, &Json)> = Vec::new();
    for (k, v) in &volumes_in {
        let i = k.parse::<usize>().map_err(|_| {
            Failure::invalid_argument(&format!("volumes.{k}"), "format", "volume keys are positions: 0, 1, …")
        })?;
        keys.push((i, v));
    }
    keys.sort_by_key(|(i, _)| *i);
    for (i, spec) in keys {
        match spec.get("id").and_then(Json::as_str) {
            Some(vid) => {
                free_volume(&data, &z, vid)?;
                volumes.insert(i, vid.to_string());
            }
            None if i == 0 && image.is_some() => {}
            None => {
                return Err(Failure::invalid_request(format!("volumes.{i}: give the id of an existing volume")));
            }
        }
    }
    if let Some(img) = &image {
        if volumes.contains_key(&0) {
            return Err(Failure::invalid_request(
                "volumes.0 cannot be given with an image: the image makes the root volume",
            ));
        }
        let root_spec = volumes_in.get("0");
        let kind = root_spec.and_then(|r| r.get("volume_type")).and_then(Json::as_str).unwrap_or("l_ssd").to_string();
        let size = match root_spec.and_then(|r| r.get("size")) {
            Some(s) => s.as_u64().filter(|s| s % 512 == 0 && *s > 0).ok_or_else(|| {
                Failure::invalid_argument(
                    "volumes.0.size",
                    "constraint",
                    "size must be a positive multiple of 512 bytes",
                )
            })?,
            None => img.root_size.max(t.min_gb * GB).min(t.max_gb * GB),
        };
        let root = Volume {
            id: new_id(),
            zone: z.clone(),
            name: format!("{} root", img.name),
            project: project.clone(),
            size,
            volume_type: kind,
            tags: Vec::new(),
            server_id: None,
            creation_date: stamp.clone(),
            modification_date: stamp.clone(),
        };
        volumes.insert(0, root.id.clone());
        made.push(root);
    } else if !volumes.contains_key(&0) {
        return Err(Failure::invalid_request("a server needs an image or a root volume (volumes.0.id)"));
    }
    for v in &made {
        data.volumes.put(&v.id.clone(), v.clone());
    }
    let ids: Vec<String> = volumes.values().cloned().collect();
    if let Err(f) = check_local_total(&data, commercial_type, &ids) {
        made.iter().for_each(|v| drop(data.volumes.remove(&v.id)));
        return Err(f);
    }
    let public_ips = strings(&body, "public_ips")?.unwrap_or_default();
    for ip in &public_ips {
        let found = data.ips.get(ip).filter(|i| i.zone == z);
        if found.as_ref().is_none_or(|i| i.server_id.is_some()) {
            made.iter().for_each(|v| drop(data.volumes.remove(&v.id)));
            return Err(found.map_or_else(
                || Failure::not_found("instance_ip", ip),
                |_| Failure::invalid_request(format!("IP {ip} is already attached to a server")),
            ));
        }
    }
    let group = match text(&body, "security_group") {
        Some(g) => data
            .groups
            .get(g)
            .filter(|x| x.zone == z)
            .ok_or_else(|| Failure::not_found("instance_security_group", g))?,
        None => data.default_group(&z, &project),
    };
    let n = data.servers.len() as u32 + 1;
    let server = Server {
        id: id.clone(),
        zone: z.clone(),
        name: name.to_string(),
        project,
        commercial_type: commercial_type.to_string(),
        tags: strings(&body, "tags")?.unwrap_or_default(),
        dynamic_ip_required: flag(&body, "dynamic_ip_required")?.unwrap_or(true),
        enable_ipv6: flag(&body, "enable_ipv6")?.unwrap_or(false),
        boot_type,
        image_id: image.map(|i| i.id),
        state: "stopped".into(),
        security_group_id: group.id,
        volumes: volumes.clone(),
        dynamic_address: data.next_address("51.15"),
        ipv6_address: format!("2001:bc8:1640:{:x}::1", n),
        private_ip: format!("10.64.{}.{}", n / 250, n % 250 + 2),
        user_data: BTreeMap::new(),
        creation_date: stamp.clone(),
        modification_date: stamp,
    };
    data.servers.put(&id, server.clone());
    for vid in volumes.values() {
        data.volumes.update(vid, |v| v.server_id = Some(id.clone()));
    }
    for ip in &public_ips {
        data.ips.update(ip, |i| i.server_id = Some(id.clone()));
    }
    data.persist();
    let location = format!("https://api.scaleway.com/instance/v1/zones/{z}/servers/{id}");
    Ok(envelope::created("server", server.to_json(&data), &location))
}

pub async fn update(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?.to_string();
    let body = envelope::parse_body(&body)?;
    let _changing = data.changing.lock().unwrap_or_else(|p| p.into_inner());
    let mut server = server_in(&data, &z, &id)?;
    let stopped = server.state == "stopped";
    if let Some(t) = text(&body, "commercial_type")
        && t != server.commercial_type
    {
        server_type(t).ok_or_else(|| {
            Failure::invalid_argument("commercial_type", "constraint", format!("unknown commercial type {t:?}"))
        })?;
        if !stopped {
            return Err(Failure::invalid_request("server should be stopped to change its commercial type"));
        }
        server.commercial_type = t.to_string();
    }
    let mut new_volumes = server.volumes.clone();
    if let Some(Json::Object(m)) = body.get("volumes") {
        new_volumes.clear();
        for (k, v) in m {
            let i = k.parse::<usize>().map_err(|_| {
                Failure::invalid_argument(&format!("volumes.{k}"), "format", "volume keys are positions")
            })?;
            let vid = v.get("id").and_then(Json::as_str).ok_or_else(|| {
                Failure::invalid_argument(&format!("volumes.{k}.id"), "required", "required key not provided")
            })?;
            if !server.volumes.values().any(|x| x == vid) {
                free_volume(&data, &z, vid)?;
            }
            new_volumes.insert(i, vid.to_string());
        }
        let local = |set: &BTreeMap<usize, String>| -> Vec<String> {
            let mut l: Vec<String> = set
                .values()
                .filter(|id| data.volumes.get(id).is_some_and(|v| v.volume_type == "l_ssd"))
                .cloned()
                .collect();
            l.sort();
            l
        };
        if local(&server.volumes) != local(&new_volumes) && !stopped {
            return Err(Failure::invalid_request(
                "local volumes cannot be added to or removed from a running server: stop it first",
            ));
        }
    }
    let ids: Vec<String> = new_volumes.values().cloned().collect();
    check_local_total(&data, &server.commercial_type, &ids)?;
    if let Some(ips) = strings(&body, "public_ips")? {
        for ip in &ips {
            let found =
                data.ips.get(ip).filter(|i| i.zone == z).ok_or_else(|| Failure::not_found("instance_ip", ip))?;
            if found.server_id.as_ref().is_some_and(|s| *s != id) {
                return Err(Failure::invalid_request(format!("IP {ip} is attached to another server")));
            }
        }
        for ip in data.ips.list().into_iter().filter(|i| i.server_id.as_deref() == Some(id.as_str())) {
            if !ips.contains(&ip.id) {
                data.ips.update(&ip.id, |i| i.server_id = None);
            }
        }
        for ip in &ips {
            data.ips.update(ip, |i| i.server_id = Some(id.clone()));
        }
    }
    if let Some(n) = text(&body, "name") {
        server.name = n.to_string();
    }
    if let Some(tags) = strings(&body, "tags")? {
        server.tags = tags;
    }
    if let Some(b) = flag(&body, "dynamic_ip_required")? {
        server.dynamic_ip_required = b;
    }
    if let Some(b) = flag(&body, "enable_ipv6")? {
        server.enable_ipv6 = b;
    }
    if let Some(b) = text(&body, "boot_type") {
        server.boot_type = b.to_string();
    }
    if let Some(g) = body.get("security_group").and_then(|g| g.get("id")).and_then(Json::as_str) {
        data.groups.get(g).filter(|x| x.zone == z).ok_or_else(|| Failure::not_found("instance_security_group", g))?;
        server.security_group_id = g.to_string();
    }
    for (_, vid) in server.volumes.iter().filter(|(_, v)| !new_volumes.values().any(|n| n == *v)) {
        data.volumes.update(vid, |v| v.server_id = None);
    }
    for vid in new_volumes.values() {
        data.volumes.update(vid, |v| v.server_id = Some(id.clone()));
    }
    server.volumes = new_volumes;
    server.modification_date = now_text();
    data.servers.put(&id, server.clone());
    data.persist();
    Ok(envelope::ok("server", server.to_json(&data)))
}

pub async fn delete(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let _changing = data.changing.lock().unwrap_or_else(|p| p.into_inner());
    let server = server_in(&data, z, &id)?;
    if server.state != "stopped" {
        return Err(Failure::invalid_request("server should be stopped"));
    }
    remove(&data, &server, false);
    Ok(envelope::no_content())
}

/// Removes a server, detaching its IPs and detaching (or, for `terminate`, deleting) its volumes.
fn remove(data: &Data, server: &Server, with_volumes: bool) {
    for vid in server.volumes.values() {
        if with_volumes {
            data.volumes.remove(vid);
        } else {
            data.volumes.update(vid, |v| v.server_id = None);
        }
    }
    for ip in data.ips.list().into_iter().filter(|i| i.server_id.as_deref() == Some(server.id.as_str())) {
        data.ips.update(&ip.id, |i| i.server_id = None);
    }
    data.servers.remove(&server.id);
    data.persist();
}

pub async fn actions(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let z = zone(&z)?;
    let server = server_in(&data, z, &id)?;
    Ok((StatusCode::OK, axum::Json(json!({"actions": allowed_actions(&server.state)}))).into_response())
}

pub async fn action(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?.to_string();
    let body = envelope::parse_body(&body)?;
    let name = text(&body, "action").unwrap_or("poweron");
    let _changing = data.changing.lock().unwrap_or_else(|p| p.into_inner());
    let server = server_in(&data, &z, &id)?;
    if matches!(server.state.as_str(), "starting" | "stopping") {
        return Err(Failure::transient_state("instance_server", &id, &server.state));
    }
    if !["poweron", "poweroff", "reboot", "stop_in_place", "terminate", "backup"].contains(&name) {
        return Err(Failure::invalid_request(format!("the {name} action is not modelled by tarn's emulator")));
    }
    if !allowed_actions(&server.state).contains(&name) {
        return Err(Failure::invalid_request(format!(
            "action {name} is not allowed while the server is {}",
            server.state
        )));
    }
    if name == "backup" {
        return backup(&data, &z, &server, &body);
    }
    let (during, target) = match name {
        "poweron" | "reboot" => ("starting", "running"),
        "stop_in_place" => ("stopping", "stopped in place"),
        _ => ("stopping", "stopped"),
    };
    let task = Task {
        id: new_id(),
        zone: z.clone(),
        description: format!("server_{}", if name == "poweron" { "batch_poweron" } else { name }),
        server_id: id.clone(),
        target: target.to_string(),
        status: "pending".into(),
        started_at: now_text(),
        terminated_at: None,
        done_at: now_ms() + data.action_time.as_millis() as u64,
        image_id: None,
    };
    if name == "terminate" {
        remove(&data, &server, true);
    } else {
        data.servers.update(&id, |s| s.state = during.to_string());
    }
    data.tasks.put(&task.id.clone(), task.clone());
    data.persist();
    Ok(accepted(&z, &task))
}

/// 202 with the task and its `Location`, as every action answers.
fn accepted(z: &str, task: &Task) -> Response {
    let mut r = (StatusCode::ACCEPTED, axum::Json(json!({"task": task.to_json()}))).into_response();
    let location = format!("https://api.scaleway.com/instance/v1/zones/{z}/tasks/{}", task.id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert("location", v);
    }
    r
}

/// The `backup` action: an image (`creating`) with a snapshot (`snapshotting`) of each of the
/// server's volumes, or of those the body's `volumes` names, in the server's zone. Its task
/// names the image in `href_result`; when it ends, the image and snapshots are `available`.
/// The server's state does not change.
fn backup(data: &Data, z: &str, server: &Server, body: &Map<String, Json>) -> Result<Response, Failure> {
    let chosen: Option<Vec<String>> = match body.get("volumes") {
        None | Some(Json::Null) => None,
        Some(Json::Object(m)) => Some(m.keys().cloned().collect()),
        Some(_) => return Err(Failure::invalid_argument("volumes", "format", "volumes must be an object")),
    };
    if let Some(ids) = &chosen
        && let Some(stray) = ids.iter().find(|id| !server.volumes.values().any(|v| v == *id))
    {
        return Err(Failure::invalid_request(format!("volume {stray} is not attached to server {}", server.id)));
    }
    let stamp = now_text();
    let image_id = new_id();
    let name = text(body, "name").map_or_else(|| format!("{}-backup", server.name), str::to_string);
    let mut root_snapshot = None;
    let mut extra = BTreeMap::new();
    let mut root_size = 0;
    for (i, vid) in &server.volumes {
        if chosen.as_ref().is_some_and(|c| !c.contains(vid)) {
            continue;
        }
        let Some(volume) = data.volumes.get(vid) else { continue };
        let snapshot = VolumeSnapshot {
            id: new_id(),
            zone: z.to_string(),
            name: format!("{name}-{i}"),
            project: server.project.clone(),
            size: volume.size,
            volume_type: volume.volume_type.clone(),
            base_volume: (volume.id.clone(), volume.name.clone()),
            state: "snapshotting".into(),
            creation_date: stamp.clone(),
        };
        if root_snapshot.is_none() {
            root_size = volume.size;
            root_snapshot = Some(snapshot.id.clone());
        } else {
            extra.insert(extra.len() + 1, snapshot.id.clone());
        }
        data.snapshots.put(&snapshot.id.clone(), snapshot);
    }
    if root_snapshot.is_none() {
        return Err(Failure::invalid_request("a backup needs at least one volume to snapshot"));
    }
    let image = Image {
        id: image_id.clone(),
        zone: z.to_string(),
        name,
        label: String::new(),
        root_size,
        public: false,
        creation_date: stamp.clone(),
        from_server: server.id.clone(),
        project: server.project.clone(),
        tags: Vec::new(),
        state: "creating".into(),
        root_snapshot,
        extra_snapshots: extra,
        modification_date: stamp.clone(),
    };
    data.images.put(&image_id, image);
    let task = Task {
        id: new_id(),
        zone: z.to_string(),
        description: "instance_backup".into(),
        server_id: server.id.clone(),
        target: server.state.clone(),
        status: "pending".into(),
        started_at: stamp,
        terminated_at: None,
        done_at: now_ms() + data.action_time.as_millis() as u64,
        image_id: Some(image_id),
    };
    data.tasks.put(&task.id.clone(), task.clone());
    data.persist();
    Ok(accepted(z, &task))
}

pub async fn task(State(data): State<Data>, Path((z, id)): Path<(String, String)>) -> Result<Response, Failure> {
    let z = zone(&z)?;
    data.settle();
    let task = data.tasks.get(&id).filter(|t| t.zone == z).ok_or_else(|| Failure::not_found("instance_task", &id))?;
    Ok(envelope::ok("task", task.to_json()))
}

pub async fn user_data_keys(
    State(data): State<Data>,
    Path((z, id)): Path<(String, String)>,
) -> Result<Response, Failure> {
    let server = server_in(&data, zone(&z)?, &id)?;
    let keys: Vec<&String> = server.user_data.keys().collect();
    Ok((StatusCode::OK, axum::Json(json!({"user_data": keys}))).into_response())
}

pub async fn user_data_get(
    State(data): State<Data>,
    Path((z, id, key)): Path<(String, String, String)>,
) -> Result<Response, Failure> {
    let server = server_in(&data, zone(&z)?, &id)?;
    let value = server.user_data.get(&key).ok_or_else(|| Failure::not_found("instance_user_data", &key))?;
    Ok((StatusCode::OK, axum::Json(json!({"name": key, "content_type": "text/plain", "content": value})))
        .into_response())
}

pub async fn user_data_set(
    State(data): State<Data>,
    Path((z, id, key)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let z = zone(&z)?;
    server_in(&data, z, &id)?;
    let value =
        String::from_utf8(body.to_vec()).map_err(|_| Failure::invalid_request("user data must be UTF-8 text here"))?;
    data.servers.update(&id, |s| drop(s.user_data.insert(key, value)));
    data.persist();
    Ok(envelope::no_content())
}

pub async fn user_data_delete(
    State(data): State<Data>,
    Path((z, id, key)): Path<(String, String, String)>,
) -> Result<Response, Failure> {
    let server = server_in(&data, zone(&z)?, &id)?;
    if !server.user_data.contains_key(&key) {
        return Err(Failure::not_found("instance_user_data", &key));
    }
    data.servers.update(&id, |s| drop(s.user_data.remove(&key)));
    data.persist();
    Ok(envelope::no_content())
}
