//! The Cloudflare API v4 calls tarn makes, on `tarn_sdk::http` (retries, `Retry-After`,
//! `Ratelimit` headers, the 1200 per 5 minutes budget, `result_info` pagination, vendor error
//! messages, redacted logs): token verification, zones, DNS records and zone lockdown rules,
//! unwrapped from the `{success, errors, messages, result}` envelope.
//!
//! Knows paths and envelopes, not tarn's attribute names: the resource modules map those.
//! Identifiers are checked before they enter a path, so a bad `zone_id` cannot reach another
//! endpoint.

use serde_json::Value as Json;
use tarn_sdk::ProviderError;
use tarn_sdk::http::{Client, Paging, RequestBudget, Secrets, all_pages, vendor_message};

pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// The token verification call, relative to the base URL.
pub const VERIFY_TOKEN: &str = "user/tokens/verify";

/// A configured API client. Clones share the connection pool and the request budget.
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
    /// DNS records and lockdown rules per page when listing (zones: 50, the API's maximum).
    page_size: u32,
}

impl Api {
    pub fn new(base_url: &str, token: &str) -> Result<Api, ProviderError> {
        let client = Client::builder(base_url)
            .bearer_token(token)
            .header("accept", "application/json")
            .budget(RequestBudget::CLOUDFLARE)
            .build()?;
        Ok(Api::with_client(client))
    }

    /// An API over a client built elsewhere (tests tune its retry policy).
    pub fn with_client(client: Client) -> Api {
        Api { client, page_size: 100 }
    }

    /// This API with the sensitive values of one call (`Secrets::of` its tarn values): they are
    /// masked in the bodies and URLs logged at trace level and in error messages.
    pub fn redacting(&self, secrets: Secrets) -> Api {
        Api { client: self.client.redacting(secrets), page_size: self.page_size }
    }

    /// Lists with pages of `n` (tests use small pages to exercise pagination).
    pub fn page_size(mut self, n: u32) -> Api {
        self.page_size = n.clamp(1, 1000);
        self
    }

    /// `GET /user/tokens/verify`: the token's `{id, status}` (status `active`, `disabled` or
    /// `expired`).
    pub async fn verify_token(&self) -> Result<Json, ProviderError> {
        result(self.client.get(VERIFY_TOKEN).await?)
    }

    pub async fn zones_named(&self, name: &str) -> Result<Vec<Json>, ProviderError> {
        self.zones(&[("name", name)]).await
    }

    /// Every zone matching `query` (`name` with Cloudflare's operators, `status`).
    pub async fn zones(&self, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        all_pages(&self.client, "zones", query, &Paging::ResultInfo { per_page: 50 }).await
    }

    pub async fn records(&self, zone_id: &str, query: &[(&str, &str)]) -> Result<Vec<Json>, ProviderError> {
        let path = format!("zones/{}/dns_records", id(zone_id, "zone_id")?);
        all_pages(&self.client, &path, query, &Paging::ResultInfo { per_page: self.page_size }).await
    }

    pub async fn record(&self, zone_id: &str, record_id: &str) -> Result<Option<Json>, ProviderError> {
        let path = record_path(zone_id, record_id)?;
        gone_is_none(self.client.get(&path).await).map(|o| o.map(result))?.transpose()
    }

    pub async fn create_record(&self, zone_id: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = format!("zones/{}/dns_records", id(zone_id, "zone_id")?);
        result(self.client.post(&path, body).await?)
    }

    pub async fn patch_record(&self, zone_id: &str, record_id: &str, body: &Json) -> Result<Json, ProviderError> {
        result(self.client.patch(&record_path(zone_id, record_id)?, body).await?)
    }

    /// `Ok(false)`: it was already gone.
    pub async fn delete_record(&self, zone_id: &str, record_id: &str) -> Result<bool, ProviderError> {
        Ok(gone_is_none(self.client.delete(&record_path(zone_id, record_id)?).await)?.is_some())
    }

    pub async fn lockdowns(&self, zone_id: &str) -> Result<Vec<Json>, ProviderError> {
        let path = format!("zones/{}/firewall/lockdowns", id(zone_id, "zone_id")?);
        // 1 or a multiple of 5, at most 1000.
        let per_page = (self.page_size.div_ceil(5) * 5).min(1000);
        all_pages(&self.client, &path, &[], &Paging::ResultInfo { per_page }).await
    }

    pub async fn lockdown(&self, zone_id: &str, rule_id: &str) -> Result<Option<Json>, ProviderError> {
        let path = lockdown_path(zone_id, rule_id)?;
        gone_is_none(self.client.get(&path).await).map(|o| o.map(result))?.transpose()
    }

    pub async fn create_lockdown(&self, zone_id: &str, body: &Json) -> Result<Json, ProviderError> {
        let path = format!("zones/{}/firewall/lockdowns", id(zone_id, "zone_id")?);
        result(self.client.post(&path, body).await?)
    }

    pub async fn put_lockdown(&self, zone_id: &str, rule_id: &str, body: &Json) -> Result<Json, ProviderError> {
        result(self.client.put(&lockdown_path(zone_id, rule_id)?, body).await?)
    }

    pub async fn delete_lockdown(&self, zone_id: &str, rule_id: &str) -> Result<bool, ProviderError> {
        Ok(gone_is_none(self.client.delete(&lockdown_path(zone_id, rule_id)?).await)?.is_some())
    }
}

fn record_path(zone_id: &str, record_id: &str) -> Result<String, ProviderError> {
    Ok(format!("zones/{}/dns_records/{}", id(zone_id, "zone_id")?, id(record_id, "id")?))
}

fn lockdown_path(zone_id: &str, rule_id: &str) -> Result<String, ProviderError> {
    Ok(format!("zones/{}/firewall/lockdowns/{}", id(zone_id, "zone_id")?, id(rule_id, "id")?))
}

/// A Cloudflare identifier: up to 32 letters and digits (hex in practice).
pub fn id<'a>(value: &'a str, what: &str) -> Result<&'a str, ProviderError> {
    if !value.is_empty() && value.len() <= 32 && value.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(value)
    } else {
        Err(ProviderError::permanent(format!(
            "{what} {value:?} is not a Cloudflare identifier (up to 32 letters and digits, like 023e105f4ecef8ad9ca31a8372d0c353)"
        )))
    }
}

/// Not found (the object, or its zone) becomes `None`.
fn gone_is_none(answer: Result<Json, ProviderError>) -> Result<Option<Json>, ProviderError> {
    tarn_sdk::error::found(answer)
}

/// The `result` of a success envelope; a 2xx answer that says `success: false` is an error in
/// the vendor's words.
fn result(body: Json) -> Result<Json, ProviderError> {
    if body.get("success") == Some(&Json::Bool(true)) {
        return Ok(body.get("result").cloned().unwrap_or(Json::Null));
    }
    let message = vendor_message(&body).unwrap_or_else(|| format!("unexpected answer: {}", excerpt(&body)));
    Err(ProviderError::permanent(format!("the Cloudflare API refused the request: {message}")))
}

fn excerpt(body: &Json) -> String {
    body.to_string().chars().take(200).collect()
}
