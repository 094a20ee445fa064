//! The seed's "limited availability of concurrent active rules": a zone holds at most
//! `lockdown_limit` active (unpaused) zone lockdown rules (Cloudflare: 3 on Pro, 10 on Business,
//! 200 on Enterprise). Checked at plan time, so a plan that would pass the quota is one error
//! naming the limit instead of an apply that fails, and rolls back, at the rule too many.
//!
//! The engine asks the provider to plan each lockdown rule it will create (`Provider::plan`,
//! the schema sets `refines_plan`), one call per rule and planning round; the `Tally` keeps the
//! rules of the current plan per zone and counts them with the zone's active rules as the API
//! lists them (read once per zone and plan). A rule planned again in a later round, with more of
//! its values known, refines an entry already kept and replaces it rather than counting twice.
//! Rules whose zone is unknown until apply, and updates that unpause a rule, are left to the
//! API, which refuses a rule past the quota itself.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use tarn_sdk::attrs::{attr_bool, attr_str};

/// Active rules per zone when the provider block says nothing: Pro's 3, the smallest plan
/// that has Zone Lockdown.
pub const DEFAULT_LIMIT: usize = 3;

/// The lockdown rules one plan creates, per zone, and the active rules each zone already has.
#[derive(Debug, Default)]
pub struct Tally {
    inner: Mutex<Zones>,
}

#[derive(Debug, Default)]
struct Zones {
    planned: HashMap<String, Vec<Value>>,
    existing: HashMap<String, usize>,
}

impl Tally {
    /// Forgets everything: a new configuration is a new plan.
    pub fn reset(&self) {
        *self.inner.lock().unwrap_or_else(|p| p.into_inner()) = Zones::default();
    }

    /// Counts the rule `planned` will create and refuses it when its zone would then hold more
    /// than `limit` active rules.
    pub async fn check(&self, api: &Api, planned: &Value, limit: usize) -> Result<(), ProviderError> {
        let Some(zone_id) = attr_str(planned, "zone_id") else { return Ok(()) };
        if attr_bool(planned, "paused") == Some(true) {
            return Ok(());
        }
        let known = self.inner.lock().unwrap_or_else(|p| p.into_inner()).existing.get(&zone_id).copied();
        let existing = match known {
            Some(n) => n,
            None => {
                let rules = api.lockdowns(&zone_id).await?;
                let n = rules.iter().filter(|r| r.get("paused").and_then(Json::as_bool) != Some(true)).count();
                *self.inner.lock().unwrap_or_else(|p| p.into_inner()).existing.entry(zone_id.clone()).or_insert(n)
            }
        };
        let mut zones = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let planned_here = zones.planned.entry(zone_id.clone()).or_default();
        match planned_here.iter_mut().find(|earlier| refines(planned, earlier)) {
            Some(earlier) => *earlier = planned.clone(),
            None => planned_here.push(planned.clone()),
        }
        let new = planned_here.len();
        if existing + new <= limit {
            return Ok(());
        }
        Err(ProviderError::permanent(format!(
            "zone {zone_id} would have {} active zone lockdown rules ({existing} already active, {new} created by this plan), \
             more than the limit of {limit} (lockdown_limit in the provider block; Cloudflare allows 3 on Pro, 10 on Business, \
             200 on Enterprise). Pause or delete a rule, add these URLs to an existing rule, or raise lockdown_limit if the zone's plan allows more.",
            existing + new
        )))
    }
}

/// Whether `later` is `earlier` with some of its unknowns now known (the same rule, planned
/// again in a later round).
fn refines(later: &Value, earlier: &Value) -> bool {
    match (later, earlier) {
        (_, Value::Unknown) => true,
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len() && b.iter().all(|(k, v)| a.get(k).is_some_and(|x| refines(x, v)))
        }
        (Value::List(a), Value::List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| refines(x, y)),
        _ => later == earlier,
    }
}

#[cfg(test)]
mod tests {
    use super::refines;
    use tarn_sdk::Value;

    #[test]
    fn a_rule_planned_again_with_more_known_refines_its_earlier_plan() {
        let earlier = Value::map([("zone_id", Value::string("z")), ("urls", Value::List(vec![Value::Unknown]))]);
        let later = Value::map([("zone_id", Value::string("z")), ("urls", Value::List(vec![Value::string("a/*")]))]);
        let other = Value::map([
            ("zone_id", Value::string("z")),
            ("urls", Value::List(vec![Value::string("b/*"), Value::string("c")])),
        ]);
        assert!(refines(&later, &earlier));
        assert!(!refines(&earlier, &later), "knowing less is not a refinement");
        assert!(!refines(&other, &earlier), "a different number of URLs is another rule");
    }
}
