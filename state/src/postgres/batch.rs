//! Atomic batches of snapshot changes ([`crate::StateBatch`]) as one statement: data-modifying
//! CTEs create or update the lineage and serial, delete current rows, upsert rows and replace
//! the outputs, so PostgreSQL commits all of them or none and concurrent callers keep sharing
//! the connection without a transaction. It must not touch the journal, runs or the lock.
//!
//! Sub-statements of one statement see the same snapshot and must not touch a row twice, so a
//! delete of an address the batch also writes (its current object) is left to the upsert,
//! which replaces that row anyway: the result is the SQLite backend's delete-then-put.

use super::Ctx;
use super::rows::{Batch, OutputColumns};
use crate::model::*;
use crate::{StateError, clock};

/// A batch with its JSON encoded, ready to bind.
pub struct EncodedBatch {
    /// Addresses whose current object goes, minus those the batch writes again.
    delete: Vec<String>,
    rows: Batch,
    /// Outputs, deduplicated by name (the last wins), when the batch replaces them.
    outputs: Option<OutputColumns>,
    lineage: Option<String>,
    serial_at_least: Option<i64>,
}

impl EncodedBatch {
    pub fn new(batch: StateBatch) -> Result<EncodedBatch, StateError> {
        let rewritten: std::collections::HashSet<String> =
            batch.put.iter().filter(|r| r.deposed.is_none()).map(|r| r.address.clone()).collect();
        let mut delete: Vec<String> = batch.delete.into_iter().filter(|a| !rewritten.contains(a)).collect();
        delete.sort();
        delete.dedup();
        let rows = Batch::new(batch.put)?;
        let outputs = batch.outputs.map(OutputColumns::new).transpose()?;
        Ok(EncodedBatch { delete, rows, outputs, lineage: batch.lineage, serial_at_least: batch.serial_at_least })
    }
}

/// Applies the batch in one statement (atomic on its own).
pub async fn apply(ctx: &Ctx<'_>, b: &EncodedBatch) -> Result<(), StateError> {
    let s = &ctx.s;
    // The meta row is created when missing (a fresh lineage unless the batch names one); the
    // serial is only ever raised.
    let sql = format!(
        "WITH meta_up AS ( \
           INSERT INTO {s}.meta AS m (workspace, lineage, serial, created_at) \
           VALUES ($1, COALESCE($2::text, $3::text), GREATEST(COALESCE($4::int8, 0), 0), $5) \
           ON CONFLICT (workspace) DO UPDATE SET lineage = COALESCE($2::text, m.lineage), \
             serial = GREATEST(m.serial, COALESCE($4::int8, m.serial)) \
           RETURNING 1), \
         del AS ( \
           DELETE FROM {s}.resources WHERE workspace = $1 AND deposed = '' AND address = ANY($6::text[]) RETURNING 1), \
         put AS ( \
           INSERT INTO {s}.resources (workspace, address, deposed, mode, type_name, provider, attributes, sensitive_paths, \
             dependencies, correlation, schema_version, updated_at) \
           SELECT $1, a, d, md, t, p, at, sp, dp, c, v, $5 \
           FROM UNNEST($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], \
                       $14::text[], $15::text[], $16::int8[]) AS x(a, d, md, t, p, at, sp, dp, c, v) \
           ON CONFLICT (workspace, address, deposed) DO UPDATE SET mode = EXCLUDED.mode, type_name = EXCLUDED.type_name, \
             provider = EXCLUDED.provider, attributes = EXCLUDED.attributes, sensitive_paths = EXCLUDED.sensitive_paths, \
             dependencies = EXCLUDED.dependencies, correlation = EXCLUDED.correlation, \
             schema_version = EXCLUDED.schema_version, updated_at = EXCLUDED.updated_at \
           RETURNING 1), \
         gone AS ( \
           DELETE FROM {s}.outputs WHERE $17::bool AND workspace = $1 AND NOT (name = ANY($18::text[])) RETURNING 1), \
         outs AS ( \
           INSERT INTO {s}.outputs (workspace, name, value, sensitive) \
           SELECT $1, n, val, x FROM UNNEST($18::text[], $19::text[], $20::bool[]) AS u(n, val, x) WHERE $17::bool \
           ON CONFLICT (workspace, name) DO UPDATE SET value = EXCLUDED.value, sensitive = EXCLUDED.sensitive \
           RETURNING 1) \
         SELECT (SELECT COUNT(*) FROM meta_up) + (SELECT COUNT(*) FROM del) + (SELECT COUNT(*) FROM put) \
              + (SELECT COUNT(*) FROM gone) + (SELECT COUNT(*) FROM outs)"
    );
    let fresh_lineage = uuid::Uuid::new_v4().to_string();
    let replace_outputs = b.outputs.is_some();
    let empty = OutputColumns { names: Vec::new(), values: Vec::new(), sensitive: Vec::new() };
    let OutputColumns { names, values, sensitive } = b.outputs.as_ref().unwrap_or(&empty);
    let r = &b.rows;
    ctx.client
        .query_one(
            &sql,
            &[
                &ctx.ws,
                &b.lineage,
                &fresh_lineage,
                &b.serial_at_least,
                &clock::now_string(),
                &b.delete,
                &r.address,
                &r.deposed,
                &r.mode,
                &r.type_name,
                &r.provider,
                &r.attributes,
                &r.sensitive_paths,
                &r.dependencies,
                &r.correlation,
                &r.schema_version,
                &replace_outputs,
                names,
                values,
                sensitive,
            ],
        )
        .await
        .map_err(ctx.err("apply a batch of state changes"))?;
    Ok(())
}
