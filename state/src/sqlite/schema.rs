//! The SQLite schema and its forward migrations. Owns the DDL and the version check.
//!
//! Migrations are append-only: never edit a released one, add the next. Every table carries a
//! `workspace` key so one file can hold several stacks. It must not read or write state rows.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::Ctx;
use crate::StateError;
use crate::clock;

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The newest schema version this code knows.
pub fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

const V1: &str = r#"
CREATE TABLE meta (
    workspace   TEXT PRIMARY KEY,
    lineage     TEXT NOT NULL,
    serial      INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE resources (
    workspace       TEXT NOT NULL,
    address         TEXT NOT NULL,
    mode            TEXT NOT NULL,
    type_name       TEXT NOT NULL,
    provider        TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    sensitive_paths TEXT NOT NULL,
    dependencies    TEXT NOT NULL,
    correlation     TEXT,
    schema_version  INTEGER NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (workspace, address)
) WITHOUT ROWID;
CREATE TABLE outputs (
    workspace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    sensitive   INTEGER NOT NULL,
    PRIMARY KEY (workspace, name)
) WITHOUT ROWID;
CREATE TABLE journal (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace   TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    at          TEXT NOT NULL,
    address     TEXT NOT NULL,
    op          TEXT NOT NULL,
    phase       TEXT NOT NULL,
    correlation TEXT,
    detail      TEXT NOT NULL,
    intent_seq  INTEGER,
    closed      INTEGER NOT NULL DEFAULT 0,
    close_note  TEXT
);
CREATE INDEX journal_by_run ON journal (workspace, run_id, seq);
CREATE INDEX journal_open ON journal (workspace, seq) WHERE phase = 'intent' AND closed = 0;
CREATE TABLE runs (
    n           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace   TEXT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    command     TEXT NOT NULL,
    holder      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL,
    summary     TEXT NOT NULL,
    serial      INTEGER NOT NULL
);
CREATE INDEX runs_by_workspace ON runs (workspace, n);
CREATE TABLE lock (
    workspace   TEXT PRIMARY KEY,
    id          TEXT NOT NULL,
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    lease_ms    INTEGER NOT NULL
);
"#;

/// Deposed objects (create_before_destroy): a resource row is keyed by (address, deposed key),
/// `''` being the current object. SQLite cannot change a primary key in place, so the table is
/// rebuilt; existing rows become current objects.
const V2: &str = r#"
CREATE TABLE resources_v2 (
    workspace       TEXT NOT NULL,
    address         TEXT NOT NULL,
    deposed         TEXT NOT NULL DEFAULT '',
    mode            TEXT NOT NULL,
    type_name       TEXT NOT NULL,
    provider        TEXT NOT NULL,
    attributes      TEXT NOT NULL,
    sensitive_paths TEXT NOT NULL,
    dependencies    TEXT NOT NULL,
    correlation     TEXT,
    schema_version  INTEGER NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (workspace, address, deposed)
) WITHOUT ROWID;
INSERT INTO resources_v2 (workspace, address, deposed, mode, type_name, provider, attributes, sensitive_paths,
                          dependencies, correlation, schema_version, updated_at)
    SELECT workspace, address, '', mode, type_name, provider, attributes, sensitive_paths,
           dependencies, correlation, schema_version, updated_at FROM resources;
DROP TABLE resources;
ALTER TABLE resources_v2 RENAME TO resources;
"#;

/// Lock generations (fencing tokens): the lock row carries the generation it was taken with,
/// and `lock_generations` keeps the last one given per workspace, so that a generation is never
/// reused even after the lock row is released.
const V3: &str = r#"
ALTER TABLE lock ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
CREATE TABLE lock_generations (
    workspace   TEXT PRIMARY KEY,
    generation  INTEGER NOT NULL
);
"#;

const VERSION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)";

/// The schema version recorded in the file (0 for a new file).
pub fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: Option<i64> = conn
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", [], |r| r.get(0))
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))
}

/// Brings the file up to [`known_version`], or refuses a file written by a newer tarn.
///
/// Reads first so that opening an up-to-date file never waits for the write lock; migrating
/// re-checks under `BEGIN IMMEDIATE` because another process may have migrated meanwhile.
pub(crate) fn migrate(ctx: &mut Ctx<'_>) -> Result<(), StateError> {
    let known = known_version();
    let found = current_version(ctx.conn).map_err(ctx.err("read the schema version"))?;
    check_not_newer(found, known)?;
    if found == known {
        return Ok(());
    }
    let err = ctx.err("migrate the schema");
    let tx = ctx.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
    tx.execute_batch(VERSION_TABLE).map_err(&err)?;
    let found = current_version(&tx).map_err(&err)?;
    check_not_newer(found, known)?;
    let start = usize::try_from(found).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql).map_err(&err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            (i as i64 + 1, clock::now_string()),
        )
        .map_err(&err)?;
    }
    tx.commit().map_err(&err)
}

fn check_not_newer(found: i64, known: i64) -> Result<(), StateError> {
    if found > known { Err(StateError::TooNew { found, known }) } else { Ok(()) }
}
