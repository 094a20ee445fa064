//! The state lock a run holds: taken with a lease the backend expires unless renewed, renewed
//! by a heartbeat task every third of it, released on every exit path. A holder that lost its
//! lease stops renewing; the backend then refuses its writes and provider calls (fencing), and
//! [`Lease::release`] leaves the new holder's lock alone.

use std::sync::Arc;
use tarn_state::{Backend, LockHolder, LockInfo, LockOptions, StateError};

/// A held lock. Release with [`Lease::release`]; dropping it without leaves the lease to expire.
pub struct Lease {
    backend: Arc<dyn Backend>,
    info: LockInfo,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Takes the lock (waiting up to `options.timeout`) and starts renewing it.
    pub async fn acquire(
        backend: Arc<dyn Backend>,
        holder: LockHolder,
        options: LockOptions,
    ) -> Result<Lease, StateError> {
        let info = backend.lock(holder, options).await?;
        let hb_backend = backend.clone();
        let id = info.id.clone();
        let every = options.lease / 3;
        let heartbeat = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match hb_backend.heartbeat(&id).await {
                    Ok(()) => {}
                    // Lost for good: the backend now refuses this run's writes and calls, and
                    // the caller reports what happened (`Backend::lease_loss`).
                    Err(e @ (StateError::NotLocked(_) | StateError::LeaseLost(_))) => {
                        tracing::error!("the state lock lease was lost: {e}");
                        break;
                    }
                    Err(e) => tracing::warn!("could not extend the state lock lease: {e}"),
                }
            }
        });
        Ok(Lease { backend, info, heartbeat })
    }

    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Stops the heartbeat without releasing: for when the lease itself was deleted (the
    /// workspace that held it is gone).
    pub fn forget(self) {
        self.heartbeat.abort();
    }

    pub async fn release(self) {
        self.heartbeat.abort();
        if self.backend.lease_loss().is_some() {
            // Not ours any more: the new holder's lock must stay.
            return;
        }
        if let Err(e) = self.backend.unlock(&self.info.id).await {
            tracing::warn!("could not release the state lock {}: {e}", self.info.id);
        }
    }
}
