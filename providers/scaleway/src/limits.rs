//! The seed's volume rule: a server's local (l_ssd) volumes must together meet its commercial
//! type's `volumes_constraint` from `products/servers`. Checked when a server is planned
//! (creates) and before any call when it is changed, so a bad size is one clear error naming the
//! limit instead of a half-made server.

use serde_json::Value as Json;
use tarn_sdk::ProviderError;

use crate::api::Api;
use crate::values::bytes_to_gb;

/// One commercial type's limits, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub min: u64,
    pub max: u64,
}

/// The limits of `commercial_type` in `zone`; an unknown type is an error listing the known ones.
pub async fn limits(api: &Api, zone: &str, commercial_type: &str) -> Result<(Limits, Json), ProviderError> {
    let types = api.server_types(zone).await?;
    let Some(found) = types.get(commercial_type) else {
        let mut names: Vec<&str> = types.keys().map(String::as_str).collect();
        names.sort();
        return Err(ProviderError::permanent(format!(
            "there is no commercial type {commercial_type:?} in {zone}; products/servers offers {}",
            names.join(", ")
        )));
    };
    let bound = |k: &str| found.pointer(&format!("/volumes_constraint/{k}")).and_then(Json::as_u64).unwrap_or(0);
    Ok((Limits { min: bound("min_size"), max: bound("max_size") }, found.clone()))
}

/// Checks a total of local volume sizes against the limits. `parts` describe the sum for the
/// message ("root 20 GB + 1 volume of 10 GB").
pub fn check(commercial_type: &str, limits: Limits, total: u64, parts: &str) -> Result<(), ProviderError> {
    if total >= limits.min && (limits.max == 0 || total <= limits.max) {
        return Ok(());
    }
    let range = if limits.min == limits.max {
        format!("exactly {} GB", bytes_to_gb(limits.min))
    } else {
        format!("between {} GB and {} GB", bytes_to_gb(limits.min), bytes_to_gb(limits.max))
    };
    Err(ProviderError::permanent(format!(
        "the local (l_ssd) volumes of a {commercial_type} server must total {range} (products/servers volumes_constraint), but this one would have {} GB ({parts}); change the sizes or the type",
        bytes_to_gb(total)
    )))
}

/// The root volume's size when the configuration names none: the image's size brought within
/// the type's limits, as the API does.
pub fn default_root_size(limits: Limits, image_size: u64) -> u64 {
    let at_least = image_size.max(limits.min);
    if limits.max > 0 { at_least.min(limits.max) } else { at_least }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_outside_the_range_name_the_limit() {
        let l = Limits { min: 20_000_000_000, max: 40_000_000_000 };
        check("DEV1-M", l, 30_000_000_000, "root 30 GB").expect("inside");
        let err = check("DEV1-M", l, 50_000_000_000, "root 20 GB + 30 GB").expect_err("too big");
        assert!(err.message.contains("between 20 GB and 40 GB"), "{}", err.message);
        assert!(err.message.contains("would have 50 GB (root 20 GB + 30 GB)"), "{}", err.message);
        let fixed = Limits { min: 150_000_000_000, max: 150_000_000_000 };
        let err = check("GP1-XS", fixed, 10_000_000_000, "root 10 GB").expect_err("too small");
        assert!(err.message.contains("exactly 150 GB"), "{}", err.message);
    }

    #[test]
    fn the_default_root_size_fits_the_type() {
        let l = Limits { min: 20_000_000_000, max: 40_000_000_000 };
        assert_eq!(default_root_size(l, 10_000_000_000), 20_000_000_000);
        assert_eq!(default_root_size(l, 30_000_000_000), 30_000_000_000);
        assert_eq!(default_root_size(l, 90_000_000_000), 40_000_000_000);
    }
}
