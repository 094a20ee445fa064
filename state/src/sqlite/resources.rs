//! The snapshot: lineage and serial (`meta`), one row per resource instance (plus one per
//! deposed object, keyed by its deposed key; `''` in the `deposed` column is the current
//! object), and outputs.
//!
//! Rows are upserted and deleted one at a time (or in a caller-given batch), never rewritten
//! wholesale. JSON columns are parsed on read; a row that does not parse is reported as
//! [`StateError::Corrupt`] naming its address. It must not touch the journal, runs or lock.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::Ctx;
use crate::StateError;
use crate::clock;
use crate::model::*;

/// Serialises a value we built ourselves; this fails only on a bug (e.g. a non-string map key).
pub(crate) fn to_json<T: Serialize + ?Sized>(what: &str, value: &T) -> Result<String, StateError> {
    serde_json::to_string(value).map_err(|e| StateError::Storage(format!("encode {what} as JSON: {e}")))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(
    what: impl Fn() -> String,
    field: &str,
    text: &str,
) -> Result<T, StateError> {
    serde_json::from_str(text)
        .map_err(|e| StateError::Corrupt { what: what(), detail: format!("{field} is not valid JSON: {e}") })
}

/// Creates the workspace's lineage on first use; returns (lineage, serial). A write.
pub(super) fn ensure_meta(ctx: &mut Ctx<'_>) -> Result<(String, i64), StateError> {
    let err = ctx.err("read the state lineage");
    let existing = read_meta(ctx).map_err(&err)?;
    if let Some(meta) = existing {
        return Ok(meta);
    }
    let lineage = uuid::Uuid::new_v4().to_string();
    ctx.conn
        .prepare_cached("INSERT OR IGNORE INTO meta (workspace, lineage, serial, created_at) VALUES (?1, ?2, 0, ?3)")
        .and_then(|mut s| s.execute(params![ctx.ws, lineage, clock::now_string()]))
        .map_err(ctx.err("create the state lineage"))?;
    // Another process may have won the race: whatever is stored now is the lineage.
    read_meta(ctx)
        .map_err(&err)?
        .ok_or_else(|| StateError::Storage(format!("the state lineage vanished from {}", ctx.display())))
}

fn read_meta(ctx: &Ctx<'_>) -> rusqlite::Result<Option<(String, i64)>> {
    ctx.conn
        .prepare_cached("SELECT lineage, serial FROM meta WHERE workspace = ?1")?
        .query_row([ctx.ws], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
}

/// The snapshot, or `None` before the workspace's lineage exists (see [`ensure_meta`]).
pub fn read_snapshot(ctx: &mut Ctx<'_>) -> Result<Option<Snapshot>, StateError> {
    let err = ctx.err("read the state snapshot");
    // One read transaction, so a concurrent writer cannot give us a torn snapshot.
    let tx = ctx.conn.transaction().map_err(&err)?;
    let meta: Option<(String, i64)> = tx
        .query_row("SELECT lineage, serial FROM meta WHERE workspace = ?1", [ctx.ws], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(&err)?;
    let Some((lineage, serial)) = meta else { return Ok(None) };
    let raw: Vec<RawResource> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT address, mode, type_name, provider, attributes, sensitive_paths, dependencies, correlation, schema_version, \
                 deposed FROM resources WHERE workspace = ?1 ORDER BY address, deposed",
            )
            .map_err(&err)?;
        stmt.query_map([ctx.ws], |r| {
            Ok(RawResource {
                address: r.get(0)?,
                mode: r.get(1)?,
                type_name: r.get(2)?,
                provider: r.get(3)?,
                attributes: r.get(4)?,
                sensitive_paths: r.get(5)?,
                dependencies: r.get(6)?,
                correlation: r.get(7)?,
                schema_version: r.get(8)?,
                deposed: r.get(9)?,
            })
        })
        .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
        .map_err(&err)?
    };
    let raw_outputs: Vec<(String, String, bool)> = {
        let mut stmt = tx
            .prepare_cached("SELECT name, value, sensitive FROM outputs WHERE workspace = ?1 ORDER BY name")
            .map_err(&err)?;
        stmt.query_map([ctx.ws], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(&err)?
    };
    tx.commit().map_err(&err)?;

    let resources = raw.into_iter().map(RawResource::parse).collect::<Result<Vec<_>, _>>()?;
    let outputs = raw_outputs
        .into_iter()
        .map(|(name, value, sensitive)| {
            let value = from_json(|| format!("output {name}"), "value", &value)?;
            Ok(OutputRecord { name, value, sensitive })
        })
        .collect::<Result<Vec<_>, StateError>>()?;
    Ok(Some(Snapshot { lineage, serial, resources, outputs }))
}

struct RawResource {
    address: String,
    mode: String,
    type_name: String,
    provider: String,
    attributes: String,
    sensitive_paths: String,
    dependencies: String,
    correlation: Option<String>,
    schema_version: i64,
    deposed: String,
}

impl RawResource {
    fn parse(self) -> Result<ResourceRecord, StateError> {
        let what = || match self.deposed.as_str() {
            "" => format!("resource {}", self.address),
            key => format!("resource {} (deposed object {key})", self.address),
        };
        Ok(ResourceRecord {
            attributes: from_json(what, "attributes", &self.attributes)?,
            sensitive_paths: from_json(what, "sensitive_paths", &self.sensitive_paths)?,
            dependencies: from_json(what, "dependencies", &self.dependencies)?,
            address: self.address,
            mode: self.mode,
            type_name: self.type_name,
            provider: self.provider,
            correlation: self.correlation,
            schema_version: self.schema_version,
            deposed: Some(self.deposed).filter(|k| !k.is_empty()),
        })
    }
}

/// A resource row with its JSON columns already encoded, so that encoding happens on the
/// caller's thread and not on the single writer thread.
pub struct EncodedRow {
    record: ResourceRecord,
    attributes: String,
    sensitive_paths: String,
    dependencies: String,
}

impl EncodedRow {
    pub fn new(record: ResourceRecord) -> Result<EncodedRow, StateError> {
        let what = format!("resource {}", record.address);
        if record.deposed.as_deref() == Some("") {
            return Err(StateError::Storage(format!("{what} has an empty deposed key; this is a bug in tarn")));
        }
        Ok(EncodedRow {
            attributes: to_json(&what, &record.attributes)?,
            sensitive_paths: to_json(&what, &record.sensitive_paths)?,
            dependencies: to_json(&what, &record.dependencies)?,
            record,
        })
    }
}

/// Upserts the rows atomically (one savepoint, however many rows).
pub fn put(ctx: &mut Ctx<'_>, rows: &[EncodedRow]) -> Result<(), StateError> {
    let op = match rows {
        [one] => format!("write resource {}", one.record.address),
        many => format!("write {} resources", many.len()),
    };
    let err = ctx.err(op);
    let now = clock::now_string();
    let tx = ctx.conn.savepoint().map_err(&err)?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO resources (workspace, address, mode, type_name, provider, attributes, \
                 sensitive_paths, dependencies, correlation, schema_version, updated_at, deposed) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(&err)?;
        for row in rows {
            let r = &row.record;
            stmt.execute(params![
                ctx.ws,
                r.address,
                r.mode,
                r.type_name,
                r.provider,
                row.attributes,
                row.sensitive_paths,
                row.dependencies,
                r.correlation,
                r.schema_version,
                now,
                r.deposed.as_deref().unwrap_or(""),
            ])
            .map_err(&err)?;
        }
    }
    tx.commit().map_err(&err)
}

/// Removes one row: the current object (`deposed = ""`) or a deposed object of `address`.
pub fn delete(ctx: &mut Ctx<'_>, address: &str, deposed: &str) -> Result<(), StateError> {
    let what = match deposed {
        "" => format!("delete resource {address}"),
        key => format!("delete deposed object {key} of {address}"),
    };
    ctx.conn
        .prepare_cached("DELETE FROM resources WHERE workspace = ?1 AND address = ?2 AND deposed = ?3")
        .and_then(|mut s| s.execute(params![ctx.ws, address, deposed]))
        .map_err(ctx.err(what))?;
    Ok(())
}

pub fn set_outputs(ctx: &mut Ctx<'_>, outputs: &[OutputRecord]) -> Result<(), StateError> {
    let err = ctx.err("write the outputs");
    let tx = ctx.conn.savepoint().map_err(&err)?;
    tx.execute("DELETE FROM outputs WHERE workspace = ?1", [ctx.ws]).map_err(&err)?;
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO outputs (workspace, name, value, sensitive) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(&err)?;
        for o in outputs {
            let value = to_json(&format!("output {}", o.name), &o.value)?;
            stmt.execute(params![ctx.ws, o.name, value, o.sensitive]).map_err(&err)?;
        }
    }
    tx.commit().map_err(&err)
}
