//! The `cloudflare_zone` data source: a zone looked up by its exact name.

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use tarn_sdk::attrs::required_str;

pub async fn read(api: &Api, config: &Value) -> Result<Value, ProviderError> {
    let name = required_str(config, "name")?.trim_end_matches('.').to_lowercase();
    let zones = api.zones_named(&name).await?;
    let zone =
        zones.iter().find(|z| z.get("name").and_then(Json::as_str).is_some_and(|n| n.eq_ignore_ascii_case(&name)));
    let Some(zone) = zone else {
        return Err(ProviderError::permanent(format!(
            "no zone named {name:?} is visible to this API token; check the name and that the token may read the zone"
        )));
    };
    Ok(crate::lists::zone(zone))
}
