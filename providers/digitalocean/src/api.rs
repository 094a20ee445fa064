//! The DigitalOcean API v2 calls tarn makes, on `tarn_sdk::http` (retries, `retry-after` and
//! `ratelimit-*` headers, the 250 per minute budget, `links.pages` pagination, DigitalOcean's
//! error body `{id, message}`, redacted logs): droplets and their actions, actions, SSH keys,
//! domains and their records, load balancers, tags and tagged resources, unwrapped from their
//! `{"droplet": …}`-style bodies.
//!
//! Knows paths, bodies and error ids, not tarn's attribute names: the resource modules map
//! those. Ids and names are checked before they enter a path, so a bad value cannot reach
//! another endpoint. Actions (a droplet's create, power, resize, rename) are waited for at
//! `/v2/actions/{id}` until they complete, error, or take longer than the time-out.

use std::time::Duration;

use serde_json::{Value as Json, json};
use tarn_sdk::http::{Client, Method, Paging, RequestBudget, Secrets, all_pages};
use tarn_sdk::{ErrorClass, ProviderError};

pub const DEFAULT_API_URL: &str = "https://api.digitalocean.com";

/// How actions are waited for.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// The first wait between two looks at an action; it doubles up to `max_interval`.
    pub interval: Duration,
    pub max_interval: Duration,
    /// An action still in progress after this long is reported as timed out.
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

/// A configured API client. Clones share the connection pool and the request budget.
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    /// Items per page when listing (the API allows up to 200).
    page_size: u32,
    polling: Polling,
}

impl Api {
    pub fn new(api_url: &str, token: &str) -> Result<Api, ProviderError> {
        let client = Client::builder(api_url)
            .bearer_token(token)
            .header("accept", "application/json")
            .budget(RequestBudget::DIGITALOCEAN)
            .build()?;
        Ok(Api::with_client(client))
    }

    /// An API over a client built elsewhere (tests tune its retry policy).
    pub fn with_client(client: Client) -> Api {
        Api { client, page_size: 100, polling: Polling::default() }
    }

    /// This API with the sensitive values of one call masked in what it logs and in its errors.
    pub fn redacting(&self, secrets: Secrets) -> Api {
        Api { client: self.client.redacting(secrets), ..self.clone() }
    }

    /// Lists with pages of `n` (tests use small pages to exercise pagination).
    pub fn page_size(mut self, n: u32) -> Api {
        self.page_size = n.clamp(1, 200);
        self
    }

    pub fn polling(mut self, polling: Polling) -> Api {
        self.polling = polling;
        self
    }

    /// How this API waits (load balancers poll their status with it).
    pub fn polling_settings(&self) -> Polling {
        self.polling
    }

    // Droplets.

    pub async fn droplets(&self, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        self.list("v2/droplets", "droplets", query).await
    }

    pub async fn droplet(&self, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(&format!("v2/droplets/{}", number(id, "droplet id")?), "droplet").await
    }

    /// Creates a droplet; returns it and the id of its `create` action, when the answer links one.
    pub async fn create_droplet(&self, body: &Json) -> Result<(Json, Option<u64>), ProviderError> {
        let answer = self.client.post("v2/droplets", body).await.map_err(classify)?;
        let action = answer
            .pointer("/links/actions")
            .and_then(Json::as_array)
            .and_then(|l| l.iter().find(|a| a.get("rel").and_then(Json::as_str) == Some("create")))
            .and_then(|a| a.get("id"))
            .and_then(Json::as_u64);
        Ok((unwrap(answer, "droplet")?, action))
    }

    /// `Ok(false)`: it was already gone.
    pub async fn delete_droplet(&self, id: &str) -> Result<bool, ProviderError> {
        self.delete(&format!("v2/droplets/{}", number(id, "droplet id")?)).await
    }

    /// Starts a droplet action (`{"type": "power_off"}`, `{"type": "resize", "size": …}`) and
    /// waits for it to complete.
    pub async fn droplet_action(&self, id: &str, body: &Json) -> Result<(), ProviderError> {
        let path = format!("v2/droplets/{}/actions", number(id, "droplet id")?);
        let kind = body.get("type").and_then(Json::as_str).unwrap_or("action").to_string();
        let answer = self.client.post(&path, body).await.map_err(classify)?;
        let action = unwrap(answer, "action")?;
        self.wait_action(&action, &format!("{kind} of droplet {id}")).await
    }

