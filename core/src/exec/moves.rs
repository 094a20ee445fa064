//! `moved {}` blocks in the state: the planner re-keys prior objects in memory only, so apply
//! must re-key their rows before any operation runs, or the state keeps the old address, the
//! move is lost, and the next plan destroys the object under its old name. A move touches no
//! provider: it renames one row. It is journaled (intent, then outcome) so that a run killed
//! between writing the new row and removing the old one is finished by [`recover_move`]
//! instead of leaving two rows for one object. Must not call providers or decide actions.

use super::error::ExecError;
use super::journal::{self, Outcome};
use crate::plan::{ChangeReason, Plan};
use serde_json::json;
use std::collections::HashMap;
use tarn_state::{Backend, JournalEntry, JournalPhase, ResourceRecord};

pub const OP: &str = "move";

/// Renames the row of every planned change that a `moved {}` block re-keyed, in `rows` (the
/// snapshot the apply works from) and in the backend.
pub async fn persist(
    plan: &Plan,
    backend: &dyn Backend,
    run_id: &str,
    rows: &mut HashMap<String, ResourceRecord>,
) -> Result<(), ExecError> {
    for change in &plan.changes {
        let Some(from) = change.reasons.iter().find_map(|r| match r {
            ChangeReason::Moved { from } => Some(from.clone()),
            _ => None,
        }) else {
            continue;
        };
        let to = change.address.to_string();
        // Already moved (a saved plan applied twice is refused earlier; be idempotent anyway),
        // or the planner kept both because the target was taken.
        if !rows.contains_key(&from) || rows.contains_key(&to) {
            continue;
        }
        let seq = backend
            .journal(JournalEntry {
                run_id: run_id.to_string(),
                address: to.clone(),
                op: OP.to_string(),
                phase: JournalPhase::Intent,
                correlation: None,
                detail: json!({ "from": from }),
                intent_seq: None,
            })
            .await
            .map_err(ExecError::state("journaling a move"))?;
        rename(backend, rows, &from, &to).await.map_err(ExecError::state("moving a state row"))?;
        journal::outcome(backend, run_id, &to, OP, Some(seq), Outcome::Ok)
            .await
            .map_err(ExecError::state("journaling a move"))?;
    }
    Ok(())
}

/// Finishes a move a killed run left half done: the new row first, then the old one removed.
/// Returns whether anything had to be done.
pub async fn recover_move(
    backend: &dyn Backend,
    to: &str,
    detail: &serde_json::Value,
    rows: &mut HashMap<String, ResourceRecord>,
) -> Result<bool, String> {
    let from = detail.get("from").and_then(|f| f.as_str()).ok_or("the move intent names no source address")?;
    if !rows.contains_key(from) {
        return Ok(false);
    }
    if rows.contains_key(to) {
        // Killed after the new row was written: only the old one is left to remove.
        backend.delete_resource(from).await.map_err(|e| format!("removing the old row failed: {e}"))?;
        rows.remove(from);
        return Ok(true);
    }
    rename(backend, rows, from, to).await.map_err(|e| format!("moving the row failed: {e}"))?;
    Ok(true)
}

/// New row first, then the old one removed: a kill in between leaves two rows, which the
/// open intent lets recovery resolve, never zero.
async fn rename(
    backend: &dyn Backend,
    rows: &mut HashMap<String, ResourceRecord>,
    from: &str,
    to: &str,
) -> Result<(), tarn_state::StateError> {
    let Some(mut record) = rows.get(from).cloned() else { return Ok(()) };
    record.address = to.to_string();
    backend.put_resource(record.clone()).await?;
    backend.delete_resource(from).await?;
    rows.remove(from);
    rows.insert(to.to_string(), record);
    Ok(())
}
