//! The Scaleway Instance API v1 calls tarn makes, on `tarn_sdk::http` (retries, redacted logs,
//! `page`/`per_page` pagination with `Link` and `X-Total-Count`, Scaleway's error body): servers
//! and their actions (backups among them), tasks, volumes, images and their snapshots, flexible
//! IPs, security groups and the server types of
//! `products/servers`, unwrapped from their `{"server": …}`-style bodies.
//!
//! Knows paths, bodies and error types, not tarn's attribute names: the resource modules map
//! those. Zones and ids are checked before they enter a path, so a bad value cannot reach
//! another endpoint. Actions answer 202 with a task, which `action` polls at `/tasks/{id}`
//! until it succeeds, fails or takes longer than the time-out.

use std::time::Duration;

use serde_json::{Value as Json, json};
use tarn_sdk::http::{Client, Method, Paging, all_pages};
use tarn_sdk::{ErrorClass, ProviderError};

pub const DEFAULT_API_URL: &str = "https://api.scaleway.com";

/// The zones the Instance API serves (the spec's `zone` enum).
pub const ZONES: &[&str] = &[
    "fr-par-1", "fr-par-2", "fr-par-3", "nl-ams-1", "nl-ams-2", "nl-ams-3", "pl-waw-1", "pl-waw-2", "pl-waw-3",
    "it-mil-1",
];

/// How actions are waited for.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// The first wait between two looks at a task; it doubles up to `max_interval`.
    pub interval: Duration,
    pub max_interval: Duration,
    /// A task still pending after this long is reported as timed out.
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            interval: Duration::from_millis(100),
            max_interval: Duration::from_secs(5),
            timeout: Duration::from_secs(600),
        }
    }
}

/// A configured API client. Clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    /// Items per page when listing (the API allows 1..100).
    page_size: u32,
    polling: Polling,
}

impl Api {
    pub fn new(api_url: &str, secret_key: &str) -> Result<Api, ProviderError> {
        let client = Client::builder(api_url)
            .secret_header("x-auth-token", secret_key)
            .header("accept", "application/json")
            .build()?;
        Ok(Api::with_client(client))
    }

    /// An API over a client built elsewhere (tests tune its retry policy).
    pub fn with_client(client: Client) -> Api {
        Api { client, page_size: 50, polling: Polling::default() }
    }

    /// Lists with pages of `n` (tests use small pages to exercise pagination).
    pub fn page_size(mut self, n: u32) -> Api {
        self.page_size = n.clamp(1, 100);
        self
    }

    pub fn polling(mut self, polling: Polling) -> Api {
        self.polling = polling;
        self
    }

    // Servers.

    pub async fn servers(&self, zone: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        self.list(zone, "servers", query).await
    }

    pub async fn server(&self, zone: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(zone, "servers", id, "server").await
    }

    pub async fn create_server(&self, zone: &str, body: &Json) -> Result<Json, ProviderError> {
        let answer = self.client.post(&collection(zone, "servers")?, body).await.map_err(classify)?;
        unwrap(answer, "server")
    }

