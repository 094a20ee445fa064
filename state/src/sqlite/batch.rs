//! Atomic batches of snapshot changes ([`crate::StateBatch`]): deletes, upserts, outputs,
//! lineage and serial under one savepoint, so the writer commits all of them or none.
//! It must not touch the journal, runs or the lock.

use rusqlite::params;

use super::Ctx;
use super::resources::{self, EncodedRow, ensure_meta, to_json};
use crate::StateError;

/// A batch with its JSON already encoded on the caller's thread.
pub struct EncodedBatch {
    pub delete: Vec<String>,
    pub put: Vec<EncodedRow>,
    /// Each output as (name, encoded value, sensitive).
    pub outputs: Option<Vec<(String, String, bool)>>,
    pub lineage: Option<String>,
    pub serial_at_least: Option<i64>,
}

impl EncodedBatch {
    pub fn new(batch: crate::StateBatch) -> Result<EncodedBatch, StateError> {
        let put = batch.put.into_iter().map(EncodedRow::new).collect::<Result<Vec<_>, _>>()?;
        let outputs = match batch.outputs {
            None => None,
            Some(outputs) => {
                let mut encoded = Vec::with_capacity(outputs.len());
                for o in outputs {
                    let value = to_json(&format!("output {}", o.name), &o.value)?;
                    encoded.push((o.name, value, o.sensitive));
                }
                Some(encoded)
            }
        };
        Ok(EncodedBatch {
            delete: batch.delete,
            put,
            outputs,
            lineage: batch.lineage,
            serial_at_least: batch.serial_at_least,
        })
    }
}

/// Runs the batch inside a named savepoint: on any error everything it did is rolled back
/// before the error is returned, so the rest of the writer's group is unaffected.
pub fn apply(ctx: &mut Ctx<'_>, batch: &EncodedBatch) -> Result<(), StateError> {
    ensure_meta(ctx)?;
    let err = ctx.err("apply a batch of state changes");
    ctx.conn.execute_batch("SAVEPOINT tarn_batch").map_err(&err)?;
    match apply_inside(ctx, batch) {
        Ok(()) => ctx.conn.execute_batch("RELEASE tarn_batch").map_err(&err),
        Err(e) => {
            if let Err(rollback) = ctx.conn.execute_batch("ROLLBACK TO tarn_batch; RELEASE tarn_batch") {
                tracing::warn!(error = %rollback, "could not roll back a failed state batch");
            }
            Err(e)
        }
    }
}

fn apply_inside(ctx: &mut Ctx<'_>, batch: &EncodedBatch) -> Result<(), StateError> {
    for address in &batch.delete {
        // The current object's row; deposed objects of the address are left alone.
        resources::delete(ctx, address, "")?;
    }
    if !batch.put.is_empty() {
        resources::put(ctx, &batch.put)?;
    }
    if let Some(outputs) = &batch.outputs {
        let err = ctx.err("replace the outputs");
        ctx.conn.execute("DELETE FROM outputs WHERE workspace = ?1", [ctx.ws]).map_err(&err)?;
        for (name, value, sensitive) in outputs {
            ctx.conn
                .execute(
                    "INSERT INTO outputs (workspace, name, value, sensitive) VALUES (?1, ?2, ?3, ?4)",
                    params![ctx.ws, name, value, sensitive],
                )
                .map_err(&err)?;
        }
    }
    if let Some(lineage) = &batch.lineage {
        ctx.conn
            .execute("UPDATE meta SET lineage = ?1 WHERE workspace = ?2", params![lineage, ctx.ws])
            .map_err(ctx.err("set the state lineage"))?;
    }
    if let Some(serial) = batch.serial_at_least {
        ctx.conn
            .execute("UPDATE meta SET serial = MAX(serial, ?1) WHERE workspace = ?2", params![serial, ctx.ws])
            .map_err(ctx.err("raise the state serial"))?;
    }
    Ok(())
}
