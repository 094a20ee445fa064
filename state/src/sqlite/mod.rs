//! The SQLite backend (the default: `.tarn/state.db`). Owns the connection, its pragmas and the
//! bridge from async callers to blocking SQLite calls; the SQL lives in the sibling files.
//!
//! One connection per backend behind a mutex; each call runs on tokio's blocking pool, so a
//! busy file (another process holding the write lock) never stalls the async workers. Every
//! write is its own committed transaction before the call returns. WAL with
//! `synchronous=NORMAL`: a killed process loses nothing committed; a power cut may lose the last
//! commits but never corrupts the file. This module must not hold the mutex across an await.

mod journal;
mod lock;
mod resources;
mod runs;
pub mod schema;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;

use crate::model::*;
use crate::Backend;

/// How long a statement waits for another process's write lock before failing. Writes are
/// short, so reaching this means something is wrong with the other process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// A state backend on one SQLite file, for one workspace.
#[derive(Clone)]
pub struct SqliteBackend {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    path: PathBuf,
    display: String,
    workspace: String,
}

/// What a storage function gets: the connection, the workspace key, and the file name for
/// error messages.
pub(crate) struct Ctx<'a> {
    pub conn: &'a mut Connection,
    pub ws: &'a str,
    display: &'a str,
}

impl Ctx<'_> {
    /// Maps a SQLite error to [`StateError::Storage`] naming the operation and the file.
    pub fn err(&self, op: impl Into<String>) -> impl Fn(rusqlite::Error) -> StateError + 'static {
        let op = op.into();
        let file = self.display.to_string();
        move |e| StateError::Storage(format!("{op} ({file}): {e}"))
    }

    pub fn display(&self) -> &str {
        self.display
    }
}

impl SqliteBackend {
    /// Where the CLI keeps state unless the configuration says otherwise.
    pub const DEFAULT_PATH: &'static str = ".tarn/state.db";
    pub const DEFAULT_WORKSPACE: &'static str = "default";

