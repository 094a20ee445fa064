//! `digitalocean_droplet` through the `Provider` trait, as the engine calls it, against the
//! emulator: creation waits on the create action, changes go through droplet actions (each
//! waited for), drift made through the API is seen by read, import and adoption, and the
//! emulator's pool of droplet addresses that SSH-based tests point at 127.0.0.1.

use crate::common::{Env, create, read, s, strings, with};
use serde_json::json;
use tarn_sdk::{AdoptRequest, DeleteRequest, ErrorClass, PlanRequest, Provider, UpdateRequest, Value};

const DROPLET: &str = "digitalocean_droplet";
const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSnVZlvmTBlpT6fZ8SbS6x5nNkNwZGZsOw2cV0aP3v pond@ci";

/// A planned droplet as the engine hands it over: unset optionals null, computed ones unknown.
pub fn planned(name: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("region", Value::string("nyc3")),
        ("size", Value::string("s-1vcpu-1gb")),
        ("image", Value::string("ubuntu-24-04-x64")),
        ("ssh_keys", Value::Null),
        ("tags", Value::Null),
        ("project", Value::Null),
        ("user_data", Value::Null),
        ("ipv6", Value::Null),
        ("monitoring", Value::Null),
        ("power_state", Value::Null),
        ("id", Value::Unknown),
        ("ipv4_address", Value::Unknown),
        ("ipv4_address_private", Value::Unknown),
        ("ipv6_address", Value::Unknown),
        ("created_at", Value::Unknown),
    ])
}

async fn update(env: &Env, prior: &Value, planned: Value) -> Result<Value, tarn_sdk::ProviderError> {
    env.provider().update(UpdateRequest { type_name: DROPLET.into(), prior: prior.clone(), planned }).await
}

async fn action(env: &Env, id: &str, body: serde_json::Value) {
    let answer = env.client().post(&format!("v2/droplets/{id}/actions"), &body).await.expect("action accepted");
    env.api().wait_action(&answer["action"], "test action").await.expect("the action completes");
}

fn action_types(actions: &serde_json::Value) -> Vec<String> {
    actions["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| a["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn a_droplet_is_created_after_its_create_action_then_renamed_resized_and_deleted() {
    let env = Env::start().await;
    let p = env.provider();
    let key = create(
        &p,
        "digitalocean_ssh_key",
        Value::map([
            ("name", Value::string("ci")),
            ("public_key", Value::string(PUBLIC_KEY)),
            ("id", Value::Unknown),
            ("fingerprint", Value::Unknown),
        ]),
        "tarn-d1-0",
    )
    .await;
    let mut want = planned("web-1");
    want = with(&want, "tags", strings(&["web"]));
    want = with(&want, "project", Value::string("shop"));
    want = with(&want, "ssh_keys", strings(&[&s(&key, "id")]));
    want = with(&want, "user_data", Value::string("#cloud-config\npackages: [apache2]\n"));
    want = with(&want, "monitoring", Value::Bool(true));
    let created = create(&p, DROPLET, want.clone(), "tarn-d1-1").await;
    let id = s(&created, "id");
    let api = env.droplet(&id).await;
    assert_eq!(api["status"], "active", "create waited until the create action completed");
    assert_eq!(api["locked"], false);
    let tags = api["tags"].as_array().expect("tags");
    assert!(tags.contains(&json!("web")) && tags.contains(&json!("shop")), "{tags:?}");
    assert!(tags.contains(&json!("tarn-correlation:tarn-d1-1")), "{tags:?}");
    assert_eq!(created.get("tags"), Some(&strings(&["web"])), "only the user's tags show");
    assert_eq!(s(&created, "project"), "shop");
    assert_eq!(s(&created, "image"), "ubuntu-24-04-x64");
    assert_eq!(created.get("monitoring"), Some(&Value::Bool(true)));
    assert_eq!(created.get("power_state"), Some(&Value::Null), "on, the default, stays unset");
    assert_eq!(created.get("ipv6"), Some(&Value::Null));
    assert_eq!(created.get("ipv6_address"), Some(&Value::Null));
    assert!(s(&created, "ipv4_address").starts_with("203.0.113."), "{created}");
    assert!(s(&created, "ipv4_address_private").starts_with("10.10."), "{created}");
    assert_eq!(created.get("user_data"), want.get("user_data"), "kept as configured");
    assert_eq!(read(&p, DROPLET, &created).await.as_ref(), Some(&created), "reads back without drift");

    let changed = with(&with(&created, "name", Value::string("web-2")), "size", Value::string("s-1vcpu-2gb"));
    let updated = update(&env, &created, changed.clone()).await.expect("rename and resize");
    assert_eq!(s(&updated, "name"), "web-2");
    assert_eq!(s(&updated, "size"), "s-1vcpu-2gb");
    assert_eq!(updated.get("power_state"), Some(&Value::Null), "powered on again after the resize");
    let api = env.droplet(&id).await;
    assert_eq!((api["status"].as_str(), api["memory"].as_u64()), (Some("active"), Some(2048)));
    let actions = env.client().get(&format!("v2/droplets/{id}/actions")).await.expect("actions");
    assert_eq!(action_types(&actions), ["create", "rename", "power_off", "resize", "power_on"]);

    p.delete(DeleteRequest { type_name: DROPLET.into(), state: updated.clone() }).await.expect("delete");
    assert_eq!(read(&p, DROPLET, &updated).await, None, "gone");
    p.delete(DeleteRequest { type_name: DROPLET.into(), state: updated }).await.expect("deleting again is done");
}

#[tokio::test]
async fn power_state_goes_through_actions_and_a_droplet_powered_off_outside_tarn_is_drift() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, DROPLET, planned("db-1"), "tarn-d2-0").await;
    let id = s(&created, "id");

    // Drift: someone powers the droplet off in the control panel.
    action(&env, &id, json!({"type": "power_off"})).await;
    let seen = read(&p, DROPLET, &created).await.expect("still there");
    assert_eq!(s(&seen, "power_state"), "off", "the refresh shows what the configuration (on) did not say");
    // The plan puts it back: the configuration's null means on.
    let back = update(&env, &seen, with(&seen, "power_state", Value::Null)).await.expect("power on");
    assert_eq!(back.get("power_state"), Some(&Value::Null));
    assert_eq!(env.droplet(&id).await["status"], "active");

    let off = update(&env, &back, with(&back, "power_state", Value::string("off"))).await.expect("power off");
    assert_eq!(s(&off, "power_state"), "off");
    assert_eq!(env.droplet(&id).await["status"], "off");
    assert_eq!(read(&p, DROPLET, &off).await.as_ref(), Some(&off), "off as configured: no drift");

    let err = update(&env, &off, with(&off, "power_state", Value::string("sleeping"))).await.expect_err("bad state");
    assert!(err.message.contains("\"on\" or \"off\""), "{}", err.message);

    let stopped = create(&p, DROPLET, with(&planned("db-2"), "power_state", Value::string("off")), "tarn-d2-1").await;
    assert_eq!(env.droplet(&s(&stopped, "id")).await["status"], "off", "created, then powered off");
}