    /// Polls `/v2/actions/{id}` until the action completes (Ok), errors, or outlasts the time-out.
    pub async fn wait_action(&self, action: &Json, what: &str) -> Result<(), ProviderError> {
        let id = action.get("id").and_then(Json::as_u64).ok_or_else(|| {
            ProviderError::permanent(format!("the answer to {what} names no action: {}", excerpt(action)))
        })?;
        let path = format!("v2/actions/{id}");
        let started = tokio::time::Instant::now();
        let mut wait = self.polling.interval;
        let mut current = action.clone();
        loop {
            match current.get("status").and_then(Json::as_str) {
                Some("completed") => return Ok(()),
                Some("errored") => {
                    return Err(ProviderError::permanent(format!(
                        "DigitalOcean action {id} ({what}) errored; see the droplet's actions in the control panel"
                    )));
                }
                _ => {}
            }
            if started.elapsed() >= self.polling.timeout {
                return Err(ProviderError::permanent(format!(
                    "DigitalOcean action {id} ({what}) was still in progress after {}s (action_timeout); it may finish later: check the droplet before planning again",
                    self.polling.timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(wait.min(self.polling.timeout.saturating_sub(started.elapsed()))).await;
            wait = (wait * 2).min(self.polling.max_interval);
            current = unwrap(self.client.get(&path).await.map_err(classify)?, "action")?;
        }
    }

    /// Waits for the action with this id (a droplet's `create`).
    pub async fn wait_action_id(&self, id: u64, what: &str) -> Result<(), ProviderError> {
        self.wait_action(&json!({"id": id, "status": "in-progress"}), what).await
    }

    // SSH keys.

    pub async fn ssh_keys(&self) -> Result<Vec<Json>, ProviderError> {
        self.list("v2/account/keys", "ssh_keys", &[]).await
    }

    /// A key by id or fingerprint.
    pub async fn ssh_key(&self, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(&format!("v2/account/keys/{}", key_id(id)?), "ssh_key").await
    }

    pub async fn create_ssh_key(&self, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.post("v2/account/keys", body).await.map_err(classify)?, "ssh_key")
    }

    pub async fn update_ssh_key(&self, id: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = format!("v2/account/keys/{}", key_id(id)?);
        unwrap(self.client.put(&path, body).await.map_err(classify)?, "ssh_key")
    }

    pub async fn delete_ssh_key(&self, id: &str) -> Result<bool, ProviderError> {
        self.delete(&format!("v2/account/keys/{}", key_id(id)?)).await
    }

    // Domains and records.

    pub async fn domains(&self) -> Result<Vec<Json>, ProviderError> {
        self.list("v2/domains", "domains", &[]).await
    }

    pub async fn domain(&self, name: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(&format!("v2/domains/{}", domain_name(name)?), "domain").await
    }

    pub async fn create_domain(&self, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.post("v2/domains", body).await.map_err(classify)?, "domain")
    }

    pub async fn delete_domain(&self, name: &str) -> Result<bool, ProviderError> {
        self.delete(&format!("v2/domains/{}", domain_name(name)?)).await
    }

    pub async fn records(&self, domain: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        self.list(&format!("v2/domains/{}/records", domain_name(domain)?), "domain_records", query).await
    }

    pub async fn record(&self, domain: &str, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(&record_path(domain, id)?, "domain_record").await
    }

    pub async fn create_record(&self, domain: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = format!("v2/domains/{}/records", domain_name(domain)?);
        unwrap(self.client.post(&path, body).await.map_err(classify)?, "domain_record")
    }

    pub async fn update_record(&self, domain: &str, id: &str, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.put(&record_path(domain, id)?, body).await.map_err(classify)?, "domain_record")
    }

    pub async fn delete_record(&self, domain: &str, id: &str) -> Result<bool, ProviderError> {
        self.delete(&record_path(domain, id)?).await
    }

    // Load balancers.

    pub async fn load_balancers(&self) -> Result<Vec<Json>, ProviderError> {
        self.list("v2/load_balancers", "load_balancers", &[]).await
    }

    pub async fn load_balancer(&self, id: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(&format!("v2/load_balancers/{}", uuid(id, "load balancer id")?), "load_balancer").await
    }

    pub async fn create_load_balancer(&self, body: &Json) -> Result<Json, ProviderError> {
        unwrap(self.client.post("v2/load_balancers", body).await.map_err(classify)?, "load_balancer")
    }

    pub async fn update_load_balancer(&self, id: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = format!("v2/load_balancers/{}", uuid(id, "load balancer id")?);
        unwrap(self.client.put(&path, body).await.map_err(classify)?, "load_balancer")
    }

    pub async fn delete_load_balancer(&self, id: &str) -> Result<bool, ProviderError> {
        self.delete(&format!("v2/load_balancers/{}", uuid(id, "load balancer id")?)).await
    }

    // Tags.

    pub async fn tags(&self) -> Result<Vec<Json>, ProviderError> {
        self.list("v2/tags", "tags", &[]).await
    }

    pub async fn tag(&self, name: &str) -> Result<Option<Json>, ProviderError> {
        self.get_one(&format!("v2/tags/{}", tag_name(name)?), "tag").await
    }

    /// Creates the tag; an existing one is answered as it is.
    pub async fn create_tag(&self, name: &str) -> Result<Json, ProviderError> {
        tag_name(name)?;
        unwrap(self.client.post("v2/tags", &json!({"name": name})).await.map_err(classify)?, "tag")
    }

    pub async fn delete_tag(&self, name: &str) -> Result<bool, ProviderError> {
        self.delete(&format!("v2/tags/{}", tag_name(name)?)).await
    }

    /// Tags (`true`) or untags (`false`) droplets.
    pub async fn tag_droplets(&self, name: &str, droplet_ids: &[String], on: bool) -> Result<(), ProviderError> {
        if droplet_ids.is_empty() {
            return Ok(());
        }
        let path = format!("v2/tags/{}/resources", tag_name(name)?);
        let mut resources = Vec::new();
        for id in droplet_ids {
            resources.push(json!({"resource_id": number(id, "droplet id")?, "resource_type": "droplet"}));
        }
        let method = if on { Method::POST } else { Method::DELETE };
        let answer = self.client.request(method, &path).json(&json!({"resources": resources})).send().await;
        match answer {
            Ok(_) => Ok(()),
            // Untagging what is no longer tagged (or a tag already gone) is done.
            Err(e) if !on && e.class == ErrorClass::NotFound => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }

    async fn list(&self, path: &str, key: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        let paging = Paging::NextLink { key: key.to_string(), per_page: self.page_size };
        all_pages(&self.client, path, query, &paging).await.map_err(classify)
    }

    async fn get_one(&self, path: &str, key: &str) -> Result<Option<Json>, ProviderError> {
        match gone_is_none(self.client.get(path).await)? {
            Some(body) => unwrap(body, key).map(Some),
            None => Ok(None),
        }
    }

    async fn delete(&self, path: &str) -> Result<bool, ProviderError> {
        gone_is_none(self.client.delete(path).await).map(|o| o.is_some())
    }
}

fn record_path(domain: &str, id: &str) -> Result<String, ProviderError> {
    Ok(format!("v2/domains/{}/records/{}", domain_name(domain)?, number(id, "record id")?))
}

/// A numeric DigitalOcean id (droplets, keys, records, actions).
pub fn number<'a>(value: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    if !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!("{value:?} is not a DigitalOcean {what} (a number such as 3164444)")))
    }
}

