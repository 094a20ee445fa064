//! The PostgreSQL schema and its forward migrations, like the SQLite backend's: a version table
//! (`schema_migrations`), append-only migrations, and a state written by a newer tarn refused.
//!
//! The stack lives in its own PostgreSQL schema (default `tarn`); every table is keyed by
//! workspace. A missing schema is created when the user may (`CREATE SCHEMA`); when it may not,
//! nothing is written and the error gives the SQL for the database's owner. Migrating runs in one
//! transaction under an advisory lock, so two tarns starting at once migrate once. It must not
//! read or write state rows.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::connect::query_error;
use super::target::Target;
use crate::StateError;
use crate::clock;

/// Migration `i` brings the schema from version `i` to `i + 1`; `{s}` is the quoted schema.
pub const MIGRATIONS: &[&str] = &[V1, V2];

pub fn known_version() -> i64 {
    MIGRATIONS.len() as i64
}

const V1: &str = r#"
CREATE TABLE {s}.meta (
    workspace   TEXT PRIMARY KEY,
    lineage     TEXT NOT NULL,
    serial      BIGINT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE {s}.resources (
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
    schema_version  BIGINT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (workspace, address, deposed)
);
CREATE TABLE {s}.outputs (
    workspace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    sensitive   BOOLEAN NOT NULL,
    PRIMARY KEY (workspace, name)
);
CREATE TABLE {s}.journal (
    seq         BIGSERIAL PRIMARY KEY,
    workspace   TEXT NOT NULL,
    run_id      TEXT NOT NULL,
    at          TEXT NOT NULL,
    address     TEXT NOT NULL,
    op          TEXT NOT NULL,
    phase       TEXT NOT NULL,
    correlation TEXT,
    detail      TEXT NOT NULL,
    intent_seq  BIGINT,
    closed      BOOLEAN NOT NULL DEFAULT FALSE,
    close_note  TEXT
);
CREATE INDEX journal_by_run ON {s}.journal (workspace, run_id, seq);
CREATE INDEX journal_open ON {s}.journal (workspace, seq) WHERE phase = 'intent' AND NOT closed;
CREATE TABLE {s}.runs (
    n           BIGSERIAL PRIMARY KEY,
    workspace   TEXT NOT NULL,
    id          TEXT NOT NULL UNIQUE,
    command     TEXT NOT NULL,
    holder      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL,
    summary     TEXT NOT NULL,
    serial      BIGINT NOT NULL
);
CREATE INDEX runs_by_workspace ON {s}.runs (workspace, n);
CREATE TABLE {s}.lock (
    workspace   TEXT PRIMARY KEY,
    id          TEXT NOT NULL,
    holder      TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    lease_ms    BIGINT NOT NULL
);
"#;

/// Lock generations (fencing tokens) and the fence on every state table. `lock_generations`
/// keeps the last generation given per workspace (never reused, not deleted with the lock row).
/// A connection that holds a lock says so in two session settings; the trigger then lets a
/// write through only while that generation is still the last one, reading it `FOR SHARE` in
/// the write's own transaction, so a take-over (which updates that row) waits for the write
/// or the write sees the take-over. Connections without the settings are not fenced.
const V2: &str = r#"
CREATE TABLE {s}.lock_generations (
    workspace   TEXT PRIMARY KEY,
    generation  BIGINT NOT NULL
);
CREATE FUNCTION {s}.tarn_fence() RETURNS trigger LANGUAGE plpgsql AS $fence$
DECLARE
    fence_ws TEXT := current_setting('tarn.fence_workspace', true);
    fence_gen TEXT := current_setting('tarn.fence_generation', true);
    ws TEXT;
    last BIGINT;
BEGIN
    IF fence_ws IS NULL OR fence_ws = '' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN ws := OLD.workspace; ELSE ws := NEW.workspace; END IF;
    IF ws <> fence_ws THEN
        RETURN NULL;
    END IF;
    SELECT g.generation INTO last FROM {s}.lock_generations g WHERE g.workspace = ws FOR SHARE;
    IF last IS DISTINCT FROM fence_gen::bigint THEN
        RAISE EXCEPTION 'lock generation % of workspace % is no longer the current one (%)', fence_gen, ws, last
            USING ERRCODE = 'TL001';
    END IF;
    RETURN NULL;
END
$fence$;
CREATE TRIGGER fence AFTER INSERT OR UPDATE OR DELETE ON {s}.meta FOR EACH ROW EXECUTE PROCEDURE {s}.tarn_fence();
CREATE TRIGGER fence AFTER INSERT OR UPDATE OR DELETE ON {s}.resources FOR EACH ROW EXECUTE PROCEDURE {s}.tarn_fence();
CREATE TRIGGER fence AFTER INSERT OR UPDATE OR DELETE ON {s}.outputs FOR EACH ROW EXECUTE PROCEDURE {s}.tarn_fence();
CREATE TRIGGER fence AFTER INSERT OR UPDATE OR DELETE ON {s}.journal FOR EACH ROW EXECUTE PROCEDURE {s}.tarn_fence();
CREATE TRIGGER fence AFTER INSERT OR UPDATE OR DELETE ON {s}.runs FOR EACH ROW EXECUTE PROCEDURE {s}.tarn_fence();
"#;

/// SQLSTATE the fence raises (a class of tarn's own).
pub const LEASE_LOST: &str = "TL001";

/// The version recorded in the schema (0 when the schema or its version table is absent).
pub async fn current_version(client: &Client, target: &Target) -> Result<i64, StateError> {
    let table = format!("{}.schema_migrations", target.quoted_schema());
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .map_err(|e| query_error(target, "read the state schema version", &e))?;
    if !row.get::<_, bool>(0) {
        return Ok(0);
    }
    let row = client
        .query_one(&format!("SELECT COALESCE(MAX(version), 0)::int8 FROM {table}"), &[])
        .await
        .map_err(|e| query_error(target, "read the state schema version", &e))?;
    Ok(row.get(0))
}

/// Brings the schema up to [`known_version`], creating it when absent; refuses a newer one.
pub async fn migrate(client: &mut Client, target: &Target) -> Result<(), StateError> {
    let known = known_version();
    let found = current_version(client, target).await?;
    check_not_newer(found, known)?;
    if found == known {
        return Ok(());
    }
    let err = |e: tokio_postgres::Error| query_error(target, "create the state tables", &e);
    let s = target.quoted_schema();
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&format!("tarn-migrate:{}", target.schema)])
        .await
        .map_err(err)?;
    let exists: bool = tx
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", &[&target.schema])
        .await
        .map_err(err)?
        .get(0);
    if !exists && let Err(e) = tx.batch_execute(&format!("CREATE SCHEMA {s}")).await {
        return Err(missing_schema(target, &e));
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {s}.schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)"
    ))
    .await
    .map_err(err)?;
    let found: i64 = tx
        .query_one(&format!("SELECT COALESCE(MAX(version), 0)::int8 FROM {s}.schema_migrations"), &[])
        .await
        .map_err(err)?
        .get(0);
    check_not_newer(found, known)?;
    let start = usize::try_from(found).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.batch_execute(&sql.replace("{s}", &s)).await.map_err(err)?;
        tx.execute(
            &format!("INSERT INTO {s}.schema_migrations (version, applied_at) VALUES ($1, $2)"),
            &[&(i as i64 + 1), &clock::now_string()],
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

fn missing_schema(target: &Target, e: &tokio_postgres::Error) -> StateError {
    let denied = e.as_db_error().is_some_and(|d| *d.code() == SqlState::INSUFFICIENT_PRIVILEGE);
    if !denied {
        return query_error(target, &format!("create the schema {}", target.quoted_schema()), e);
    }
    StateError::Storage(format!(
        "the schema {schema} does not exist in database {db:?} on {server}, and user {user:?} may not create it. \
         Nothing was written. Ask the database's owner to run: CREATE SCHEMA {schema} AUTHORIZATION \"{user}\"; \
         (or set `schema` in the backend block, or schema= in the URL, to a schema that exists).",
        schema = target.quoted_schema(),
        db = target.database(),
        server = target.server(),
        user = target.user(),
    ))
}

fn check_not_newer(found: i64, known: i64) -> Result<(), StateError> {
    if found > known { Err(StateError::TooNew { found, known }) } else { Ok(()) }
}