#[tokio::test]
async fn ipv6_is_enabled_in_place_and_turning_it_off_asks_for_a_replacement() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, DROPLET, planned("v6"), "tarn-d3-0").await;
    let proposed = with(&created, "ipv6", Value::Bool(true));
    let plan = p
        .plan(PlanRequest { type_name: DROPLET.into(), prior: Some(created.clone()), proposed: proposed.clone() })
        .await
        .expect("plan");
    assert_eq!(plan.requires_replace, Vec::<String>::new(), "enabled in place");
    assert_eq!(plan.planned.get("ipv6_address"), Some(&Value::Unknown), "known after apply");
    let enabled = update(&env, &created, plan.planned).await.expect("enable ipv6");
    assert_eq!(enabled.get("ipv6"), Some(&Value::Bool(true)));
    assert!(s(&enabled, "ipv6_address").starts_with("2001:db8::"), "{enabled}");

    let plan = p
        .plan(PlanRequest {
            type_name: DROPLET.into(),
            prior: Some(enabled.clone()),
            proposed: with(&enabled, "ipv6", Value::Null),
        })
        .await
        .expect("plan");
    assert_eq!(plan.requires_replace, ["ipv6"], "IPv6 cannot be disabled on a droplet");
}

#[tokio::test]
async fn tags_and_the_project_tag_changed_outside_tarn_show_as_drift_and_are_put_back() {
    let env = Env::start().await;
    let p = env.provider();
    let want = with(&with(&planned("app-1"), "tags", strings(&["web"])), "project", Value::string("shop"));
    let created = create(&p, DROPLET, want, "tarn-d4-0").await;
    let id = s(&created, "id");
    let c = env.client();
    c.post("v2/tags", &json!({"name": "manual"})).await.expect("tag");
    let resources = json!({"resources": [{"resource_id": id, "resource_type": "droplet"}]});
    c.post("v2/tags/manual/resources", &resources).await.expect("tag the droplet");
    c.request(tarn_sdk::http::Method::DELETE, "v2/tags/shop/resources").json(&resources).send().await.expect("untag");

    let seen = read(&p, DROPLET, &created).await.expect("still there");
    assert_eq!(seen.get("tags"), Some(&strings(&["web", "manual"])));
    assert_eq!(seen.get("project"), Some(&Value::Null), "the project tag is gone");
    let fixed = update(&env, &seen, created.clone()).await.expect("put the tags back");
    assert_eq!(fixed.get("tags"), Some(&strings(&["web"])));
    assert_eq!(s(&fixed, "project"), "shop");
    let api_tags = env.droplet(&id).await["tags"].clone();
    assert_eq!(api_tags, json!(["web", "tarn-correlation:tarn-d4-0", "shop"]), "the correlation tag survives");

    let twice = with(&with(&planned("app-2"), "tags", strings(&["shop"])), "project", Value::string("shop"));
    let err = p
        .create(tarn_sdk::CreateRequest { type_name: DROPLET.into(), planned: twice, correlation: "tarn-d4-1".into() })
        .await
        .expect_err("the project tag listed in tags too");
    assert!(err.message.contains("project tag already"), "{}", err.message);
}

