//! Conformance: serial bumps and run history.

use super::{Fixture, dead_pid, me};
use crate::{RunOutcome, RunStart};

fn start(command: &str) -> RunStart {
    RunStart { command: command.into(), holder: me(command), summary: serde_json::json!({ "add": 1 }) }
}

pub async fn begin_run_bumps_serial_once(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let lineage = b.snapshot().await.expect("snapshot").lineage;
    let run = b.begin_run(start("apply")).await.expect("begin");
    assert_eq!(b.snapshot().await.expect("snapshot").serial, 1);
    b.put_resource(super::sample("null_resource.a", 1)).await.expect("put");
    b.delete_resource("null_resource.a").await.expect("delete");
    assert_eq!(b.snapshot().await.expect("snapshot").serial, 1, "row writes do not bump the serial");
    b.finish_run(&run, RunOutcome::Success, serde_json::json!({})).await.expect("finish");
    b.begin_run(start("destroy")).await.expect("begin again");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!((s.serial, s.lineage), (2, lineage));
}

pub async fn history_is_newest_first(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let first = b.begin_run(start("apply")).await.expect("begin 1");
    b.finish_run(&first, RunOutcome::RolledBack, serde_json::json!({ "failed": "null_resource.a" }))
        .await
        .expect("finish 1");
    let second = b.begin_run(start("destroy")).await.expect("begin 2");
    let h = b.history().await.expect("history");
    assert_eq!(h.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![second.as_str(), first.as_str()]);
    assert_eq!((h[0].outcome, h[0].serial, h[0].command.as_str()), (RunOutcome::Running, 2, "destroy"));
    assert!(h[0].finished_at.is_none());
    assert_eq!(h[0].summary, serde_json::json!({ "add": 1 }));
    assert_eq!(h[0].holder, me("destroy"));
    assert_eq!((h[1].outcome, h[1].serial), (RunOutcome::RolledBack, 1));
    assert!(h[1].finished_at.is_some());
    assert_eq!(h[1].summary, serde_json::json!({ "failed": "null_resource.a" }), "finish replaces the summary");
}

pub async fn finish_unknown_run_fails(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    assert!(b.finish_run("no-such-run", RunOutcome::Success, serde_json::json!({})).await.is_err());
}

pub async fn run_of_dead_holder_is_interrupted(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    let mut run = start("apply");
    run.holder.pid = dead_pid();
    let id = b.begin_run(run).await.expect("begin");
    let alive = b.begin_run(start("apply")).await.expect("begin a live run");
    let h = b.history().await.expect("history");
    let outcome = |id: &str| h.iter().find(|r| r.id == id).map(|r| r.outcome);
    assert_eq!(outcome(&id), Some(RunOutcome::Interrupted));
    assert_eq!(outcome(&alive), Some(RunOutcome::Running));
}

/// Bounded retention: the oldest finished runs go with their journal; the newest `keep`, a
/// run still running and a run with an open journal intent stay.
pub async fn prune_keeps_the_newest_runs(f: &dyn Fixture) {
    use crate::{JournalEntry, JournalPhase};
    let b = f.open().await.expect("open");
    let entry = |run: &str, phase, intent_seq| JournalEntry {
        run_id: run.into(),
        address: "null_resource.a".into(),
        op: "create".into(),
        phase,
        correlation: None,
        detail: serde_json::json!({}),
        intent_seq,
    };
    let mut ids = Vec::new();
    for n in 0..6 {
        let id = b.begin_run(start(&format!("apply {n}"))).await.expect("begin");
        if n != 1 {
            b.finish_run(&id, RunOutcome::Failed, serde_json::json!({})).await.expect("finish");
        }
        ids.push(id);
    }
    // Run 0: an answered intent (its journal goes with it). Run 2: an open intent (it stays).
    let s = b.journal(entry(&ids[0], JournalPhase::Intent, None)).await.expect("intent 0");
    b.journal(entry(&ids[0], JournalPhase::Outcome, Some(s))).await.expect("outcome 0");
    b.journal(entry(&ids[2], JournalPhase::Intent, None)).await.expect("intent 2");
    // Run 1 is still running (its holder is this live process).

    assert_eq!(b.prune_history(2).await.expect("prune"), 2, "runs 0 and 3 go");
    let left: Vec<String> = b.history().await.expect("history").into_iter().map(|r| r.id).collect();
    assert_eq!(left, vec![ids[5].clone(), ids[4].clone(), ids[2].clone(), ids[1].clone()]);
    assert!(b.run_journal(&ids[0]).await.expect("journal 0").is_empty(), "the pruned run's journal went too");
    assert_eq!(b.open_intents().await.expect("open intents").len(), 1, "the open intent stays");
    assert_eq!(b.prune_history(2).await.expect("prune again"), 0, "nothing more to prune");
    assert_eq!(b.prune_history(100).await.expect("prune with room"), 0);
}
