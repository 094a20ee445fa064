//! Unit tests of the null provider: schema shape, the create/read/delete round trip, and bad input.

use super::*;
use tarn_sdk::{ErrorClass, Type};

fn triggers(pairs: &[(&str, &str)]) -> Value {
    Value::map([("triggers", Value::map(pairs.iter().map(|(k, v)| (*k, Value::string(*v))))), ("id", Value::Unknown)])
}

fn create_req(planned: Value) -> CreateRequest {
    CreateRequest { type_name: RESOURCE.into(), planned, correlation: "c-1".into() }
}

#[test]
fn schema_matches_hashicorp_null() {
    let schema = NullProvider::new().schema();
    assert!(schema.config.is_empty());
    assert!(schema.data_sources.is_empty(), "null_data_source is deprecated upstream and skipped");
    let r = &schema.resources["null_resource"];
    let names: Vec<_> = r.attributes.keys().map(String::as_str).collect();
    assert_eq!(names, ["triggers", "id"]);
    let t = &r.attributes["triggers"];
    assert_eq!(t.ty, Type::Map { element: Box::new(Type::String) });
    assert!(t.optional && !t.required && !t.computed && t.force_new);
    let id = &r.attributes["id"];
    assert!(id.computed && !id.optional && !id.required);
}

#[tokio::test]
async fn create_assigns_a_decimal_id_and_keeps_triggers() {
    let p = NullProvider::new();
    let planned = triggers(&[("a", "1")]);
    let created = p.create(create_req(planned.clone())).await.unwrap();
    let id = created.get("id").and_then(Value::as_str).unwrap().to_string();
    assert!(!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()), "id {id:?} is not decimal");
    assert!(id.parse::<i64>().is_ok(), "id {id:?} must fit a signed 64-bit integer like Go's rand.Int");
    assert_eq!(created.get("triggers"), planned.get("triggers"));

    let other = p.create(create_req(planned)).await.unwrap();
    assert_ne!(other.get("id"), created.get("id"), "ids must be random");
}

#[tokio::test]
async fn read_returns_state_unchanged_and_delete_always_succeeds() {
    let p = NullProvider::new();
    let created = p.create(create_req(triggers(&[]))).await.unwrap();
    let read = p.read(ReadRequest { type_name: RESOURCE.into(), state: created.clone() }).await.unwrap();
    assert_eq!(read, Some(created.clone()));
    p.delete(DeleteRequest { type_name: RESOURCE.into(), state: created.clone() }).await.unwrap();
    // Deleting again (the object is "gone") still succeeds.
    p.delete(DeleteRequest { type_name: RESOURCE.into(), state: created }).await.unwrap();
}

#[tokio::test]
async fn update_keeps_the_id() {
    let p = NullProvider::new();
    let prior = p.create(create_req(triggers(&[("a", "1")]))).await.unwrap();
    let updated = p
        .update(UpdateRequest { type_name: RESOURCE.into(), prior: prior.clone(), planned: triggers(&[("a", "1")]) })
        .await
        .unwrap();
    assert_eq!(updated.get("id"), prior.get("id"));
}

#[tokio::test]
async fn null_triggers_and_import_work() {
    let p = NullProvider::new();
    let created = p.create(create_req(Value::map([("triggers", Value::Null), ("id", Value::Unknown)]))).await.unwrap();
    assert!(created.get("triggers").unwrap().is_null());
    let imported = p.import(RESOURCE, "12345").await.unwrap().unwrap();
    assert_eq!(imported.get("id").and_then(Value::as_str), Some("12345"));
}

#[tokio::test]
async fn adopt_finds_nothing_because_nothing_exists_outside_state() {
    let p = NullProvider::new();
    let req = AdoptRequest { type_name: RESOURCE.into(), correlation: "c-1".into(), planned: triggers(&[]) };
    assert_eq!(p.adopt(req).await.unwrap(), None);
}

#[tokio::test]
async fn bad_input_is_a_permanent_error_not_a_panic() {
    let p = NullProvider::new();
    let bad = Value::map([("triggers", Value::map([("n", Value::number(1.0))]))]);
    let err = p.create(create_req(bad)).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("\"n\"") && err.message.ends_with('.'), "{}", err.message);

    let err = p.create(create_req(Value::map([("triggers", Value::string("x"))]))).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);

    let err = p.create(create_req(Value::number(3.0))).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Permanent);

    let err = p.read(ReadRequest { type_name: "null_thing".into(), state: Value::Null }).await.unwrap_err();
    assert!(err.message.contains("null_thing"));
}
