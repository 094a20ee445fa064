//! The snapshot: lineage and serial (`meta`), one row per resource object — keyed by address
//! and deposed key (`''` for the current object) — and the outputs.
//!
//! The snapshot is read by one statement (so a concurrent writer cannot tear it); a batch of
//! rows is upserted by one statement over arrays; outputs are replaced by one statement. JSON
//! columns are text, parsed on read: a row that does not parse is [`StateError::Corrupt`]
//! naming its address. It must not touch the journal, runs or the lock.

use serde::Deserialize;

use super::Ctx;
use crate::StateError;
use crate::clock;
use crate::model::*;
use crate::sqlite::resources::{from_json, to_json};

/// Creates the workspace's lineage on first use (a no-op when it exists).
pub async fn ensure_meta(ctx: &Ctx<'_>) -> Result<(), StateError> {
    let lineage = uuid::Uuid::new_v4().to_string();
    ctx.client
        .execute(
            &format!(
                "INSERT INTO {}.meta (workspace, lineage, serial, created_at) VALUES ($1, $2, 0, $3) ON CONFLICT DO NOTHING",
                ctx.s
            ),
            &[&ctx.ws, &lineage, &clock::now_string()],
        )
        .await
        .map_err(ctx.err("create the state lineage"))?;
    Ok(())
}

/// One resource row as the snapshot query returns it (JSON columns still text).
#[derive(Deserialize)]
struct RawResource(String, String, String, String, String, String, String, String, Option<String>, i64);

/// The snapshot, or `None` before the workspace's lineage exists.
pub async fn read_snapshot(ctx: &Ctx<'_>) -> Result<Option<Snapshot>, StateError> {
    let s = &ctx.s;
    let sql = format!(
        "SELECT m.lineage, m.serial, \
           (SELECT COALESCE(json_agg(json_build_array(address, deposed, mode, type_name, provider, attributes, \
                   sensitive_paths, dependencies, correlation, schema_version) ORDER BY address COLLATE \"C\", deposed COLLATE \"C\"), '[]') \
            FROM {s}.resources r WHERE r.workspace = m.workspace)::text, \
           (SELECT COALESCE(json_agg(json_build_array(name, value, sensitive) ORDER BY name COLLATE \"C\"), '[]') \
            FROM {s}.outputs o WHERE o.workspace = m.workspace)::text \
         FROM {s}.meta m WHERE m.workspace = $1"
    );
    let row = ctx.client.query_opt(&sql, &[&ctx.ws]).await.map_err(ctx.err("read the state snapshot"))?;
    let Some(row) = row else { return Ok(None) };
    let (lineage, serial): (String, i64) = (row.get(0), row.get(1));
    let (resources, outputs): (String, String) = (row.get(2), row.get(3));
    let raw: Vec<RawResource> = serde_json::from_str(&resources)
        .map_err(|e| StateError::Storage(format!("read the state snapshot ({}): {e}", ctx.target.display)))?;
    let raw_outputs: Vec<(String, String, bool)> = serde_json::from_str(&outputs)
        .map_err(|e| StateError::Storage(format!("read the state outputs ({}): {e}", ctx.target.display)))?;
    let resources = raw.into_iter().map(parse_resource).collect::<Result<Vec<_>, _>>()?;
    let outputs = raw_outputs
        .into_iter()
        .map(|(name, value, sensitive)| {
            let value = from_json(|| format!("output {name}"), "value", &value)?;
            Ok(OutputRecord { name, value, sensitive })
        })
        .collect::<Result<Vec<_>, StateError>>()?;
    Ok(Some(Snapshot { lineage, serial, resources, outputs }))
}

fn parse_resource(raw: RawResource) -> Result<ResourceRecord, StateError> {
    let RawResource(
        address,
        deposed,
        mode,
        type_name,
        provider,
        attributes,
        sensitive_paths,
        dependencies,
        correlation,
        schema_version,
    ) = raw;
    let what = || match deposed.as_str() {
        "" => format!("resource {address}"),
        key => format!("resource {address} (deposed {key})"),
    };
    Ok(ResourceRecord {
        attributes: from_json(what, "attributes", &attributes)?,
        sensitive_paths: from_json(what, "sensitive_paths", &sensitive_paths)?,
        dependencies: from_json(what, "dependencies", &dependencies)?,
        deposed: (!deposed.is_empty()).then_some(deposed),
        address,
        mode,
        type_name,
        provider,
        correlation,
        schema_version,
    })
}

/// Rows encoded column by column for one `UNNEST` upsert; the last of duplicate keys wins.
pub struct Batch {
    pub(super) address: Vec<String>,
    pub(super) deposed: Vec<String>,
    pub(super) mode: Vec<String>,
    pub(super) type_name: Vec<String>,
    pub(super) provider: Vec<String>,
    pub(super) attributes: Vec<String>,
    pub(super) sensitive_paths: Vec<String>,
    pub(super) dependencies: Vec<String>,
    pub(super) correlation: Vec<Option<String>>,
    pub(super) schema_version: Vec<i64>,
}

