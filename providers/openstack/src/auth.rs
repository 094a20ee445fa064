//! Keystone v3 password authentication with project scope, and the token it gives: `POST
//! /v3/auth/tokens` answers 201 with the token in the `X-Subject-Token` header, its expiry in
//! the body (`token.expires_at`) and the service catalog, from which the compute endpoint is
//! chosen (type `compute`, interface `public`, the configured region).
//!
//! A [`Session`] caches the token and the compute client built on it, renews the token before it
//! expires (see [`Session::compute`]), and once more when Nova refuses it ([`Session::renew`]);
//! concurrent callers share one renewal. The password and the token are secrets: the password
//! travels only in a request marked sensitive, the token only in a credential header, both are
//! masked in every message, and neither has a `Debug` form that shows it.
//!
//! Must not know Nova's paths: `api` builds on the client this hands out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value as Json, json};
use tarn_sdk::http::{Client, Method, RetryPolicy, Secrets};
use tarn_sdk::{ErrorClass, ProviderError};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Mutex;

/// OVH Public Cloud's Keystone.
pub const OVH_AUTH_URL: &str = "https://auth.cloud.ovh.net/v3";
/// The domain OVH's openrc files name for users and projects.
pub const DEFAULT_DOMAIN: &str = "Default";
/// The microversion tarn speaks: the base one, whose schemas the spec file gives.
pub const COMPUTE_MICROVERSION: &str = "2.1";

/// Renew a token this long before it expires (or a quarter of its lifetime, if shorter).
const RENEW_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The project a token is scoped to.
#[derive(Clone, PartialEq, Eq)]
pub enum Project {
    Id(String),
    Name { name: String, domain: String },
}

/// What Keystone needs to issue a token. `Debug` never shows the password.
#[derive(Clone)]
pub struct Credentials {
    pub auth_url: String,
    pub user_name: String,
    pub user_domain: String,
    pub password: String,
    pub project: Project,
    /// The compute region; `None`: the catalog's only one.
    pub region: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("auth_url", &self.auth_url)
            .field("user_name", &self.user_name)
            .field("user_domain", &self.user_domain)
            .field("password", &"<redacted>")
            .field("region", &self.region)
            .finish()
    }
}

impl Credentials {
    fn project_label(&self) -> String {
        match &self.project {
            Project::Id(id) => format!("project id {id}"),
            Project::Name { name, domain } => format!("project {name} (domain {domain})"),
        }
    }
}

/// How the HTTP clients retry and time out (tests make them quick).
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning { retry: RetryPolicy::default(), request_timeout: Duration::from_secs(60) }
    }
}

/// A token and the compute client that carries it.
struct Token {
    expires_at: OffsetDateTime,
    /// Renew when less than this is left.
    margin: Duration,
    compute: Client,
    generation: u64,
}

/// A Keystone session: credentials, the cached token, and renewal.
pub struct Session {
    creds: Credentials,
    keystone: Client,
    tuning: Tuning,
    current: Mutex<Option<Token>>,
    generation: AtomicU64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("creds", &self.creds).finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(creds: Credentials, tuning: Tuning) -> Result<Session, ProviderError> {
        let keystone = Client::builder(creds.auth_url.trim_end_matches('/'))
            .header("accept", "application/json")
            .retry_policy(tuning.retry)
            .request_timeout(tuning.request_timeout)
            .build()?
            .redacting(Secrets::from_strings([creds.password.clone()]));
        Ok(Session { creds, keystone, tuning, current: Mutex::new(None), generation: AtomicU64::new(0) })
    }

    /// The compute client with a token that is not about to expire, authenticating first when
    /// there is none yet or it expires within its margin. Also returns the token's generation,
    /// for [`Session::renew`].
    pub async fn compute(&self) -> Result<(Client, u64), ProviderError> {
        let mut current = self.current.lock().await;
        let fresh = current.as_ref().is_some_and(|t| {
            let left = t.expires_at - OffsetDateTime::now_utc();
            left > time::Duration::try_from(t.margin).unwrap_or(time::Duration::ZERO)
        });
        if !fresh {
            if current.is_some() {
                tracing::debug!(region = ?self.creds.region, "the Keystone token expires soon; authenticating again");
            }
            *current = Some(self.authenticate().await?);
        }
        let token =
            current.as_ref().ok_or_else(|| ProviderError::permanent("no Keystone token; this is a bug in tarn"))?;
        Ok((token.compute.clone(), token.generation))
    }

