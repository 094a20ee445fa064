//! Conformance: lock leases — contention, timeout, expiry, heartbeat, force unlock, dead holders.
//!
//! Timings are generous because test machines are shared; each check says which bound matters.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Fixture, dead_pid, me, opts};
use crate::StateError;

pub async fn lock_and_unlock(f: &dyn Fixture) {
    let b = f.open().await.expect("open");
    assert_eq!(b.current_lock().await.expect("current"), None);
    let info = b.lock(me("tarn apply"), opts(0, 60_000)).await.expect("lock");
    assert_eq!(info.holder, me("tarn apply"));
    let (acquired, expires) = (crate::clock::parse(&info.acquired_at), crate::clock::parse(&info.expires_at));
    assert!(acquired.is_some() && expires.is_some() && expires > acquired, "RFC 3339 lease: {info:?}");
    assert_eq!(b.current_lock().await.expect("current"), Some(info.clone()));
    b.unlock(&info.id).await.expect("unlock");
    assert_eq!(b.current_lock().await.expect("current"), None);
    assert!(matches!(b.unlock(&info.id).await, Err(StateError::NotLocked(id)) if id == info.id));
}

pub async fn contention_times_out_naming_holder(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let held = a.lock(me("tarn apply"), opts(0, 60_000)).await.expect("lock a");
    let t = Instant::now();
    match b.lock(me("tarn plan"), opts(300, 60_000)).await {
        Err(StateError::Locked { holder }) => assert_eq!(*holder, held),
        other => panic!("expected Locked, got {other:?}"),
    }
    assert!(t.elapsed() >= Duration::from_millis(300), "waited the whole timeout");
    assert!(matches!(b.unlock("someone-else").await, Err(StateError::NotLocked(_))), "unlock needs the id");
    assert_eq!(b.current_lock().await.expect("current"), Some(held));
}

pub async fn waiter_gets_released_lock(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b: Arc<dyn crate::Backend> = Arc::from(f.open().await.expect("open b"));
    let held = a.lock(me("tarn apply"), opts(0, 60_000)).await.expect("lock a");
    let waiter = tokio::spawn({
        let b = Arc::clone(&b);
        async move { b.lock(me("tarn apply"), opts(20_000, 60_000)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the waiter waits while the lock is held");
    a.unlock(&held.id).await.expect("unlock a");
    let got = waiter.await.expect("join").expect("the waiter takes the lock once released");
    assert_ne!(got.id, held.id);
}

pub async fn expired_lease_is_taken_over(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let held = a.lock(me("tarn apply"), opts(0, 300)).await.expect("lock a");
    let t = Instant::now();
    let taken = b.lock(me("tarn apply"), opts(20_000, 60_000)).await.expect("b takes the expired lease");
    assert!(t.elapsed() >= Duration::from_millis(150), "not before the lease ran out");
    assert_ne!(taken.id, held.id);
    assert!(
        matches!(a.heartbeat(&held.id).await, Err(StateError::NotLocked(_))),
        "the old holder learns it lost the lock"
    );
    assert!(matches!(a.unlock(&held.id).await, Err(StateError::NotLocked(_))), "and cannot release the new lease");
    assert_eq!(b.current_lock().await.expect("current").map(|l| l.id), Some(taken.id));
}

pub async fn heartbeat_keeps_the_lease(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let held = a.lock(me("tarn apply"), opts(0, 1_000)).await.expect("lock a");
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        a.heartbeat(&held.id).await.expect("heartbeat");
    }
    // 1.5 s after locking, well past the original 1 s lease.
    assert!(matches!(b.lock(me("tarn apply"), opts(0, 60_000)).await, Err(StateError::Locked { .. })));
    let now = b.current_lock().await.expect("current").expect("still held");
    assert!(crate::clock::parse(&now.expires_at) > crate::clock::parse(&held.expires_at), "expiry moved forward");
    assert_eq!(now.acquired_at, held.acquired_at);
    assert!(matches!(a.heartbeat("not-a-lock").await, Err(StateError::NotLocked(_))));
}

pub async fn force_unlock_releases_any_lease(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let held = a.lock(me("tarn apply"), opts(0, 60_000)).await.expect("lock a");
    b.force_unlock(&held.id).await.expect("force unlock from another handle");
    assert_eq!(b.current_lock().await.expect("current"), None);
    b.lock(me("tarn apply"), opts(0, 60_000)).await.expect("b locks");
    assert!(matches!(a.unlock(&held.id).await, Err(StateError::NotLocked(_))));
    let c = f.open().await.expect("open c");
    c.force_unlock("whatever").await.expect("releases regardless of the id");
    assert!(matches!(c.force_unlock("whatever").await, Err(StateError::NotLocked(_))), "nothing left to release");
}

pub async fn dead_local_holder_is_taken_over(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let mut crashed = me("tarn apply");
    crashed.pid = dead_pid();
    a.lock(crashed, opts(0, 3_600_000)).await.expect("lock as a dead process");
    assert_eq!(b.current_lock().await.expect("current"), None, "a dead holder's lease counts as expired");
    b.lock(me("tarn apply"), opts(0, 60_000)).await.expect("taken at once, despite an hour of lease left");
}

pub async fn remote_holder_is_not_presumed_dead(f: &dyn Fixture) {
    let a = f.open().await.expect("open a");
    let b = f.open().await.expect("open b");
    let mut remote = me("tarn apply");
    remote.host = "ci-runner-7.invalid".into();
    remote.pid = dead_pid();
    a.lock(remote, opts(0, 60_000)).await.expect("lock as a remote process");
    assert!(matches!(b.lock(me("tarn apply"), opts(0, 60_000)).await, Err(StateError::Locked { .. })));
}

pub async fn lock_is_mutually_exclusive(f: &dyn Fixture) {
    let inside = Arc::new(AtomicUsize::new(0));
    let entries = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let b: Arc<dyn crate::Backend> = Arc::from(f.open().await.expect("open"));
        for _ in 0..2 {
            let (b, inside, entries) = (Arc::clone(&b), Arc::clone(&inside), Arc::clone(&entries));
            tasks.spawn(async move {
                for _ in 0..3 {
                    let l = b.lock(me("tarn apply"), opts(60_000, 60_000)).await.expect("lock eventually");
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                    entries.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    inside.fetch_sub(1, Ordering::SeqCst);
                    b.unlock(&l.id).await.expect("unlock");
                }
            });
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    assert_eq!(entries.load(Ordering::SeqCst), 24);
}
