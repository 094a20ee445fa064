//! OneFlow's REST API as `specs/opennebula-oneflow-xmlrpc.subset.yaml` (section `oneflow`)
//! describes it: HTTP Basic authentication (401 with oneflow-server's plain-text messages),
//! service templates (list, show, `instantiate` → 201 with the new service), services (list,
//! show, `DELETE` → 204 and an asynchronous undeploy, 500 "Service cannot be undeployed in
//! state: …" while deploying), `POST /service/{id}/action` (`recover`, with `delete: true` to
//! force the removal; `rename`). Errors are plain-text bodies with the status oneflow-server
//! maps them to (400 validation, 404 missing document, 405 unsupported action).
//! Not emulated: creating, updating or deleting service templates, scaling, role actions.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value as Json, json};

use super::Data;
use super::world::{FlowDoc, World, now_ms};

fn plain(status: StatusCode, text: impl Into<String>) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "text/plain")], text.into()).into_response()
}

fn ok(status: StatusCode, body: Json) -> Response {
    (status, axum::Json(body)).into_response()
}

/// A refusal in oneflow-server's style (plain text), before it becomes a response.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        plain(self.0, self.1)
    }
}

/// The logged-in user's id, or the 401 answer.
fn login(world: &World, headers: &HeaderMap) -> Result<u64, Refusal> {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(Refusal(StatusCode::UNAUTHORIZED, "A username and password must be provided".into()));
    };
    let decoded = value
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    match decoded.as_deref().and_then(|d| d.split_once(':')).and_then(|(u, p)| world.user_by_login(u, p)) {
        Some(u) => Ok(u.id),
        None => Err(Refusal(StatusCode::UNAUTHORIZED, "Invalid credentials".into())),
    }
}

/// A OneFlow document as the API shows it (ids and permission bits as strings).
pub fn document(world: &World, d: &FlowDoc, doc_type: &str) -> Json {
    let bits = |b: &str| json!(b);
    json!({
        "ID": d.id.to_string(),
        "UID": d.uid.to_string(),
        "GID": "1",
        "UNAME": world.user_name(d.uid),
        "GNAME": "users",
        "NAME": d.name,
        "TYPE": doc_type,
        "PERMISSIONS": {
            "OWNER_U": bits("1"), "OWNER_M": bits("1"), "OWNER_A": bits("0"),
            "GROUP_U": bits("1"), "GROUP_M": bits("0"), "GROUP_A": bits("0"),
            "OTHER_U": bits("1"), "OTHER_M": bits("0"), "OTHER_A": bits("0")
        },
        "TEMPLATE": {"BODY": d.body}
    })
}

fn pool(docs: Vec<Json>) -> Json {
    if docs.is_empty() { json!({"DOCUMENT_POOL": {}}) } else { json!({"DOCUMENT_POOL": {"DOCUMENT": docs}}) }
}

fn not_found(id: &str) -> Response {
    plain(StatusCode::NOT_FOUND, format!("[DocumentInfo] Error getting document [{id}]."))
}

pub async fn templates(State(data): State<Data>, headers: HeaderMap) -> Response {
    data.read(|w| {
        if let Err(r) = login(w, &headers) {
            return r.into_response();
        }
        let docs = w.service_templates.iter().map(|t| document(w, t, "101")).collect();
        ok(StatusCode::OK, pool(docs))
    })
}

pub async fn template(State(data): State<Data>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    data.read(|w| {
        if let Err(r) = login(w, &headers) {
            return r.into_response();
        }
        match w.service_templates.iter().find(|t| t.id.to_string() == id) {
            Some(t) => ok(StatusCode::OK, json!({"DOCUMENT": document(w, t, "101")})),
            None => not_found(&id),
        }
    })
}

fn parse_action(body: &[u8]) -> Result<(String, Json), Refusal> {
    let parsed: Json = serde_json::from_slice(body)
        .map_err(|e| Refusal(StatusCode::BAD_REQUEST, format!("Error parsing JSON: {e}")))?;
    let action = parsed
        .get("action")
        .filter(|a| a.is_object())
        .ok_or_else(|| Refusal(StatusCode::BAD_REQUEST, "Missing action".into()))?;
    let perform = action
        .get("perform")
        .and_then(Json::as_str)
        .ok_or_else(|| Refusal(StatusCode::BAD_REQUEST, "Missing action perform".into()))?;
    Ok((perform.to_string(), action.get("params").cloned().unwrap_or(json!({}))))
}

