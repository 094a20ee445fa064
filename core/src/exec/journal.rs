//! Journal helpers: the intent written before every provider call and the outcome written
//! after it. Intent details carry planned attributes redacted of secrets (never in clear);
//! outcome details say "ok", "error" or "partial". This module must not decide anything.

use serde_json::json;
use tarn_sdk::{ProviderError, Value};
use tarn_state::{Backend, JournalEntry, JournalPhase, StateError};

/// What an intent records, beyond run, address and op.
pub(crate) struct IntentDetail<'a> {
    pub type_name: &'a str,
    pub provider: &'a str,
    pub attempt: u32,
    /// The value sent to the provider (planned, or the state for a delete); written redacted.
    pub value: &'a Value,
    pub correlation: Option<&'a str>,
    /// For a delete that puts an older object's row back (rollback of create_before_destroy):
    /// that object, so recovery can restore its row if the run dies in between.
    pub restores: Option<&'a Value>,
    /// The deposed key the op concerns: the key a create_before_destroy create sets the old
    /// object aside under, or the deposed object a delete removes or a rollback restores.
    pub deposed: Option<&'a str>,
    /// The addresses the object depends on, as its row will record them: recovery gives an
    /// adopted object's new row the same, so a later destroy still deletes it before what it
    /// uses (a server before its security group).
    pub dependencies: &'a [String],
}

pub(crate) async fn intent(
    backend: &dyn Backend,
    run_id: &str,
    address: &str,
    op: &str,
    d: IntentDetail<'_>,
) -> Result<i64, StateError> {
    backend
        .journal(JournalEntry {
            run_id: run_id.to_string(),
            address: address.to_string(),
            op: op.to_string(),
            phase: JournalPhase::Intent,
            correlation: d.correlation.map(str::to_string),
            detail: json!({
                "type": d.type_name,
                "provider": d.provider,
                "attempt": d.attempt,
                "planned": d.value.to_json_redacted(),
                "restores": d.restores.map(Value::to_json_redacted),
                "deposed": d.deposed,
                "dependencies": d.dependencies,
            }),
            intent_seq: None,
        })
        .await
}

/// The result of one provider call, as journaled.
pub(crate) enum Outcome<'a> {
    Ok,
    /// Failed; `retrying` when another attempt follows.
    Error {
        error: &'a ProviderError,
        retrying: bool,
    },
    /// The object exists but could not be finished; it was recorded in state.
    Partial {
        error: &'a ProviderError,
    },
    /// Not from a provider call: a panic or an executor failure, with its message.
    Aborted {
        message: &'a str,
    },
}

pub(crate) async fn outcome(
    backend: &dyn Backend,
    run_id: &str,
    address: &str,
    op: &str,
    intent_seq: Option<i64>,
    result: Outcome<'_>,
) -> Result<i64, StateError> {
    backend.journal(outcome_entry(run_id, address, op, intent_seq, result)).await
}

/// The journal entry of an outcome, for a backend call that writes it with something else.
pub(crate) fn outcome_entry(
    run_id: &str,
    address: &str,
    op: &str,
    intent_seq: Option<i64>,
    result: Outcome<'_>,
) -> JournalEntry {
    let detail = match result {
        Outcome::Ok => json!({"result": "ok"}),
        Outcome::Error { error, retrying } => json!({
            "result": "error",
            "class": error.class,
            "message": error.message,
            "retrying": retrying,
        }),
        Outcome::Partial { error } => json!({
            "result": "partial",
            "class": error.class,
            "message": error.message,
        }),
        Outcome::Aborted { message } => json!({"result": "aborted", "message": message}),
    };
    JournalEntry {
        run_id: run_id.to_string(),
        address: address.to_string(),
        op: op.to_string(),
        phase: JournalPhase::Outcome,
        correlation: None,
        detail,
        intent_seq,
    }
}
