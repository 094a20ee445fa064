//! tarn-state: where tarn records what exists. The [`Backend`] trait and its SQLite and
//! PostgreSQL implementations: a snapshot (lineage, serial, one row per resource instance, outputs), a
//! journal of provider calls (intent before, outcome after), a history of runs (with a bounded
//! retention, `prune_history`, for whoever needs one), and a lock lease.
//!
//! Rows are written one at a time as each action finishes, never as a whole-state rewrite.
//! This crate knows nothing about configuration, plans or providers: attributes are JSON.
//!
//! Modules: [`model`] (records, errors), [`sqlite`] (the default backend), [`postgres`] (shared
//! state for teams), [`transfer`] (copying a workspace between backends), [`clock`]
//! (timestamps), [`liveness`] (is a lock holder alive), [`lease`] (fencing a lock holder's
//! writes and calls by the lock's generation), [`crypto`] (sealing at rest), [`rekey`]
//! (re-encrypting under a new key), and `conformance` (the suite every
//! backend passes; public with the `conformance` feature).

pub mod clock;
pub mod crypto;
pub mod lease;
pub mod liveness;
pub mod model;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod rekey;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod transfer;

#[cfg(any(all(test, feature = "sqlite"), feature = "conformance"))]
pub mod conformance;

pub use lease::{LeaseLoss, LeaseUse};
pub use model::*;
#[cfg(feature = "postgres")]
pub use postgres::PgBackend;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteBackend;

use async_trait::async_trait;

