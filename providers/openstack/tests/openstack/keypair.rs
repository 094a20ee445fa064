//! openstack_compute_keypair and the flavors data source through the Provider trait.

use tarn_provider_openstack::{FLAVORS, INSTANCE, KEYPAIR};
use tarn_sdk::{AdoptRequest, CreateRequest, DeleteRequest, ErrorClass, Provider, ReadDataRequest, ReadRequest, Value};

use crate::common::{Env, create, public_key, s, server, with};

pub fn keypair(name: &str, key: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("public_key", Value::string(key)),
        ("fingerprint", Value::Unknown),
        ("user_id", Value::Unknown),
    ])
}

#[tokio::test]
async fn a_key_pair_is_imported_read_used_by_a_server_imported_adopted_and_deleted() {
    let env = Env::start().await;
    let p = env.provider();
    let key = public_key(7);
    let created = create(&p, KEYPAIR, keypair("dev key", &format!("{key}\n")), "tarn-k1").await;
    assert_eq!(s(&created, "name"), "dev key", "spaces are allowed in names");
    assert_eq!(s(&created, "public_key"), format!("{key}\n"), "the configuration's spelling is kept");
    let fingerprint = s(&created, "fingerprint");
    assert_eq!(fingerprint.split(':').count(), 16, "an MD5 fingerprint: {fingerprint}");

    let read = p.read(ReadRequest { type_name: KEYPAIR.into(), state: created.clone() }).await.expect("read");
    assert_eq!(read.as_ref().map(|r| s(r, "fingerprint")), Some(fingerprint.clone()));

    // A server with it.
    let vm = create(&p, INSTANCE, with(&server("dev-keyed"), "key_pair", Value::string("dev key")), "tarn-k1s").await;
    assert_eq!(s(&vm, "key_pair"), "dev key");

    let imported = p.import(KEYPAIR, "dev key").await.expect("import").expect("found");
    assert_eq!(s(&imported, "public_key"), key, "as Nova holds it");
    assert!(p.import(KEYPAIR, "nobody").await.expect("import").is_none());
    let err = p.import(KEYPAIR, "bad/name").await.expect_err("a name Nova refuses");
    assert!(err.message.contains("letters, digits"), "{}", err.message);

    let adopt =
        |k: &str| AdoptRequest { type_name: KEYPAIR.into(), correlation: "c".into(), planned: keypair("dev key", k) };
    assert!(p.adopt(adopt(&key)).await.expect("adopt").is_some(), "same name, same key");
    assert!(p.adopt(adopt(&public_key(8))).await.expect("adopt").is_none(), "another key is someone else's");

    let err = p
        .create(CreateRequest {
            type_name: KEYPAIR.into(),
            planned: keypair("dev key", &public_key(9)),
            correlation: "x".into(),
        })
        .await
        .expect_err("the name is taken");
    assert_eq!(err.class, ErrorClass::Conflict);
    assert!(
        err.message.contains("conflictingRequest: Key pair 'dev key' already exists.")
            && err.message.contains("tarn import"),
        "{}",
        err.message
    );

    let err = p
        .create(CreateRequest {
            type_name: KEYPAIR.into(),
            planned: keypair("junk", "ssh-rsa not-base64!"),
            correlation: "x".into(),
        })
        .await
        .expect_err("not a key");
    assert!(err.message.contains("Keypair data is invalid"), "{}", err.message);

    p.delete(DeleteRequest { type_name: KEYPAIR.into(), state: created.clone() }).await.expect("delete");
    assert!(p.read(ReadRequest { type_name: KEYPAIR.into(), state: created.clone() }).await.expect("read").is_none());
    p.delete(DeleteRequest { type_name: KEYPAIR.into(), state: created }).await.expect("already gone is success");
}

#[tokio::test]
async fn the_flavors_data_source_filters_sorts_and_names_what_exists() {
    let env = Env::start().await;
    let p = env.provider();
    let read = |config: Value| {
        let p = &p;
        async move { p.read_data(ReadDataRequest { type_name: FLAVORS.into(), config }).await }
    };
    let config = |name: Value, vcpus: Value, ram: Value| {
        Value::map([
            ("name", name),
            ("min_vcpus", vcpus),
            ("min_ram", ram),
            ("min_disk", Value::Null),
            ("flavors", Value::Unknown),
            ("ids", Value::Unknown),
        ])
    };
    let all = read(config(Value::Null, Value::Null, Value::Null)).await.expect("all");
    let list = all.get("flavors").and_then(Value::as_list).expect("flavors").to_vec();
    assert_eq!(list.len(), tarn_provider_openstack::emulator::FLAVORS.len(), "every page");
    assert_eq!(s(&list[0], "name"), "d2-2", "smallest RAM first");

    let big = read(config(Value::Null, Value::number(4.0), Value::number(8000.0))).await.expect("filtered");
    let names: Vec<String> =
        big.get("flavors").and_then(Value::as_list).expect("flavors").iter().map(|f| s(f, "name")).collect();
    assert_eq!(names, ["c3-8", "d2-8", "b3-16"]);

    let one = read(config(Value::string("b3-8"), Value::Null, Value::Null)).await.expect("by name");
    assert_eq!(one.get("ids"), Some(&Value::List(vec![Value::string("5f3e1c2a-7b8d-4c9e-a1f2-b3a000000007")])));
    let err = read(config(Value::string("x9-99"), Value::Null, Value::Null)).await.expect_err("no such flavor");
    assert!(err.message.contains("\"x9-99\"") && err.message.contains("b3-16"), "{}", err.message);
}
