//! Nova's key pairs at 2.1: list (no pages at this version), import or generate (200; 409 for
//! a name in use; 400 for a key Nova cannot read), show, delete (202).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value as Json, json};

use super::data::{Data, Keypair, fingerprint, now_text};
use super::fault::Fault;

type Answer = Result<Response, Fault>;

fn missing(name: &str) -> Fault {
    Fault::not_found(format!("Keypair {name} not found for user"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || " -_".contains(c))
}

pub async fn list(State(data): State<Data>) -> Answer {
    let items: Vec<Json> = data
        .keypairs
        .list()
        .iter()
        .map(|k| json!({"keypair": {"fingerprint": k.fingerprint, "name": k.name, "public_key": k.public_key}}))
        .collect();
    Ok(axum::Json(json!({"keypairs": items})).into_response())
}

pub async fn create(State(data): State<Data>, body: axum::body::Bytes) -> Answer {
    let request: Json = serde_json::from_slice(&body).map_err(|_| Fault::bad_request("Malformed request body"))?;
    let k = request.get("keypair").and_then(Json::as_object).ok_or_else(|| {
        Fault::bad_request("Invalid input for field/attribute keypair. 'keypair' is a required property")
    })?;
    if let Some(unknown) = k.keys().find(|key| !["name", "public_key"].contains(&key.as_str())) {
        return Err(Fault::bad_request(format!("Additional properties are not allowed ('{unknown}' was unexpected)")));
    }
    let name = k.get("name").and_then(Json::as_str).unwrap_or_default();
    if !valid_name(name) {
        return Err(Fault::bad_request(format!(
            "Invalid input for field/attribute name. Value: {name}. '{name}' does not match '^[_\\- a-zA-Z0-9]+$'"
        )));
    }
    if data.keypairs.get(name).is_some() {
        return Err(Fault::conflict(format!("Key pair '{name}' already exists.")));
    }
    let (public_key, private_key) = match k.get("public_key").and_then(Json::as_str) {
        Some(key) => (key.trim().to_string(), None),
        None => generated(),
    };
    let fingerprint = fingerprint(&public_key)
        .ok_or_else(|| Fault::bad_request("Keypair data is invalid: failed to generate fingerprint"))?;
    let keypair =
        Keypair { id: data.next_keypair_id(), name: name.to_string(), public_key, fingerprint, created_at: now_text() };
    data.keypairs.put(name, keypair.clone());
    data.persist();
    let mut body = json!({"keypair": {"fingerprint": keypair.fingerprint, "name": keypair.name,
        "public_key": keypair.public_key, "user_id": data.settings().user_id}});
    if let (Some(private), Some(m)) = (private_key, body["keypair"].as_object_mut()) {
        m.insert("private_key".into(), json!(private));
    }
    Ok(axum::Json(body).into_response())
}

/// A generated key pair: a well-formed ed25519 public key line (random bytes; the emulator
/// holds no real private key) and a placeholder private key.
fn generated() -> (String, Option<String>) {
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    blob.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(&blob);
    let private = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{b64}\n-----END OPENSSH PRIVATE KEY-----\n");
    (format!("ssh-ed25519 {b64} Generated-by-Nova"), Some(private))
}

pub async fn show(State(data): State<Data>, Path(name): Path<String>) -> Answer {
    let k = data.keypairs.get(&name).ok_or_else(|| missing(&name))?;
    Ok(axum::Json(json!({"keypair": {
        "created_at": k.created_at, "deleted": false, "deleted_at": null, "fingerprint": k.fingerprint,
        "id": k.id, "name": k.name, "public_key": k.public_key, "updated_at": null, "user_id": data.settings().user_id,
    }}))
    .into_response())
}

pub async fn delete(State(data): State<Data>, Path(name): Path<String>) -> Answer {
    data.keypairs.remove(&name).ok_or_else(|| missing(&name))?;
    data.persist();
    Ok(StatusCode::ACCEPTED.into_response())
}
