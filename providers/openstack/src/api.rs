//! The Nova 2.1 calls tarn makes, on `tarn_sdk::http` through a Keystone [`Session`]: servers
//! (detail with `limit`/`marker` pages, create, show, rename, delete) and their actions
//! (`os-start`, `os-stop`, `reboot`), flavors, key pairs; and waiting for a server's status.
//!
//! Every call goes through [`Api::authed`]: with the session's current token, and when Nova
//! answers 401 (the token expired or was revoked early) once more with a new one; a second 401
//! is an error. A 401 means the request was not processed, so repeating even a create is safe.
//! Nova's fault bodies (`{"itemNotFound": {"code", "message"}}`) become classified errors with
//! Nova's message. Knows paths and bodies, not tarn's attribute names: the resource modules
//! map those. Ids are checked before they enter a path.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};
use tarn_sdk::http::{Client, Paging, all_pages};
use tarn_sdk::{ErrorClass, ProviderError};

use crate::auth::Session;

/// How status changes are waited for.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// The first wait between two looks; it doubles up to `max_interval`.
    pub interval: Duration,
    pub max_interval: Duration,
    /// A server not there after this long is reported as timed out.
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            interval: Duration::from_millis(200),
            max_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(600),
        }
    }
}

/// Why waiting for a status ended without it.
#[derive(Debug)]
pub enum WaitError {
    /// The server went to ERROR; Nova's fault message, and the server as last seen.
    Failed { message: String, server: Json },
    /// Still not there at the time-out; the server as last seen.
    TimedOut { message: String, server: Json },
    /// The server disappeared.
    Gone,
    /// A call failed.
    Call(ProviderError),
}

impl WaitError {
    pub fn into_error(self, id: &str) -> ProviderError {
        match self {
            WaitError::Failed { message, .. } | WaitError::TimedOut { message, .. } => {
                ProviderError::permanent(message)
            }
            WaitError::Gone => ProviderError::not_found(format!("server {id} disappeared while tarn waited for it")),
            WaitError::Call(e) => e,
        }
    }
}

/// A configured API. Clones share the session (and its token).
#[derive(Debug, Clone)]
pub struct Api {
    session: Arc<Session>,
    polling: Polling,
    /// Items per page when listing.
    page_size: u32,
}

impl Api {
    pub fn new(session: Session) -> Api {
        Api { session: Arc::new(session), polling: Polling::default(), page_size: 100 }
    }

    pub fn polling(mut self, polling: Polling) -> Api {
        self.polling = polling;
        self
    }

    /// Lists with pages of `n` (tests use small pages to exercise pagination).
    pub fn page_size(mut self, n: u32) -> Api {
        self.page_size = n.clamp(1, 1000);
        self
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Runs `call` with the current token's client; on a 401, renews the token and runs it once more.
    pub async fn authed<T, F, Fut>(&self, call: F) -> Result<T, ProviderError>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let (client, generation) = self.session.compute().await?;
        match call(client).await {
            Err(e) if unauthorized(&e) => {
                self.session.renew(generation).await;
                let (client, _) = self.session.compute().await?;
                call(client).await.map_err(|e| {
                    if unauthorized(&e) {
                        let mut e = classify(e);
                        e.message.push_str(
                            ": Nova refused a token Keystone had just issued; check that the user has a role on the project",
                        );
                        e
                    } else {
                        classify(e)
                    }
                })
            }
            other => other.map_err(classify),
        }
    }

    // Servers.

