//! SSH key routes (`/v2/account/keys`, from `specs/digitalocean-v2.ssh-keys.extract.yaml`):
//! list, create (201), get, rename (PUT) and delete, by id or by fingerprint.
//!
//! The fingerprint has the MD5 format DigitalOcean shows (16 hex pairs); the emulator derives
//! it from SHA-256 of the key, as it has no MD5, so it is unique but not the real MD5.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::data::{Data, SshKey, key_json};
use super::envelope::{self, Failure, no_content, object, ok, parse_body, text};

type Answer = Result<Response, Failure>;

/// The type and key of a public key line, without its comment.
fn key_part(public_key: &str) -> String {
    public_key.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn fingerprint(public_key: &str) -> String {
    let digest = Sha256::digest(key_part(public_key).as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn find(data: &Data, id: &str) -> Result<SshKey, Failure> {
    data.keys.list().into_iter().find(|k| k.id.to_string() == id || k.fingerprint == id).ok_or_else(Failure::not_found)
}

pub async fn list(State(data): State<Data>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Answer {
    let items = data.keys.list().iter().map(key_json).collect();
    envelope::list("ssh_keys", items, &q, &headers, "/v2/account/keys")
}

pub async fn create(State(data): State<Data>, body: Bytes) -> Answer {
    let body = parse_body(&body)?;
    let name = text(&body, "name")?.to_string();
    let public_key = text(&body, "public_key")?.trim().to_string();
    let mut parts = public_key.split_whitespace();
    let kind = parts.next().unwrap_or_default();
    let blob = parts.next().unwrap_or_default();
    if !kind.starts_with("ssh-") && !kind.starts_with("ecdsa-") || blob.len() < 16 {
        return Err(Failure::unprocessable(
            "Key invalid type, we support 'ssh-rsa', 'ssh-dss', 'ecdsa-sha2-nistp256', 'ssh-ed25519'",
        ));
    }
    let fingerprint = fingerprint(&public_key);
    if data.keys.list().iter().any(|k| k.fingerprint == fingerprint) {
        return Err(Failure::unprocessable("SSH Key is already in use on your account"));
    }
    let key = SshKey { id: data.id(), name, public_key, fingerprint };
    data.keys.put(&key.id.to_string(), key.clone());
    data.persist();
    Ok(object(StatusCode::CREATED, "ssh_key", key_json(&key)))
}

pub async fn get(State(data): State<Data>, Path(id): Path<String>) -> Answer {
    Ok(ok("ssh_key", key_json(&find(&data, &id)?)))
}

pub async fn update(State(data): State<Data>, Path(id): Path<String>, body: Bytes) -> Answer {
    let key = find(&data, &id)?;
    let body = parse_body(&body)?;
    let name = text(&body, "name")?.to_string();
    let updated = data.keys.update(&key.id.to_string(), |k| k.name = name).ok_or_else(Failure::not_found)?;
    data.persist();
    Ok(ok("ssh_key", key_json(&updated)))
}

pub async fn delete(State(data): State<Data>, Path(id): Path<String>) -> Answer {
    let key = find(&data, &id)?;
    data.keys.remove(&key.id.to_string());
    data.persist();
    Ok(no_content())
}