    /// Opens (creating if needed) the state file for the `default` workspace.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        Self::open_workspace(path, Self::DEFAULT_WORKSPACE)
    }

    /// Opens (creating if needed) the state file, scoped to one workspace. Several workspaces
    /// share the file and its schema, but nothing else: rows, journal, history and lock are
    /// per workspace.
    pub fn open_workspace(path: &Path, workspace: &str) -> Result<Self, StateError> {
        let display = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StateError::Storage(format!("create the directory {}: {e}", parent.display())))?;
        }
        let mut conn = Connection::open(path).map_err(|e| StateError::Storage(format!("open {display}: {e}")))?;
        let mut ctx = Ctx { conn: &mut conn, ws: workspace, display: &display };
        configure(&mut ctx)?;
        schema::migrate(&mut ctx)?;
        Ok(SqliteBackend {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                path: path.to_path_buf(),
                display,
                workspace: workspace.to_string(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    pub fn workspace(&self) -> &str {
        &self.inner.workspace
    }

    /// Runs `f` with the connection on the blocking pool (or inline outside a tokio runtime).
    async fn call<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx<'_>) -> Result<T, StateError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        if tokio::runtime::Handle::try_current().is_err() {
            return inner.with(f);
        }
        match tokio::task::spawn_blocking(move || inner.with(f)).await {
            Ok(result) => result,
            Err(e) => Err(StateError::Storage(format!("the state call on {} did not complete: {e}", self.inner.display))),
        }
    }

    /// Synchronous access for tests that tamper with the file.
    #[cfg(test)]
    pub(crate) fn with_ctx<T>(&self, f: impl FnOnce(&mut Ctx<'_>) -> Result<T, StateError>) -> Result<T, StateError> {
        self.inner.with(f)
    }
}

impl Inner {
    fn with<T>(&self, f: impl FnOnce(&mut Ctx<'_>) -> Result<T, StateError>) -> Result<T, StateError> {
        // A poisoned mutex only means an earlier call panicked; any transaction it had open was
        // rolled back when it unwound, so the connection is still usable.
        let mut conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut ctx = Ctx { conn: &mut conn, ws: &self.workspace, display: &self.display };
        f(&mut ctx)
    }
}

fn configure(ctx: &mut Ctx<'_>) -> Result<(), StateError> {
    let err = ctx.err("configure the connection");
    ctx.conn.busy_timeout(BUSY_TIMEOUT).map_err(&err)?;
    let mode: String = ctx.conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(&err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        // e.g. a file system without shared memory: still correct, only slower and less concurrent.
        tracing::warn!(file = ctx.display(), mode, "SQLite refused WAL mode");
    }
    ctx.conn.pragma_update(None, "synchronous", "NORMAL").map_err(&err)?;
    ctx.conn.pragma_update(None, "foreign_keys", "ON").map_err(&err)?;
    ctx.conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

#[async_trait]
impl Backend for SqliteBackend {
    fn describe(&self) -> String {
        if self.inner.workspace == Self::DEFAULT_WORKSPACE {
            format!("sqlite {}", self.inner.display)
        } else {
            format!("sqlite {} (workspace {})", self.inner.display, self.inner.workspace)
        }
    }

    async fn lock(&self, holder: LockHolder, opts: LockOptions) -> Result<LockInfo, StateError> {
        lock::acquire(self, holder, opts).await
    }

    async fn heartbeat(&self, lock_id: &str) -> Result<(), StateError> {
        let id = lock_id.to_string();
        self.call(move |ctx| lock::heartbeat(ctx, &id)).await
    }

    async fn unlock(&self, lock_id: &str) -> Result<(), StateError> {
        let id = lock_id.to_string();
        self.call(move |ctx| lock::unlock(ctx, &id)).await
    }

    async fn force_unlock(&self, lock_id: &str) -> Result<(), StateError> {
        let id = lock_id.to_string();
        self.call(move |ctx| lock::force_unlock(ctx, &id)).await
    }

    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.call(lock::current).await
    }

    async fn snapshot(&self) -> Result<Snapshot, StateError> {
        self.call(resources::snapshot).await
    }

    async fn begin_run(&self, run: RunStart) -> Result<String, StateError> {
        self.call(move |ctx| runs::begin(ctx, run)).await
    }

    async fn finish_run(&self, run_id: &str, outcome: RunOutcome, summary: serde_json::Value) -> Result<(), StateError> {
        let id = run_id.to_string();
        self.call(move |ctx| runs::finish(ctx, &id, outcome, &summary)).await
    }

    async fn history(&self) -> Result<Vec<RunRecord>, StateError> {
        self.call(runs::history).await
    }

    async fn put_resource(&self, record: ResourceRecord) -> Result<(), StateError> {
        self.call(move |ctx| resources::put(ctx, std::slice::from_ref(&record))).await
    }

    async fn put_resources(&self, records: Vec<ResourceRecord>) -> Result<(), StateError> {
        self.call(move |ctx| resources::put(ctx, &records)).await
    }

    async fn delete_resource(&self, address: &str) -> Result<(), StateError> {
        let address = address.to_string();
        self.call(move |ctx| resources::delete(ctx, &address)).await
    }

    async fn set_outputs(&self, outputs: Vec<OutputRecord>) -> Result<(), StateError> {
        self.call(move |ctx| resources::set_outputs(ctx, &outputs)).await
    }

    async fn journal(&self, entry: JournalEntry) -> Result<i64, StateError> {
        self.call(move |ctx| journal::append(ctx, &entry)).await
    }

    async fn open_intents(&self) -> Result<Vec<JournalRecord>, StateError> {
        self.call(journal::open_intents).await
    }

    async fn close_intent(&self, seq: i64, note: &str) -> Result<(), StateError> {
        let note = note.to_string();
        self.call(move |ctx| journal::close_intent(ctx, seq, &note)).await
    }

    async fn run_journal(&self, run_id: &str) -> Result<Vec<JournalRecord>, StateError> {
        let id = run_id.to_string();
        self.call(move |ctx| journal::run_journal(ctx, &id)).await
    }
}
