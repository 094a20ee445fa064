//! The records a backend stores. Persisted formats: every field is explicit (no untagged or
//! flattened serde), and the schema version lives in the database.

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state is locked by {holder}")]
    Locked { holder: Box<LockInfo> },
    #[error("the lock {0} is not held")]
    NotLocked(String),
    #[error(
        "the state was written by a newer tarn (schema version {found}, this tarn knows up to {known}); upgrade tarn"
    )]
    TooNew { found: i64, known: i64 },
    #[error("state storage failed: {0}")]
    Storage(String),
    /// Encryption at rest: no key, a wrong key, or a damaged sealed value.
    #[error("{0}")]
    Crypto(String),
    #[error("state record {what} is corrupt: {detail}")]
    Corrupt { what: String, detail: String },
    /// The handle took the lock, and its lease has since been taken over (or released): the
    /// write was refused, nothing was changed, and nothing more may be done under this lock.
    #[error("the state lock was lost: {0}")]
    LeaseLost(String),
    /// The state file is missing, empty, unreadable or older than the record of the last
    /// verified state (`sqlite::verified`): refused before anything was written. The message
    /// says what was found and how to restore.
    #[error("{0}")]
    Damaged(String),
}

/// Who holds (or wants) the lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockHolder {
    pub user: String,
    pub host: String,
    pub pid: u32,
    /// The command line, e.g. "tarn apply".
    pub command: String,
}

#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// How long to wait for a held lock before failing.
    pub timeout: std::time::Duration,
    /// How long the lease lasts without a heartbeat.
    pub lease: std::time::Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub holder: LockHolder,
    /// RFC 3339.
    pub acquired_at: String,
    pub expires_at: String,
    /// The fencing token: bumped each time the lock of this workspace is taken (or taken
    /// over), never reused. A handle that took the lock writes only while its generation is
    /// the current one (see [`crate::Backend::lock`]).
    #[serde(default)]
    pub generation: i64,
}

impl std::fmt::Display for LockInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{} (pid {}, `{}`, since {}, lock ID {})",
            self.holder.user, self.holder.host, self.holder.pid, self.holder.command, self.acquired_at, self.id
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub lineage: String,
    pub serial: i64,
    pub resources: Vec<ResourceRecord>,
    pub outputs: Vec<OutputRecord>,
}

/// One resource instance as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// The instance address in user syntax: `module.m.null_resource.a[0]`.
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    pub type_name: String,
    /// The provider configuration that manages it: `local` or `local.alias`.
    pub provider: String,
    /// The object's attributes as JSON. Sensitive values are stored as given by the caller
    /// (the engine encrypts or redacts before it hands them here).
    pub attributes: serde_json::Value,
    /// JSON pointers (`/content`) of the sensitive attributes.
    pub sensitive_paths: Vec<String>,
    /// Addresses this instance depended on when last applied (for destroy order).
    pub dependencies: Vec<String>,
    /// The correlation tag given to the provider at create.
    pub correlation: Option<String>,
    /// Schema version of the provider's resource type when written.
    pub schema_version: i64,
    /// `None` for the address's current object; `Some(key)` for a *deposed* object: an older
    /// object of the same address that a create_before_destroy replacement set aside and has
    /// not deleted yet (`key` is a short random id). Rows are keyed by (address, deposed key).
    #[serde(default)]
    pub deposed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    pub name: String,
    pub value: serde_json::Value,
    pub sensitive: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// "apply", "destroy", "import", ...
    pub command: String,
    pub holder: LockHolder,
    /// Plan summary (counts), as JSON.
    pub summary: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Success,
    RolledBack,
    RollbackIncomplete,
    Halted,
    Failed,
    /// Found unfinished by a later run (the process died).
    Interrupted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub command: String,
    pub holder: LockHolder,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: RunOutcome,
    pub summary: serde_json::Value,
    /// Serial of the state this run produced.
    pub serial: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalPhase {
    /// Written before the provider call.
    Intent,
    /// Written after it returned.
    Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub run_id: String,
    pub address: String,
    /// "create", "update", "delete", "read", "rollback-delete", ...
    pub op: String,
    pub phase: JournalPhase,
    /// The correlation tag of a create.
    pub correlation: Option<String>,
    /// For an intent: what was asked (type, provider, planned attributes, redacted of secrets).
    /// For an outcome: "ok" or the error, and the result.
    pub detail: serde_json::Value,
    /// For an outcome: the seq of its intent.
    pub intent_seq: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalRecord {
    pub seq: i64,
    pub at: String,
    pub entry: JournalEntry,
    /// For intents: closed by an outcome or by `close_intent`.
    pub closed: bool,
}

/// Several changes to the snapshot committed as one transaction: all of them or none. What
/// state surgery (`tarn state mv`, `push`, `rekey`) needs so that a failure halfway never leaves
/// a row both at its old and new address, or half the values sealed with another key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateBatch {
    /// Rows to remove (absent ones are ignored). Applied before `put`, so a batch may delete
    /// an address and write it again.
    pub delete: Vec<String>,
    /// Rows to insert or replace.
    pub put: Vec<ResourceRecord>,
    /// When set, replaces every output.
    pub outputs: Option<Vec<OutputRecord>>,
    /// When set, the state takes this lineage (`state push --force` of another stack's state).
    pub lineage: Option<String>,
    /// When set, the serial is raised to at least this value (never lowered).
    pub serial_at_least: Option<i64>,
}
