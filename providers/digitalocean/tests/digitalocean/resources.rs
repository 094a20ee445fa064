//! `digitalocean_ssh_key`, `_domain`, `_record`, `_loadbalancer` and `_tag` through the
//! `Provider` trait against the emulator (create, read, update, import, drift made through the
//! API, delete), and the `digitalocean_droplets` data source.

use crate::common::{Env, create, read, s, strings, with};
use crate::droplet::planned as droplet;
use serde_json::json;
use tarn_sdk::http::Method;
use tarn_sdk::{AdoptRequest, DeleteRequest, ErrorClass, Provider, ReadDataRequest, UpdateRequest, Value};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB8mVd0cV9sLcrH3J2tq4xvPz3fXr2mQk1Lw7y9aUj4e ops@laptop";

async fn update(env: &Env, type_name: &str, prior: &Value, planned: Value) -> Value {
    env.provider()
        .update(UpdateRequest { type_name: type_name.into(), prior: prior.clone(), planned })
        .await
        .unwrap_or_else(|e| panic!("update {type_name}: {}", e.message))
}

async fn delete(env: &Env, type_name: &str, state: &Value) {
    env.provider().delete(DeleteRequest { type_name: type_name.into(), state: state.clone() }).await.expect("delete");
}

fn key(name: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("public_key", Value::string(KEY)),
        ("id", Value::Unknown),
        ("fingerprint", Value::Unknown),
    ])
}

#[tokio::test]
async fn an_ssh_key_is_created_renamed_imported_adopted_and_deleted() {
    let env = Env::start().await;
    let p = env.provider();
    let ty = "digitalocean_ssh_key";
    let created = create(&p, ty, key("ops"), "tarn-k-0").await;
    let id = s(&created, "id");
    let fingerprint = s(&created, "fingerprint");
    assert_eq!(fingerprint.split(':').count(), 16, "{fingerprint}");
    assert_eq!(s(&created, "public_key"), KEY);
    // Drift: renamed in the control panel.
    env.client().put(&format!("v2/account/keys/{id}"), &json!({"name": "renamed"})).await.expect("rename");
    let seen = read(&p, ty, &created).await.expect("still there");
    assert_eq!(s(&seen, "name"), "renamed");
    let back = update(&env, ty, &seen, created.clone()).await;
    assert_eq!(s(&back, "name"), "ops");
    let by_fingerprint = p.import(ty, &fingerprint).await.expect("import").expect("found");
    assert_eq!(s(&by_fingerprint, "id"), id);
    let by_id = p.import(ty, &id).await.expect("import").expect("found");
    assert_eq!(by_id, back);
    let adopted = p.adopt(AdoptRequest { type_name: ty.into(), correlation: "x".into(), planned: key("ops") });
    assert_eq!(adopted.await.expect("adopt").map(|k| s(&k, "id")), Some(id.clone()), "found by its public key");
    let err =
        p.create(tarn_sdk::CreateRequest { type_name: ty.into(), planned: key("again"), correlation: "y".into() });
    let err = err.await.expect_err("the same key twice");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("HTTP 422") && err.message.contains("(unprocessable_entity)"), "{}", err.message);
    delete(&env, ty, &back).await;
    assert_eq!(read(&p, ty, &back).await, None);
}

fn domain(name: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("ip_address", Value::Null),
        ("id", Value::Unknown),
        ("ttl", Value::Unknown),
    ])
}

fn record(domain: &str, kind: &str, name: &str, value: &str) -> Value {
    Value::map([
        ("domain", Value::string(domain)),
        ("type", Value::string(kind)),
        ("name", Value::string(name)),
        ("value", Value::string(value)),
        ("ttl", Value::Unknown),
        ("priority", Value::Null),
        ("id", Value::Unknown),
        ("fqdn", Value::Unknown),
    ])
}