/// A load balancer id: a UUID.
pub fn uuid<'a>(value: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    if uuid::Uuid::try_parse(value).is_ok() {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!(
            "{value:?} is not a DigitalOcean {what} (a UUID such as 4de7ac8b-495b-4884-9a69-1050c6793cd6)"
        )))
    }
}

/// An SSH key's id (a number) or fingerprint (hex pairs separated by colons).
pub fn key_id(value: &str) -> Result<&str, ProviderError> {
    let fingerprint =
        !value.is_empty() && value.split(':').all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if fingerprint || number(value, "SSH key id").is_ok() {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!(
            "{value:?} is neither an SSH key id (a number) nor a fingerprint (3b:16:bf:e4:…)"
        )))
    }
}

/// A domain name: labels of letters, digits and hyphens, separated by dots.
pub fn domain_name(value: &str) -> Result<&str, ProviderError> {
    let ok = value.len() <= 253
        && value.contains('.')
        && value.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
        });
    if ok {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!("{value:?} is not a domain name (such as example.com)")))
    }
}

/// A tag name as the API allows it: letters, digits, `:`, `-` and `_`, at most 255.
pub fn tag_name(value: &str) -> Result<&str, ProviderError> {
    if !value.is_empty()
        && value.len() <= 255
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-:".contains(&b))
    {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!(
            "{value:?} is not a valid DigitalOcean tag: use 1..255 letters, digits, ':', '-' or '_'"
        )))
    }
}

/// Not found (404) becomes `None`.
fn gone_is_none(answer: Result<Json, ProviderError>) -> Result<Option<Json>, ProviderError> {
    tarn_sdk::error::found(answer).map_err(classify)
}

/// Refines the class the status gave by DigitalOcean's error `id` (the toolkit puts it in the
/// message as `(id)`) and says what to do about the usual ones.
pub fn classify(mut e: ProviderError) -> ProviderError {
    if e.message.contains("(unauthorized)") {
        e.class = ErrorClass::Permanent;
        e.message.push_str(": check the API token (token, or the DIGITALOCEAN_TOKEN environment variable); it may be revoked or lack the scope this call needs");
    } else if e.message.contains("(forbidden)") {
        e.class = ErrorClass::Permanent;
        e.message
            .push_str(": the token's scopes do not allow this call; give it write access (or the scope named above)");
    } else if e.message.contains("(too_many_requests)") {
        e.class = ErrorClass::Transient;
        e.message.push_str(": the account's rate limit (250 requests per minute, 5000 per hour) was still used up after the retries; wait and run again");
    } else if e.message.contains("pending event") {
        // Another action is still running on the droplet: worth trying again shortly.
        e.class = ErrorClass::Transient;
    } else if e.message.contains("(unprocessable_entity)") {
        e.class = ErrorClass::Permanent;
    }
    e
}

/// The object under `key` of an answer (`{"droplet": {...}}`).
fn unwrap(body: Json, key: &str) -> Result<Json, ProviderError> {
    match body.get(key) {
        Some(object) if object.is_object() => Ok(object.clone()),
        _ => Err(ProviderError::permanent(format!(
            "unexpected answer from the DigitalOcean API: no \"{key}\" object in {}",
            excerpt(&body)
        ))),
    }
}

fn excerpt(body: &Json) -> String {
    body.to_string().chars().take(200).collect()
}
