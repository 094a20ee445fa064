//! The CLI's one error type, mapped exhaustively to the documented exit codes.

use tarn_core::{Diagnostics, SourceMap};

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Problems in the user's input, already collected; rendered with source snippets.
    #[error("the configuration has errors")]
    Diagnostics { diags: Diagnostics, sources: Box<SourceMap> },
    /// Anything that stopped the command before it changed something.
    #[error("{0}")]
    Failed(String),
    /// apply failed and every completed change was rolled back.
    #[error("apply failed; every completed change was rolled back")]
    RolledBack,
    /// apply failed and rollback is incomplete (or the policy was halt/continue).
    #[error("apply failed and some changes remain; the state records exactly what exists")]
    Incomplete,
    /// The run lost its state lock while it worked (suspended past its lease): it stopped,
    /// and the message lists the provider calls the state may not record.
    #[error("{0}")]
    LeaseLost(String),
    /// SIGINT or SIGTERM stopped the command: what finished is kept and recorded (the message
    /// says what, and how to continue). Exit 130, as a second signal.
    #[error("{0}")]
    Interrupted(String),
    /// Not an error: plan --detailed-exitcode found changes, or drift was found.
    #[error("changes present")]
    ChangesPresent,
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Diagnostics { .. } | CliError::Failed(_) => 1,
            CliError::ChangesPresent => 2,
            CliError::RolledBack => 3,
            CliError::Incomplete | CliError::LeaseLost(_) => 4,
            CliError::Interrupted(_) => crate::stack::INTERRUPTED_EXIT,
        }
    }
}

impl From<tarn_state::StateError> for CliError {
    fn from(e: tarn_state::StateError) -> Self {
        let fix = match &e {
            tarn_state::StateError::Corrupt { .. } => {
                " Nothing was changed. Repair that record in the state database, or restore the state from a backup \
                 (tarn refuses to plan over a record it cannot read, since it would lose track of a real object)."
            }
            _ => "",
        };
        CliError::Failed(format!("{e}{fix}"))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Failed(e.to_string())
    }
}

/// A run's errors, worded for the command line (the commands that fix a held lock, how to give
/// the state a key).
impl From<tarn_core::run::RunError> for CliError {
    fn from(e: tarn_core::run::RunError) -> Self {
        use tarn_core::run::RunError;
        match e {
            RunError::Diagnostics { diags, sources } => CliError::Diagnostics { diags, sources },
            RunError::Failed(message) => CliError::Failed(message),
            RunError::Locked(holder) => crate::stack::locked(&holder),
            RunError::NoStateKey(message) => CliError::Failed(format!("{message} {}", tarn_state::crypto::KEY_HELP)),
            RunError::State(e) => e.into(),
            RunError::Interrupted(message) => CliError::Interrupted(message),
        }
    }
}

/// What the command line's own steps inside a run (starting emulators, loading plugins) say
/// when they fail.
impl From<CliError> for tarn_core::run::RunError {
    fn from(e: CliError) -> Self {
        match e {
            CliError::Diagnostics { diags, sources } => tarn_core::run::RunError::Diagnostics { diags, sources },
            other => tarn_core::run::RunError::Failed(other.to_string()),
        }
    }
}
