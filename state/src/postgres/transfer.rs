//! [`Transfer`] for PostgreSQL: a workspace exported over the shared connection (the caller
//! holds the lock, so nothing writes meanwhile) and imported in one transaction on a connection
//! of its own, refusing a workspace that already holds a state.

use async_trait::async_trait;

use super::{Ctx, PgBackend, journal, rows, runs};
use crate::sqlite::journal::phase_str;
use crate::sqlite::resources::to_json;
use crate::sqlite::runs::outcome_str;
use crate::transfer::{JournalDump, StackDump, Transfer, not_empty};
use crate::{Backend, StateError};

#[async_trait]
impl Transfer for PgBackend {
    async fn export(&self) -> Result<StackDump, StateError> {
        let c = self.client().await?;
        let ctx = &self.ctx(&c);
        let snapshot = rows::read_snapshot(ctx).await?;
        let mut history = runs::read(ctx, true).await?;
        history.reverse();
        let journal = journal::all(ctx)
            .await?
            .into_iter()
            .map(|(record, close_note)| JournalDump { record, close_note })
            .collect();
        let (lineage, serial, resources, outputs) = match snapshot {
            Some(s) => (s.lineage, s.serial, s.resources, s.outputs),
            None => (String::new(), 0, Vec::new(), Vec::new()),
        };
        Ok(StackDump { lineage, serial, resources, outputs, runs: history, journal })
    }

    async fn import(&self, dump: &StackDump) -> Result<(), StateError> {
        let batch = rows::Batch::new(dump.resources.clone())?;
        let mut client = self.dedicated().await?;
        let display = self.describe();
        let s = self.target().quoted_schema();
        let ws = self.workspace().to_string();
        let err = |e: tokio_postgres::Error| super::connect::query_error(self.target(), "import the state", &e);
        let tx = client.transaction().await.map_err(err)?;
        // Serialises concurrent imports into this workspace.
        tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&format!("tarn-import:{s}:{ws}")])
            .await
            .map_err(err)?;
        let row = tx
            .query_one(
                &format!(
                    "SELECT COALESCE((SELECT serial FROM {s}.meta WHERE workspace = $1), 0), \
                       (SELECT COUNT(*) FROM {s}.resources WHERE workspace = $1) + (SELECT COUNT(*) FROM {s}.outputs WHERE workspace = $1) \
                     + (SELECT COUNT(*) FROM {s}.runs WHERE workspace = $1) + (SELECT COUNT(*) FROM {s}.journal WHERE workspace = $1)"
                ),
                &[&ws],
            )
            .await
            .map_err(err)?;
        let (serial, held): (i64, i64) = (row.get(0), row.get(1));
        if serial != 0 || held != 0 {
            return Err(not_empty(&display, serial, held));
        }
        tx.execute(
            &format!(
                "INSERT INTO {s}.meta (workspace, lineage, serial, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (workspace) DO UPDATE SET lineage = EXCLUDED.lineage, serial = EXCLUDED.serial"
            ),
            &[&ws, &dump.lineage, &dump.serial, &crate::clock::now_string()],
        )
        .await
        .map_err(err)?;
        for r in &dump.runs {
            tx.execute(
                &format!(
                    "INSERT INTO {s}.runs (workspace, id, command, holder, started_at, finished_at, outcome, summary, serial) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                ),
                &[
                    &ws,
                    &r.id,
                    &r.command,
                    &to_json("a run's holder", &r.holder)?,
                    &r.started_at,
                    &r.finished_at,
                    &outcome_str(r.outcome),
                    &to_json("a run's summary", &r.summary)?,
                    &r.serial,
                ],
            )
            .await
            .map_err(err)?;
        }
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {s}.journal (workspace, run_id, at, address, op, phase, correlation, detail, intent_seq, closed, close_note) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq"
            ))
            .await
            .map_err(err)?;
        let mut seqs = std::collections::HashMap::new();
        for j in &dump.journal {
            let e = &j.record.entry;
            let intent_seq = e.intent_seq.map(|s| seqs.get(&s).copied().unwrap_or(s));
            let row = tx
                .query_one(
                    &insert,
                    &[
                        &ws,
                        &e.run_id,
                        &j.record.at,
                        &e.address,
                        &e.op,
                        &phase_str(e.phase),
                        &e.correlation,
                        &to_json("a journal detail", &e.detail)?,
                        &intent_seq,
                        &j.record.closed,
                        &j.close_note,
                    ],
                )
                .await
                .map_err(err)?;
            seqs.insert(j.record.seq, row.get::<_, i64>(0));
        }
        {
            let tx_client: &tokio_postgres::Client = tx.client();
            let ctx = Ctx { client: tx_client, s: s.clone(), ws: &ws, target: self.target() };
            if !dump.resources.is_empty() {
                rows::put(&ctx, &batch).await?;
            }
            rows::set_outputs(&ctx, dump.outputs.clone()).await?;
        }
        tx.commit().await.map_err(err)
    }
}