    pub async fn update_server(&self, zone: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.patch(&object(zone, "servers", id)?, body).await.map_err(classify)?, "server")
    }

    /// `Ok(false)`: it was already gone.
    pub async fn delete_server(&self, zone: &str, id: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(&object(zone, "servers", id)?).await).map(|o| o.is_some())
    }

    /// Runs a server action (`poweron`, `poweroff`, …) and waits for its task to finish.
    pub async fn action(&self, zone: &str, id: &str, action: &str) -> Result<(), ProviderError> {
        let task = self.start_action(zone, id, &json!({"action": action})).await?;
        self.wait_task(zone, &task, &format!("{action} of server {id}")).await
    }

    /// Starts a server action and answers its task, without waiting for it.
    pub async fn start_action(&self, zone: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = format!("{}/action", object(zone, "servers", id)?);
        let answer = self.client.post(&path, body).await.map_err(classify)?;
        answer.get("task").filter(|t| t.is_object()).cloned().ok_or_else(|| {
            ProviderError::permanent(format!("POST {path}: the answer names no task: {}", excerpt(&answer)))
        })
    }

    /// Starts the `backup` action of a server: an image named `name` with a snapshot of each of
    /// its volumes, in the server's zone. Answers the new image's id (the task's `href_result`,
    /// `/images/{id}`) and the task, which the caller waits for.
    pub async fn backup(&self, zone: &str, server: &str, name: &str) -> Result<(String, Json), ProviderError> {
        let task = self.start_action(zone, server, &json!({"action": "backup", "name": name})).await?;
        let image = task
            .get("href_result")
            .and_then(Json::as_str)
            .and_then(|h| h.strip_prefix("/images/"))
            .filter(|id| uuid::Uuid::try_parse(id).is_ok())
            .map(str::to_string)
            .ok_or_else(|| {
                ProviderError::permanent(format!(
                    "the backup of server {server} answered a task that names no image (href_result): {}",
                    excerpt(&task)
                ))
            })?;
        Ok((image, task))
    }

    /// Polls `/tasks/{id}` until the task succeeds (Ok), fails, or outlasts the time-out.
    pub async fn wait_task(&self, zone: &str, task: &Json, what: &str) -> Result<(), ProviderError> {
        let task_id = task.get("id").and_then(Json::as_str).unwrap_or_default().to_string();
        let path = object(zone, "tasks", &task_id)?;
        let started = tokio::time::Instant::now();
        let mut wait = self.polling.interval;
        let mut current = task.clone();
        loop {
            match current.get("status").and_then(Json::as_str) {
                Some("success") => return Ok(()),
                Some("failure") => {
                    return Err(ProviderError::permanent(format!(
                        "Scaleway task {task_id} ({what}) failed{}",
                        current.get("description").and_then(Json::as_str).map(|d| format!(": {d}")).unwrap_or_default()
                    )));
                }
                _ => {}
            }
            if started.elapsed() >= self.polling.timeout {
                return Err(ProviderError::permanent(format!(
                    "Scaleway task {task_id} ({what}) was still {} after {}s; it may finish later: check the object before planning again",
                    current.get("status").and_then(Json::as_str).unwrap_or("pending"),
                    self.polling.timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(wait.min(self.polling.timeout.saturating_sub(started.elapsed()))).await;
            wait = (wait * 2).min(self.polling.max_interval);
            current = unwrap(self.client.get(&path).await.map_err(classify)?, "task")?;
        }
    }

    pub async fn set_user_data(&self, zone: &str, id: &str, key: &str, value: &str) -> Result<(), ProviderError> {
        let path = format!("{}/user_data/{}", object(zone, "servers", id)?, user_data_key(key)?);
        self.client
            .request(Method::PATCH, &path)
            .text(value, "text/plain")
            .sensitive()
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    pub async fn delete_user_data(&self, zone: &str, id: &str, key: &str) -> Result<(), ProviderError> {
        let path = format!("{}/user_data/{}", object(zone, "servers", id)?, user_data_key(key)?);
        gone_is_none(self.client.delete(&path).await).map(|_| ())
    }

    /// The user data keys of a server, with their values.
    pub async fn user_data(&self, zone: &str, id: &str) -> Result<Vec<(String, String)>, ProviderError> {
        let base = format!("{}/user_data", object(zone, "servers", id)?);
        let keys = self.client.get(&base).await.map_err(classify)?;
        let mut out = Vec::new();
        for key in keys.get("user_data").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
            let path = format!("{base}/{}", user_data_key(key)?);
            let file = self.client.request(Method::GET, &path).sensitive().send().await.map_err(classify)?.body;
            let content = file.get("content").and_then(Json::as_str).unwrap_or_default().to_string();
            out.push((key.to_string(), content));
        }
        Ok(out)
    }

    // Volumes.

    pub async fn volume(&self, zone: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(zone, "volumes", id, "volume").await
    }

    pub async fn volumes(&self, zone: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        self.list(zone, "volumes", query).await
    }

    pub async fn create_volume(&self, zone: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.post(&collection(zone, "volumes")?, body).await.map_err(classify)?, "volume")
    }

    pub async fn update_volume(&self, zone: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.patch(&object(zone, "volumes", id)?, body).await.map_err(classify)?, "volume")
    }

    pub async fn delete_volume(&self, zone: &str, id: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(&object(zone, "volumes", id)?).await).map(|o| o.is_some())
    }

    // Images.

    pub async fn images(&self, zone: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        self.list(zone, "images", query).await
    }

    pub async fn image(&self, zone: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(zone, "images", id, "image").await
    }

    pub async fn update_image(&self, zone: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.patch(&object(zone, "images", id)?, body).await.map_err(classify)?, "image")
    }

    pub async fn delete_image(&self, zone: &str, id: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(&object(zone, "images", id)?).await).map(|o| o.is_some())
    }

    // Snapshots (an image's volumes).

    pub async fn snapshot(&self, zone: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(zone, "snapshots", id, "snapshot").await
    }

    pub async fn delete_snapshot(&self, zone: &str, id: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(&object(zone, "snapshots", id)?).await).map(|o| o.is_some())
    }

    // Flexible IPs.

    pub async fn ip(&self, zone: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(zone, "ips", id, "ip").await
    }

    pub async fn ips(&self, zone: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        self.list(zone, "ips", query).await
    }

    pub async fn create_ip(&self, zone: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.post(&collection(zone, "ips")?, body).await.map_err(classify)?, "ip")
    }

    pub async fn update_ip(&self, zone: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.patch(&object(zone, "ips", id)?, body).await.map_err(classify)?, "ip")
    }

    pub async fn delete_ip(&self, zone: &str, id: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(&object(zone, "ips", id)?).await).map(|o| o.is_some())
    }

    // Security groups and their rules.

    pub async fn group(&self, zone: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(zone, "security_groups", id, "security_group").await
    }

    pub async fn groups(&self, zone: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        self.list(zone, "security_groups", query).await
    }

    pub async fn create_group(&self, zone: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.post(&collection(zone, "security_groups")?, body).await.map_err(classify)?, "security_group")
    }

    pub async fn update_group(&self, zone: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = object(zone, "security_groups", id)?;
        unwrap(self.client.patch(&path, body).await.map_err(classify)?, "security_group")
    }

    pub async fn delete_group(&self, zone: &str, id: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(&object(zone, "security_groups", id)?).await).map(|o| o.is_some())
    }

    pub async fn rules(&self, zone: &str, group: &str) -> Result<Vec<Json>, ProviderError> {
        let path = format!("{}/rules", object(zone, "security_groups", group)?);
        let paging = Paging::PageNumber { key: "rules".into(), per_page: self.page_size };
        all_pages(&self.client, &path, &[], &paging).await.map_err(classify)
    }

    pub async fn rule(&self, zone: &str, group: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        let path = rule_path(zone, group, id)?;
        match gone_is_none(self.client.get(&path).await)? {
            Some(body) => unwrap(body, "rule").map(Some),
            None => Ok(None),
        }
    }

    pub async fn create_rule(&self, zone: &str, group: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = format!("{}/rules", object(zone, "security_groups", group)?);
        unwrap(self.client.post(&path, body).await.map_err(classify)?, "rule")
    }

    pub async fn update_rule(&self, zone: &str, group: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.patch(&rule_path(zone, group, id)?, body).await.map_err(classify)?, "rule")
    }

    pub async fn delete_rule(&self, zone: &str, group: &str, id: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(&rule_path(zone, group, id)?).await).map(|o| o.is_some())
    }

    // Products.

    /// The server types of `zone`, by commercial type, as `products/servers` gives them.
    pub async fn server_types(&self, zone: &str) -> Result<serde_json::Map<String, Json>, ProviderError> {
        let path = collection(zone, "products/servers")?;
        let mut all = serde_json::Map::new();
        // This endpoint pages a map, not a list, so the toolkit's walker does not apply.
        for page in 1..=100u32 {
            let answer = self
                .client
                .request(Method::GET, &path)
                .query("page", page)
                .query("per_page", 100)
                .send()
                .await
                .map_err(classify)?;
            let batch = answer.body.get("servers").and_then(Json::as_object).cloned().unwrap_or_default();
            let got = batch.len();
            all.extend(batch);
            let total = answer
                .headers
                .get("x-total-count")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<usize>().ok());
            if got == 0 || total.is_none_or(|t| all.len() >= t) {
                break;
            }
        }
        Ok(all)
    }

    async fn list(&self, zone: &str, what: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        let paging = Paging::PageNumber { key: what.to_string(), per_page: self.page_size };
        all_pages(&self.client, &collection(zone, what)?, query, &paging).await.map_err(classify)
    }

    async fn get_one(&self, zone: &str, what: &str, id: &str, key: &str) -> Result<Option<Json>, ProviderError> {
        match gone_is_none(self.client.get(&object(zone, what, id)?).await)? {
            Some(body) => unwrap(body, key).map(Some),
            None => Ok(None),
        }
    }
}