impl Batch {
    pub fn new(records: Vec<ResourceRecord>) -> Result<Batch, StateError> {
        let mut last = std::collections::HashMap::new();
        for (i, r) in records.iter().enumerate() {
            last.insert((r.address.clone(), r.deposed.clone()), i);
        }
        let n = last.len();
        let mut b = Batch {
            address: Vec::with_capacity(n),
            deposed: Vec::with_capacity(n),
            mode: Vec::with_capacity(n),
            type_name: Vec::with_capacity(n),
            provider: Vec::with_capacity(n),
            attributes: Vec::with_capacity(n),
            sensitive_paths: Vec::with_capacity(n),
            dependencies: Vec::with_capacity(n),
            correlation: Vec::with_capacity(n),
            schema_version: Vec::with_capacity(n),
        };
        for (i, r) in records.into_iter().enumerate() {
            if last.get(&(r.address.clone(), r.deposed.clone())) != Some(&i) {
                continue;
            }
            if r.deposed.as_deref() == Some("") {
                return Err(StateError::Storage(format!("write resource {}: the deposed key is empty", r.address)));
            }
            let what = format!("resource {}", r.address);
            b.attributes.push(to_json(&what, &r.attributes)?);
            b.sensitive_paths.push(to_json(&what, &r.sensitive_paths)?);
            b.dependencies.push(to_json(&what, &r.dependencies)?);
            b.deposed.push(r.deposed.unwrap_or_default());
            b.address.push(r.address);
            b.mode.push(r.mode);
            b.type_name.push(r.type_name);
            b.provider.push(r.provider);
            b.correlation.push(r.correlation);
            b.schema_version.push(r.schema_version);
        }
        Ok(b)
    }
}

/// Upserts the batch atomically (one statement, however many rows).
pub async fn put(ctx: &Ctx<'_>, b: &Batch) -> Result<(), StateError> {
    let op = match b.address.as_slice() {
        [one] => format!("write resource {one}"),
        many => format!("write {} resources", many.len()),
    };
    let sql = format!(
        "INSERT INTO {}.resources (workspace, address, deposed, mode, type_name, provider, attributes, sensitive_paths, \
           dependencies, correlation, schema_version, updated_at) \
         SELECT $1, a, d, m, t, p, at, sp, dp, c, v, $12 \
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
                     $10::text[], $11::int8[]) AS x(a, d, m, t, p, at, sp, dp, c, v) \
         ON CONFLICT (workspace, address, deposed) DO UPDATE SET mode = EXCLUDED.mode, type_name = EXCLUDED.type_name, \
           provider = EXCLUDED.provider, attributes = EXCLUDED.attributes, sensitive_paths = EXCLUDED.sensitive_paths, \
           dependencies = EXCLUDED.dependencies, correlation = EXCLUDED.correlation, \
           schema_version = EXCLUDED.schema_version, updated_at = EXCLUDED.updated_at",
        ctx.s
    );
    ctx.client
        .execute(
            &sql,
            &[
                &ctx.ws,
                &b.address,
                &b.deposed,
                &b.mode,
                &b.type_name,
                &b.provider,
                &b.attributes,
                &b.sensitive_paths,
                &b.dependencies,
                &b.correlation,
                &b.schema_version,
                &clock::now_string(),
            ],
        )
        .await
        .map_err(ctx.err(op))?;
    Ok(())
}

/// Deletes the row of `address` with deposed key `deposed` (`""`: the current object).
pub async fn delete(ctx: &Ctx<'_>, address: &str, deposed: &str) -> Result<(), StateError> {
    ctx.client
        .execute(
            &format!("DELETE FROM {}.resources WHERE workspace = $1 AND address = $2 AND deposed = $3", ctx.s),
            &[&ctx.ws, &address, &deposed],
        )
        .await
        .map_err(ctx.err(format!("delete resource {address}")))?;
    Ok(())
}

/// Outputs as the columns of one `UNNEST`; where a name is given twice, the last one counts.
pub struct OutputColumns {
    pub names: Vec<String>,
    pub values: Vec<String>,
    pub sensitive: Vec<bool>,
}

impl OutputColumns {
    pub fn new(outputs: Vec<OutputRecord>) -> Result<OutputColumns, StateError> {
        let mut last = std::collections::HashMap::new();
        for (i, o) in outputs.iter().enumerate() {
            last.insert(o.name.clone(), i);
        }
        let mut columns = OutputColumns { names: Vec::new(), values: Vec::new(), sensitive: Vec::new() };
        for (i, o) in outputs.into_iter().enumerate() {
            if last.get(&o.name) != Some(&i) {
                continue;
            }
            columns.values.push(to_json(&format!("output {}", o.name), &o.value)?);
            columns.names.push(o.name);
            columns.sensitive.push(o.sensitive);
        }
        Ok(columns)
    }
}

/// Replaces all outputs in one statement: names no longer given are deleted, the rest upserted.
pub async fn set_outputs(ctx: &Ctx<'_>, outputs: Vec<OutputRecord>) -> Result<(), StateError> {
    let OutputColumns { names, values, sensitive } = OutputColumns::new(outputs)?;
    let s = &ctx.s;
    let sql = format!(
        "WITH gone AS (DELETE FROM {s}.outputs WHERE workspace = $1 AND NOT (name = ANY($2::text[]))) \
         INSERT INTO {s}.outputs (workspace, name, value, sensitive) \
         SELECT $1, n, v, x FROM UNNEST($2::text[], $3::text[], $4::bool[]) AS u(n, v, x) \
         ON CONFLICT (workspace, name) DO UPDATE SET value = EXCLUDED.value, sensitive = EXCLUDED.sensitive"
    );
    ctx.client.execute(&sql, &[&ctx.ws, &names, &values, &sensitive]).await.map_err(ctx.err("write the outputs"))?;
    Ok(())
}
