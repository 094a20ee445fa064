//! The workspaces of one stack's schema: listing them, and deleting everything one of them
//! holds. Every table is keyed by workspace, so deleting is one statement of data-modifying
//! CTEs (one per table), atomic on its own. It must not touch any other workspace's rows.

use super::Ctx;
use crate::StateError;

/// Workspaces that hold anything (a lineage, a row, an output, a run), sorted by name
/// (bytewise, like SQLite).
pub async fn list(ctx: &Ctx<'_>) -> Result<Vec<String>, StateError> {
    let s = &ctx.s;
    let sql = format!(
        "SELECT w FROM (SELECT workspace FROM {s}.meta UNION SELECT workspace FROM {s}.resources \
           UNION SELECT workspace FROM {s}.outputs UNION SELECT workspace FROM {s}.runs) AS u(w) \
         ORDER BY w COLLATE \"C\""
    );
    let rows = ctx.client.query(&sql, &[]).await.map_err(ctx.err("list the workspaces"))?;
    Ok(rows.into_iter().map(|r| r.get(0)).collect())
}

/// Deletes the workspace's lineage, rows, outputs, journal, runs and lock.
pub async fn delete(ctx: &Ctx<'_>) -> Result<(), StateError> {
    let s = &ctx.s;
    let sql = format!(
        "WITH r AS (DELETE FROM {s}.resources WHERE workspace = $1), \
              o AS (DELETE FROM {s}.outputs WHERE workspace = $1), \
              j AS (DELETE FROM {s}.journal WHERE workspace = $1), \
              h AS (DELETE FROM {s}.runs WHERE workspace = $1), \
              l AS (DELETE FROM {s}.lock WHERE workspace = $1) \
         DELETE FROM {s}.meta WHERE workspace = $1"
    );
    ctx.client.execute(&sql, &[&ctx.ws]).await.map_err(ctx.err(format!("delete workspace {}", ctx.ws)))?;
    Ok(())
}
