//! The SQLite backend (the default: `.tarn/state.db`). Owns the connection, its pragmas and the
//! bridge from async callers to blocking SQLite calls; the SQL lives in the sibling files.
//!
//! Three connections per backend: writes go to a writer thread that commits concurrent writes
//! together (group commit, see `writer`), and answers each caller only after its COMMIT; reads
//! use a second connection on tokio's blocking pool, so neither a busy file (another process
//! holding the write lock) nor a large snapshot stalls the async workers; a third, opened by
//! its own thread when first needed, checkpoints the WAL so that no commit has to (see
//! `checkpoint`). WAL with
//! `synchronous=NORMAL`: a killed process loses nothing committed; a power cut may lose the last
//! commits but never corrupts the file. This module must not hold a mutex across an await.

mod batch;
mod checkpoint;
pub(crate) mod journal;
mod lock;
pub(crate) mod resources;
pub(crate) mod runs;
pub mod schema;
mod transfer;
pub mod verified;
mod workspaces;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;

use crate::Backend;
use crate::lease::{self, Fence, LeaseLoss, LeaseUse};
use crate::model::*;

/// How long a statement waits for another process's write lock before failing. Writes are
/// short, so reaching this means something is wrong with the other process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// A state backend on one SQLite file, for one workspace.
#[derive(Clone)]
pub struct SqliteBackend {
    inner: Arc<Inner>,
}

