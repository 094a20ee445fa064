//! The backend conformance suite: behaviour every [`Backend`] must show, as generic async
//! checks over a [`Fixture`]. SQLite runs it in its unit tests; another backend (PostgreSQL)
//! runs the same checks with `tarn_state::conformance_tests!(its_fixture())`.
//!
//! Checks panic on failure (they are test code). They must not assume anything a backend is
//! free to choose: lineage format, lock ids, timestamps beyond RFC 3339, journal seq values
//! beyond "increasing".

mod deposed;
mod fencing;
mod journal;
mod locks;
mod runs;
mod snapshot;
mod surgery;

pub use deposed::*;
pub use fencing::*;
pub use journal::*;
pub use locks::*;
pub use runs::*;
pub use snapshot::*;
pub use surgery::*;

use async_trait::async_trait;

use crate::{Backend, LockHolder, ResourceRecord, StateError};

/// One empty store under test, which can be opened several times as separate processes would.
#[async_trait]
pub trait Fixture: Send + Sync {
    /// A new handle on the store's default workspace, with its own connection.
    async fn open(&self) -> Result<Box<dyn Backend>, StateError>;
    /// A new handle on another workspace of the same store.
    async fn open_workspace(&self, workspace: &str) -> Result<Box<dyn Backend>, StateError>;
    /// Overwrites the stored attributes of `address` (default workspace) with text that is not
    /// JSON, as a bad disk or a hand edit would.
    async fn corrupt_resource(&self, address: &str) -> Result<(), StateError>;
}

/// Generates one `#[tokio::test]` per conformance check; `$fixture` is an expression that
/// builds a fresh fixture for each test.
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:expr) => {
        $crate::conformance_tests!(@cases $fixture;
            snapshot_starts_empty, rows_round_trip, rows_are_replaced_and_deleted, batch_put,
            outputs_are_replaced_whole, writes_are_visible_to_another_handle, workspaces_are_isolated,
            corrupt_row_names_its_address,
            deposed_objects_live_beside_the_current_one, delete_resource_keeps_deposed_objects,
            a_deposed_object_can_be_made_current_again, batch_deletes_keep_deposed_objects,
            begin_run_bumps_serial_once, history_is_newest_first, finish_unknown_run_fails,
            run_of_dead_holder_is_interrupted, prune_keeps_the_newest_runs,
            outcome_closes_its_intent, close_intent_is_idempotent, open_intents_span_runs,
            put_resource_closing_writes_the_row_and_closes_the_intent,
            lock_and_unlock, contention_times_out_naming_holder, waiter_gets_released_lock,
            expired_lease_is_taken_over, heartbeat_keeps_the_lease, force_unlock_releases_any_lease,
            dead_local_holder_is_taken_over, remote_holder_is_not_presumed_dead, lock_is_mutually_exclusive,
            batch_deletes_then_puts_outputs_lineage_serial, batch_on_a_new_workspace_creates_its_lineage,
            workspaces_are_listed_and_deleted_alone,
            generations_increase_with_every_take, a_write_with_a_stale_generation_is_refused,
            a_loss_lists_the_calls_running_at_the_last_renewal, confirm_renews_an_expired_lease_nobody_took
        );
    };
    (@cases $fixture:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let fixture = $fixture;
                $crate::conformance::$case(&fixture).await;
            }
        )*
    };
}

/// A plausible resource row with nested, non-ASCII attributes.
pub fn sample(address: &str, n: i64) -> ResourceRecord {
    ResourceRecord {
        address: address.to_string(),
        mode: "managed".to_string(),
        type_name: "null_resource".to_string(),
        provider: "null".to_string(),
        attributes: serde_json::json!({
            "id": format!("id-{n}"),
            "n": n,
            "triggers": { "motd": "héllo wörld ✓", "list": [1, 2.5, null, true] },
        }),
        sensitive_paths: vec!["/triggers/motd".to_string()],
        dependencies: vec!["null_resource.base".to_string()],
        correlation: Some(format!("tarn-{n}")),
        schema_version: 2,
        deposed: None,
    }
}

/// A holder for this process.
pub fn me(command: &str) -> LockHolder {
    LockHolder::here(command)
}

/// The pid of a process on this host that has exited and been reaped.
pub fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().expect("spawn `true` to obtain a dead pid");
    let pid = child.id();
    child.wait().expect("reap `true`");
    pid
}

fn opts(timeout_ms: u64, lease_ms: u64) -> crate::LockOptions {
    crate::LockOptions {
        timeout: std::time::Duration::from_millis(timeout_ms),
        lease: std::time::Duration::from_millis(lease_ms),
    }
}
