//! Fencing for the holder of a lock lease. A backend handle that took the lock keeps a
//! [`Fence`]: the lock's id and generation (the fencing token every write of the handle is
//! checked against, in the write's own transaction), when the lease was last confirmed, and
//! the effects outside the state (provider calls) started under it.
//!
//! Why: a holder suspended past its lease (SIGSTOP, a stalled VM) resumes believing it still
//! holds the lock while another run has taken it. The backends refuse its writes once the
//! generation moved on; [`crate::Backend::confirm_lease`] refuses its next provider call; and
//! [`Fence::loss`] says what it may have done meanwhile: every call not known to have finished
//! before the lease was last confirmed, since the new holder cannot know about those.
//!
//! This module knows no SQL; the backends read the lock row and report what they found.

// The fencing machinery serves the backends; the trait-only build (no backend feature) has none.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::model::{LockInfo, StateError};
use crate::{Backend, clock};

/// What a backend found when it looked at the lock row of a fenced handle.
#[derive(Debug)]
pub(crate) enum LeaseStatus {
    /// Ours, unexpired.
    Current,
    /// Ours, but expired: nobody took it yet; renew before acting.
    Expired,
    /// Not ours any more: why (who holds it now).
    Lost(String),
}

/// The fence of one backend handle (shared by its clones). Empty until the handle takes the
/// lock, empty again once it releases it.
#[derive(Debug, Default)]
pub struct Fence {
    inner: Mutex<Option<Held>>,
}

#[derive(Debug)]
struct Held {
    id: String,
    generation: i64,
    /// When the last renewal that succeeded was sent (the lease was ours until a full lease
    /// after that), as an instant and as wall-clock text for messages.
    confirmed: Instant,
    confirmed_at: String,
    lost: Option<String>,
    calls: Vec<Call>,
    next: u64,
}

#[derive(Debug)]
struct Call {
    n: u64,
    what: String,
    finished: Option<Instant>,
}

/// What a holder did after it lost its lease, for the error that ends its run.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaseLoss {
    /// Why it was lost (who holds the lock now).
    pub reason: String,
    /// When the lease was last confirmed (RFC 3339).
    pub confirmed_at: String,
    /// Calls started after that, or still running then, in the order they started: their
    /// effects may have happened under the new holder, which does not know about them.
    pub calls: Vec<String>,
}

/// One call made under the lease: marks it finished when dropped.
#[must_use = "hold it until the call has returned"]
#[derive(Debug)]
pub struct LeaseUse {
    call: Option<(Arc<Fence>, u64)>,
}

impl LeaseUse {
    /// A use that nothing fences (the handle holds no lock, or the backend has none).
    pub fn unfenced() -> LeaseUse {
        LeaseUse { call: None }
    }
}

impl Drop for LeaseUse {
    fn drop(&mut self) {
        if let Some((fence, n)) = self.call.take() {
            fence.with(|held| {
                if let Some(call) = held.calls.iter_mut().find(|c| c.n == n) {
                    call.finished = Some(Instant::now());
                }
            });
        }
    }
}

impl Fence {
    fn with<T>(&self, f: impl FnOnce(&mut Held) -> T) -> Option<T> {
        // A poisoned mutex only means a panic elsewhere; the data is a plain record.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_mut().map(f)
    }