struct Inner {
    /// For reads (and tests). Writes go through `writer`.
    conn: Mutex<Connection>,
    /// The lock this handle took, which every write it makes is checked against.
    fence: Arc<Fence>,
    writer: mpsc::Sender<writer::Job>,
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
    ///
    /// Refuses ([`StateError::Damaged`]), before creating or writing anything, a file that the
    /// record of its last verified state says is missing, empty, unreadable or older
    /// ([`verified::check`]).
    pub fn open_workspace(path: &Path, workspace: &str) -> Result<Self, StateError> {
        verified::check(path)?;
        let display = path.display().to_string();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StateError::Storage(format!("create the directory {}: {e}", parent.display())))?;
        }
        let open = {
            let (path, ws, display) = (path.to_path_buf(), workspace.to_string(), display.clone());
            move || -> Result<Connection, StateError> {
                let mut conn =
                    Connection::open(&path).map_err(|e| StateError::Storage(format!("open {display}: {e}")))?;
                configure(&mut Ctx { conn: &mut conn, ws: &ws, display: &display })?;
                Ok(conn)
            }
        };
        let mut write_conn = open()?;
        schema::migrate(&mut Ctx { conn: &mut write_conn, ws: workspace, display: &display })?;
        checkpoint::start(&mut write_conn, Box::new(open.clone()), &display)?;
        let read_conn = open()?;
        let (writer, jobs) = mpsc::channel();
        let (ws, name) = (workspace.to_string(), display.clone());
        std::thread::Builder::new()
            .name("tarn-state-writer".to_string())
            .spawn(move || writer::run(write_conn, jobs, ws, name))
            .map_err(|e| StateError::Storage(format!("start the writer thread for {display}: {e}")))?;
        Ok(SqliteBackend {
            inner: Arc::new(Inner {
                conn: Mutex::new(read_conn),
                fence: Arc::default(),
                writer,
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

    /// Runs the write operation `f` in the writer's next group; returns once it is committed.
    /// While this handle holds the lock, `f` runs only if its generation is still the current
    /// one (checked in the same transaction); [`StateError::LeaseLost`] otherwise.
    async fn write<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx<'_>) -> Result<T, StateError> + Send + 'static,
    {
        let fence = &self.inner.fence;
        match fence.token()? {
            None => self.write_unfenced(f).await,
            Some((_, generation)) => {
                fence.notice(self.write_unfenced(move |ctx| lock::fenced(ctx, generation, f)).await)
            }
        }
    }

    /// [`write`](Self::write) without the fence: for the lock's own rows.
    async fn write_unfenced<T, F>(&self, f: F) -> Result<T, StateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ctx<'_>) -> Result<T, StateError> + Send + 'static,
    {
        let stopped = || {
            StateError::Storage(format!(
                "the state writer for {} dropped this call; this is a bug in tarn",
                self.inner.display
            ))
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner.writer.send(writer::job(f, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Runs the read `f` on the read connection, on the blocking pool (or inline outside a
    /// tokio runtime).
    async fn read<T, F>(&self, f: F) -> Result<T, StateError>
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
            Err(e) => {
                Err(StateError::Storage(format!("the state call on {} did not complete: {e}", self.inner.display)))
            }
        }
    }

    /// Makes the backup and record of the last verified state ([`verified::record`]). A failure
    /// is only logged: the state itself is fine, and the next command tries again.
    async fn record_verified(&self) {
        let path = self.inner.path.clone();
        if let Err(e) = self.read(move |ctx| verified::record(ctx.conn, &path)).await {
            tracing::warn!(error = %e, "could not keep a verified copy of the state");
        }
    }

    /// Synchronous access to the read connection, for tests that inspect or tamper with the file.
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
        let info = lock::acquire(self, holder, opts).await?;
        self.inner.fence.taken(&info);
        Ok(info)
    }

    async fn heartbeat(&self, lock_id: &str) -> Result<(), StateError> {
        let id = lock_id.to_string();
        let sent = std::time::Instant::now();
        match self.write_unfenced(move |ctx| lock::heartbeat(ctx, &id)).await {
            Ok(()) => {
                self.inner.fence.renewed(lock_id, sent);
                Ok(())
            }
            Err(StateError::NotLocked(id)) => {
                if let Some(generation) = self.inner.fence.generation_of(&id) {
                    let now = self.current_lock().await.ok().flatten();
                    self.inner.fence.lose(&id, lease::reason(generation, now.as_ref()));
                }
                Err(StateError::NotLocked(id))
            }
            Err(e) => Err(e),
        }
    }

    async fn confirm_lease(&self, what: &str) -> Result<LeaseUse, StateError> {
        let fence = &self.inner.fence;
        let Some((id, generation)) = fence.token()? else { return Ok(LeaseUse::unfenced()) };
        let lock_id = id.clone();
        let status = self.read(move |ctx| lock::status(ctx, &lock_id, generation)).await?;
        lease::settle(self, fence, &id, status, what).await
    }

    fn lease_loss(&self) -> Option<LeaseLoss> {
        self.inner.fence.loss()
    }

    async fn unlock(&self, lock_id: &str) -> Result<(), StateError> {
        if self.inner.fence.generation_of(lock_id).is_some() {
            // Still under the lock, so no writer of this workspace is at work: the state as
            // this command leaves it becomes the last verified one.
            self.record_verified().await;
        }
        let id = lock_id.to_string();
        let result = self.write_unfenced(move |ctx| lock::unlock(ctx, &id)).await;
        if result.is_ok() {
            self.inner.fence.released(lock_id);
        }
        result
    }

    async fn force_unlock(&self, lock_id: &str) -> Result<(), StateError> {
        let id = lock_id.to_string();
        self.write_unfenced(move |ctx| lock::force_unlock(ctx, &id)).await
    }

    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.read(lock::current).await
    }

    async fn snapshot(&self) -> Result<Snapshot, StateError> {
        if let Some(snapshot) = self.read(resources::read_snapshot).await? {
            return Ok(snapshot);
        }
        self.write(|ctx| resources::ensure_meta(ctx).map(drop)).await?;
        self.read(resources::read_snapshot)
            .await?
            .ok_or_else(|| StateError::Storage(format!("the state lineage vanished from {}", self.inner.display)))
    }

    async fn begin_run(&self, run: RunStart) -> Result<String, StateError> {
        self.write(move |ctx| runs::begin(ctx, run)).await
    }

    async fn finish_run(
        &self,
        run_id: &str,
        outcome: RunOutcome,
        summary: serde_json::Value,
    ) -> Result<(), StateError> {
        let id = run_id.to_string();
        self.write(move |ctx| runs::finish(ctx, &id, outcome, &summary)).await
    }

    async fn history(&self) -> Result<Vec<RunRecord>, StateError> {
        self.read(runs::history).await
    }

    async fn prune_history(&self, keep: usize) -> Result<usize, StateError> {
        self.write(move |ctx| runs::prune(ctx, keep)).await
    }

    async fn put_resource(&self, record: ResourceRecord) -> Result<(), StateError> {
        let row = resources::EncodedRow::new(record)?;
        self.write(move |ctx| resources::put(ctx, std::slice::from_ref(&row))).await
    }

    async fn put_resources(&self, records: Vec<ResourceRecord>) -> Result<(), StateError> {
        let rows = records.into_iter().map(resources::EncodedRow::new).collect::<Result<Vec<_>, _>>()?;
        self.write(move |ctx| resources::put(ctx, &rows)).await
    }

    async fn delete_resource(&self, address: &str) -> Result<(), StateError> {
        let address = address.to_string();
        self.write(move |ctx| resources::delete(ctx, &address, "")).await
    }

    async fn delete_deposed(&self, address: &str, key: &str) -> Result<(), StateError> {
        if key.is_empty() {
            return Err(StateError::Storage(format!("an empty deposed key for {address}; this is a bug in tarn")));
        }
        let (address, key) = (address.to_string(), key.to_string());
        self.write(move |ctx| resources::delete(ctx, &address, &key)).await
    }

    async fn apply_batch(&self, batch: StateBatch) -> Result<(), StateError> {
        let batch = batch::EncodedBatch::new(batch)?;
        self.write(move |ctx| batch::apply(ctx, &batch)).await
    }

    async fn set_outputs(&self, outputs: Vec<OutputRecord>) -> Result<(), StateError> {
        self.write(move |ctx| resources::set_outputs(ctx, &outputs)).await
    }

    async fn journal(&self, entry: JournalEntry) -> Result<i64, StateError> {
        self.write(move |ctx| journal::append(ctx, &entry)).await
    }

    async fn put_resource_closing(&self, record: ResourceRecord, outcome: JournalEntry) -> Result<(), StateError> {
        let what = format!("write resource {} and close its intent", record.address);
        let row = resources::EncodedRow::new(record)?;
        // One savepoint around both (each takes its own inside it): both or neither.
        self.write(move |ctx| {
            let err = ctx.err(what);
            ctx.conn.execute_batch("SAVEPOINT put_closing").map_err(&err)?;
            let result = resources::put(ctx, std::slice::from_ref(&row)).and_then(|()| journal::append(ctx, &outcome));
            let end =
                if result.is_ok() { "RELEASE put_closing" } else { "ROLLBACK TO put_closing; RELEASE put_closing" };
            ctx.conn.execute_batch(end).map_err(&err)?;
            result.map(|_| ())
        })
        .await
    }

    async fn open_intents(&self) -> Result<Vec<JournalRecord>, StateError> {
        self.read(journal::open_intents).await
    }

    async fn close_intent(&self, seq: i64, note: &str) -> Result<(), StateError> {
        let note = note.to_string();
        self.write(move |ctx| journal::close_intent(ctx, seq, &note)).await
    }

    async fn run_journal(&self, run_id: &str) -> Result<Vec<JournalRecord>, StateError> {
        let id = run_id.to_string();
        self.read(move |ctx| journal::run_journal(ctx, &id)).await
    }

    async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        self.read(workspaces::list).await
    }

    async fn delete_workspace(&self) -> Result<(), StateError> {
        self.write(workspaces::delete).await?;
        // The record must forget the workspace too, or the file would look older than it.
        self.record_verified().await;
        Ok(())
    }
}