    /// Drops the token of `generation` (Nova refused it), so the next [`Session::compute`]
    /// authenticates again. A token renewed meanwhile by another call is kept.
    pub async fn renew(&self, generation: u64) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|t| t.generation == generation) {
            tracing::debug!("Nova refused the Keystone token (401); authenticating again");
            *current = None;
        }
    }

    /// The compute endpoint in use (after the first call).
    pub async fn compute_url(&self) -> Option<String> {
        self.current.lock().await.as_ref().map(|t| t.compute.base_url().to_string())
    }

    async fn authenticate(&self) -> Result<Token, ProviderError> {
        let c = &self.creds;
        let scope = match &c.project {
            Project::Id(id) => json!({"project": {"id": id}}),
            Project::Name { name, domain } => json!({"project": {"name": name, "domain": {"name": domain}}}),
        };
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": c.user_name, "domain": {"name": c.user_domain}, "password": c.password}}},
            "scope": scope,
        }});
        let answer = self
            .keystone
            .request(Method::POST, "auth/tokens")
            .json(&body)
            .sensitive()
            .send()
            .await
            .map_err(|e| self.refused(e))?;
        let token = answer
            .headers
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ProviderError::permanent(format!(
                    "POST {}/auth/tokens: Keystone answered {} without an X-Subject-Token header; is auth_url a Keystone v3 endpoint?",
                    c.auth_url.trim_end_matches('/'),
                    answer.status.as_u16()
                ))
            })?
            .to_string();
        let body = &answer.body["token"];
        let time_of =
            |key: &str| body.get(key).and_then(Json::as_str).and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok());
        let expires_at = time_of("expires_at").ok_or_else(|| {
            ProviderError::permanent("Keystone's token has no readable expires_at; cannot tell when to renew it")
        })?;
        let issued_at = time_of("issued_at").unwrap_or_else(OffsetDateTime::now_utc);
        let lifetime = Duration::try_from(expires_at - issued_at).unwrap_or(Duration::ZERO);
        let margin = RENEW_MARGIN.min(lifetime / 4);
        let url = self.compute_endpoint(body)?;
        let compute = Client::builder(url.as_str())
            .secret_header("x-auth-token", &token)
            .header("accept", "application/json")
            .header("openstack-api-version", &format!("compute {COMPUTE_MICROVERSION}"))
            .header("x-openstack-nova-api-version", COMPUTE_MICROVERSION)
            .retry_policy(self.tuning.retry)
            .request_timeout(self.tuning.request_timeout)
            .build()?
            .redacting(Secrets::from_strings([token]));
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        tracing::debug!(compute = %url, expires_at = %expires_at, generation, "Keystone issued a token");
        Ok(Token { expires_at, margin, compute, generation })
    }

    /// The public compute endpoint of the configured region, from the token's catalog.
    fn compute_endpoint(&self, token: &Json) -> Result<String, ProviderError> {
        let endpoints: Vec<&Json> = token
            .get("catalog")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter(|service| service.get("type").and_then(Json::as_str) == Some("compute"))
            .flat_map(|service| service.get("endpoints").and_then(Json::as_array).into_iter().flatten())
            .filter(|e| e.get("interface").and_then(Json::as_str) == Some("public"))
            .collect();
        let region_of = |e: &Json| {
            e.get("region_id").or_else(|| e.get("region")).and_then(Json::as_str).unwrap_or_default().to_string()
        };
        let mut regions: Vec<String> = endpoints.iter().map(|e| region_of(e)).collect();
        regions.sort();
        regions.dedup();
        let wanted = match &self.creds.region {
            Some(r) => r.clone(),
            None if regions.len() == 1 => regions[0].clone(),
            None => {
                return Err(ProviderError::permanent(format!(
                    "the catalog offers compute in several regions ({}); set region in the provider block or OS_REGION_NAME",
                    regions.join(", ")
                )));
            }
        };
        let url = endpoints
            .iter()
            .find(|e| region_of(e) == wanted)
            .and_then(|e| e.get("url").and_then(Json::as_str))
            .ok_or_else(|| {
            ProviderError::permanent(format!(
                "the Keystone catalog has no public compute endpoint in region {wanted:?}; it has {}",
                if regions.is_empty() { "none".to_string() } else { regions.join(", ") }
            ))
        })?;
        Ok(url.to_string())
    }

    fn refused(&self, mut e: ProviderError) -> ProviderError {
        let c = &self.creds;
        if e.message.contains(": HTTP 401") {
            e.class = ErrorClass::Permanent;
            e.message = format!(
                "Keystone refused the credentials of user {} (domain {}) for {}: {}. Check user_name and password (OS_USERNAME, OS_PASSWORD) and the project (OS_PROJECT_ID or OS_PROJECT_NAME)",
                c.user_name,
                c.user_domain,
                c.project_label(),
                e.message
            );
        } else if e.message.contains(": HTTP 404") {
            e.message.push_str(&format!(": is auth_url ({}) Keystone's v3 URL? OVH's is {OVH_AUTH_URL}", c.auth_url));
        }
        e
    }
}