    pub async fn server(&self, id: &str) -> Result<Option<Json>, ProviderError> {
        let path = server_path(id)?;
        match self
            .authed(|c| {
                let path = path.clone();
                async move { c.get(&path).await }
            })
            .await
        {
            Ok(body) => unwrap(body, "server").map(Some),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every server with details, page after page (`limit`/`marker`), filtered by `query`.
    pub async fn servers(&self, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        let paging = Paging::Marker { key: "servers".into(), limit: self.page_size };
        self.authed(|c| {
            let paging = paging.clone();
            async move { all_pages(&c, "servers/detail", query, &paging).await }
        })
        .await
    }

    /// POST /servers (202): the new server's id and links.
    pub async fn create_server(&self, body: &Json) -> Result<Json, ProviderError> {
        let answer = self.authed(|c| async move { c.post("servers", body).await }).await?;
        unwrap(answer, "server")
    }

    pub async fn rename_server(&self, id: &str, name: &str) -> Result<Json, ProviderError> {
        let path = server_path(id)?;
        let body = json!({"server": {"name": name}});
        let answer = self
            .authed(|c| {
                let (path, body) = (path.clone(), body.clone());
                async move { c.put(&path, &body).await }
            })
            .await?;
        unwrap(answer, "server")
    }

    /// `Ok(false)`: it was already gone.
    pub async fn delete_server(&self, id: &str) -> Result<bool, ProviderError> {
        let path = server_path(id)?;
        match self
            .authed(|c| {
                let path = path.clone();
                async move { c.delete(&path).await }
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.class == ErrorClass::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A server action (`{"os-stop": null}`, `{"reboot": {"type": "SOFT"}}`): 202, empty body.
    pub async fn action(&self, id: &str, body: &Json) -> Result<(), ProviderError> {
        let path = format!("{}/action", server_path(id)?);
        self.authed(|c| {
            let path = path.clone();
            async move { c.post(&path, body).await }
        })
        .await
        .map(|_| ())
    }

    /// Polls the server until its status is one of `wanted` with no task under way. ERROR is a
    /// failure with Nova's fault message.
    pub async fn wait_status(&self, id: &str, wanted: &[&str], what: &str) -> Result<Json, WaitError> {
        let started = tokio::time::Instant::now();
        let mut wait = self.polling.interval;
        loop {
            let server = match self.server(id).await {
                Ok(Some(s)) => s,
                Ok(None) => return Err(WaitError::Gone),
                Err(e) => return Err(WaitError::Call(e)),
            };
            let status = server.get("status").and_then(Json::as_str).unwrap_or("UNKNOWN").to_string();
            let busy = server.get("OS-EXT-STS:task_state").is_some_and(|t| !t.is_null());
            if wanted.contains(&status.as_str()) && !busy {
                return Ok(server);
            }
            if status == "ERROR" {
                let fault = server.get("fault").and_then(|f| f.get("message")).and_then(Json::as_str);
                let message = format!(
                    "server {id} went to ERROR during {what}: {}",
                    fault.unwrap_or("Nova gave no fault message")
                );
                return Err(WaitError::Failed { message, server });
            }
            if started.elapsed() >= self.polling.timeout {
                let message = format!(
                    "server {id} was still {status} after {}s of {what} (wanted {}); it may get there later: check it before planning again",
                    self.polling.timeout.as_secs_f64(),
                    wanted.join(" or ")
                );
                return Err(WaitError::TimedOut { message, server });
            }
            tokio::time::sleep(wait.min(self.polling.timeout.saturating_sub(started.elapsed()))).await;
            wait = (wait * 2).min(self.polling.max_interval);
        }
    }

    /// Polls until the server is gone (404), within the time-out.
    pub async fn wait_gone(&self, id: &str) -> Result<(), ProviderError> {
        let started = tokio::time::Instant::now();
        let mut wait = self.polling.interval;
        while self.server(id).await?.is_some() {
            if started.elapsed() >= self.polling.timeout {
                return Err(ProviderError::transient(format!(
                    "server {id} was still there {}s after its delete was accepted",
                    self.polling.timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(self.polling.max_interval);
        }
        Ok(())
    }

    // Flavors.

    /// Every flavor with details, page after page.
    pub async fn flavors(&self) -> Result<Vec<Json>, ProviderError> {
        let paging = Paging::Marker { key: "flavors".into(), limit: self.page_size };
        self.authed(|c| {
            let paging = paging.clone();
            async move { all_pages(&c, "flavors/detail", &[], &paging).await }
        })
        .await
    }

    pub async fn flavor(&self, id: &str) -> Result<Option<Json>, ProviderError> {
        let path = format!("flavors/{}", segment(id, "flavor id")?);
        match self
            .authed(|c| {
                let path = path.clone();
                async move { c.get(&path).await }
            })
            .await
        {
            Ok(body) => unwrap(body, "flavor").map(Some),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    // Key pairs (2.1 lists them without pages).

    pub async fn keypair(&self, name: &str) -> Result<Option<Json>, ProviderError> {
        let path = keypair_path(name)?;
        match self
            .authed(|c| {
                let path = path.clone();
                async move { c.get(&path).await }
            })
            .await
        {
            Ok(body) => unwrap(body, "keypair").map(Some),
            Err(e) if e.class == ErrorClass::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn keypairs(&self) -> Result<Vec<Json>, ProviderError> {
        let body = self.authed(|c| async move { c.get("os-keypairs").await }).await?;
        Ok(body
            .get("keypairs")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.get("keypair").cloned())
            .collect())
    }

    pub async fn create_keypair(&self, name: &str, public_key: &str) -> Result<Json, ProviderError> {
        keypair_name(name)?;
        let body = json!({"keypair": {"name": name, "public_key": public_key}});
        let answer = self
            .authed(|c| {
                let body = body.clone();
                async move { c.post("os-keypairs", &body).await }
            })
            .await?;
        unwrap(answer, "keypair")
    }

    pub async fn delete_keypair(&self, name: &str) -> Result<bool, ProviderError> {
        let path = keypair_path(name)?;
        match self
            .authed(|c| {
                let path = path.clone();
                async move { c.delete(&path).await }
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.class == ErrorClass::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn unauthorized(e: &ProviderError) -> bool {
    e.message.contains(": HTTP 401")
}

fn server_path(id: &str) -> Result<String, ProviderError> {
    Ok(format!("servers/{}", uuid(id, "server id")?))
}

fn keypair_path(name: &str) -> Result<String, ProviderError> {
    Ok(format!("os-keypairs/{}", keypair_name(name)?))
}

/// A Nova id: a UUID.
pub fn uuid<'a>(value: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    if uuid::Uuid::try_parse(value).is_ok() {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!(
            "{value:?} is not a valid {what} (a UUID such as 9168b536-cd40-4630-b43f-b259807c6e87)"
        )))
    }
}

/// A key pair name as Nova allows it (`^[_\- a-zA-Z0-9]+$`, 1..255), safe in a path once spaces are escaped.
pub fn keypair_name(name: &str) -> Result<String, ProviderError> {
    if !name.is_empty() && name.len() <= 255 && name.chars().all(|c| c.is_ascii_alphanumeric() || " -_".contains(c)) {
        Ok(name.replace(' ', "%20"))
    } else {
        Err(ProviderError::permanent(format!(
            "key pair name {name:?} must be 1..255 letters, digits, spaces, '-' or '_'"
        )))
    }
}

/// Any other id that enters a path (flavor ids are free-form strings).
fn segment<'a>(value: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!("{value:?} is not a valid {what}")))
    }
}

/// Refines the class the status gave by Nova's fault: a full quota says how to fix it, a
/// conflicting request (a server busy with another task) is a conflict worth retrying later.
pub fn classify(mut e: ProviderError) -> ProviderError {
    if e.message.contains("Quota exceeded") || e.message.contains("overLimit") {
        e.class = ErrorClass::Permanent;
        e.message.push_str(": the project's quota is used up; delete unused servers or ask the provider to raise it (OVH: Public Cloud > Quota and Regions)");
    } else if e.message.contains("conflictingRequest") {
        e.class = ErrorClass::Conflict;
    }
    e
}

/// The object under `key` of an answer (`{"server": {...}}`).
fn unwrap(body: Json, key: &str) -> Result<Json, ProviderError> {
    match body.get(key) {
        Some(object) if object.is_object() => Ok(object.clone()),
        _ => Err(ProviderError::permanent(format!(
            "unexpected answer from Nova: no \"{key}\" object in {}",
            body.to_string().chars().take(200).collect::<String>()
        ))),
    }
}