/// A state store for one stack (configuration + workspace).
///
/// Every write is durable (committed) when the call returns: crash safety depends on it.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Human description for messages: "sqlite .tarn/state.db".
    fn describe(&self) -> String;

    /// Takes the stack's lock lease, waiting up to `opts.timeout`. Fails with
    /// [`StateError::Locked`] naming the holder when it cannot. A lease is free when absent,
    /// expired, or held by a process on this host that no longer exists (a crashed tarn).
    ///
    /// Taking it bumps the lock's generation (the fencing token). From then on every write
    /// through this handle (and its clones) is checked against that generation in the write's
    /// own transaction: once another holder has taken the lock, or it was released under us, a
    /// write fails with [`StateError::LeaseLost`] and changes nothing. `unlock` ends this.
    async fn lock(&self, holder: LockHolder, opts: LockOptions) -> Result<LockInfo, StateError>;
    /// Extends the lease by its original length from now (called periodically by the holder).
    /// [`StateError::NotLocked`] means the lease was taken over or released: stop writing.
    async fn heartbeat(&self, lock_id: &str) -> Result<(), StateError>;
    /// Right before an effect outside the state (a provider call): checks that the lock this
    /// handle took is still its own (generation unchanged; an expired lease nobody took is
    /// renewed first) and records `what` as done under it until the returned [`LeaseUse`] is
    /// dropped. [`StateError::LeaseLost`] when it is not: make no call. A handle that holds no
    /// lock confirms at once (the default, for backends without a lock).
    async fn confirm_lease(&self, what: &str) -> Result<LeaseUse, StateError> {
        let _ = what;
        Ok(LeaseUse::unfenced())
    }
    /// Once this handle has found its lock lost: why, and the calls it made that the new
    /// holder cannot know about ([`LeaseLoss`]). `None` while the lock is held or was never lost.
    fn lease_loss(&self) -> Option<LeaseLoss> {
        None
    }
    /// Releases the lease if `lock_id` still holds it; [`StateError::NotLocked`] otherwise.
    async fn unlock(&self, lock_id: &str) -> Result<(), StateError>;
    /// Releases whatever lease is held, regardless of holder (`tarn state unlock ID`).
    /// The id is not checked (a mismatch is logged); [`StateError::NotLocked`] when nothing
    /// was held.
    async fn force_unlock(&self, lock_id: &str) -> Result<(), StateError>;
    /// The current lease, if any (expired leases are reported as `None`).
    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError>;

    /// Lineage, serial, every resource row (deposed objects included) and the outputs.
    /// Creates an empty state (new lineage, serial 0) on first use.
    async fn snapshot(&self) -> Result<Snapshot, StateError>;

    /// Starts a run that may change state: records it in history and bumps the serial once.
    /// Returns the run's id. Earlier runs still `Running` whose holder is dead are recorded as
    /// `Interrupted`.
    async fn begin_run(&self, run: RunStart) -> Result<String, StateError>;
    /// Records the run's end in history.
    async fn finish_run(&self, run_id: &str, outcome: RunOutcome, summary: serde_json::Value)
    -> Result<(), StateError>;
    /// All runs of this stack, newest first. A run still `Running` whose holder process is
    /// gone (same host, dead pid) is reported as `Interrupted`.
    async fn history(&self) -> Result<Vec<RunRecord>, StateError>;
    /// Bounded retention: removes the oldest runs of this workspace beyond the newest `keep`,
    /// with their journal entries, and answers how many runs went. A run still `running`, or
    /// one with an open journal intent (what crash recovery reads), is never removed.
    async fn prune_history(&self, keep: usize) -> Result<usize, StateError> {
        let _ = keep;
        Err(StateError::Storage("this state backend cannot prune its history".into()))
    }

    /// Inserts or replaces one resource row: the current object of `record.address`, or with
    /// `record.deposed = Some(key)` a deposed object of it, stored beside the current one.
    async fn put_resource(&self, record: ResourceRecord) -> Result<(), StateError>;
    /// Inserts or replaces several rows at once, atomically where the backend can (one commit
    /// instead of one per row: for imports, migrations and `state push`).
    async fn put_resources(&self, records: Vec<ResourceRecord>) -> Result<(), StateError> {
        for record in records {
            self.put_resource(record).await?;
        }
        Ok(())
    }
    /// Removes the current object's row of `address` (no error when absent); its deposed
    /// objects stay.
    async fn delete_resource(&self, address: &str) -> Result<(), StateError>;
    /// Removes the row of deposed object `key` of `address` (no error when absent).
    async fn delete_deposed(&self, address: &str, key: &str) -> Result<(), StateError>;
    /// Applies a [`StateBatch`] atomically: every change or none is committed (one
    /// transaction). Unlike `put_resources` there is no per-row fallback: a backend that
    /// cannot do this atomically must not implement it by looping.
    async fn apply_batch(&self, batch: StateBatch) -> Result<(), StateError>;
    /// Replaces all outputs.
    async fn set_outputs(&self, outputs: Vec<OutputRecord>) -> Result<(), StateError>;

    /// Appends a journal entry; returns its sequence number (increasing). An outcome with an
    /// `intent_seq` closes that intent in the same transaction.
    async fn journal(&self, entry: JournalEntry) -> Result<i64, StateError>;
    /// Writes `record` and appends `outcome` (the outcome that closes its intent): what the
    /// executor does after every successful create or update, on the operation's critical
    /// path. A backend that can should do both in one transaction (SQLite does: one commit
    /// instead of two). `Err` means the row is not known to be written. The default writes
    /// the row, then the outcome; a failed outcome is only logged, because the row stands and
    /// an intent left open is reconciled idempotently by the next run's recovery.
    async fn put_resource_closing(&self, record: ResourceRecord, outcome: JournalEntry) -> Result<(), StateError> {
        let address = record.address.clone();
        self.put_resource(record).await?;
        if let Err(e) = self.journal(outcome).await {
            tracing::warn!(%address, error = %e, "journal outcome not written");
        }
        Ok(())
    }
    /// Intents (of any run) that have no outcome: what an interrupted run may have left.
    async fn open_intents(&self) -> Result<Vec<JournalRecord>, StateError>;
    /// Marks an open intent as dealt with (after adoption or clean-up on a later run).
    /// Closing an unknown or already closed seq is a no-op, so recovery can be retried.
    async fn close_intent(&self, seq: i64, note: &str) -> Result<(), StateError>;
    /// The journal of one run, in order.
    async fn run_journal(&self, run_id: &str) -> Result<Vec<JournalRecord>, StateError>;

    /// The names of every workspace in this store that holds anything (a lineage, a row, an
    /// output or a run), sorted. The handle's own workspace is listed once it has been used.
    async fn workspaces(&self) -> Result<Vec<String>, StateError>;
    /// Deletes everything this handle's workspace holds: lineage, rows, outputs, journal,
    /// history and lock. Other workspaces are untouched. The caller decides whether that is
    /// allowed (`tarn workspace delete` refuses a workspace that still records objects).
    async fn delete_workspace(&self) -> Result<(), StateError>;
}