/// `instance/v1/zones/{zone}/{what}` after checking the zone.
fn collection(zone: &str, what: &str) -> Result<String, ProviderError> {
    Ok(format!("instance/v1/zones/{}/{what}", checked_zone(zone)?))
}

fn object(zone: &str, what: &str, id: &str) -> Result<String, ProviderError> {
    Ok(format!("{}/{}", collection(zone, what)?, uuid(id, what)?))
}

fn rule_path(zone: &str, group: &str, id: &str) -> Result<String, ProviderError> {
    Ok(format!("{}/rules/{}", object(zone, "security_groups", group)?, uuid(id, "rule")?))
}

/// A zone the Instance API serves.
pub fn checked_zone(zone: &str) -> Result<&str, ProviderError> {
    if ZONES.contains(&zone) {
        Ok(zone)
    } else {
        Err(ProviderError::permanent(format!(
            "zone {zone:?} is not a Scaleway Instance zone; use one of {}",
            ZONES.join(", ")
        )))
    }
}

/// A Scaleway id: a UUID.
pub fn uuid<'a>(value: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    if uuid::Uuid::try_parse(value).is_ok() {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!(
            "{value:?} is not a Scaleway id for {what} (a UUID such as 6a0c2ca8-917a-418a-90a3-05949b55a7ae)"
        )))
    }
}

