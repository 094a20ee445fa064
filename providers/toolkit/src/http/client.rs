//! The HTTP client every provider uses: base URL, default and credential headers, timeouts (per
//! attempt, and one deadline over all attempts of a request), the retry loop, pacing (budget and
//! server rate-limit gate) and one debug log line per attempt.
//!
//! Must not know any vendor's paths or bodies, and must never print a credential header value,
//! a body marked sensitive, or a secret of the call it serves (`secrets`). Classification lives
//! in `errors`, retry arithmetic in `retry`.

use std::sync::{Arc, Once};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tokio::time::Instant;

use super::budget::{Bucket, Gate, RequestBudget};
use super::errors::{deadline_error, status_error, transport_error};
use super::redact::{SecretHeader, is_sensitive_header, path_only, redact_url, redact_url_with};
use super::retry::{RetryPolicy, is_idempotent, is_retryable_status, rate_limit_wait, status_proves_not_processed};
use crate::error::ProviderError;
use crate::secrets::Secrets;

/// A configured client. Clones share the connection pool, the budget and the rate-limit gate;
/// each may carry the secrets of the call it serves (see [`Client::redacting`]).
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    secrets: Secrets,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: Url,
    secrets: Vec<SecretHeader>,
    retry: RetryPolicy,
    bucket: Option<Bucket>,
    gate: Gate,
    operation_timeout: Duration,
}

/// Settings for [`Client`]; `build` validates them.
#[derive(Debug)]
pub struct ClientBuilder {
    base: String,
    headers: HeaderMap,
    secrets: Vec<SecretHeader>,
    connect_timeout: Duration,
    request_timeout: Duration,
    operation_timeout: Duration,
    retry: RetryPolicy,
    budget: Option<RequestBudget>,
    /// When set, the only trust anchors (PEM), instead of the system's: a private CA or a
    /// self-signed server certificate (Proxmox hosts).
    ca_pem: Option<Vec<u8>>,
    /// When set, the server's own certificate must have this SHA-256 fingerprint (`pinned.rs`):
    /// instead of any trust anchor.
    pinned_sha256: Option<[u8; 32]>,
    invalid: Option<String>,
}

/// A successful answer: status, headers and the body as JSON (`Null` when empty, a string when
/// the body is not JSON).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Json,
}

impl Client {
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            headers: HeaderMap::new(),
            secrets: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            // Attempts, backoff and server-requested waits together: five attempts of 60 s with
            // waits between them fit; a server that keeps asking to wait does not hang an apply.
            operation_timeout: Duration::from_secs(10 * 60),
            retry: RetryPolicy::default(),
            budget: None,
            ca_pem: None,
            pinned_sha256: None,
            invalid: None,
        }
    }

    /// This client (same pool, budget and gate) with `secrets` added to what it masks in the
    /// bodies and URLs it logs and in the messages of its errors. A provider calls it with the
    /// values of the call it serves: `client.redacting(Secrets::of([&req.planned]))`.
    pub fn redacting(&self, secrets: Secrets) -> Client {
        Client { inner: self.inner.clone(), secrets: self.secrets.union(&secrets) }
    }

    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// A request to `path`, relative to the base URL (a leading `/` is relative too), or an
    /// absolute URL on the base URL's origin, as vendors give in `next` links.
    pub fn request(&self, method: Method, path: &str) -> Request<'_> {
        Request {
            client: self,
            method,
            path: path.to_string(),
            query: Vec::new(),
            body: Ok(None),
            text: None,
            sensitive: false,
            retry_unsafe: false,
        }
    }

    pub async fn get(&self, path: &str) -> Result<Json, ProviderError> {
        self.request(Method::GET, path).send().await.map(|r| r.body)
    }
    pub async fn get_as<T: DeserializeOwned>(&self, path: &str) -> Result<T, ProviderError> {
        self.request(Method::GET, path).send_as().await
    }
    pub async fn post(&self, path: &str, body: &impl Serialize) -> Result<Json, ProviderError> {
        self.request(Method::POST, path).json(body).send().await.map(|r| r.body)
    }
    pub async fn put(&self, path: &str, body: &impl Serialize) -> Result<Json, ProviderError> {
        self.request(Method::PUT, path).json(body).send().await.map(|r| r.body)
    }
    pub async fn patch(&self, path: &str, body: &impl Serialize) -> Result<Json, ProviderError> {
        self.request(Method::PATCH, path).json(body).send().await.map(|r| r.body)
    }
    pub async fn delete(&self, path: &str) -> Result<Json, ProviderError> {
        self.request(Method::DELETE, path).send().await.map(|r| r.body)
    }

    fn resolve(&self, path: &str) -> Result<Url, ProviderError> {
        if let Ok(absolute) = Url::parse(path) {
            if absolute.origin() != self.inner.base.origin() {
                // Following it would hand our credentials to another host.
                return Err(ProviderError::permanent(format!(
                    "refusing to follow {} outside the API's origin",
                    redact_url(&absolute)
                )));
            }
            return Ok(absolute);
        }
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ProviderError::permanent(format!("invalid request path {path:?}: {e}")))
    }
}