/// A role's contents given as OneFlow < 6.10's `vm_template_contents` text, as an object.
fn contents_from_text(text: &str) -> Result<Json, String> {
    let attrs = crate::template::parse(text)?;
    Ok(crate::function::contents_json(&attrs))
}

fn merge_object(into: &mut Json, from: &Json) {
    if let (Some(a), Some(b)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in b {
            a.insert(k.clone(), v.clone());
        }
    }
}

pub async fn template_action(
    State(data): State<Data>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    data.with(|w| {
        let uid = match login(w, &headers) {
            Ok(u) => u,
            Err(r) => return r.into_response(),
        };
        let Some(index) = w.service_templates.iter().position(|t| t.id.to_string() == id) else {
            return not_found(&id);
        };
        let (perform, params) = match parse_action(&body) {
            Ok(a) => a,
            Err(r) => return r.into_response(),
        };
        match perform.as_str() {
            "instantiate" => instantiate(w, index, uid, &params),
            "rename" => match params.get("name").and_then(Json::as_str) {
                Some(name) if !name.is_empty() => {
                    w.service_templates[index].name = name.to_string();
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => plain(StatusCode::BAD_REQUEST, "Missing name"),
            },
            other => {
                plain(StatusCode::METHOD_NOT_ALLOWED, format!("{other} action is not supported by tarn's emulator"))
            }
        }
    })
}

fn instantiate(w: &mut World, index: usize, uid: u64, params: &Json) -> Response {
    let template = w.service_templates[index].clone();
    let merge = params.get("merge_template").cloned().unwrap_or(json!({}));
    if !merge.is_object() {
        return plain(StatusCode::BAD_REQUEST, "merge_template must be a JSON object");
    }
    let mut body = template.body.clone();
    let mut roles: Vec<Json> = body["roles"].as_array().cloned().unwrap_or_default();
    if let Some(merged) = merge.get("roles") {
        let Some(merged) = merged.as_array() else { return plain(StatusCode::BAD_REQUEST, "roles must be an array") };
        for m in merged {
            let name = m.get("name").and_then(Json::as_str).unwrap_or_default();
            let Some(role) = roles.iter_mut().find(|r| r["name"] == name) else {
                return plain(StatusCode::BAD_REQUEST, format!("Role {name} not found in the service template"));
            };
            if !role["template_contents"].is_object() {
                role["template_contents"] = json!({});
            }
            if let Some(contents) = m.get("template_contents") {
                if !contents.is_object() {
                    return plain(
                        StatusCode::BAD_REQUEST,
                        format!("template_contents of role {name} must be an object"),
                    );
                }
                merge_object(&mut role["template_contents"], contents);
            }
            if let Some(text) = m.get("vm_template_contents").and_then(Json::as_str) {
                match contents_from_text(text) {
                    Ok(c) => merge_object(&mut role["template_contents"], &c),
                    Err(e) => {
                        return plain(StatusCode::BAD_REQUEST, format!("vm_template_contents of role {name}: {e}"));
                    }
                }
            }
            for (k, v) in m.as_object().into_iter().flatten() {
                if !["name", "template_contents", "vm_template_contents"].contains(&k.as_str()) {
                    role[k] = v.clone();
                }
            }
        }
    }
    for r in &mut roles {
        r["nodes"] = json!([]);
        r["state"] = json!(0);
        if r.get("template_contents").is_none_or(|c| !c.is_object()) {
            r["template_contents"] = json!({});
        }
    }
    let id = w.fresh_id();
    let name =
        merge.get("name").and_then(Json::as_str).map_or_else(|| format!("{}-{id}", template.name), str::to_string);
    let now = now_ms();
    if let Some(m) = body.as_object_mut() {
        m.insert("name".into(), json!(name));
        m.insert("roles".into(), Json::Array(roles));
        m.insert("state".into(), json!(0));
        m.insert("log".into(), json!([]));
        m.insert("start_time".into(), json!(now / 1000));
        m.remove("registration_time");
    }
    let service = FlowDoc { id, uid, name, body, due: Some(now + w.step_ms), doomed: template.doomed };
    let doc = document(w, &service, "100");
    w.services.push(service);
    ok(StatusCode::CREATED, json!({"DOCUMENT": doc}))
}

pub async fn services(State(data): State<Data>, headers: HeaderMap) -> Response {
    data.read(|w| {
        let uid = match login(w, &headers) {
            Ok(u) => u,
            Err(r) => return r.into_response(),
        };
        let docs = w.services.iter().filter(|s| s.uid == uid).map(|s| document(w, s, "100")).collect();
        ok(StatusCode::OK, pool(docs))
    })
}

pub async fn service(State(data): State<Data>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    data.read(|w| {
        let uid = match login(w, &headers) {
            Ok(u) => u,
            Err(r) => return r.into_response(),
        };
        match w.services.iter().find(|s| s.id.to_string() == id && s.uid == uid) {
            Some(s) => ok(StatusCode::OK, json!({"DOCUMENT": document(w, s, "100")})),
            None => not_found(&id),
        }
    })
}

pub async fn delete_service(State(data): State<Data>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    data.with(|w| {
        let uid = match login(w, &headers) {
            Ok(u) => u,
            Err(r) => return r.into_response(),
        };
        let Some(index) = w.services.iter().position(|s| s.id.to_string() == id && s.uid == uid) else {
            return not_found(&id);
        };
        let state = w.services[index].body["state"].as_i64().unwrap_or(0);
        // Transient states cannot be undeployed (LifeCycleManager.undeploy_action).
        if [0, 1, 3, 8, 10, 11, 12].contains(&state) {
            let name = crate::oneflow::service_state_name(state);
            return plain(StatusCode::INTERNAL_SERVER_ERROR, format!("Service cannot be undeployed in state: {name}"));
        }
        w.undeploy(index, now_ms());
        StatusCode::NO_CONTENT.into_response()
    })
}

pub async fn service_action(
    State(data): State<Data>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    data.with(|w| {
        let uid = match login(w, &headers) {
            Ok(u) => u,
            Err(r) => return r.into_response(),
        };
        let Some(index) = w.services.iter().position(|s| s.id.to_string() == id && s.uid == uid) else {
            return not_found(&id);
        };
        let (perform, params) = match parse_action(&body) {
            Ok(a) => a,
            Err(r) => return r.into_response(),
        };
        let now = now_ms();
        match perform.as_str() {
            "recover" if params.get("delete").and_then(Json::as_bool) == Some(true) => {
                w.force_delete(index, now);
                StatusCode::NO_CONTENT.into_response()
            }
            "recover" => {
                let state = w.services[index].body["state"].as_i64().unwrap_or(0);
                if state == 4 {
                    // WARNING: the VMs in a failure state are retried; the service is RUNNING
                    // again once they all run (the monitor, in `World::tick`).
                    let ids = World::service_ids_vms(&w.services[index]);
                    for vm in w.vms.iter_mut().filter(|v| ids.contains(&v.id) && v.lcm == 39) {
                        (vm.lcm, vm.due) = (1, Some(now + w.step_ms));
                    }
                }
                if state == 7 {
                    // Retry the deploy: the failed VMs go through PROLOG again.
                    let ids = World::service_ids_vms(&w.services[index]);
                    for vm in w.vms.iter_mut().filter(|v| ids.contains(&v.id) && v.lcm == 39) {
                        (vm.lcm, vm.due) = (1, Some(now + w.step_ms));
                    }
                    // DEPLOYING again, its roles with it, as OneFlow's recover does.
                    super::world::set_state(&mut w.services[index], 1, 1);
                }
                StatusCode::NO_CONTENT.into_response()
            }
            "rename" => match params.get("name").and_then(Json::as_str) {
                Some(name) if !name.is_empty() => {
                    w.services[index].name = name.to_string();
                    w.services[index].body["name"] = json!(name);
                    StatusCode::NO_CONTENT.into_response()
                }
                _ => plain(StatusCode::BAD_REQUEST, "Missing name"),
            },
            other => {
                plain(StatusCode::METHOD_NOT_ALLOWED, format!("{other} action is not supported by tarn's emulator"))
            }
        }
    })
}
