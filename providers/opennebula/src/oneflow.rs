//! The OneFlow REST calls tarn makes (`specs/opennebula-oneflow-xmlrpc.subset.yaml`, section
//! `oneflow`): service templates (`GET /service_template[/{id}]`, `POST
//! /service_template/{id}/action` instantiate), services (`GET /service[/{id}]`, `DELETE
//! /service/{id}`, which starts an asynchronous undeploy, and `POST /service/{id}/action`
//! recover, with `delete: true` to force the removal), over `tarn_sdk::http` with HTTP Basic
//! authentication (the header is a secret: never logged).
//!
//! Answers are `{"DOCUMENT": …}` and `{"DOCUMENT_POOL": {"DOCUMENT": […]}}`; errors come as
//! plain text or `{"error": {"message"}}`, both read by the toolkit. Knows paths and bodies,
//! not tarn's attributes.

use base64::Engine;
use serde_json::{Value as Json, json};
use tarn_sdk::http::{Client, Method, Secrets};
use tarn_sdk::{ErrorClass, ErrorKind, ProviderError};

/// Service `state` numbers (`service_states`).
pub fn service_state_name(state: i64) -> &'static str {
    const NAMES: [&str; 16] = [
        "PENDING",
        "DEPLOYING",
        "RUNNING",
        "UNDEPLOYING",
        "WARNING",
        "DONE",
        "FAILED_UNDEPLOYING",
        "FAILED_DEPLOYING",
        "SCALING",
        "FAILED_SCALING",
        "COOLDOWN",
        "DEPLOYING_NETS",
        "UNDEPLOYING_NETS",
        "FAILED_DEPLOYING_NETS",
        "FAILED_UNDEPLOYING_NETS",
        "HOLD",
    ];
    usize::try_from(state).ok().and_then(|i| NAMES.get(i)).copied().unwrap_or("UNKNOWN")
}

/// The `Authorization` header value for `user:password`.
pub fn basic_auth(username: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}")))
}

/// A OneFlow server with one user's credentials.
#[derive(Debug, Clone)]
pub struct OneFlow {
    client: Client,
}

fn classify(mut e: ProviderError) -> ProviderError {
    // The toolkit gives a 401 the kind `Unauthenticated` and a 403 `Denied`.
    match e.kind {
        Some(ErrorKind::Unauthenticated) => {
            e.class = ErrorClass::Permanent;
            e.message.push_str(": check the provider's username and password");
        }
        Some(ErrorKind::Denied) => {
            e.class = ErrorClass::Permanent;
            e.message.push_str(": OpenNebula does not allow this user to do this (ACLs, ownership of the template)");
        }
        _ => {}
    }
    e
}

/// The id of a document (`"ID": "5"`, a string of digits in OneFlow's answers).
pub fn document_id(doc: &Json) -> Option<u64> {
    match doc.get("ID") {
        Some(Json::String(s)) => s.parse().ok(),
        Some(Json::Number(n)) => n.as_u64(),
        _ => None,
    }
}