/// A user data key: letters, digits, `-` and `_` (it becomes a path segment).
fn user_data_key(key: &str) -> Result<&str, ProviderError> {
    if !key.is_empty() && key.len() <= 64 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Ok(key)
    } else {
        Err(ProviderError::permanent(format!(
            "user data key {key:?} must be 1..64 letters, digits, '-' or '_' (cloud-init reads `cloud-init`)"
        )))
    }
}

/// Not found (404: `not_found`, or the legacy `unknown_resource`) becomes `None`.
fn gone_is_none(answer: Result<Json, ProviderError>) -> Result<Option<Json>, ProviderError> {
    tarn_sdk::error::found(answer).map_err(classify)
}

/// Refines the class the status gave by Scaleway's error `type` (the toolkit puts it in the
/// message as `(type)`): a server busy in a transition (`transient_state`) is worth retrying,
/// a `locked` or `conflict` object is a conflict, a full quota is permanent and says so.
pub fn classify(mut e: ProviderError) -> ProviderError {
    if e.message.contains("(transient_state)") {
        e.class = ErrorClass::Transient;
    } else if e.message.contains("(conflict)") || e.message.contains("(locked)") {
        e.class = ErrorClass::Conflict;
    } else if e.message.contains("(quotas_exceeded)") {
        e.class = ErrorClass::Permanent;
        e.message.push_str(
            ": the account's quota is used up; delete unused objects or ask Scaleway to raise the quota (console, Organization > Quotas)",
        );
    } else if e.message.contains("(denied_authentication)") {
        e.message.push_str(": check the secret key (SCW_SECRET_KEY); it must be an IAM API key's secret, a UUID");
    }
    e
}

/// The object under `key` of an answer (`{"server": {...}}`).
fn unwrap(body: Json, key: &str) -> Result<Json, ProviderError> {
    match body.get(key) {
        Some(object) if object.is_object() => Ok(object.clone()),
        _ => Err(ProviderError::permanent(format!(
            "unexpected answer from the Scaleway API: no \"{key}\" object in {}",
            excerpt(&body)
        ))),
    }
}

fn excerpt(body: &Json) -> String {
    body.to_string().chars().take(200).collect()
}