#[tokio::test]
async fn a_domain_and_its_records_are_created_changed_imported_and_deleted() {
    let env = Env::start().await;
    let p = env.provider();
    let with_apex = with(&domain("pond.example"), "ip_address", Value::string("203.0.113.10"));
    let d = create(&p, "digitalocean_domain", with_apex, "tarn-dom-0").await;
    assert_eq!((s(&d, "id").as_str(), d.get("ttl")), ("pond.example", Some(&Value::number(1800.0))));
    let apex = env.client().get("v2/domains/pond.example/records?type=A").await.expect("records");
    assert_eq!(apex["domain_records"][0]["data"], "203.0.113.10", "ip_address made the apex A record");
    assert_eq!(
        p.import("digitalocean_domain", "pond.example").await.expect("import").map(|v| s(&v, "name")),
        Some("pond.example".into())
    );

    let ty = "digitalocean_record";
    let a = create(&p, ty, record("pond.example", "A", "www", "203.0.113.20"), "tarn-dom-1").await;
    assert_eq!((s(&a, "fqdn").as_str(), a.get("ttl")), ("www.pond.example", Some(&Value::number(1800.0))));
    let aaaa = create(&p, ty, record("pond.example", "AAAA", "www", "2001:db8::20"), "tarn-dom-2").await;
    let cname = create(&p, ty, record("pond.example", "CNAME", "staging", "www.pond.example."), "tarn-dom-3").await;
    let txt = create(&p, ty, record("pond.example", "txt", "@", "v=spf1 -all"), "tarn-dom-4").await;
    let mx = with(&record("pond.example", "MX", "@", "mail.pond.example."), "priority", Value::number(10.0));
    let mx = create(&p, ty, mx, "tarn-dom-5").await;
    assert_eq!(mx.get("priority"), Some(&Value::number(10.0)));
    assert_eq!(s(&txt, "type"), "txt", "the type as configured, whatever its case");
    for r in [&aaaa, &cname, &txt] {
        assert_eq!(read(&p, ty, r).await.as_ref(), Some(r), "reads back without drift");
    }
    let err = p.create(tarn_sdk::CreateRequest {
        type_name: ty.into(),
        planned: record("pond.example", "MX", "@", "mx.pond.example."),
        correlation: "z".into(),
    });
    assert!(err.await.expect_err("no priority").message.contains("needs a priority"));
    let err = p.create(tarn_sdk::CreateRequest {
        type_name: ty.into(),
        planned: record("pond.example", "A", "bad", "not-an-ip"),
        correlation: "z".into(),
    });
    let err = err.await.expect_err("not an address");
    assert!(err.message.contains("valid IPv4") && err.message.contains("HTTP 422"), "{}", err.message);

    // Drift: the A record pointed elsewhere by hand; the plan's update puts it back.
    let id = s(&a, "id");
    env.client()
        .patch(&format!("v2/domains/pond.example/records/{id}"), &json!({"data": "198.51.100.7"}))
        .await
        .expect("patch");
    let seen = read(&p, ty, &a).await.expect("still there");
    assert_eq!(s(&seen, "value"), "198.51.100.7");
    let moved = update(&env, ty, &seen, with(&a, "ttl", Value::number(300.0))).await;
    assert_eq!((s(&moved, "value").as_str(), moved.get("ttl")), ("203.0.113.20", Some(&Value::number(300.0))));

    let imported = p.import(ty, &format!("pond.example,{id}")).await.expect("import").expect("found");
    assert_eq!(imported, moved);
    let err = p.import(ty, &id).await.expect_err("no domain");
    assert!(err.message.contains("<domain>,<record id>"), "{}", err.message);
    let adopted = p.adopt(AdoptRequest {
        type_name: ty.into(),
        correlation: "c".into(),
        planned: record("pond.example", "CNAME", "staging", "www.pond.example."),
    });
    assert_eq!(adopted.await.expect("adopt").map(|r| s(&r, "id")), Some(s(&cname, "id")), "adopted by content");

    delete(&env, ty, &moved).await;
    assert_eq!(read(&p, ty, &moved).await, None);
    delete(&env, "digitalocean_domain", &d).await;
    assert_eq!(read(&p, "digitalocean_domain", &d).await, None);
    assert_eq!(read(&p, ty, &txt).await, None, "a domain's records go with it");
}

fn rule(entry: f64, target: f64) -> Value {
    Value::map([
        ("entry_protocol", Value::string("http")),
        ("entry_port", Value::number(entry)),
        ("target_protocol", Value::string("http")),
        ("target_port", Value::number(target)),
        ("certificate_id", Value::Null),
        ("tls_passthrough", Value::Null),
    ])
}

fn healthcheck(path: &str) -> Value {
    Value::map([
        ("protocol", Value::string("http")),
        ("port", Value::number(80.0)),
        ("path", Value::string(path)),
        ("check_interval_seconds", Value::Null),
        ("response_timeout_seconds", Value::Null),
        ("unhealthy_threshold", Value::Null),
        ("healthy_threshold", Value::Null),
    ])
}

fn balancer(droplet_ids: Value, tag: Value) -> Value {
    Value::map([
        ("name", Value::string("pond-lb")),
        ("region", Value::string("nyc3")),
        ("size", Value::Unknown),
        ("forwarding_rule", Value::List(vec![rule(80.0, 80.0)])),
        ("healthcheck", healthcheck("/health")),
        ("droplet_ids", droplet_ids),
        ("droplet_tag", tag),
        ("redirect_http_to_https", Value::Null),
        ("id", Value::Unknown),
        ("ip", Value::Unknown),
        ("status", Value::Unknown),
    ])
}

