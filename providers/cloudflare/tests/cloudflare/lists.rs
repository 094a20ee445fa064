//! The list data sources: zones (with Cloudflare's name operators), a zone's DNS records (by
//! name and type) and its lockdown rules with the count of active ones, over several pages.

use crate::common::{Env, example_com};
use crate::provider::{lockdown, record, with};
use serde_json::json;
use tarn_sdk::{CreateRequest, Provider, ReadDataRequest, Value};

async fn read(p: &impl Provider, type_name: &str, config: Value) -> Value {
    p.read_data(ReadDataRequest { type_name: type_name.into(), config }).await.expect("read the data source")
}

fn names(list: Option<&Value>, key: &str) -> Vec<String> {
    match list {
        Some(Value::List(items)) => {
            items.iter().filter_map(|i| i.get(key).and_then(Value::as_str)).map(str::to_string).collect()
        }
        other => panic!("not a list: {other:?}"),
    }
}

#[tokio::test]
async fn zones_are_listed_and_filtered_with_the_apis_operators() {
    let env = Env::start().await;
    let p = env.provider();
    let all = read(&p, "cloudflare_zones", Value::map([("name", Value::Null), ("status", Value::Null)])).await;
    assert_eq!(names(all.get("zones"), "name"), ["example.com", "example.net", "example.org"]);
    let zones = match all.get("zones") {
        Some(Value::List(z)) => z.clone(),
        _ => Vec::new(),
    };
    assert_eq!(zones[0].get("id").and_then(Value::as_str), Some(example_com().as_str()));
    assert_eq!(zones[0].get("status").and_then(Value::as_str), Some("active"));
    let org = read(&p, "cloudflare_zones", Value::map([("name", Value::string("ends_with:.org"))])).await;
    assert_eq!(names(org.get("zones"), "name"), ["example.org"]);
    let none = read(&p, "cloudflare_zones", Value::map([("name", Value::string("starts_with:dev"))])).await;
    assert_eq!(names(none.get("zones"), "name"), Vec::<String>::new());
}

#[tokio::test]
async fn a_zones_records_are_listed_over_pages_and_filtered() {
    let env = Env::start().await;
    // Pages of 2, so 5 records take 3 pages.
    let p = tarn_provider_cloudflare::CloudflareProvider::with_api(env.api().page_size(2));
    for (i, name) in ["dev-a", "dev-b", "dev-c", "www", "shop"].iter().enumerate() {
        let planned = record(&example_com(), name, &format!("192.0.2.{}", i + 1));
        p.create(CreateRequest { type_name: "cloudflare_dns_record".into(), planned, correlation: format!("c{i}") })
            .await
            .expect("create");
    }
    env.client()
        .post(
            &format!("zones/{}/dns_records", example_com()),
            &json!({"type": "TXT", "name": "www", "content": "hello"}),
        )
        .await
        .expect("a TXT record");
    let zone = Value::string(example_com());
    let all = read(&p, "cloudflare_dns_records", Value::map([("zone_id", zone.clone())])).await;
    assert_eq!(names(all.get("records"), "id").len(), 6);
    let www = read(
        &p,
        "cloudflare_dns_records",
        Value::map([("zone_id", zone.clone()), ("name", Value::string("www.example.com"))]),
    )
    .await;
    assert_eq!(names(www.get("records"), "type").len(), 2);
    let a = read(
        &p,
        "cloudflare_dns_records",
        Value::map([
            ("zone_id", zone.clone()),
            ("name", Value::string("www.example.com")),
            ("type", Value::string("A")),
        ]),
    )
    .await;
    assert_eq!(names(a.get("records"), "content"), ["192.0.2.4"]);
    let first = match a.get("records") {
        Some(Value::List(r)) => r[0].clone(),
        _ => Value::Null,
    };
    assert_eq!(first.get("proxied"), Some(&Value::Bool(false)));
    assert_eq!(first.get("ttl"), Some(&Value::number(1.0)));
    let err = p
        .read_data(ReadDataRequest {
            type_name: "cloudflare_dns_records".into(),
            config: Value::map([("zone_id", Value::string("e".repeat(32)))]),
        })
        .await
        .expect_err("unknown zone");
    assert!(err.message.contains("HTTP 404"), "{}", err.message);
}

#[tokio::test]
async fn lockdown_rules_are_listed_with_how_many_are_active() {
    let env = Env::start().await;
    let p = env.provider();
    let zone = example_com();
    for (i, paused) in [false, true].into_iter().enumerate() {
        let planned =
            with(&lockdown(&zone), "urls", Value::List(vec![Value::string(format!("dev-{i}.example.com/*"))]));
        let planned = with(&planned, "paused", Value::Bool(paused));
        p.create(CreateRequest { type_name: "cloudflare_zone_lockdown".into(), planned, correlation: "c".into() })
            .await
            .expect("create");
    }
    let listed = read(&p, "cloudflare_zone_lockdowns", Value::map([("zone_id", Value::string(&zone))])).await;
    assert_eq!(names(listed.get("rules"), "id").len(), 2);
    assert_eq!(listed.get("active_rules"), Some(&Value::number(1.0)));
    let rules = match listed.get("rules") {
        Some(Value::List(r)) => r.clone(),
        _ => Vec::new(),
    };
    let urls: Vec<Value> = rules.iter().filter_map(|r| r.get("urls").cloned()).collect();
    assert!(urls.contains(&Value::List(vec![Value::string("dev-0.example.com/*")])), "{urls:?}");
    let empty = read(
        &p,
        "cloudflare_zone_lockdowns",
        Value::map([("zone_id", Value::string(crate::common::zone("example.org")))]),
    )
    .await;
    assert_eq!(empty.get("active_rules"), Some(&Value::number(0.0)));
}