impl ClientBuilder {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) if is_sensitive_header(&n) => self.secrets.push(SecretHeader::new(n, v)),
            (Ok(n), Ok(v)) => {
                self.headers.insert(n, v);
            }
            _ => self.invalid = Some(format!("invalid header {name}")),
        }
        self
    }
    /// A credential header: kept in a redacting wrapper, never logged.
    pub fn secret_header(mut self, name: &str, value: &str) -> Self {
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => self.secrets.push(SecretHeader::new(n, v)),
            // The value is not echoed: it is a secret.
            _ => self.invalid = Some(format!("invalid value for credential header {name}")),
        }
        self
    }
    pub fn bearer_token(self, token: &str) -> Self {
        self.secret_header("authorization", &format!("Bearer {token}"))
    }
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }
    /// The deadline of one request as the caller sees it: every attempt, backoff and wait for
    /// the rate budget or a `Retry-After` together. Past it the request fails as Transient.
    pub fn operation_timeout(mut self, d: Duration) -> Self {
        self.operation_timeout = d;
        self
    }
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.retry.max_attempts = n.max(1);
        self
    }
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = RetryPolicy { max_attempts: policy.max_attempts.max(1), ..policy };
        self
    }
    /// Trusts only the certificates of `pem` (one or more PEM blocks): a private CA, or a
    /// server's own self-signed certificate. Certificates are still verified, names included.
    pub fn ca_certificates_pem(mut self, pem: &[u8]) -> Self {
        self.ca_pem = Some(pem.to_vec());
        self
    }
    /// Trusts exactly the server certificate whose SHA-256 fingerprint is `fingerprint` (hex,
    /// with or without colons), instead of any CA: a self-signed host pinned as an SSH host key
    /// is. The handshake's signatures are still verified. Exclusive with
    /// [`ca_certificates_pem`](Self::ca_certificates_pem).
    pub fn pinned_certificate_sha256(mut self, fingerprint: &str) -> Self {
        match super::pinned::parse_fingerprint(fingerprint) {
            Ok(fp) => self.pinned_sha256 = Some(fp),
            Err(e) => self.invalid = Some(e),
        }
        self
    }
    pub fn budget(mut self, budget: RequestBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    pub fn build(self) -> Result<Client, ProviderError> {
        if let Some(problem) = self.invalid {
            return Err(ProviderError::permanent(problem));
        }
        let mut base = Url::parse(&self.base)
            .map_err(|e| ProviderError::permanent(format!("invalid API base URL {:?}: {e}", self.base)))?;
        if !base.path().ends_with('/') {
            // So that joining "droplets" onto ".../v2" keeps the "v2".
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        install_crypto_provider();
        let mut http = reqwest::Client::builder()
            .default_headers(self.headers)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout);
        if let Some(fp) = self.pinned_sha256 {
            if self.ca_pem.is_some() {
                return Err(ProviderError::permanent(
                    "a pinned certificate fingerprint and CA certificates exclude each other: give one",
                ));
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let tls = super::pinned::PinnedCertificate::new(fp, provider)
                .client_config()
                .map_err(ProviderError::permanent)?;
            http = http.tls_backend_preconfigured(tls);
        }
        if let Some(pem) = &self.ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ProviderError::permanent(format!("the CA certificates are not PEM: {e}")))?;
            if certs.is_empty() {
                return Err(ProviderError::permanent("the CA certificates file holds no PEM certificate"));
            }
            http = http.tls_certs_only(certs);
        }
        let http = http.build().map_err(|e| ProviderError::permanent(format!("cannot build HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                secrets: self.secrets,
                retry: self.retry,
                bucket: self.budget.map(Bucket::new),
                gate: Gate::default(),
                operation_timeout: self.operation_timeout,
            }),
            secrets: Secrets::default(),
        })
    }
}

