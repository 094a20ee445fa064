//! Conformance: atomic batches (what `tarn state mv/rm/push/rekey` write) and workspaces.

use super::{Fixture, sample};
use crate::{OutputRecord, StateBatch};

pub async fn batch_deletes_then_puts_outputs_lineage_serial(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    b.put_resources(vec![sample("null_resource.a", 1), sample("null_resource.b", 2)]).await.expect("put");
    let before = b.snapshot().await.expect("snapshot");
    let moved = crate::ResourceRecord { address: "null_resource.c".into(), ..sample("null_resource.a", 1) };
    let out = OutputRecord { name: "o".into(), value: serde_json::json!([1, "x"]), sensitive: false };
    b.apply_batch(StateBatch {
        delete: vec!["null_resource.a".into(), "null_resource.b".into(), "null_resource.absent".into()],
        put: vec![moved.clone(), sample("null_resource.b", 3)],
        outputs: Some(vec![out.clone()]),
        lineage: None,
        serial_at_least: Some(5),
    })
    .await
    .expect("apply_batch");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!(s.resources, vec![sample("null_resource.b", 3), moved], "deletes come before puts");
    assert_eq!(s.outputs, vec![out]);
    assert_eq!((s.lineage.as_str(), s.serial), (before.lineage.as_str(), 5));

    b.apply_batch(StateBatch {
        serial_at_least: Some(2),
        lineage: Some("other-lineage".into()),
        ..StateBatch::default()
    })
    .await
    .expect("lower serial, new lineage");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!((s.lineage.as_str(), s.serial), ("other-lineage", 5), "the serial is never lowered");
    assert_eq!(s.outputs.len(), 1, "outputs untouched when the batch has none");
    b.apply_batch(StateBatch::default()).await.expect("an empty batch is fine");
    assert_eq!(f.open().await.expect("reopen").snapshot().await.expect("snapshot"), s, "committed for every handle");
}

pub async fn batch_on_a_new_workspace_creates_its_lineage(f: &dyn Fixture) {
    let b = f.open_workspace("fresh").await.expect("open");
    b.apply_batch(StateBatch { put: vec![sample("null_resource.a", 1)], ..StateBatch::default() })
        .await
        .expect("batch");
    let s = b.snapshot().await.expect("snapshot");
    assert!(!s.lineage.is_empty());
    assert_eq!(s.resources.len(), 1);
}

pub async fn workspaces_are_listed_and_deleted_alone(f: &dyn Fixture) {
    let main = f.open().await.expect("open default");
    let staging = f.open_workspace("staging").await.expect("open staging");
    main.put_resource(sample("null_resource.x", 1)).await.expect("put default");
    staging.put_resource(sample("null_resource.y", 2)).await.expect("put staging");
    let run = staging
        .begin_run(crate::RunStart {
            command: "apply".into(),
            holder: super::me("apply"),
            summary: serde_json::json!({}),
        })
        .await
        .expect("begin");
    staging
        .journal(crate::JournalEntry {
            run_id: run.clone(),
            address: "null_resource.y".into(),
            op: "create".into(),
            phase: crate::JournalPhase::Intent,
            correlation: None,
            detail: serde_json::json!({}),
            intent_seq: None,
        })
        .await
        .expect("journal");
    let lock = staging.lock(super::me("apply"), super::opts(0, 60_000)).await.expect("lock staging");
    assert_eq!(main.workspaces().await.expect("list"), vec!["default".to_string(), "staging".to_string()]);

    staging.delete_workspace().await.expect("delete staging");
    assert_eq!(main.workspaces().await.expect("list"), vec!["default".to_string()]);
    assert!(staging.current_lock().await.expect("lock").is_none(), "its lock went with it: {}", lock.id);
    assert!(staging.history().await.expect("history").is_empty());
    assert!(staging.open_intents().await.expect("intents").is_empty());
    assert_eq!(main.snapshot().await.expect("snapshot").resources.len(), 1, "default untouched");
    let again = staging.snapshot().await.expect("a deleted workspace starts afresh when used");
    assert!(again.resources.is_empty() && again.serial == 0);
}
