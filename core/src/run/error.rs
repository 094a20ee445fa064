//! The one error type of a run. Every variant means the call changed nothing it did not report
//! (an apply's own outcome — rolled back, partial, interrupted — is a result, not an error).
//! The caller words some of them for its audience (the CLI adds the commands that fix a held
//! lock); the sentences here are complete on their own.

use crate::diag::{Diagnostics, SourceMap};
use tarn_state::{LockInfo, StateError};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Problems in the user's input (configuration, variables), collected, with the sources
    /// their spans point into.
    #[error("the configuration has errors")]
    Diagnostics { diags: Diagnostics, sources: Box<SourceMap> },
    /// An argument, a saved plan or a precondition of the run is not right, or a step failed
    /// before anything changed; the message says what and how to fix it.
    #[error("{0}")]
    Failed(String),
    /// Another holder has the state lock.
    #[error("the state is locked by {0}")]
    Locked(Box<LockInfo>),
    /// A sensitive value would be stored and the state has no key to seal it with; the
    /// message says which, and ends with "Nothing was changed." (the caller adds how to
    /// provide a key). Refused before any change.
    #[error("{0}")]
    NoStateKey(String),
    /// The state backend failed.
    #[error(transparent)]
    State(StateError),
    /// An interrupt (the run's cancel token) stopped the call; the message says what was kept.
    #[error("{0}")]
    Interrupted(String),
}

impl From<StateError> for RunError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::Locked { holder } => RunError::Locked(holder),
            other => RunError::State(other),
        }
    }
}

/// Errors stop the run; warnings are handed back to be reported.
pub(crate) fn errors_or_warnings(diags: Diagnostics, sources: &SourceMap) -> Result<Diagnostics, RunError> {
    if diags.has_errors() {
        return Err(RunError::Diagnostics { diags, sources: Box::new(sources.clone()) });
    }
    Ok(diags)
}