#[tokio::test]
async fn a_load_balancer_balances_droplets_by_id_or_tag_and_its_drift_is_seen() {
    let env = Env::start().await;
    let p = env.provider();
    let ty = "digitalocean_loadbalancer";
    let one = create(&p, "digitalocean_droplet", with(&droplet("lb-a"), "tags", strings(&["pool"])), "tarn-lb-0").await;
    let two = create(&p, "digitalocean_droplet", with(&droplet("lb-b"), "tags", strings(&["pool"])), "tarn-lb-1").await;
    let ids = strings(&[&s(&one, "id"), &s(&two, "id")]);
    let created = create(&p, ty, balancer(ids.clone(), Value::Null), "tarn-lb-2").await;
    assert_eq!(s(&created, "status"), "active", "create waited until the load balancer was set up");
    assert_eq!(s(&created, "size"), "lb-small");
    assert_eq!(created.get("droplet_ids"), Some(&ids));
    assert_eq!(created.get("healthcheck"), Some(&healthcheck("/health")), "unset fields stay null at their defaults");
    assert_eq!(created.get("forwarding_rule"), Some(&Value::List(vec![rule(80.0, 80.0)])));
    assert_eq!(read(&p, ty, &created).await.as_ref(), Some(&created), "reads back without drift");
    let id = s(&created, "id");

    // Drift: a rule added by hand.
    let extra = json!({"forwarding_rules": [{"entry_protocol": "tcp", "entry_port": 2222, "target_protocol": "tcp", "target_port": 22}]});
    env.client().post(&format!("v2/load_balancers/{id}/forwarding_rules"), &extra).await.expect("add a rule");
    let seen = read(&p, ty, &created).await.expect("still there");
    assert_eq!(seen.get("forwarding_rule").and_then(Value::as_list).map(<[Value]>::len), Some(2));
    let fixed = update(&env, ty, &seen, created.clone()).await;
    assert_eq!(fixed.get("forwarding_rule"), created.get("forwarding_rule"), "the PUT put the rules back");

    // By tag instead of ids, and a new health check path.
    let by_tag = with(&with(&fixed, "droplet_ids", Value::Null), "droplet_tag", Value::string("pool"));
    let by_tag = update(&env, ty, &fixed, with(&by_tag, "healthcheck", healthcheck("/up"))).await;
    assert_eq!((by_tag.get("droplet_ids"), s(&by_tag, "droplet_tag").as_str()), (Some(&Value::Null), "pool"));
    let api = env.client().get(&format!("v2/load_balancers/{id}")).await.expect("lb");
    assert_eq!(api["load_balancer"]["droplet_ids"].as_array().map(Vec::len), Some(2), "the tag's droplets");
    assert_eq!(api["load_balancer"]["health_check"]["path"], "/up");

    let imported = p.import(ty, &id).await.expect("import").expect("found");
    assert_eq!(s(&imported, "droplet_tag"), "pool");
    let both = with(&balancer(ids, Value::string("pool")), "name", Value::string("x"));
    let err = p.create(tarn_sdk::CreateRequest { type_name: ty.into(), planned: both, correlation: "q".into() });
    assert!(err.await.expect_err("both").message.contains("not both"));
    delete(&env, ty, &by_tag).await;
    assert_eq!(read(&p, ty, &by_tag).await, None);
}

#[tokio::test]
async fn a_tag_is_created_imported_and_deleted_and_the_data_source_lists_its_droplets() {
    let env = Env::start().await;
    let p = env.provider();
    let ty = "digitalocean_tag";
    let want = Value::map([("name", Value::string("shop")), ("id", Value::Unknown)]);
    let tag = create(&p, ty, want.clone(), "tarn-t-0").await;
    assert_eq!(s(&tag, "id"), "shop");
    assert_eq!(create(&p, ty, want, "tarn-t-1").await, tag, "creating an existing tag answers it");
    assert_eq!(p.import(ty, "shop").await.expect("import"), Some(tag.clone()));
    let err = p.import(ty, "no spaces").await.expect_err("invalid");
    assert!(err.message.contains("not a valid DigitalOcean tag"), "{}", err.message);

    for (name, project) in [("web-b", "shop"), ("web-a", "shop"), ("other", "blog")] {
        create(
            &p,
            "digitalocean_droplet",
            with(&droplet(name), "project", Value::string(project)),
            &format!("tarn-t-{name}"),
        )
        .await;
    }
    let data = p
        .read_data(ReadDataRequest {
            type_name: "digitalocean_droplets".into(),
            config: Value::map([("tag", Value::string("shop")), ("droplets", Value::Unknown)]),
        })
        .await
        .expect("read data");
    let listed = data.get("droplets").and_then(Value::as_list).expect("droplets");
    let names: Vec<String> = listed.iter().map(|d| s(d, "name")).collect();
    assert_eq!(names, ["web-a", "web-b"], "the project's droplets, by name");
    assert_eq!(s(&listed[0], "status"), "active");
    assert_eq!(listed[0].get("tags"), Some(&strings(&["shop"])), "without tarn's correlation tag");

    // Drift: the tag deleted by hand (which untags the droplets).
    env.client().request(Method::DELETE, "v2/tags/shop").send().await.expect("delete by hand");
    assert_eq!(read(&p, ty, &tag).await, None);
    delete(&env, ty, &tag).await;
}
