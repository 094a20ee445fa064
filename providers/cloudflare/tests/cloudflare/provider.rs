//! The provider through the `Provider` trait, as the engine calls it, against the emulator.

use crate::common::{Env, example_com};
use serde_json::json;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, ErrorClass, Provider, ReadDataRequest, ReadRequest, UpdateRequest,
    Value,
};

pub fn record(zone: &str, name: &str, content: &str) -> Value {
    Value::map([
        ("zone_id", Value::string(zone)),
        ("name", Value::string(name)),
        ("type", Value::string("A")),
        ("content", Value::string(content)),
        ("ttl", Value::Null),
        ("proxied", Value::Null),
        ("priority", Value::Null),
        ("comment", Value::Null),
        ("id", Value::Unknown),
        ("hostname", Value::Unknown),
        ("proxiable", Value::Unknown),
        ("created_on", Value::Unknown),
    ])
}

pub fn with(v: &Value, key: &str, new: Value) -> Value {
    let mut m = v.as_map().expect("object").clone();
    m.insert(key.to_string(), new);
    Value::Map(m)
}

pub fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("{key} in {v}")).to_string()
}

#[tokio::test]
async fn dns_record_lifecycle_with_drift_and_gone() {
    let env = Env::start().await;
    let p = env.provider();
    let planned = record(&example_com(), "www", "192.0.2.10");
    let created = p
        .create(CreateRequest {
            type_name: "cloudflare_dns_record".into(),
            planned: planned.clone(),
            correlation: "tarn-r1-0".into(),
        })
        .await
        .expect("create");
    assert_eq!(s(&created, "name"), "www", "the configured spelling is kept");
    assert_eq!(s(&created, "hostname"), "www.example.com");
    assert_eq!(created.get("ttl"), Some(&Value::Null), "default ttl stays unset");
    assert_eq!(created.get("proxiable"), Some(&Value::Bool(true)));
    let id = s(&created, "id");
    assert_eq!(id.len(), 32);

    let read =
        p.read(ReadRequest { type_name: "cloudflare_dns_record".into(), state: created.clone() }).await.expect("read");
    assert_eq!(read.as_ref(), Some(&created), "no drift right after create");

    let wanted = with(&with(&created, "content", Value::string("192.0.2.11")), "comment", Value::string("web"));
    let updated = p
        .update(UpdateRequest { type_name: "cloudflare_dns_record".into(), prior: created.clone(), planned: wanted })
        .await
        .expect("update");
    assert_eq!(s(&updated, "content"), "192.0.2.11");
    assert_eq!(s(&updated, "comment"), "web");
    assert_eq!(s(&updated, "id"), id, "updated in place");

    // Someone changes the TTL in the dashboard: read reports it.
    let path = format!("zones/{}/dns_records/{id}", example_com());
    env.client().patch(&path, &json!({"ttl": 300})).await.expect("change behind tarn's back");
    let drifted =
        p.read(ReadRequest { type_name: "cloudflare_dns_record".into(), state: updated.clone() }).await.expect("read");
    assert_eq!(drifted.as_ref().and_then(|d| d.get("ttl")), Some(&Value::number(300.0)));

    p.delete(DeleteRequest { type_name: "cloudflare_dns_record".into(), state: updated.clone() })
        .await
        .expect("delete");
    let gone =
        p.read(ReadRequest { type_name: "cloudflare_dns_record".into(), state: updated.clone() }).await.expect("read");
    assert_eq!(gone, None, "a deleted record reads as gone");
    p.delete(DeleteRequest { type_name: "cloudflare_dns_record".into(), state: updated })
        .await
        .expect("deleting again succeeds");
}

#[tokio::test]
async fn a_record_in_a_zone_that_does_not_exist_reads_as_gone() {
    let env = Env::start().await;
    let p = env.provider();
    let state = with(
        &record("0123456789abcdef0123456789abcdef", "x", "192.0.2.1"),
        "id",
        Value::string("ffffffffffffffffffffffffffffffff"),
    );
    let read = p.read(ReadRequest { type_name: "cloudflare_dns_record".into(), state }).await.expect("read");
    assert_eq!(read, None);
}

