//! What the executor is told (options) and what it reports (events, outcome). Events are one
//! enum; the CLI renders them (progress bars on a TTY, one line per event otherwise, JSON).

use crate::plan::{Action, OpKind};
use serde::Serialize;
use std::time::Duration;
use tarn_sdk::Address;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailurePolicy {
    /// Stop scheduling, drain in-flight work, compensate completed actions in reverse order
    /// (what cannot be undone is kept or reported; docs/failure-semantics.md).
    Rollback,
    /// Stop scheduling, drain, record; no compensation.
    Halt,
    /// Skip only the dependants of a failed action (Terraform's behaviour).
    Continue,
}

/// What the first interrupt (SIGINT or SIGTERM) leads to, once running operations finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InterruptPolicy {
    /// Keep what finished, recorded; the next apply continues (default).
    #[default]
    Keep,
    /// Undo what finished, as the `rollback` failure policy does.
    Rollback,
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Maximum concurrent provider operations (default 10).
    pub parallelism: usize,
    pub on_failure: FailurePolicy,
    /// After an interrupt (the cancel token) with no failure: keep what finished, or roll back.
    pub on_interrupt: InterruptPolicy,
    /// Attempts for an operation failing with a transient error (1 = no retry).
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, with jitter.
    pub retry_base: Duration,
    /// The limits on one provider call (an abandoned change has an unknown outcome: its
    /// intent stays open for recovery).
    pub deadlines: crate::deadline::CallDeadlines,
    /// Not read by `apply`: the run id comes from the backend's `begin_run` (returned in
    /// `ApplyReport::run_id`), and correlation tags are `tarn-<run id>-<op index>`.
    pub run_id: String,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            parallelism: 10,
            on_failure: FailurePolicy::Rollback,
            on_interrupt: InterruptPolicy::Keep,
            max_attempts: 3,
            retry_base: Duration::from_millis(200),
            deadlines: crate::deadline::CallDeadlines::default(),
            run_id: String::new(),
        }
    }
}

/// Everything the executor reports while it works.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ApplyStarted {
        operations: usize,
    },
    OpStarted {
        address: Address,
        op: OpKind,
        action: Action,
    },
    OpRetrying {
        address: Address,
        op: OpKind,
        attempt: u32,
        error: String,
    },
    OpFinished {
        address: Address,
        op: OpKind,
        action: Action,
        elapsed_ms: u64,
    },
    OpFailed {
        address: Address,
        op: OpKind,
        error: String,
    },
    /// Not run because something it depends on failed (policy `continue`) or apply stopped.
    OpSkipped {
        address: Address,
        op: OpKind,
    },
    RollbackStarted {
        operations: usize,
    },
    RollbackOpStarted {
        address: Address,
        description: String,
    },
    RollbackOpFinished {
        address: Address,
        description: String,
    },
    RollbackOpFailed {
        address: Address,
        description: String,
        error: String,
    },
    /// The rollback leaves this address's new object in place: its old object is gone for
    /// good (this run deleted it), or the new values refer to such an object. Recorded in state.
    RollbackKept {
        address: Address,
        reason: String,
    },
    /// This run deleted the address's object, no rollback can bring it back, and no new
    /// object took its place.
    RollbackNotRestorable {
        address: Address,
        reason: String,
    },
    /// An object an interrupted run created was found and recorded (crash recovery).
    Adopted {
        address: Address,
        correlation: String,
    },
    /// A `removed {}` block's object left the state; the object itself was not touched.
    Forgotten {
        address: Address,
    },
    ApplyFinished {
        outcome: ApplyOutcome,
    },
}

/// How an apply ended; maps to exit codes 0, 3, 4 (and 1 for `Failed` before any change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplyOutcome {
    Success,
    /// An action failed and every completed action was compensated.
    RolledBack,
    /// An action failed and not everything could be undone: a compensation failed, or an
    /// irreversible delete had run (its object is reported kept or not restorable). State says
    /// exactly what exists.
    RollbackIncomplete,
    /// Policy `halt` or `continue` and something failed: changes are partial, recorded.
    Partial,
    /// Interrupted (no failure) under [`InterruptPolicy::Keep`]: what finished is kept and
    /// recorded, nothing else was started; the next apply continues.
    Interrupted,
}

/// Where the executor sends events. Must be cheap and never block for long.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}