/// The documents of a `DOCUMENT_POOL` answer (absent, one object, or a list).
fn pool(answer: &Json) -> Vec<Json> {
    match answer.pointer("/DOCUMENT_POOL/DOCUMENT") {
        Some(Json::Array(items)) => items.clone(),
        Some(one @ Json::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

fn document(answer: Json, what: &str) -> Result<Json, ProviderError> {
    match answer.get("DOCUMENT") {
        Some(d) if d.is_object() => Ok(d.clone()),
        _ => Err(ProviderError::permanent(format!(
            "{what}: OneFlow answered without a DOCUMENT: {}",
            answer.to_string().chars().take(200).collect::<String>()
        ))),
    }
}

impl OneFlow {
    pub fn new(client: Client) -> OneFlow {
        OneFlow { client }
    }

    pub fn redacting(&self, secrets: Secrets) -> OneFlow {
        OneFlow { client: self.client.redacting(secrets) }
    }

    pub async fn service_templates(&self) -> Result<Vec<Json>, ProviderError> {
        Ok(pool(&self.client.get("service_template").await.map_err(classify)?))
    }

    pub async fn service_template(&self, id: u64) -> Result<Option<Json>, ProviderError> {
        let answer =
            tarn_sdk::error::found(self.client.get(&format!("service_template/{id}")).await).map_err(classify)?;
        answer.map(|a| document(a, "GET /service_template")).transpose()
    }

    /// Instantiates template `id` with `merge_template`; the new service's document.
    pub async fn instantiate(&self, id: u64, merge_template: &Json) -> Result<Json, ProviderError> {
        let body = json!({"action": {"perform": "instantiate", "params": {"merge_template": merge_template}}});
        // The roles' contexts carry SR_AUTH (the caller's credentials): never log the body.
        let path = format!("service_template/{id}/action");
        let answer = self.client.request(Method::POST, &path).json(&body).sensitive().send().await.map_err(classify)?;
        document(answer.body, "instantiate")
    }

    pub async fn services(&self) -> Result<Vec<Json>, ProviderError> {
        Ok(pool(&self.client.get("service").await.map_err(classify)?))
    }

    /// `None` once the service is gone (404).
    pub async fn service(&self, id: u64) -> Result<Option<Json>, ProviderError> {
        let answer = tarn_sdk::error::found(self.client.get(&format!("service/{id}")).await).map_err(classify)?;
        answer.map(|a| document(a, "GET /service")).transpose()
    }

    /// Starts the undeploy. `Ok(false)`: the service was already gone.
    pub async fn delete_service(&self, id: u64) -> Result<bool, ProviderError> {
        let answer = tarn_sdk::error::found(self.client.delete(&format!("service/{id}")).await).map_err(classify)?;
        Ok(answer.is_some())
    }

    /// `recover`, forcing the deletion when `delete` (what the original engine's
    /// `service_destroy` does for a service that cannot be undeployed).
    pub async fn recover(&self, id: u64, delete: bool) -> Result<(), ProviderError> {
        let params = if delete { json!({"delete": true}) } else { json!({}) };
        let body = json!({"action": {"perform": "recover", "params": params}});
        self.client.post(&format!("service/{id}/action"), &body).await.map_err(classify).map(|_| ())
    }
}

/// A service document's `TEMPLATE.BODY`.
pub fn body(service: &Json) -> &Json {
    service.pointer("/TEMPLATE/BODY").unwrap_or(&Json::Null)
}

/// A service's state number.
pub fn state(service: &Json) -> i64 {
    body(service).get("state").and_then(|s| s.as_i64().or_else(|| s.as_str()?.parse().ok())).unwrap_or(-1)
}

/// Its roles: `(name, cardinality, VM ids of its nodes)`.
pub fn roles(service: &Json) -> Vec<(String, u64, Vec<u64>)> {
    let Some(roles) = body(service).get("roles").and_then(Json::as_array) else { return Vec::new() };
    roles
        .iter()
        .map(|r| {
            let name = r.get("name").and_then(Json::as_str).unwrap_or_default().to_string();
            let cardinality = r.get("cardinality").and_then(Json::as_u64).unwrap_or(0);
            let vms = r
                .get("nodes")
                .and_then(Json::as_array)
                .map(|nodes| {
                    nodes
                        .iter()
                        .filter_map(|n| {
                            n.get("deploy_id")
                                .and_then(Json::as_u64)
                                .or_else(|| n.pointer("/vm_info/VM/ID")?.as_str()?.parse().ok())
                        })
                        .collect()
                })
                .unwrap_or_default();
            (name, cardinality, vms)
        })
        .collect()
}

/// The last messages of a service's log, for error messages.
pub fn log_tail(service: &Json) -> String {
    let Some(log) = body(service).get("log").and_then(Json::as_array) else { return String::new() };
    let lines: Vec<String> = log
        .iter()
        .rev()
        .take(3)
        .rev()
        .filter_map(|l| Some(format!("[{}] {}", l.get("severity")?.as_str()?, l.get("message")?.as_str()?)))
        .collect();
    lines.join("; ")
}
