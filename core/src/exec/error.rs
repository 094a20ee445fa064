//! The executor's one error type: failures that stop `apply` or `recover` from running at all
//! (an invalid graph, a missing provider, an unreachable state backend). Failures of single
//! operations are not errors of the executor: they are reported as events and in the
//! [`ApplyReport`](super::ApplyReport), and handled by the failure policy.

use tarn_state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The plan's execution graph is malformed (bad index, cycle, final-destroy op before a
    /// main op). Plans come from tarn's planner, so this is a bug.
    #[error("the execution graph is invalid: {0}; this is a bug in tarn")]
    InvalidGraph(String),
    /// A change names a provider configuration the caller did not configure.
    #[error("{address} needs the provider configuration `{provider}`, which is not configured")]
    MissingProvider { address: String, provider: String },
    /// The state backend failed outside a single operation (snapshot, begin/finish run,
    /// reading the journal). Failures while recording one operation fail that operation.
    #[error("the state backend failed while {during}")]
    State {
        during: &'static str,
        #[source]
        source: StateError,
    },
}

impl ExecError {
    pub(crate) fn state(during: &'static str) -> impl FnOnce(StateError) -> ExecError {
        move |source| ExecError::State { during, source }
    }
}
