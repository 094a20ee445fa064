//! [`Transfer`] for SQLite: a workspace exported in one read transaction, imported in one
//! write (the writer thread's savepoint), refusing a workspace that already holds a state.
//! The SQL of rows and outputs is reused from `resources`; runs and journal rows are copied
//! with their timestamps, outcomes and notes.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::resources::{self, EncodedRow, from_json, to_json};
use super::{Ctx, SqliteBackend};
use crate::transfer::{JournalDump, StackDump, Transfer, not_empty};

use crate::{JournalEntry, JournalRecord, LockHolder, RunRecord, StateError};

#[async_trait]
impl Transfer for SqliteBackend {
    async fn export(&self) -> Result<StackDump, StateError> {
        self.read(export).await
    }

    async fn import(&self, dump: &StackDump) -> Result<(), StateError> {
        let rows = dump.resources.iter().cloned().map(EncodedRow::new).collect::<Result<Vec<_>, _>>()?;
        let dump = dump.clone();
        let display = self.describe_plain();
        self.write(move |ctx| import(ctx, &dump, &rows, &display)).await
    }
}

impl SqliteBackend {
    fn describe_plain(&self) -> String {
        crate::Backend::describe(self)
    }
}

fn export(ctx: &mut Ctx<'_>) -> Result<StackDump, StateError> {
    let err = ctx.err("export the state");
    let ws = ctx.ws.to_string();
    // The caller holds the lock, so nothing writes between these reads.
    let snapshot = resources::read_snapshot(ctx)?;
    let tx = &*ctx.conn;
    type RawRun = (String, String, String, String, Option<String>, String, String, i64);
    let runs: Vec<RawRun> = tx
        .prepare("SELECT id, command, holder, started_at, finished_at, outcome, summary, serial FROM runs WHERE workspace = ?1 ORDER BY n")
        .and_then(|mut s| {
            s.query_map([&ws], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?)))?
                .collect()
        })
        .map_err(&err)?;
    type RawJournal =
        (i64, String, String, String, String, String, Option<String>, String, Option<i64>, bool, Option<String>);
    let journal: Vec<RawJournal> = tx
        .prepare(
            "SELECT seq, at, run_id, address, op, phase, correlation, detail, intent_seq, closed, close_note \
             FROM journal WHERE workspace = ?1 ORDER BY seq",
        )
        .and_then(|mut s| {
            s.query_map([&ws], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })?
            .collect()
        })
        .map_err(&err)?;
    let runs = runs
        .into_iter()
        .map(|(id, command, holder, started_at, finished_at, outcome, summary, serial)| {
            let what = || format!("run {id}");
            let holder: LockHolder = from_json(what, "holder", &holder)?;
            let summary = from_json(what, "summary", &summary)?;
            let outcome = super::runs::parse_outcome(&outcome)
                .ok_or_else(|| StateError::Corrupt { what: what(), detail: format!("unknown outcome `{outcome}`") })?;
            Ok(RunRecord { id, command, holder, started_at, finished_at, outcome, summary, serial })
        })
        .collect::<Result<Vec<_>, StateError>>()?;
    let journal = journal
        .into_iter()
        .map(|(seq, at, run_id, address, op, phase, correlation, detail, intent_seq, closed, close_note)| {
            let what = || format!("journal entry {seq} ({address})");
            let phase = super::journal::parse_phase(&phase)
                .ok_or_else(|| StateError::Corrupt { what: what(), detail: format!("unknown phase `{phase}`") })?;
            let detail = from_json(what, "detail", &detail)?;
            let entry = JournalEntry { run_id, address, op, phase, correlation, detail, intent_seq };
            Ok(JournalDump { record: JournalRecord { seq, at, entry, closed }, close_note })
        })
        .collect::<Result<Vec<_>, StateError>>()?;
    let (lineage, serial, resources, outputs) = match snapshot {
        Some(s) => (s.lineage, s.serial, s.resources, s.outputs),
        None => (String::new(), 0, Vec::new(), Vec::new()),
    };
    Ok(StackDump { lineage, serial, resources, outputs, runs, journal })
}

fn import(ctx: &mut Ctx<'_>, dump: &StackDump, rows: &[EncodedRow], display: &str) -> Result<(), StateError> {
    let err = ctx.err("import the state");
    let ws = ctx.ws.to_string();
    let (serial, rows_held): (i64, i64) = ctx
        .conn
        .query_row(
            "SELECT COALESCE((SELECT serial FROM meta WHERE workspace = ?1), 0), \
                    (SELECT COUNT(*) FROM resources WHERE workspace = ?1) + (SELECT COUNT(*) FROM outputs WHERE workspace = ?1) \
                  + (SELECT COUNT(*) FROM runs WHERE workspace = ?1) + (SELECT COUNT(*) FROM journal WHERE workspace = ?1)",
            [&ws],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(&err)?;
    if serial != 0 || rows_held != 0 {
        return Err(not_empty(display, serial, rows_held));
    }
    // A manual savepoint, so the shared helpers below can take the connection mutably; on any
    // error it is rolled back whole.
    ctx.conn.execute_batch("SAVEPOINT tarn_import").map_err(&err)?;
    match import_rows(ctx, dump, rows, display) {
        Ok(()) => ctx.conn.execute_batch("RELEASE tarn_import").map_err(&err),
        Err(e) => {
            let _ = ctx.conn.execute_batch("ROLLBACK TO tarn_import; RELEASE tarn_import");
            Err(e)
        }
    }
}

fn import_rows(ctx: &mut Ctx<'_>, dump: &StackDump, rows: &[EncodedRow], display: &str) -> Result<(), StateError> {
    let err = ctx.err("import the state");
    let ws = ctx.ws.to_string();
    let sp = &*ctx.conn;
    sp.execute(
        "INSERT OR REPLACE INTO meta (workspace, lineage, serial, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![ws, dump.lineage, dump.serial, crate::clock::now_string()],
    )
    .map_err(&err)?;
    for r in &dump.runs {
        sp.execute(
            "INSERT INTO runs (workspace, id, command, holder, started_at, finished_at, outcome, summary, serial) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                ws,
                r.id,
                r.command,
                to_json("a run's holder", &r.holder)?,
                r.started_at,
                r.finished_at,
                super::runs::outcome_str(r.outcome),
                to_json("a run's summary", &r.summary)?,
                r.serial
            ],
        )
        .map_err(&err)?;
    }
    let mut seqs = std::collections::HashMap::new();
    for j in &dump.journal {
        let e = &j.record.entry;
        let intent_seq = e.intent_seq.map(|s| seqs.get(&s).copied().unwrap_or(s));
        sp.execute(
            "INSERT INTO journal (workspace, run_id, at, address, op, phase, correlation, detail, intent_seq, closed, close_note) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                ws,
                e.run_id,
                j.record.at,
                e.address,
                e.op,
                super::journal::phase_str(e.phase),
                e.correlation,
                to_json("a journal detail", &e.detail)?,
                intent_seq,
                j.record.closed,
                j.close_note
            ],
        )
        .map_err(&err)?;
        seqs.insert(j.record.seq, sp.last_insert_rowid());
    }
    let exists: Option<i64> =
        sp.query_row("SELECT 1 FROM meta WHERE workspace = ?1", [&ws], |r| r.get(0)).optional().map_err(&err)?;
    if exists.is_none() {
        return Err(StateError::Storage(format!("import the state ({display}): the lineage was not written")));
    }
    resources::put(ctx, rows)?;
    resources::set_outputs(ctx, &dump.outputs)
}
