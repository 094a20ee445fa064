//! Conformance: lineage and serial, resource rows, outputs, isolation and corruption.

use super::{Fixture, sample};
use crate::{OutputRecord, StateError};

pub async fn snapshot_starts_empty(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let s = b.snapshot().await.expect("first snapshot");
    assert_eq!(s.serial, 0);
    assert!(!s.lineage.is_empty());
    assert!(s.resources.is_empty() && s.outputs.is_empty());
    let again = b.snapshot().await.expect("second snapshot");
    assert_eq!(again.lineage, s.lineage, "the lineage is created once");
    let other = f.open().await.expect("open a second handle");
    assert_eq!(other.snapshot().await.expect("snapshot").lineage, s.lineage, "the lineage is stored, not per handle");
}

pub async fn rows_round_trip(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let mut r = sample("module.m.null_resource.a[0]", 1);
    r.correlation = None;
    r.mode = "data".into();
    b.put_resource(r.clone()).await.expect("put");
    b.put_resource(sample("null_resource.b[\"k\"]", 2)).await.expect("put");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!(s.resources.len(), 2);
    let got = s.resources.iter().find(|x| x.address == r.address).expect("row a");
    assert_eq!(got, &r, "every field round-trips");
    assert_eq!(
        s.resources.iter().find(|x| x.address == "null_resource.b[\"k\"]"),
        Some(&sample("null_resource.b[\"k\"]", 2))
    );
}

pub async fn rows_are_replaced_and_deleted(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    b.put_resource(sample("null_resource.a", 1)).await.expect("put a");
    b.put_resource(sample("null_resource.b", 2)).await.expect("put b");
    b.put_resource(sample("null_resource.a", 3)).await.expect("replace a");
    b.delete_resource("null_resource.b").await.expect("delete b");
    b.delete_resource("null_resource.never").await.expect("deleting an absent row is not an error");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!(s.resources, vec![sample("null_resource.a", 3)]);
}

pub async fn batch_put(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let rows: Vec<_> = (0..250).map(|i| sample(&format!("null_resource.r[{i}]"), i)).collect();
    b.put_resources(rows.clone()).await.expect("put_resources");
    b.put_resources(Vec::new()).await.expect("an empty batch is fine");
    let mut got = b.snapshot().await.expect("snapshot").resources;
    got.sort_by_key(|r| r.attributes["n"].as_i64());
    assert_eq!(got, rows);
}

pub async fn outputs_are_replaced_whole(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let out = |name: &str, v: serde_json::Value, sensitive| OutputRecord { name: name.into(), value: v, sensitive };
    b.set_outputs(vec![out("a", serde_json::json!(1), false), out("b", serde_json::json!({"x": [1]}), true)])
        .await
        .expect("set");
    b.set_outputs(vec![out("c", serde_json::json!("three"), false)]).await.expect("set again");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!(s.outputs, vec![out("c", serde_json::json!("three"), false)]);
    b.set_outputs(vec![]).await.expect("clear");
    assert!(b.snapshot().await.expect("snapshot").outputs.is_empty());
}

pub async fn writes_are_visible_to_another_handle(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    a.put_resource(sample("null_resource.x", 1)).await.expect("put");
    assert_eq!(b.snapshot().await.expect("snapshot").resources.len(), 1, "a returned write is committed");
    b.delete_resource("null_resource.x").await.expect("delete");
    assert!(a.snapshot().await.expect("snapshot").resources.is_empty());
}

pub async fn workspaces_are_isolated(f: &dyn Fixture) {
    let main = f.open().await.expect("open default");
    let staging = f.open_workspace("staging").await.expect("open staging");
    main.put_resource(sample("null_resource.x", 1)).await.expect("put");
    let lock = main.lock(super::me("apply"), super::opts(0, 60_000)).await.expect("lock default");
    let (m, s) = (main.snapshot().await.expect("snapshot"), staging.snapshot().await.expect("snapshot"));
    assert_ne!(m.lineage, s.lineage);
    assert!(s.resources.is_empty());
    let other = staging.lock(super::me("apply"), super::opts(0, 60_000)).await.expect("staging has its own lock");
    staging.unlock(&other.id).await.expect("unlock staging");
    main.unlock(&lock.id).await.expect("unlock default");
}

pub async fn corrupt_row_names_its_address(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    b.put_resource(sample("null_resource.bad", 1)).await.expect("put");
    f.corrupt_resource("null_resource.bad").await.expect("corrupt the row");
    match b.snapshot().await {
        Err(StateError::Corrupt { what, detail }) => {
            assert!(what.contains("null_resource.bad"), "names the address: {what}");
            assert!(detail.contains("attributes"), "names the field: {detail}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
