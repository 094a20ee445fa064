//! The journal: an intent row before every provider call, an outcome row after it.
//!
//! An outcome and the closing of its intent are one statement (a data-modifying CTE), so "open
//! intents" are exactly the calls whose result was never recorded. Outcome rows are stored as
//! closed. Rows are append-only except for `closed` and its note. It must not touch resource
//! rows, runs or the lock.

use tokio_postgres::Row;

use super::Ctx;
use crate::StateError;
use crate::clock;
use crate::model::*;
use crate::sqlite::journal::{parse_phase, phase_str};
use crate::sqlite::resources::{from_json, to_json};

pub async fn append(ctx: &Ctx<'_>, e: &JournalEntry) -> Result<i64, StateError> {
    let err = ctx.err(format!("journal the {} {} of {}", e.op, phase_str(e.phase), e.address));
    let detail = to_json("a journal detail", &e.detail)?;
    let outcome = e.phase == JournalPhase::Outcome;
    let s = &ctx.s;
    let sql = format!(
        "WITH closing AS (UPDATE {s}.journal SET closed = TRUE \
                          WHERE $10 AND workspace = $1 AND seq = $9 AND phase = 'intent' RETURNING seq) \
         INSERT INTO {s}.journal (workspace, run_id, at, address, op, phase, correlation, detail, intent_seq, closed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         RETURNING seq, (SELECT COUNT(*) FROM closing)"
    );
    let row = ctx
        .client
        .query_one(
            &sql,
            &[
                &ctx.ws,
                &e.run_id,
                &clock::now_string(),
                &e.address,
                &e.op,
                &phase_str(e.phase),
                &e.correlation,
                &detail,
                &e.intent_seq,
                &outcome,
            ],
        )
        .await
        .map_err(err)?;
    let (seq, closed): (i64, i64) = (row.get(0), row.get(1));
    if let (true, Some(intent), 0) = (outcome, e.intent_seq, closed) {
        // A bug in the caller, but refusing to record an outcome would lose more than it saves.
        tracing::warn!(seq, intent, address = %e.address, "journal outcome refers to an intent that does not exist");
    }
    Ok(seq)
}

const COLUMNS: &str = "seq, at, run_id, address, op, phase, correlation, detail, intent_seq, closed";

/// Intents of any run with no outcome and not closed by hand, oldest first.
pub async fn open_intents(ctx: &Ctx<'_>) -> Result<Vec<JournalRecord>, StateError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {}.journal WHERE workspace = $1 AND phase = 'intent' AND NOT closed ORDER BY seq",
        ctx.s
    );
    let rows = ctx.client.query(&sql, &[&ctx.ws]).await.map_err(ctx.err("read the open journal intents"))?;
    rows.iter().map(parse).collect()
}

/// Closing an unknown or already closed intent is a no-op, so recovery can be retried.
pub async fn close_intent(ctx: &Ctx<'_>, seq: i64, note: &str) -> Result<(), StateError> {
    ctx.client
        .execute(
            &format!(
                "UPDATE {}.journal SET closed = TRUE, close_note = $1 WHERE workspace = $2 AND seq = $3 AND phase = 'intent'",
                ctx.s
            ),
            &[&note, &ctx.ws, &seq],
        )
        .await
        .map_err(ctx.err(format!("close journal intent {seq}")))?;
    Ok(())
}

/// One run's entries in the order they were written.
pub async fn run_journal(ctx: &Ctx<'_>, run_id: &str) -> Result<Vec<JournalRecord>, StateError> {
    let sql = format!("SELECT {COLUMNS} FROM {}.journal WHERE workspace = $1 AND run_id = $2 ORDER BY seq", ctx.s);
    let rows = ctx
        .client
        .query(&sql, &[&ctx.ws, &run_id])
        .await
        .map_err(ctx.err(format!("read the journal of run {run_id}")))?;
    rows.iter().map(parse).collect()
}

/// Every entry of the workspace, in order (for copying a stack).
pub async fn all(ctx: &Ctx<'_>) -> Result<Vec<(JournalRecord, Option<String>)>, StateError> {
    let sql = format!("SELECT {COLUMNS}, close_note FROM {}.journal WHERE workspace = $1 ORDER BY seq", ctx.s);
    let rows = ctx.client.query(&sql, &[&ctx.ws]).await.map_err(ctx.err("read the journal"))?;
    rows.iter().map(|r| Ok((parse(r)?, r.get(10)))).collect()
}

pub(super) fn parse(r: &Row) -> Result<JournalRecord, StateError> {
    let (seq, address, phase, detail): (i64, String, String, String) = (r.get(0), r.get(3), r.get(5), r.get(7));
    let what = || format!("journal entry {seq} ({address})");
    let phase = parse_phase(&phase)
        .ok_or_else(|| StateError::Corrupt { what: what(), detail: format!("unknown phase `{phase}`") })?;
    let detail = from_json(what, "detail", &detail)?;
    Ok(JournalRecord {
        seq,
        at: r.get(1),
        entry: JournalEntry {
            run_id: r.get(2),
            address,
            op: r.get(4),
            phase,
            correlation: r.get(6),
            detail,
            intent_seq: r.get(8),
        },
        closed: r.get(9),
    })
}
