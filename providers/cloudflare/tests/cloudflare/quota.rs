//! The quota of active zone lockdown rules: checked at plan time against the zone's active
//! rules plus the plan's new ones (a plan error naming the limit), and enforced by the emulator
//! as Cloudflare does (creates and unpausing updates past it refused).

use crate::common::{Env, TOKEN, example_com};
use crate::provider::{lockdown, with};
use serde_json::json;
use tarn_provider_cloudflare::CloudflareProvider;
use tarn_provider_cloudflare::emulator::Settings;
use tarn_sdk::{PlanRequest, Provider, Value};

fn rule(url: &str) -> Value {
    with(&lockdown(&example_com()), "urls", Value::List(vec![Value::string(url)]))
}

async fn plan(p: &CloudflareProvider, proposed: Value, prior: Option<Value>) -> Result<Value, tarn_sdk::ProviderError> {
    p.plan(PlanRequest { type_name: "cloudflare_zone_lockdown".into(), prior, proposed }).await.map(|r| r.planned)
}

#[tokio::test]
async fn a_plan_past_the_zones_quota_is_one_error_naming_the_limit() {
    let env = Env::start().await;
    let lockdowns = format!("zones/{}/firewall/lockdowns", example_com());
    let body = |url: &str, paused: bool| json!({"urls": [url], "configurations": [{"target": "ip", "value": "198.51.100.4"}], "paused": paused});
    env.client().post(&lockdowns, &body("old.example.com/*", false)).await.expect("an active rule");
    env.client().post(&lockdowns, &body("paused.example.com/*", true)).await.expect("a paused rule");
    let p = CloudflareProvider::with_api_and_limit(env.api(), 2);

    // The first new rule fits: 1 active + 1.
    let first = rule("dev-a.example.com/*");
    assert_eq!(plan(&p, first.clone(), None).await.expect("fits"), first, "planned as proposed");
    // The same rule asked again (a later planning round) is not counted twice.
    plan(&p, first.clone(), None).await.expect("the same rule again");
    // A rule whose URLs were unknown in an earlier round and are known now is the same rule.
    let p2 = CloudflareProvider::with_api_and_limit(env.api(), 2);
    plan(&p2, with(&first, "urls", Value::List(vec![Value::Unknown])), None).await.expect("round 1");
    plan(&p2, first.clone(), None).await.expect("round 2: the same rule, refined");

    // A paused rule and an update do not count.
    plan(&p, with(&rule("dev-p.example.com/*"), "paused", Value::Bool(true)), None).await.expect("paused");
    plan(&p, rule("dev-u.example.com/*"), Some(rule("dev-u.example.com/*"))).await.expect("an update");

    // A second new rule would make 3 active rules where 2 are allowed.
    let err = plan(&p, rule("dev-b.example.com/*"), None).await.expect_err("past the quota");
    for part in [
        "would have 3 active zone lockdown rules",
        "1 already active, 2 created by this plan",
        "limit of 2",
        "lockdown_limit",
    ] {
        assert!(err.message.contains(part), "{part:?} missing from: {}", err.message);
    }
    assert!(err.message.contains(&example_com()), "names the zone: {}", err.message);
}

#[tokio::test]
async fn the_default_quota_is_the_pro_plans_three_rules() {
    let env = Env::start().await;
    let p = CloudflareProvider::default();
    p.configure(env.config(TOKEN)).await.expect("configure");
    for url in ["a.example.com/*", "b.example.com/*", "c.example.com/*"] {
        plan(&p, rule(url), None).await.expect("within 3");
    }
    let err = plan(&p, rule("d.example.com/*"), None).await.expect_err("the fourth");
    assert!(err.message.contains("limit of 3"), "{}", err.message);

    // Configuring again starts a new plan: nothing counted any more.
    let mut config = env.config(TOKEN).as_map().cloned().expect("a map");
    config.insert("lockdown_limit".into(), Value::number(10.0));
    p.configure(Value::Map(config)).await.expect("configure with 10");
    for i in 0..10 {
        plan(&p, rule(&format!("r{i}.example.com/*")), None).await.expect("within 10");
    }
}

#[tokio::test]
async fn the_emulator_refuses_active_rules_past_its_quota() {
    let env = Env::with(Settings { lockdown_limit: 2, ..Settings::accepting(TOKEN) }).await;
    let c = env.client();
    let lockdowns = format!("zones/{}/firewall/lockdowns", example_com());
    let body = |url: &str, paused: bool| json!({"urls": [url], "configurations": [{"target": "ip", "value": "198.51.100.4"}], "paused": paused});
    c.post(&lockdowns, &body("a.example.com/*", false)).await.expect("first");
    c.post(&lockdowns, &body("b.example.com/*", false)).await.expect("second");
    let err = c.post(&lockdowns, &body("c.example.com/*", false)).await.expect_err("third");
    assert!(err.message.contains("HTTP 400") && err.message.contains("(code 10022)"), "{}", err.message);
    assert!(err.message.contains("the most its plan allows (2)"), "{}", err.message);
    let paused = c.post(&lockdowns, &body("c.example.com/*", true)).await.expect("a paused rule is fine");
    let id = paused["result"]["id"].as_str().expect("id");
    let err = c.put(&format!("{lockdowns}/{id}"), &body("c.example.com/*", false)).await.expect_err("unpausing");
    assert!(err.message.contains("(code 10022)"), "{}", err.message);
    c.put(&format!("{lockdowns}/{id}"), &body("c2.example.com/*", true)).await.expect("edits while paused are fine");
    // Another zone has its own quota.
    let other = format!("zones/{}/firewall/lockdowns", crate::common::zone("example.org"));
    c.post(&other, &body("example.org/*", false)).await.expect("another zone");
}
