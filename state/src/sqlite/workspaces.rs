//! The workspaces of one state file: listing them, and deleting everything one of them holds.
//! Every table is keyed by workspace, so deleting is one statement per table in one savepoint.
//! It must not touch any other workspace's rows.

use super::Ctx;
use crate::StateError;

/// Workspaces that hold anything (a lineage, a row, an output, a run), sorted by name.
pub fn list(ctx: &mut Ctx<'_>) -> Result<Vec<String>, StateError> {
    ctx.conn
        .prepare_cached(
            "SELECT workspace FROM meta UNION SELECT workspace FROM resources UNION SELECT workspace FROM outputs \
             UNION SELECT workspace FROM runs ORDER BY 1",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(ctx.err("list the workspaces"))
}

pub fn delete(ctx: &mut Ctx<'_>) -> Result<(), StateError> {
    let err = ctx.err(format!("delete workspace {}", ctx.ws));
    let sp = ctx.conn.savepoint().map_err(&err)?;
    for table in ["resources", "outputs", "journal", "runs", "lock", "meta"] {
        sp.execute(&format!("DELETE FROM {table} WHERE workspace = ?1"), [ctx.ws]).map_err(&err)?;
    }
    sp.commit().map_err(&err)
}
