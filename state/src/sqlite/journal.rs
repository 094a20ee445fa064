//! The journal: an intent row before every provider call, an outcome row after it.
//!
//! An outcome closes its intent in the same transaction, so "open intents" are exactly the
//! calls whose result was never recorded — what an interrupted run may have left behind.
//! Outcome rows are stored as closed (they never need attention). Rows are append-only except
//! for the `closed` flag and its note. It must not touch resource rows, runs or the lock.

use rusqlite::params;

use super::Ctx;
use super::resources::{from_json, to_json};
use crate::StateError;
use crate::clock;
use crate::model::*;

pub(crate) fn phase_str(p: JournalPhase) -> &'static str {
    match p {
        JournalPhase::Intent => "intent",
        JournalPhase::Outcome => "outcome",
    }
}

pub(crate) fn parse_phase(s: &str) -> Option<JournalPhase> {
    match s {
        "intent" => Some(JournalPhase::Intent),
        "outcome" => Some(JournalPhase::Outcome),
        _ => None,
    }
}

pub fn append(ctx: &mut Ctx<'_>, e: &JournalEntry) -> Result<i64, StateError> {
    let err = ctx.err(format!("journal the {} {} of {}", e.op, phase_str(e.phase), e.address));
    let detail = to_json("a journal detail", &e.detail)?;
    let closed = e.phase == JournalPhase::Outcome;
    let tx = ctx.conn.savepoint().map_err(&err)?;
    tx.prepare_cached(
        "INSERT INTO journal (workspace, run_id, at, address, op, phase, correlation, detail, intent_seq, closed) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            ctx.ws,
            e.run_id,
            clock::now_string(),
            e.address,
            e.op,
            phase_str(e.phase),
            e.correlation,
            detail,
            e.intent_seq,
            closed
        ])
    })
    .map_err(&err)?;
    let seq = tx.last_insert_rowid();
    if let (JournalPhase::Outcome, Some(intent)) = (e.phase, e.intent_seq) {
        let n = tx
            .prepare_cached("UPDATE journal SET closed = 1 WHERE workspace = ?1 AND seq = ?2 AND phase = 'intent'")
            .and_then(|mut s| s.execute(params![ctx.ws, intent]))
            .map_err(&err)?;
        if n == 0 {
            // A bug in the caller, but refusing to record an outcome would lose more than it saves.
            tracing::warn!(seq, intent, address = %e.address, "journal outcome refers to an intent that does not exist");
        }
    }
    tx.commit().map_err(&err)?;
    Ok(seq)
}

const COLUMNS: &str = "seq, at, run_id, address, op, phase, correlation, detail, intent_seq, closed";

/// Intents of any run with no outcome and not closed by hand, oldest first.
pub fn open_intents(ctx: &mut Ctx<'_>) -> Result<Vec<JournalRecord>, StateError> {
    let sql =
        format!("SELECT {COLUMNS} FROM journal WHERE workspace = ?1 AND phase = 'intent' AND closed = 0 ORDER BY seq");
    select(ctx, "read the open journal intents", &sql, [ctx.ws])
}

/// Closing an unknown or already closed intent is a no-op, so recovery can be retried.
pub fn close_intent(ctx: &mut Ctx<'_>, seq: i64, note: &str) -> Result<(), StateError> {
    ctx.conn
        .prepare_cached(
            "UPDATE journal SET closed = 1, close_note = ?1 WHERE workspace = ?2 AND seq = ?3 AND phase = 'intent'",
        )
        .and_then(|mut s| s.execute(params![note, ctx.ws, seq]))
        .map_err(ctx.err(format!("close journal intent {seq}")))?;
    Ok(())
}

/// One run's entries in the order they were written.
pub fn run_journal(ctx: &mut Ctx<'_>, run_id: &str) -> Result<Vec<JournalRecord>, StateError> {
    let sql = format!("SELECT {COLUMNS} FROM journal WHERE workspace = ?1 AND run_id = ?2 ORDER BY seq");
    select(ctx, &format!("read the journal of run {run_id}"), &sql, params![ctx.ws, run_id])
}

type Raw = (i64, String, String, String, String, String, Option<String>, String, Option<i64>, bool);

fn select(ctx: &Ctx<'_>, op: &str, sql: &str, params: impl rusqlite::Params) -> Result<Vec<JournalRecord>, StateError> {
    let raw: Vec<Raw> =
        ctx.conn.prepare_cached(sql).and_then(|mut s| s.query_map(params, read_row)?.collect()).map_err(ctx.err(op))?;
    raw.into_iter().map(parse).collect()
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?))
}

fn parse(raw: Raw) -> Result<JournalRecord, StateError> {
    let (seq, at, run_id, address, op, phase, correlation, detail, intent_seq, closed) = raw;
    let what = || format!("journal entry {seq} ({address})");
    let phase = parse_phase(&phase)
        .ok_or_else(|| StateError::Corrupt { what: what(), detail: format!("unknown phase `{phase}`") })?;
    let detail = from_json(what, "detail", &detail)?;
    Ok(JournalRecord {
        seq,
        at,
        entry: JournalEntry { run_id, address, op, phase, correlation, detail, intent_seq },
        closed,
    })
}
