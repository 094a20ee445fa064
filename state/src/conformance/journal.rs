//! Conformance: journal intents, outcomes and open intents.

use super::Fixture;
use crate::{JournalEntry, JournalPhase};

fn intent(run: &str, address: &str) -> JournalEntry {
    JournalEntry {
        run_id: run.into(),
        address: address.into(),
        op: "create".into(),
        phase: JournalPhase::Intent,
        correlation: Some(format!("tarn-{address}")),
        detail: serde_json::json!({ "type": "null_resource", "planned": { "x": 1 } }),
        intent_seq: None,
    }
}

fn outcome(of: &JournalEntry, seq: i64) -> JournalEntry {
    JournalEntry {
        phase: JournalPhase::Outcome,
        intent_seq: Some(seq),
        detail: serde_json::json!({ "ok": true }),
        ..of.clone()
    }
}

pub async fn outcome_closes_its_intent(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let (i1, i2) = (intent("r1", "null_resource.a"), intent("r1", "null_resource.b"));
    let s1 = b.journal(i1.clone()).await.expect("intent 1");
    let s2 = b.journal(i2.clone()).await.expect("intent 2");
    let s3 = b.journal(outcome(&i1, s1)).await.expect("outcome 1");
    assert!(s1 < s2 && s2 < s3, "seq increases");
    let open = b.open_intents().await.expect("open intents");
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].seq, &open[0].entry, open[0].closed), (s2, &i2, false));
    let log = b.run_journal("r1").await.expect("run journal");
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![s1, s2, s3]);
    assert_eq!(log[0].entry, i1);
    assert!(log[0].closed, "the answered intent is closed");
    assert_eq!(log[2].entry, outcome(&i1, s1));
    assert!(crate::clock::parse(&log[0].at).is_some(), "`at` is RFC 3339: {}", log[0].at);
}

pub async fn close_intent_is_idempotent(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let seq = b.journal(intent("r1", "null_resource.a")).await.expect("intent");
    b.close_intent(seq, "adopted by run r2").await.expect("close");
    assert!(b.open_intents().await.expect("open intents").is_empty());
    b.close_intent(seq, "again").await.expect("closing twice is fine");
    b.close_intent(seq + 1000, "unknown").await.expect("closing an unknown seq is a no-op");
    let log = b.run_journal("r1").await.expect("run journal");
    assert!(log[0].closed);
}

pub async fn open_intents_span_runs(f: &dyn Fixture) {
    let a = f.open().await.expect("open");
    let other_ws = f.open_workspace("other").await.expect("open other workspace");
    let s1 = a.journal(intent("r1", "null_resource.a")).await.expect("intent r1");
    let s2 = a.journal(intent("r2", "null_resource.b")).await.expect("intent r2");
    other_ws.journal(intent("r3", "null_resource.c")).await.expect("intent in another workspace");
    let open = f.open().await.expect("reopen").open_intents().await.expect("open intents");
    assert_eq!(open.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![s1, s2], "oldest first, this workspace only");
    assert_eq!(a.run_journal("r2").await.expect("run journal").len(), 1);
    assert!(a.run_journal("nope").await.expect("run journal").is_empty());
}

pub async fn put_resource_closing_writes_the_row_and_closes_the_intent(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let i = intent("r1", "null_resource.a");
    let seq = b.journal(i.clone()).await.expect("intent");
    let row = super::sample("null_resource.a", 7);
    b.put_resource_closing(row.clone(), outcome(&i, seq)).await.expect("row and outcome");
    assert!(b.open_intents().await.expect("open intents").is_empty(), "the intent is closed");
    let log = b.run_journal("r1").await.expect("run journal");
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].entry, outcome(&i, seq));
    let snap = f.open().await.expect("reopen").snapshot().await.expect("snapshot");
    assert_eq!(snap.resources, vec![row], "the row is written");
}
