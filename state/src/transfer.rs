//! Copying a whole workspace of a stack between backends (`tarn state migrate`): everything a
//! backend holds for it — lineage, serial, resource rows (deposed objects included), outputs,
//! run history and the journal with its closing notes — exported as a [`StackDump`] and
//! imported into an empty workspace in one transaction.
//!
//! Rows are copied as stored: sealed sensitive values stay sealed (their associated data is
//! the address and path, which do not change), so no key is needed and none is exposed. It must
//! not decide which backends exist; each implements [`Transfer`].

use async_trait::async_trait;

use crate::{Backend, JournalRecord, OutputRecord, ResourceRecord, RunRecord, StateError};

/// One workspace of a stack, whole.
#[derive(Debug, Clone, PartialEq)]
pub struct StackDump {
    pub lineage: String,
    pub serial: i64,
    pub resources: Vec<ResourceRecord>,
    pub outputs: Vec<OutputRecord>,
    /// Oldest first, outcomes as stored (a run found `running` stays so; its holder decides).
    pub runs: Vec<RunRecord>,
    /// In journal order. Sequence numbers are the source's; the target assigns its own and
    /// rewrites `intent_seq` to match.
    pub journal: Vec<JournalDump>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JournalDump {
    pub record: JournalRecord,
    /// Why an intent was closed by hand (recovery), if it was.
    pub close_note: Option<String>,
}

impl StackDump {
    /// Counts for messages: "12 resources, 2 outputs, 7 runs, 48 journal entries".
    pub fn summary(&self) -> String {
        format!(
            "{} resources, {} outputs, {} runs, {} journal entries",
            self.resources.len(),
            self.outputs.len(),
            self.runs.len(),
            self.journal.len()
        )
    }

    /// Whether the workspace holds nothing yet (a lineage may exist: a snapshot was taken).
    pub fn is_empty(&self) -> bool {
        self.serial == 0
            && self.resources.is_empty()
            && self.outputs.is_empty()
            && self.runs.is_empty()
            && self.journal.is_empty()
    }
}

/// A backend that can export and import a whole workspace.
#[async_trait]
pub trait Transfer: Backend {
    /// Everything this workspace holds, as stored.
    async fn export(&self) -> Result<StackDump, StateError>;
    /// Writes `dump` into this workspace, atomically. Refuses (writing nothing) unless the
    /// workspace is empty.
    async fn import(&self, dump: &StackDump) -> Result<(), StateError>;
}

/// The refusal for a target that already holds a state.
pub fn not_empty(target: &str, serial: i64, rows: i64) -> StateError {
    StateError::Storage(format!(
        "{target} already holds a state for this workspace (serial {serial}, {rows} rows of resources, outputs, runs \
         and journal). tarn state migrate copies only into an empty workspace, so nothing was written. Choose \
         another schema, workspace or file, or empty this one first."
    ))
}