#[tokio::test]
async fn adopt_finds_the_record_by_its_correlation_tag_only() {
    let env = Env::start().await;
    let p = env.provider();
    let planned = record(&example_com(), "api", "192.0.2.20");
    let created = p
        .create(CreateRequest {
            type_name: "cloudflare_dns_record".into(),
            planned: planned.clone(),
            correlation: "tarn-run7-3".into(),
        })
        .await
        .expect("create");
    let adopted = p
        .adopt(AdoptRequest {
            type_name: "cloudflare_dns_record".into(),
            correlation: "tarn-run7-3".into(),
            planned: planned.clone(),
        })
        .await
        .expect("adopt");
    assert_eq!(adopted.map(|a| s(&a, "id")), Some(s(&created, "id")));
    let none = p
        .adopt(AdoptRequest { type_name: "cloudflare_dns_record".into(), correlation: "tarn-run7-4".into(), planned })
        .await
        .expect("adopt");
    assert_eq!(none, None, "another create's tag finds nothing");
}

#[tokio::test]
async fn duplicate_records_are_refused_in_the_vendors_words() {
    let env = Env::start().await;
    let p = env.provider();
    let planned = record(&example_com(), "dup", "192.0.2.30");
    let req = |c: &str| CreateRequest {
        type_name: "cloudflare_dns_record".into(),
        planned: planned.clone(),
        correlation: c.into(),
    };
    p.create(req("a")).await.expect("first");
    let err = p.create(req("b")).await.expect_err("identical record");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("Record already exists. (code 81057)"), "{}", err.message);
    assert!(err.message.contains("POST /client/v4/zones/"), "names the call: {}", err.message);
}

pub fn lockdown(zone: &str) -> Value {
    Value::map([
        ("zone_id", Value::string(zone)),
        ("urls", Value::List(vec![Value::string("shop.example.com/admin*")])),
        (
            "configurations",
            Value::List(vec![
                Value::map([("target", Value::string("ip")), ("value", Value::string("198.51.100.4"))]),
                Value::map([("target", Value::string("ip_range")), ("value", Value::string("203.0.113.0/24"))]),
            ]),
        ),
        ("description", Value::Null),
        ("paused", Value::Null),
        ("id", Value::Unknown),
        ("created_on", Value::Unknown),
    ])
}

#[tokio::test]
async fn zone_lockdown_lifecycle_adoption_and_import() {
    let env = Env::start().await;
    let p = env.provider();
    let planned = lockdown(&example_com());
    let created = p
        .create(CreateRequest {
            type_name: "cloudflare_zone_lockdown".into(),
            planned: planned.clone(),
            correlation: "c".into(),
        })
        .await
        .expect("create");
    assert_eq!(created.get("description"), Some(&Value::Null));
    assert_eq!(created.get("urls"), planned.get("urls"));
    let read = p
        .read(ReadRequest { type_name: "cloudflare_zone_lockdown".into(), state: created.clone() })
        .await
        .expect("read");
    assert_eq!(read.as_ref(), Some(&created));

    let adopted = p
        .adopt(AdoptRequest {
            type_name: "cloudflare_zone_lockdown".into(),
            correlation: "c".into(),
            planned: planned.clone(),
        })
        .await
        .expect("adopt");
    assert_eq!(adopted.as_ref(), Some(&created), "an identical rule is adopted");

    let import_id = format!("{}/{}", example_com(), s(&created, "id"));
    let imported = p.import("cloudflare_zone_lockdown", &import_id).await.expect("import");
    assert_eq!(imported.map(|i| s(&i, "id")), Some(s(&created, "id")));

    let paused = with(&with(&created, "paused", Value::Bool(true)), "description", Value::string("office only"));
    let updated = p
        .update(UpdateRequest { type_name: "cloudflare_zone_lockdown".into(), prior: created.clone(), planned: paused })
        .await
        .expect("update");
    assert_eq!(updated.get("paused"), Some(&Value::Bool(true)));
    assert_eq!(s(&updated, "description"), "office only");

    p.delete(DeleteRequest { type_name: "cloudflare_zone_lockdown".into(), state: updated.clone() })
        .await
        .expect("delete");
    let gone =
        p.read(ReadRequest { type_name: "cloudflare_zone_lockdown".into(), state: updated }).await.expect("read");
    assert_eq!(gone, None);
}

