//! Run history: one row per run that may change state, and the serial bump that starts it.
//!
//! A run still `running` whose holder process is gone (same host, dead pid) is reported by
//! [`history`] as `interrupted`, and persisted as such by the next [`begin`]. It must not touch
//! resource rows, the journal or the lock. The one exception is [`prune`] (bounded retention):
//! it removes old finished runs with their journal entries, never a run with an open intent,
//! which crash recovery still reads.

use rusqlite::params;

use super::Ctx;
use super::resources::{ensure_meta, from_json, to_json};
use crate::StateError;
use crate::clock;
use crate::liveness::holder_is_dead;
use crate::model::*;

pub(crate) fn outcome_str(o: RunOutcome) -> &'static str {
    match o {
        RunOutcome::Running => "running",
        RunOutcome::Success => "success",
        RunOutcome::RolledBack => "rolled_back",
        RunOutcome::RollbackIncomplete => "rollback_incomplete",
        RunOutcome::Halted => "halted",
        RunOutcome::Failed => "failed",
        RunOutcome::Interrupted => "interrupted",
    }
}

pub(crate) fn parse_outcome(s: &str) -> Option<RunOutcome> {
    Some(match s {
        "running" => RunOutcome::Running,
        "success" => RunOutcome::Success,
        "rolled_back" => RunOutcome::RolledBack,
        "rollback_incomplete" => RunOutcome::RollbackIncomplete,
        "halted" => RunOutcome::Halted,
        "failed" => RunOutcome::Failed,
        "interrupted" => RunOutcome::Interrupted,
        _ => return None,
    })
}

/// Bumps the serial, records the run as `running`, and marks runs of dead local holders as
/// `interrupted` — all in one transaction.
pub fn begin(ctx: &mut Ctx<'_>, run: RunStart) -> Result<String, StateError> {
    ensure_meta(ctx)?;
    let err = ctx.err(format!("start the {} run", run.command));
    let id = uuid::Uuid::new_v4().to_string();
    let holder = to_json("the run's holder", &run.holder)?;
    let summary = to_json("the run's summary", &run.summary)?;
    let tx = ctx.conn.savepoint().map_err(&err)?;
    let serial: i64 = tx
        .query_row("UPDATE meta SET serial = serial + 1 WHERE workspace = ?1 RETURNING serial", [ctx.ws], |r| r.get(0))
        .map_err(&err)?;
    let running: Vec<(String, String)> = {
        let mut stmt = tx
            .prepare_cached("SELECT id, holder FROM runs WHERE workspace = ?1 AND outcome = 'running'")
            .map_err(&err)?;
        stmt.query_map([ctx.ws], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&err)?
    };
    for (old_id, old_holder) in running {
        // An unreadable holder is left alone here; history() reports it as corrupt.
        let dead = serde_json::from_str::<LockHolder>(&old_holder).map(|h| holder_is_dead(&h)).unwrap_or(false);
        if dead {
            tx.execute("UPDATE runs SET outcome = 'interrupted' WHERE id = ?1", [&old_id]).map_err(&err)?;
        }
    }
    tx.execute(
        "INSERT INTO runs (workspace, id, command, holder, started_at, finished_at, outcome, summary, serial) \
         VALUES (?1, ?2, ?3, ?4, ?5, NULL, 'running', ?6, ?7)",
        params![ctx.ws, id, run.command, holder, clock::now_string(), summary, serial],
    )
    .map_err(&err)?;
    tx.commit().map_err(&err)?;
    Ok(id)
}

pub fn finish(
    ctx: &mut Ctx<'_>,
    run_id: &str,
    outcome: RunOutcome,
    summary: &serde_json::Value,
) -> Result<(), StateError> {
    let summary = to_json("the run's summary", summary)?;
    let changed = ctx
        .conn
        .execute(
            "UPDATE runs SET outcome = ?1, summary = ?2, finished_at = ?3 WHERE workspace = ?4 AND id = ?5",
            params![outcome_str(outcome), summary, clock::now_string(), ctx.ws, run_id],
        )
        .map_err(ctx.err(format!("finish run {run_id}")))?;
    if changed == 0 {
        return Err(StateError::Storage(format!(
            "finish run {run_id} ({}): no such run in this workspace",
            ctx.display()
        )));
    }
    Ok(())
}

/// The runs [`prune`] removes: finished, older than the newest `?2`, no open journal intent.
const PRUNED: &str = "SELECT id FROM runs WHERE workspace = ?1 AND outcome <> 'running' \
     AND n NOT IN (SELECT n FROM runs WHERE workspace = ?1 ORDER BY n DESC LIMIT ?2) \
     AND id NOT IN (SELECT run_id FROM journal WHERE workspace = ?1 AND phase = 'intent' AND closed = 0)";

/// Removes the runs beyond the newest `keep` and their journal entries, in one transaction;
/// answers how many runs went (see `Backend::prune_history`).
pub fn prune(ctx: &mut Ctx<'_>, keep: usize) -> Result<usize, StateError> {
    let err = ctx.err("prune the run history");
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let tx = ctx.conn.savepoint().map_err(&err)?;
    tx.execute(&format!("DELETE FROM journal WHERE workspace = ?1 AND run_id IN ({PRUNED})"), params![ctx.ws, keep])
        .map_err(&err)?;
    let gone = tx
        .execute(&format!("DELETE FROM runs WHERE workspace = ?1 AND id IN ({PRUNED})"), params![ctx.ws, keep])
        .map_err(&err)?;
    tx.commit().map_err(&err)?;
    Ok(gone)
}

/// Newest first.
pub fn history(ctx: &mut Ctx<'_>) -> Result<Vec<RunRecord>, StateError> {
    type Raw = (String, String, String, String, Option<String>, String, String, i64);
    let err = ctx.err("read the run history");
    let raw: Vec<Raw> = ctx
        .conn
        .prepare_cached(
            "SELECT id, command, holder, started_at, finished_at, outcome, summary, serial \
             FROM runs WHERE workspace = ?1 ORDER BY n DESC",
        )
        .and_then(|mut stmt| {
            stmt.query_map([ctx.ws], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
            })?
            .collect()
        })
        .map_err(&err)?;
    raw.into_iter()
        .map(|(id, command, holder, started_at, finished_at, outcome, summary, serial)| {
            let what = || format!("run {id}");
            let holder: LockHolder = from_json(what, "holder", &holder)?;
            let summary = from_json(what, "summary", &summary)?;
            let mut outcome = parse_outcome(&outcome)
                .ok_or_else(|| StateError::Corrupt { what: what(), detail: format!("unknown outcome `{outcome}`") })?;
            if outcome == RunOutcome::Running && holder_is_dead(&holder) {
                outcome = RunOutcome::Interrupted;
            }
            Ok(RunRecord { id, command, holder, started_at, finished_at, outcome, summary, serial })
        })
        .collect()
}