/// The message of the last error in `error`'s source chain, when it has one.
fn root_cause(error: &reqwest::Error) -> Option<String> {
    let mut cause: &dyn std::error::Error = std::error::Error::source(error)?;
    while let Some(next) = cause.source() {
        cause = next;
    }
    Some(cause.to_string())
}

/// Whether the TLS handshake failed on the server's certificate (rustls refused it): a fault of
/// trust, which trying again does not mend.
fn certificate_refused(error: &reqwest::Error) -> bool {
    // hyper-rustls wraps tokio-rustls's io::Error in another; an io::Error's `source` skips
    // what it wraps, so each is opened.
    fn rustls_in<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
        if let Some(r) = e.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
        rustls_in(inner as &(dyn std::error::Error + 'static))
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(c) = cause {
        if rustls_in(c).is_some_and(|r| matches!(r, rustls::Error::InvalidCertificate(_))) {
            return true;
        }
        cause = c.source();
    }
    false
}

/// rustls is built without a default provider (to keep aws-lc out); ring is installed once.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An Err means another part of the program installed one first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// One request being prepared.
pub struct Request<'c> {
    client: &'c Client,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Result<Option<Json>, String>,
    /// A body that is not JSON, with its content type (Scaleway's `text/plain` user data).
    text: Option<(String, String)>,
    sensitive: bool,
    retry_unsafe: bool,
}

impl Request<'_> {
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_string(), value.to_string()));
        self
    }
    pub fn json(mut self, body: &impl Serialize) -> Self {
        self.body = serde_json::to_value(body).map(Some).map_err(|e| e.to_string());
        self
    }
    /// A body that is not JSON, sent as is with `content_type` (replaces any JSON body).
    pub fn text(mut self, body: &str, content_type: &str) -> Self {
        self.body = Ok(None);
        self.text = Some((body.to_string(), content_type.to_string()));
        self
    }
    /// The request and response bodies hold secrets: never log them.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Retry this non-idempotent request on 5xx and timeouts too: the caller knows the API
    /// deduplicates it (an idempotency key, or a create by unique name).
    pub fn retry_non_idempotent(mut self) -> Self {
        self.retry_unsafe = true;
        self
    }

    pub async fn send_as<T: DeserializeOwned>(self) -> Result<T, ProviderError> {
        let (method, path) = (self.method.clone(), self.path.clone());
        let response = self.send().await?;
        serde_json::from_value(response.body)
            .map_err(|e| ProviderError::permanent(format!("{method} {path}: unexpected response body: {e}")))
    }

    /// Sends the request, retrying as the policy allows, within the client's operation timeout.
    pub async fn send(self) -> Result<Response, ProviderError> {
        let limit = self.client.inner.operation_timeout;
        // Named by origin and path: never the query or user info, which may hold secrets.
        let shown = match self.client.resolve(&self.path) {
            Ok(url) => format!("{}{}", url.origin().ascii_serialization(), url.path()),
            Err(_) => self.path.clone(),
        };
        let method = self.method.clone();
        match tokio::time::timeout(limit, self.send_attempts()).await {
            Ok(result) => result,
            Err(_) => Err(deadline_error(&method, &shown, limit)),
        }
    }

    async fn send_attempts(self) -> Result<Response, ProviderError> {
        let inner = &self.client.inner;
        let mut url = self.client.resolve(&self.path)?;
        if !self.query.is_empty() {
            url.query_pairs_mut().extend_pairs(&self.query);
        }
        let body = self.body.map_err(|e| ProviderError::permanent(format!("cannot encode request body: {e}")))?;
        // The client's own secrets, and those of the provider call this request serves.
        let secrets = &self.client.secrets.union(&crate::call::current_secrets());
        let (shown, path) = (redact_url_with(secrets, &url), secrets.scrub(&path_only(&url)).into_owned());
        let may_repeat = is_idempotent(&self.method) || self.retry_unsafe;
        let policy = inner.retry;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(bucket) = &inner.bucket {
                bucket.acquire().await;
            }
            inner.gate.pass().await;
            let mut builder = inner.http.request(self.method.clone(), url.clone());
            for secret in &inner.secrets {
                builder = builder.header(secret.name().clone(), secret.value().clone());
            }
            if let Some((text, content_type)) = &self.text {
                builder = builder.header(reqwest::header::CONTENT_TYPE, content_type.as_str()).body(text.clone());
            }
            if let Some(body) = &body {
                builder = builder.json(body);
                if !self.sensitive {
                    let body = secrets.scrub_json(body);
                    tracing::trace!(method = %self.method, url = %shown, body = %body, "http request body");
                }
            }
            let started = Instant::now();
            let outcome = match builder.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(bytes) => Ok((status, headers, bytes)),
                        Err(e) => Err((false, e.is_timeout(), e)),
                    }
                }
                Err(e) => Err((e.is_connect(), e.is_timeout(), e)),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Ok((status, headers, bytes)) => {
                    tracing::debug!(method = %self.method, url = %shown, status = status.as_u16(), attempt, elapsed_ms, "http request");
                    if let Some(wait) = rate_limit_wait(&headers, SystemTime::now()) {
                        inner.gate.hold_for(wait.min(policy.max_server_wait));
                    }
                    let parsed = parse_body(&bytes);
                    if !self.sensitive {
                        let body = secrets.scrub_json(&parsed);
                        tracing::trace!(method = %self.method, url = %shown, body = %body, "http response body");
                    }
                    if status.is_success() {
                        return Ok(Response { status, headers, body: parsed });
                    }
                    let repeatable = may_repeat || status_proves_not_processed(status);
                    if is_retryable_status(status) && repeatable && attempt < policy.max_attempts {
                        tokio::time::sleep(policy.delay_after(attempt, &headers)).await;
                        continue;
                    }
                    // Vendors quote what they were sent in their error messages.
                    return Err(status_error(&self.method, &path, status, &secrets.scrub_json(&parsed), attempt));
                }
                Err((connect, timeout, error)) => {
                    tracing::debug!(method = %self.method, url = %shown, attempt, elapsed_ms, connect, timeout, "http request failed");
                    // A certificate refused (not trusted, not the pinned one) stays refused: no
                    // attempt again, and a permanent error. Nothing was sent.
                    let refused = connect && certificate_refused(&error);
                    // A connect error means nothing reached the server, so even a POST may go again.
                    if (connect || may_repeat) && !refused && attempt < policy.max_attempts {
                        tokio::time::sleep(policy.backoff(attempt)).await;
                        continue;
                    }
                    let what = if timeout {
                        "timed out".to_string()
                    } else if connect {
                        // The innermost cause says why (refused, a certificate not trusted or
                        // not the pinned one); it names no URL.
                        match root_cause(&error) {
                            Some(cause) => format!("could not connect: {cause}"),
                            None => "could not connect".to_string(),
                        }
                    } else {
                        // reqwest's Display names the URL; keep only the redacted one.
                        format!("request failed ({})", error.without_url())
                    };
                    let error = transport_error(&self.method, &path, &what, attempt);
                    return Err(if refused { ProviderError::permanent(error.message) } else { error });
                }
            }
        }
    }
}

fn parse_body(bytes: &[u8]) -> Json {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Json::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| Json::String(String::from_utf8_lossy(bytes).into_owned()))
}