#[tokio::test]
async fn bad_lockdown_ranges_are_refused_with_the_reason() {
    let env = Env::start().await;
    let p = env.provider();
    let mut bad = lockdown(&example_com()).as_map().cloned().expect("map");
    bad.insert(
        "configurations".into(),
        Value::List(vec![Value::map([("target", Value::string("ip_range")), ("value", Value::string("10.0.0.0/8"))])]),
    );
    let err = p
        .create(CreateRequest {
            type_name: "cloudflare_zone_lockdown".into(),
            planned: Value::Map(bad),
            correlation: "c".into(),
        })
        .await
        .expect_err("a /8 is refused");
    assert!(err.message.contains("only prefix lengths /16, /24 are allowed"), "{}", err.message);
}

#[tokio::test]
async fn the_zone_data_source_looks_up_by_name() {
    let env = Env::start().await;
    let p = env.provider();
    let config = Value::map([("name", Value::string("example.org"))]);
    let zone = p.read_data(ReadDataRequest { type_name: "cloudflare_zone".into(), config }).await.expect("zone");
    assert_eq!(s(&zone, "id"), tarn_provider_cloudflare::emulator::zone_id("example.org"));
    assert_eq!(s(&zone, "status"), "active");
    let config = Value::map([("name", Value::string("nowhere.test"))]);
    let err =
        p.read_data(ReadDataRequest { type_name: "cloudflare_zone".into(), config }).await.expect_err("no such zone");
    assert!(err.message.contains("no zone named \"nowhere.test\""), "{}", err.message);
}

#[tokio::test]
async fn configure_with_an_empty_token_says_how_to_give_one() {
    let p = tarn_provider_cloudflare::CloudflareProvider::default();
    let config = Value::map([("api_token", Value::string("  ")), ("base_url", Value::string("http://127.0.0.1:9/"))]);
    let err = p.configure(config).await.expect_err("no token");
    assert!(err.message.contains("CLOUDFLARE_API_TOKEN"), "{}", err.message);
    assert!(err.message.contains("--sandbox"), "{}", err.message);
}

#[tokio::test]
async fn a_dns_record_made_elsewhere_is_imported_by_zone_and_id() {
    let env = Env::start().await;
    let p = env.provider();
    // Made by hand in the dashboard (here: straight through the API), with a comment and a TTL.
    let made = env
        .client()
        .post(
            &format!("zones/{}/dns_records", example_com()),
            &json!({"type": "A", "name": "legacy", "content": "192.0.2.77", "ttl": 300, "comment": "by hand"}),
        )
        .await
        .expect("made elsewhere");
    let id = made["result"]["id"].as_str().expect("id").to_string();

    let imported = p
        .import("cloudflare_dns_record", &format!("{}/{id}", example_com()))
        .await
        .expect("import")
        .expect("the record exists");
    assert_eq!(s(&imported, "id"), id);
    assert_eq!(s(&imported, "zone_id"), example_com());
    assert_eq!(s(&imported, "name"), "legacy.example.com", "nothing configured yet: the API's spelling");
    assert_eq!(s(&imported, "hostname"), "legacy.example.com");
    assert_eq!(s(&imported, "content"), "192.0.2.77");
    assert_eq!(imported.get("ttl"), Some(&Value::number(300.0)));
    assert_eq!(s(&imported, "comment"), "by hand");

    // Refreshed against the configuration that claims it, the relative name is kept: no diff.
    let claimed = with(&imported, "name", Value::string("legacy"));
    let read = p
        .read(ReadRequest { type_name: "cloudflare_dns_record".into(), state: claimed.clone() })
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read, claimed);

    let missing = p
        .import("cloudflare_dns_record", &format!("{}/{}", example_com(), "0".repeat(32)))
        .await
        .expect("an unknown id is not an error");
    assert_eq!(missing, None);
    let err = p.import("cloudflare_dns_record", "no-slash").await.expect_err("bad id");
    assert!(err.message.contains("<zone_id>/<id>"), "{}", err.message);
    let err = p.import("cloudflare_dns_record", &format!("{}/../zones", example_com())).await.expect_err("bad id");
    assert!(err.message.contains("not a Cloudflare identifier"), "{}", err.message);
}