#[tokio::test]
async fn a_droplet_is_imported_by_id_and_adopted_by_its_correlation_tag() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, DROPLET, with(&planned("imp"), "tags", strings(&["x"])), "tarn-d5-0").await;
    let id = s(&created, "id");
    let imported = p.import(DROPLET, &id).await.expect("import").expect("found");
    assert_eq!(s(&imported, "name"), "imp");
    assert_eq!(s(&imported, "image"), "ubuntu-24-04-x64");
    assert_eq!(imported.get("tags"), Some(&strings(&["x"])));
    assert_eq!(imported.get("power_state"), Some(&Value::Null));
    assert_eq!(p.import(DROPLET, "999999999").await.expect("import"), None, "no such droplet");
    let err = p.import(DROPLET, "web-1").await.expect_err("not an id");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("not a DigitalOcean droplet id"), "{}", err.message);

    let adopt = |c: &str| AdoptRequest { type_name: DROPLET.into(), correlation: c.into(), planned: planned("imp") };
    let adopted = p.adopt(adopt("tarn-d5-0")).await.expect("adopt").expect("found by its tag");
    assert_eq!(s(&adopted, "id"), id);
    assert_eq!(p.adopt(adopt("tarn-other-9")).await.expect("adopt"), None);
}

#[tokio::test]
async fn new_droplets_take_the_addresses_the_test_harness_chose() {
    let env = Env::start().await;
    let p = env.provider();
    env.emulator.set_droplet_addresses(vec!["127.0.0.1".into(), "127.0.0.1".into()]);
    let a = create(&p, DROPLET, planned("a"), "tarn-d6-0").await;
    let b = create(&p, DROPLET, planned("b"), "tarn-d6-1").await;
    let c = create(&p, DROPLET, planned("c"), "tarn-d6-2").await;
    assert_eq!((s(&a, "ipv4_address").as_str(), s(&b, "ipv4_address").as_str()), ("127.0.0.1", "127.0.0.1"));
    assert!(s(&c, "ipv4_address").starts_with("203.0.113."), "the pool is used up: {c}");
    p.delete(DeleteRequest { type_name: DROPLET.into(), state: a }).await.expect("delete");
    let d = create(&p, DROPLET, planned("d"), "tarn-d6-3").await;
    assert_eq!(s(&d, "ipv4_address"), "127.0.0.1", "a deleted droplet gives its address back");

    // The same through the admin endpoint, as a harness in another process would set it.
    let admin = tarn_sdk::http::Client::builder(&env.running.base_url).max_attempts(1).build().expect("client");
    let set =
        admin.put("__sim/droplet_addresses", &json!({"addresses": ["127.0.0.2", "127.0.0.3"]})).await.expect("set");
    assert_eq!(set["addresses"], json!(["127.0.0.2", "127.0.0.3"]));
    assert_eq!(
        admin.get("__sim/droplet_addresses").await.expect("get")["addresses"],
        json!(["127.0.0.2", "127.0.0.3"])
    );
    let e = create(&p, DROPLET, planned("e"), "tarn-d6-4").await;
    assert_eq!(s(&e, "ipv4_address"), "127.0.0.2");
    // Created at once (as an apply creates `count` droplets in parallel): never the same entry.
    let (f, g) =
        tokio::join!(create(&p, DROPLET, planned("f"), "tarn-d6-5"), create(&p, DROPLET, planned("g"), "tarn-d6-6"));
    let mut parallel = [s(&f, "ipv4_address"), s(&g, "ipv4_address")];
    parallel.sort();
    assert_eq!(parallel[0], "127.0.0.3", "{parallel:?}");
    assert!(parallel[1].starts_with("203.0.113."), "{parallel:?}");
    let err = admin.put("__sim/droplet_addresses", &json!({"addresses": ["localhost"]})).await.expect_err("not IPv4");
    assert!(err.message.contains("HTTP 400"), "{}", err.message);
}
