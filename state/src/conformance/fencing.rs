//! Conformance: fencing by the lock's generation. A handle that took the lock and lost it (its
//! lease expired and another holder took it) can neither write nor confirm a call any more,
//! and its refused writes change nothing; a lease that expired but that nobody took is renewed
//! by `confirm_lease`.

use std::time::Duration;

use super::{Fixture, me, opts, sample};
use crate::{JournalEntry, JournalPhase, StateBatch, StateError};

fn intent(address: &str) -> JournalEntry {
    JournalEntry {
        run_id: "old-run".into(),
        address: address.into(),
        op: "create".into(),
        phase: JournalPhase::Intent,
        correlation: None,
        detail: serde_json::json!({}),
        intent_seq: None,
    }
}

#[track_caller]
fn refused<T: std::fmt::Debug>(what: &str, result: Result<T, StateError>) {
    assert!(matches!(result, Err(StateError::LeaseLost(_))), "{what}: expected LeaseLost, got {result:?}");
}

pub async fn generations_increase_with_every_take(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let first = a.lock(me("tarn apply"), opts(0, 60_000)).await.expect("lock");
    assert_eq!(b.current_lock().await.expect("current").map(|l| l.generation), Some(first.generation));
    a.unlock(&first.id).await.expect("unlock");
    let second = b.lock(me("tarn apply"), opts(0, 60_000)).await.expect("lock again");
    assert!(second.generation > first.generation, "{} then {}", first.generation, second.generation);
    // A handle that released its lock writes unfenced again; one that never locked always does.
    a.put_resource(sample("null_resource.a", 1)).await.expect("a write without the lock");
}

pub async fn a_write_with_a_stale_generation_is_refused(f: &dyn Fixture) {
    let old = f.open().await.expect("open the old holder");
    let new = f.open().await.expect("open the new holder");
    let held = old.lock(me("tarn apply"), opts(0, 300)).await.expect("lock");
    old.put_resource(sample("null_resource.old", 1)).await.expect("a write under the lease");
    let seq = old.journal(intent("null_resource.old")).await.expect("an intent under the lease");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = new.lock(me("tarn apply (second)"), opts(0, 60_000)).await.expect("take the expired lease");
    assert!(taken.generation > held.generation);
    new.put_resource(sample("null_resource.new", 2)).await.expect("the new holder writes");
    let before = new.snapshot().await.expect("snapshot");
    let open_before = new.open_intents().await.expect("open intents");

    // The first refusal comes from the store (the old handle has not noticed yet) ...
    refused("put_resource", old.put_resource(sample("null_resource.new", 99)).await);
    // ... and every later write is refused too, whatever it is.
    refused("delete_resource", old.delete_resource("null_resource.new").await);
    refused("journal", old.journal(intent("null_resource.late")).await);
    refused("close_intent", old.close_intent(seq, "late").await);
    refused("set_outputs", old.set_outputs(Vec::new()).await);
    refused(
        "apply_batch",
        old.apply_batch(StateBatch { delete: vec!["null_resource.new".into()], ..Default::default() }).await,
    );
    refused("confirm_lease", old.confirm_lease("create null_resource.late").await);

    assert_eq!(new.snapshot().await.expect("snapshot"), before, "nothing the old holder tried was written");
    assert_eq!(new.open_intents().await.expect("open intents"), open_before);
    let loss = old.lease_loss().expect("the old handle knows it lost the lock");
    assert!(loss.reason.contains("tarn apply (second)"), "the reason names the new holder: {}", loss.reason);
    assert!(loss.calls.is_empty(), "it was refused every call: {loss:?}");
    // The new holder is unaffected.
    new.put_resource(sample("null_resource.new", 3)).await.expect("the new holder still writes");
    let _use = new.confirm_lease("create null_resource.next").await.expect("and may call");
    assert!(new.lease_loss().is_none());
}

pub async fn a_loss_lists_the_calls_running_at_the_last_renewal(f: &dyn Fixture) {
    let old = f.open().await.expect("open the old holder");
    let new = f.open().await.expect("open the new holder");
    let held = old.lock(me("tarn apply"), opts(0, 300)).await.expect("lock");
    let in_flight = old.confirm_lease("create null_resource.slow").await.expect("a call under the lease");
    tokio::time::sleep(Duration::from_millis(400)).await;
    new.lock(me("tarn apply (second)"), opts(0, 60_000)).await.expect("take the expired lease");
    drop(in_flight);
    refused("confirm_lease", old.confirm_lease("create null_resource.late").await);
    let loss = old.lease_loss().expect("lost");
    assert_eq!(loss.calls, vec!["create null_resource.slow".to_string()], "the call still running at the last renewal");
    assert!(matches!(old.unlock(&held.id).await, Err(StateError::NotLocked(_))), "the new lease stays");
}

pub async fn confirm_renews_an_expired_lease_nobody_took(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let unlocked = b.confirm_lease("read null_resource.x").await;
    assert!(unlocked.is_ok(), "a handle without the lock fences nothing");
    let held = a.lock(me("tarn apply"), opts(0, 1_000)).await.expect("lock");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(b.current_lock().await.expect("current"), None, "expired");
    let _use = a.confirm_lease("create null_resource.x").await.expect("renewed, since nobody took it");
    assert_eq!(b.current_lock().await.expect("current").map(|l| l.id), Some(held.id.clone()), "live again");
    a.put_resource(sample("null_resource.x", 1)).await.expect("and writes pass");
    assert!(a.lease_loss().is_none());
}
