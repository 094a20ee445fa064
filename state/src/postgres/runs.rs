//! Run history: one row per run that may change state, and the serial bump that starts it —
//! one statement, so no run is recorded without its serial and no serial is taken twice.
//!
//! A run still `running` whose holder process is gone (same host, dead pid) is reported by
//! [`history`] as `interrupted`, and persisted as such by the next [`begin`]. It must not touch
//! resource rows, the journal or the lock. The one exception is [`prune`] (bounded retention):
//! it removes old finished runs with their journal entries, never a run with an open intent,
//! which crash recovery still reads.

use super::Ctx;
use super::rows::ensure_meta;
use crate::StateError;
use crate::clock;
use crate::liveness::holder_is_dead;
use crate::model::*;
use crate::sqlite::resources::{from_json, to_json};
use crate::sqlite::runs::{outcome_str, parse_outcome};

pub async fn begin(ctx: &Ctx<'_>, run: RunStart) -> Result<String, StateError> {
    ensure_meta(ctx).await?;
    let err = ctx.err(format!("start the {} run", run.command));
    let s = &ctx.s;
    let running = ctx
        .client
        .query(&format!("SELECT id, holder FROM {s}.runs WHERE workspace = $1 AND outcome = 'running'"), &[&ctx.ws])
        .await
        .map_err(&err)?;
    for row in running {
        let (old_id, old_holder): (String, String) = (row.get(0), row.get(1));
        // An unreadable holder is left alone here; history() reports it as corrupt.
        let dead = serde_json::from_str::<LockHolder>(&old_holder).map(|h| holder_is_dead(&h)).unwrap_or(false);
        if dead {
            ctx.client
                .execute(
                    &format!("UPDATE {s}.runs SET outcome = 'interrupted' WHERE id = $1 AND outcome = 'running'"),
                    &[&old_id],
                )
                .await
                .map_err(&err)?;
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    let holder = to_json("the run's holder", &run.holder)?;
    let summary = to_json("the run's summary", &run.summary)?;
    let sql = format!(
        "WITH bump AS (UPDATE {s}.meta SET serial = serial + 1 WHERE workspace = $1 RETURNING serial) \
         INSERT INTO {s}.runs (workspace, id, command, holder, started_at, finished_at, outcome, summary, serial) \
         SELECT $1, $2, $3, $4, $5, NULL, 'running', $6, serial FROM bump RETURNING serial"
    );
    let inserted = ctx
        .client
        .query_opt(&sql, &[&ctx.ws, &id, &run.command, &holder, &clock::now_string(), &summary])
        .await
        .map_err(&err)?;
    if inserted.is_none() {
        return Err(StateError::Storage(format!(
            "start the {} run ({}): the state lineage vanished",
            run.command, ctx.target.display
        )));
    }
    Ok(id)
}

pub async fn finish(
    ctx: &Ctx<'_>,
    run_id: &str,
    outcome: RunOutcome,
    summary: &serde_json::Value,
) -> Result<(), StateError> {
    let summary = to_json("the run's summary", summary)?;
    let changed = ctx
        .client
        .execute(
            &format!(
                "UPDATE {}.runs SET outcome = $1, summary = $2, finished_at = $3 WHERE workspace = $4 AND id = $5",
                ctx.s
            ),
            &[&outcome_str(outcome), &summary, &clock::now_string(), &ctx.ws, &run_id],
        )
        .await
        .map_err(ctx.err(format!("finish run {run_id}")))?;
    if changed == 0 {
        return Err(StateError::Storage(format!(
            "finish run {run_id} ({}): no such run in this workspace",
            ctx.target.display
        )));
    }
    Ok(())
}

/// Removes the runs beyond the newest `keep` and their journal entries, in one statement;
/// answers how many runs went (see `Backend::prune_history`).
pub async fn prune(ctx: &Ctx<'_>, keep: usize) -> Result<usize, StateError> {
    let s = &ctx.s;
    let keep = i64::try_from(keep).unwrap_or(i64::MAX);
    let sql = format!(
        "WITH doomed AS (SELECT id FROM {s}.runs WHERE workspace = $1 AND outcome <> 'running' \
           AND n NOT IN (SELECT n FROM {s}.runs WHERE workspace = $1 ORDER BY n DESC LIMIT $2) \
           AND id NOT IN (SELECT run_id FROM {s}.journal WHERE workspace = $1 AND phase = 'intent' AND NOT closed)), \
         journal AS (DELETE FROM {s}.journal WHERE workspace = $1 AND run_id IN (SELECT id FROM doomed)) \
         DELETE FROM {s}.runs WHERE workspace = $1 AND id IN (SELECT id FROM doomed)"
    );
    let gone = ctx.client.execute(&sql, &[&ctx.ws, &keep]).await.map_err(ctx.err("prune the run history"))?;
    Ok(usize::try_from(gone).unwrap_or(usize::MAX))
}

/// Newest first. `raw` keeps `running` as stored (for copying a stack).
pub async fn read(ctx: &Ctx<'_>, raw: bool) -> Result<Vec<RunRecord>, StateError> {
    let rows = ctx
        .client
        .query(
            &format!(
                "SELECT id, command, holder, started_at, finished_at, outcome, summary, serial \
                 FROM {}.runs WHERE workspace = $1 ORDER BY n DESC",
                ctx.s
            ),
            &[&ctx.ws],
        )
        .await
        .map_err(ctx.err("read the run history"))?;
    rows.iter()
        .map(|r| {
            let (id, holder, outcome, summary): (String, String, String, String) =
                (r.get(0), r.get(2), r.get(5), r.get(6));
            let what = || format!("run {id}");
            let holder: LockHolder = from_json(what, "holder", &holder)?;
            let summary = from_json(what, "summary", &summary)?;
            let mut outcome = parse_outcome(&outcome)
                .ok_or_else(|| StateError::Corrupt { what: what(), detail: format!("unknown outcome `{outcome}`") })?;
            if !raw && outcome == RunOutcome::Running && holder_is_dead(&holder) {
                outcome = RunOutcome::Interrupted;
            }
            Ok(RunRecord {
                id,
                command: r.get(1),
                holder,
                started_at: r.get(3),
                finished_at: r.get(4),
                outcome,
                summary,
                serial: r.get(7),
            })
        })
        .collect()
}

pub async fn history(ctx: &Ctx<'_>) -> Result<Vec<RunRecord>, StateError> {
    read(ctx, false).await
}
