//! Conformance: deposed objects. A row is keyed by (address, deposed key): a deposed object
//! lives beside the current object of its address, `delete_resource` removes only the current
//! one, `delete_deposed` only the named deposed one, and the snapshot returns them all.

use super::{Fixture, sample};

fn deposed(address: &str, n: i64, key: &str) -> crate::ResourceRecord {
    let mut r = sample(address, n);
    r.deposed = Some(key.to_string());
    r
}

fn sorted(mut rows: Vec<crate::ResourceRecord>) -> Vec<crate::ResourceRecord> {
    rows.sort_by(|a, b| (&a.address, &a.deposed).cmp(&(&b.address, &b.deposed)));
    rows
}

pub async fn deposed_objects_live_beside_the_current_one(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    b.put_resource(sample("null_resource.a", 1)).await.expect("put current");
    b.put_resource(deposed("null_resource.a", 2, "1a2b3c4d")).await.expect("put deposed");
    b.put_resource(deposed("null_resource.a", 3, "99aa88bb")).await.expect("put a second deposed object");
    b.put_resources(vec![sample("null_resource.b", 4), deposed("null_resource.b", 5, "0f0f0f0f")])
        .await
        .expect("batch");
    let got = sorted(b.snapshot().await.expect("snapshot").resources);
    let want = sorted(vec![
        sample("null_resource.a", 1),
        deposed("null_resource.a", 2, "1a2b3c4d"),
        deposed("null_resource.a", 3, "99aa88bb"),
        sample("null_resource.b", 4),
        deposed("null_resource.b", 5, "0f0f0f0f"),
    ]);
    assert_eq!(got, want, "deposed rows round-trip beside the current ones, every field included");

    // Writing a deposed key again replaces that row only.
    b.put_resource(deposed("null_resource.a", 6, "1a2b3c4d")).await.expect("replace deposed");
    let s = b.snapshot().await.expect("snapshot");
    let a: Vec<_> = s.resources.iter().filter(|r| r.address == "null_resource.a").collect();
    assert_eq!(a.len(), 3);
    assert!(a.contains(&&deposed("null_resource.a", 6, "1a2b3c4d")));
    assert!(a.contains(&&sample("null_resource.a", 1)), "the current object is untouched");
}

pub async fn delete_resource_keeps_deposed_objects(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    b.put_resource(sample("null_resource.a", 1)).await.expect("put current");
    b.put_resource(deposed("null_resource.a", 2, "1a2b3c4d")).await.expect("put deposed");
    b.delete_resource("null_resource.a").await.expect("delete current");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!(s.resources, vec![deposed("null_resource.a", 2, "1a2b3c4d")], "only the current object was removed");

    // And the other way round: the current object survives removing a deposed one.
    b.put_resource(sample("null_resource.a", 3)).await.expect("put current again");
    b.delete_deposed("null_resource.a", "1a2b3c4d").await.expect("delete deposed");
    b.delete_deposed("null_resource.a", "1a2b3c4d").await.expect("deleting an absent deposed row is not an error");
    b.delete_deposed("null_resource.never", "00000000").await.expect("nor for an unknown address");
    let other = f.open().await.expect("another handle");
    assert_eq!(other.snapshot().await.expect("snapshot").resources, vec![sample("null_resource.a", 3)]);
}

pub async fn a_deposed_object_can_be_made_current_again(f: &dyn Fixture) {
    // What a rollback of a create_before_destroy replacement does: the replacement's row is
    // overwritten by the old object, then the old object's deposed row is removed.
    let b = f.open().await.expect("open");
    b.put_resource(deposed("null_resource.a", 1, "cafe0001")).await.expect("depose the old object");
    b.put_resource(sample("null_resource.a", 2)).await.expect("the replacement is current");
    b.put_resource(sample("null_resource.a", 1)).await.expect("the old object is current again");
    b.delete_deposed("null_resource.a", "cafe0001").await.expect("drop its deposed row");
    assert_eq!(b.snapshot().await.expect("snapshot").resources, vec![sample("null_resource.a", 1)]);
}

pub async fn batch_deletes_keep_deposed_objects(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    b.put_resources(vec![
        sample("null_resource.a", 1),
        deposed("null_resource.a", 2, "1a2b3c4d"),
        sample("null_resource.b", 3),
    ])
    .await
    .expect("put");
    // Delete a's current object and write b again, as current and with a deposed object.
    b.apply_batch(crate::StateBatch {
        delete: vec!["null_resource.a".into(), "null_resource.b".into()],
        put: vec![sample("null_resource.b", 4), deposed("null_resource.b", 5, "0f0f0f0f")],
        ..crate::StateBatch::default()
    })
    .await
    .expect("apply_batch");
    let got = sorted(b.snapshot().await.expect("snapshot").resources);
    let want = sorted(vec![
        deposed("null_resource.a", 2, "1a2b3c4d"),
        sample("null_resource.b", 4),
        deposed("null_resource.b", 5, "0f0f0f0f"),
    ]);
    assert_eq!(got, want, "a batch's deletes remove current objects only; its puts may write deposed ones");

    let err = b
        .apply_batch(crate::StateBatch {
            delete: vec!["null_resource.b".into()],
            put: vec![deposed("null_resource.c", 6, "")],
            ..crate::StateBatch::default()
        })
        .await;
    assert!(err.is_err(), "an empty deposed key is refused");
    assert_eq!(sorted(b.snapshot().await.expect("snapshot").resources), want, "a refused batch writes nothing");
}
