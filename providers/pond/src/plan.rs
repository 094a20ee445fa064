//! The pond provider's plan refinement (`Provider::plan`) for `pond_environment`: what the
//! engine's default diff cannot know, predicted from the configuration and the refreshed state,
//! so that the plan says which build goes live.
//!
//! - On create: `live_build` is the `build` (the first deployment fills both colours), `live`
//!   blue unless set, `type` single unless set, `id` `<project>/<name>`.
//! - On a switch (`live` changes; the schema makes `live_build` unknown then): the build the
//!   new colour will hold. A deployment goes to the colour that is not live, so when this same
//!   apply deploys, the new colour gets the new `build`; otherwise it keeps what the refreshed
//!   state says it holds (`builds`). When that cannot be told (servers disagree, an input is
//!   unknown or secret), `live_build` stays "known after apply"; the switch still checks it.
//!
//! Pure: no IO. Secrets reach it as unknown (the engine withholds them), so nothing here
//! derives from one.

use tarn_sdk::Value;

use crate::model::COLOURS;

/// Attributes whose change is a new deployment (environment.rs deploys on these).
pub const DEPLOYMENT_INPUTS: &[&str] =
    &["build", "source", "config_templates", "config_variables", "pondignore", "post_deployment_scripts"];

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// A build tag as the state records one: not empty, not `mixed (...)`, not mid-deployment.
fn tag(s: &str) -> Option<&str> {
    (!s.is_empty() && !s.starts_with("mixed (") && !s.starts_with("deploying ")).then_some(s)
}

/// `proposed` with what can be predicted filled in.
pub fn environment(prior: Option<&Value>, proposed: Value) -> Value {
    let Value::Map(mut m) = proposed else { return proposed };
    let proposed = Value::Map(m.clone());
    let mut set = Vec::new();
    match prior {
        None => {
            if let Some(build) = text(&proposed, "build").and_then(tag) {
                set.push(("live_build", build.to_string()));
            }
            set.push(("live", "blue".to_string()));
            set.push(("type", "single".to_string()));
            if let (Some(p), Some(n)) = (text(&proposed, "project"), text(&proposed, "name")) {
                set.push(("id", format!("{p}/{n}")));
            }
        }
        Some(prior) => {
            if let Some(build) = switched_build(prior, &proposed) {
                set.push(("live_build", build));
            }
        }
    }
    for (k, v) in set {
        if m.get(k).is_some_and(Value::is_unknown) {
            m.insert(k.to_string(), Value::string(v));
        }
    }
    Value::Map(m)
}

/// The build the colour `proposed.live` will hold after this apply, when it can be told.
fn switched_build(prior: &Value, proposed: &Value) -> Option<String> {
    let was = text(prior, "live").filter(|c| COLOURS.contains(c))?;
    let to = text(proposed, "live").filter(|c| COLOURS.contains(c))?;
    if to == was {
        return text(prior, "live_build").and_then(tag).map(str::to_string);
    }
    let build = text(proposed, "build").and_then(tag)?;
    let held = prior.get("builds").and_then(|b| b.get(to)).and_then(Value::as_str).and_then(tag);
    // `to` is the colour that is not live now: a deployment in this apply lands there.
    let inputs: Vec<(Option<&Value>, Option<&Value>)> =
        DEPLOYMENT_INPUTS.iter().map(|k| (prior.get(k), proposed.get(k))).collect();
    let uncertain = inputs.iter().any(|(_, after)| after.is_some_and(|a| !a.is_wholly_known()));
    let deploys = inputs.iter().any(|(before, after)| {
        after.is_some_and(Value::is_wholly_known) && before.map(Value::unmark_deep) != after.map(Value::unmark_deep)
    });
    match (deploys, uncertain, held) {
        (true, _, _) => Some(build.to_string()),
        (false, false, Some(held)) => Some(held.to_string()),
        // A secret input may or may not change: only a colour already holding `build` is sure.
        (false, true, Some(held)) if held == build => Some(build.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prior() -> Value {
        Value::map([
            ("project", Value::string("shop")),
            ("name", Value::string("production")),
            ("build", Value::string("v2")),
            ("source", Value::string("build-v2")),
            ("live", Value::string("blue")),
            ("live_build", Value::string("v1")),
            ("builds", Value::map([("blue", Value::string("v1")), ("green", Value::string("v2"))])),
            ("config_variables", Value::map([("greeting", Value::string("hi"))])),
        ])
    }

    fn with(v: &Value, pairs: &[(&str, Value)]) -> Value {
        let mut m = v.as_map().cloned().unwrap_or_default();
        for (k, x) in pairs {
            m.insert(k.to_string(), x.clone());
        }
        Value::Map(m)
    }

    fn live_build(prior: Option<&Value>, proposed: Value) -> Value {
        environment(prior, proposed).get("live_build").cloned().unwrap_or(Value::Null)
    }

    #[test]
    fn a_switch_plans_the_build_the_colour_holds() {
        let p = prior();
        let switch = with(&p, &[("live", Value::string("green")), ("live_build", Value::Unknown)]);
        assert_eq!(live_build(Some(&p), switch), Value::string("v2"));
    }

    #[test]
    fn a_switch_with_a_deployment_plans_the_new_build() {
        let p = prior();
        let both = with(
            &p,
            &[
                ("live", Value::string("green")),
                ("live_build", Value::Unknown),
                ("build", Value::string("v3")),
                ("source", Value::string("build-v3")),
            ],
        );
        assert_eq!(live_build(Some(&p), both), Value::string("v3"));
    }

    #[test]
    fn what_cannot_be_told_stays_unknown() {
        let p = prior();
        // A secret input withheld (unknown): green holds v2, build is v3 — maybe redeployed.
        let secret = with(
            &p,
            &[
                ("live", Value::string("green")),
                ("live_build", Value::Unknown),
                ("build", Value::string("v3")),
                ("source", Value::string("build-v2")),
            ],
        );
        let secret = with(&secret, &[("config_variables", Value::Unknown)]);
        assert_eq!(live_build(Some(&p), with(&secret, &[("build", Value::string("v2"))])), Value::string("v2"));
        let mixed = with(
            &p,
            &[("builds", Value::map([("blue", Value::string("v1")), ("green", Value::string("mixed (a v2, b v1)"))]))],
        );
        let switch = with(&mixed, &[("live", Value::string("green")), ("live_build", Value::Unknown)]);
        assert_eq!(live_build(Some(&mixed), switch), Value::Unknown);
    }

    #[test]
    fn a_create_plans_the_build_on_blue() {
        let create = with(
            &prior(),
            &[
                ("live", Value::Unknown),
                ("live_build", Value::Unknown),
                ("type", Value::Unknown),
                ("id", Value::Unknown),
            ],
        );
        let planned = environment(None, create);
        assert_eq!(planned.get("live_build"), Some(&Value::string("v2")));
        assert_eq!(planned.get("live"), Some(&Value::string("blue")));
        assert_eq!(planned.get("id"), Some(&Value::string("shop/production")));
    }
}