    /// The handle took the lock `info`.
    pub(crate) fn taken(&self, info: &LockInfo) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *guard = Some(Held {
            id: info.id.clone(),
            generation: info.generation,
            confirmed: Instant::now(),
            confirmed_at: clock::now_string(),
            lost: None,
            calls: Vec::new(),
            next: 0,
        });
    }

    /// The handle released lock `id`: nothing is fenced any more.
    pub(crate) fn released(&self, id: &str) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if guard.as_ref().is_some_and(|h| h.id == id) {
            *guard = None;
        }
    }

    /// The token a write must carry: `None` when the handle holds no lock (nothing to fence),
    /// `LeaseLost` at once when the loss is already known.
    pub(crate) fn token(&self) -> Result<Option<(String, i64)>, StateError> {
        self.with(|h| match &h.lost {
            Some(reason) => Err(StateError::LeaseLost(reason.clone())),
            None => Ok((h.id.clone(), h.generation)),
        })
        .transpose()
    }

    /// The generation of lock `id`, if this handle holds it.
    pub(crate) fn generation_of(&self, id: &str) -> Option<i64> {
        self.with(|h| (h.id == id).then_some(h.generation)).flatten()
    }

    /// A renewal of lock `id` sent at `sent` succeeded: calls finished before then are no
    /// longer in doubt.
    pub(crate) fn renewed(&self, id: &str, sent: Instant) {
        self.with(|h| {
            if h.id == id && h.lost.is_none() {
                h.confirmed = sent;
                h.confirmed_at = clock::now_string();
                h.calls.retain(|c| c.finished.is_none_or(|f| f > sent));
            }
        });
    }

    /// Records that lock `id` was lost (the first reason stays) and returns the error to give.
    pub(crate) fn lose(&self, id: &str, reason: String) -> StateError {
        let kept =
            self.with(|h| if h.id == id { h.lost.get_or_insert(reason.clone()).clone() } else { reason.clone() });
        StateError::LeaseLost(kept.unwrap_or(reason))
    }

    /// Marks the loss when `result` is a refused write; passes it through.
    pub(crate) fn notice<T>(&self, result: Result<T, StateError>) -> Result<T, StateError> {
        if let Err(StateError::LeaseLost(reason)) = &result {
            self.with(|h| {
                h.lost.get_or_insert_with(|| reason.clone());
            });
        }
        result
    }

    fn start(self: &Arc<Self>, what: &str) -> LeaseUse {
        let n = self.with(|h| {
            h.next += 1;
            h.calls.push(Call { n: h.next, what: what.to_string(), finished: None });
            h.next
        });
        LeaseUse { call: n.map(|n| (Arc::clone(self), n)) }
    }

    /// What the holder did after losing its lease, once the loss is known.
    pub fn loss(&self) -> Option<LeaseLoss> {
        self.with(|h| {
            let reason = h.lost.clone()?;
            Some(LeaseLoss {
                reason,
                confirmed_at: h.confirmed_at.clone(),
                calls: h.calls.iter().map(|c| c.what.clone()).collect(),
            })
        })
        .flatten()
    }
}

/// The end of [`crate::Backend::confirm_lease`], the same for every backend: `status` is what
/// the backend read of the lock row; an expired lease nobody took is renewed first.
pub(crate) async fn settle(
    backend: &dyn Backend,
    fence: &Arc<Fence>,
    id: &str,
    status: LeaseStatus,
    what: &str,
) -> Result<LeaseUse, StateError> {
    match status {
        LeaseStatus::Current => {}
        LeaseStatus::Expired => match backend.heartbeat(id).await {
            Ok(()) => {}
            Err(StateError::NotLocked(_)) => {
                return Err(fence.token().err().unwrap_or_else(|| lost_unknown(fence, id)));
            }
            Err(e) => return Err(e),
        },
        LeaseStatus::Lost(reason) => return Err(fence.lose(id, reason)),
    }
    // The loss may have been noticed (by a write or the heartbeat) since the read.
    fence.token()?;
    Ok(fence.start(what))
}

fn lost_unknown(fence: &Fence, id: &str) -> StateError {
    fence.lose(id, "the lock was released or taken over while this run was not renewing it".into())
}

/// Why lock `generation` is not ours, given the lock row now (`None`: no lock is held).
pub(crate) fn reason(generation: i64, now: Option<&LockInfo>) -> String {
    match now {
        Some(info) => format!(
            "its lease (lock generation {generation}) expired and the lock was taken by {}@{} (pid {}, `{}`, at {}, \
             lock generation {})",
            info.holder.user, info.holder.host, info.holder.pid, info.holder.command, info.acquired_at, info.generation
        ),
        None => format!(
            "its lease (lock generation {generation}) was released while this run held it (it expired and another \
             tarn took the lock and finished, or `tarn state unlock` released it)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str, generation: i64) -> LockInfo {
        LockInfo {
            id: id.into(),
            holder: crate::LockHolder::here("test"),
            acquired_at: String::new(),
            expires_at: String::new(),
            generation,
        }
    }

    #[test]
    fn a_loss_lists_the_calls_not_finished_before_the_last_renewal() {
        let fence = Arc::new(Fence::default());
        assert!(fence.token().expect("no lock").is_none(), "nothing is fenced before the lock is taken");
        fence.taken(&info("a", 3));
        assert_eq!(fence.token().expect("held"), Some(("a".into(), 3)));
        drop(fence.start("create x.done"));
        let open = fence.start("create x.open");
        fence.renewed("a", Instant::now());
        let late = fence.start("create x.late");
        drop(late);
        assert!(fence.loss().is_none(), "not lost yet");
        let e = fence.lose("a", "taken over".into());
        assert!(matches!(e, StateError::LeaseLost(ref r) if r == "taken over"), "{e:?}");
        assert!(matches!(fence.token(), Err(StateError::LeaseLost(_))), "writes are refused at once");
        let loss = fence.loss().expect("lost");
        assert_eq!(loss.calls, vec!["create x.open".to_string(), "create x.late".to_string()]);
        drop(open);
        fence.lose("a", "a second reason".into());
        assert_eq!(fence.loss().expect("lost").reason, "taken over", "the first reason stays");
        fence.released("a");
        assert!(fence.loss().is_none() && fence.token().expect("released").is_none());
    }
}
