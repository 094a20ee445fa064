//! The PostgreSQL backend: state shared by a team or a pipeline. One database serves many
//! stacks (one PostgreSQL schema each) and workspaces (a key in every table); each (stack,
//! workspace) has its own lock row, so a lock never blocks another stack or workspace.
//!
//! Owns the connection of one backend handle (opened on first use, reopened after a loss) and
//! the bridge to the SQL in the sibling files. Every operation is one statement — data-modifying
//! CTEs where several rows change together — so it is atomic on its own and concurrent callers
//! share the connection's pipeline without transactions (`batch.rs`: a surgery batch;
//! `workspaces.rs`: listing and deleting workspaces). Lease times come from the server's
//! clock, so machines whose clocks disagree still agree on who holds a lock. A handle that
//! took the lock arms its connection's fence (`lock::arm`, the `tarn_fence` trigger), so its
//! writes stop the moment another holder takes the lock.

mod batch;
mod connect;
mod journal;
mod lock;
pub mod marks;
mod rows;
mod runs;
pub mod schema;
pub mod target;
mod tls;
pub mod transfer;
mod workspaces;

#[cfg(any(test, feature = "pg-testing"))]
pub mod testing;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use tokio_postgres::Client;

use crate::Backend;
use crate::lease::{self, Fence, LeaseLoss, LeaseUse};
use crate::model::*;
pub use target::{Target, is_postgres_url};

/// A state backend on one PostgreSQL schema, for one workspace.
#[derive(Clone)]
pub struct PgBackend {
    inner: Arc<Inner>,
}

struct Inner {
    target: Target,
    workspace: String,
    client: tokio::sync::Mutex<Option<Arc<Client>>>,
    /// The lock this handle took; its connection's writes are fenced by it (`lock::arm`).
    fence: Arc<Fence>,
    /// Where this machine keeps the highest serial it has seen of each state (`marks`), if it
    /// keeps one.
    marks: Option<std::path::PathBuf>,
}

/// What a storage function gets: the connection, the quoted schema, the workspace key, and the
/// target for error messages.
pub(crate) struct Ctx<'a> {
    pub client: &'a Client,
    /// The quoted schema, to prefix table names: `{s}.resources`.
    pub s: String,
    pub ws: &'a str,
    pub target: &'a Target,
}

impl Ctx<'_> {
    /// Maps a driver error to a one-paragraph [`StateError::Storage`] naming the operation.
    pub fn err(&self, op: impl Into<String>) -> impl Fn(tokio_postgres::Error) -> StateError + 'static {
        let op = op.into();
        let target = self.target.clone();
        move |e| connect::query_error(&target, &op, &e)
    }
}

impl PgBackend {
    pub const DEFAULT_WORKSPACE: &'static str = "default";

    /// A backend for the `default` workspace of the stack at `url`. Parses the URL now;
    /// connects on first use.
    pub fn open(url: &str, schema: Option<&str>) -> Result<Self, StateError> {
        Self::open_workspace(url, schema, Self::DEFAULT_WORKSPACE)
    }

    /// A backend scoped to one workspace of the stack at `url` (the schema in `schema`, else the
    /// URL's `schema=` parameter, else `tarn`).
    pub fn open_workspace(url: &str, schema: Option<&str>, workspace: &str) -> Result<Self, StateError> {
        let target = Target::parse(url, schema)?;
        Ok(Self::with_target(target, workspace))
    }

    pub fn with_target(target: Target, workspace: &str) -> Self {
        PgBackend {
            inner: Arc::new(Inner {
                target,
                workspace: workspace.to_string(),
                client: tokio::sync::Mutex::new(None),
                fence: Arc::default(),
                marks: None,
            }),
        }
    }

    /// This handle, checking every snapshot against the highest serial this machine has seen
    /// (kept in `file`, see [`marks`]): a state that went back in time is refused.
    pub fn remembering_serials(self, file: std::path::PathBuf) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            target: shared.target.clone(),
            workspace: shared.workspace.clone(),
            client: tokio::sync::Mutex::new(None),
            fence: Arc::default(),
            marks: None,
        });
        PgBackend { inner: Arc::new(Inner { marks: Some(file), ..inner }) }
    }

    pub fn workspace(&self) -> &str {
        &self.inner.workspace
    }

    pub fn target(&self) -> &Target {
        &self.inner.target
    }

    /// Connects now (and migrates the schema), so that a bad URL, password or server is
    /// reported before anything else happens.
    pub async fn connect(&self) -> Result<(), StateError> {
        self.client().await.map(drop)
    }

    /// The shared connection, opened (or reopened after it was lost) on demand.
    async fn client(&self) -> Result<Arc<Client>, StateError> {
        let mut slot = self.inner.client.lock().await;
        if let Some(client) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(connect::open(&self.inner.target).await?);
        // A new connection of a holder is fenced like the one it replaces.
        if let Some((_, generation)) = self.inner.fence.token()? {
            lock::arm(&self.ctx(&client), Some(generation)).await?;
        }
        *slot = Some(Arc::clone(&client));
        Ok(client)
    }

    /// Runs the write `op`: refused at once when the lock is known lost; when the server's
    /// fence refuses it, the loss is recorded, worded from the lock row.
    async fn write<T>(&self, op: impl Future<Output = Result<T, StateError>>) -> Result<T, StateError> {
        let fence = &self.inner.fence;
        let token = fence.token()?;
        match (op.await, token) {
            (Err(StateError::LeaseLost(said)), Some((id, generation))) => {
                tracing::debug!(%said, "the state lock's fence refused a write");
                let now = self.current_lock().await.ok().flatten();
                Err(fence.lose(&id, lease::reason(generation, now.as_ref())))
            }
            (result, _) => result,
        }
    }

    /// A connection of its own, for work that needs a transaction (copying a whole stack).
    pub(crate) async fn dedicated(&self) -> Result<Client, StateError> {
        connect::open(&self.inner.target).await
    }

    fn ctx<'a>(&'a self, client: &'a Client) -> Ctx<'a> {
        Ctx { client, s: self.inner.target.quoted_schema(), ws: &self.inner.workspace, target: &self.inner.target }
    }
}

#[async_trait]
impl Backend for PgBackend {
    fn describe(&self) -> String {
        if self.inner.workspace == Self::DEFAULT_WORKSPACE {
            self.inner.target.display.clone()
        } else {
            format!("{} (workspace {})", self.inner.target.display, self.inner.workspace)
        }
    }

    async fn lock(&self, holder: LockHolder, opts: LockOptions) -> Result<LockInfo, StateError> {
        let info = lock::acquire(self, holder, opts).await?;
        let c = self.client().await?;
        if let Err(e) = lock::arm(&self.ctx(&c), Some(info.generation)).await {
            // Unfenced writes must not happen under this lock: give it back.
            let _ = lock::unlock(&self.ctx(&c), &info.id).await;
            return Err(e);
        }
        self.inner.fence.taken(&info);
        Ok(info)
    }

    async fn heartbeat(&self, lock_id: &str) -> Result<(), StateError> {
        let sent = std::time::Instant::now();
        let c = self.client().await?;
        match lock::heartbeat(&self.ctx(&c), lock_id).await {
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
        let c = self.client().await?;
        let status = lock::status(&self.ctx(&c), &id, generation).await?;
        lease::settle(self, fence, &id, status, what).await
    }

    fn lease_loss(&self) -> Option<LeaseLoss> {
        self.inner.fence.loss()
    }

    async fn unlock(&self, lock_id: &str) -> Result<(), StateError> {
        let c = self.client().await?;
        lock::unlock(&self.ctx(&c), lock_id).await?;
        if self.inner.fence.generation_of(lock_id).is_some() {
            self.inner.fence.released(lock_id);
            lock::arm(&self.ctx(&c), None).await?;
        }
        Ok(())
    }

    async fn force_unlock(&self, lock_id: &str) -> Result<(), StateError> {
        let c = self.client().await?;
        lock::force_unlock(&self.ctx(&c), lock_id).await
    }

    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        let c = self.client().await?;
        lock::current(&self.ctx(&c)).await
    }

    async fn snapshot(&self) -> Result<Snapshot, StateError> {
        let c = self.client().await?;
        let ctx = &self.ctx(&c);
        let snapshot = match rows::read_snapshot(ctx).await? {
            Some(s) => s,
            None => {
                self.write(rows::ensure_meta(ctx)).await?;
                rows::read_snapshot(ctx).await?.ok_or_else(|| {
                    StateError::Storage(format!("the state lineage vanished from {}", ctx.target.display))
                })?
            }
        };
        if let Some(file) = &self.inner.marks {
            let key = format!("{}#{}", ctx.target.display, self.inner.workspace);
            marks::check_and_advance(file, &key, &snapshot.lineage, snapshot.serial)?;
        }
        Ok(snapshot)
    }

    async fn begin_run(&self, run: RunStart) -> Result<String, StateError> {
        let c = self.client().await?;
        self.write(runs::begin(&self.ctx(&c), run)).await
    }

    async fn finish_run(
        &self,
        run_id: &str,
        outcome: RunOutcome,
        summary: serde_json::Value,
    ) -> Result<(), StateError> {
        let c = self.client().await?;
        self.write(runs::finish(&self.ctx(&c), run_id, outcome, &summary)).await
    }

    async fn history(&self) -> Result<Vec<RunRecord>, StateError> {
        let c = self.client().await?;
        runs::history(&self.ctx(&c)).await
    }

    async fn prune_history(&self, keep: usize) -> Result<usize, StateError> {
        let c = self.client().await?;
        self.write(runs::prune(&self.ctx(&c), keep)).await
    }

    async fn put_resource(&self, record: ResourceRecord) -> Result<(), StateError> {
        self.put_resources(vec![record]).await
    }

    async fn put_resources(&self, records: Vec<ResourceRecord>) -> Result<(), StateError> {
        if records.is_empty() {
            return Ok(());
        }
        let batch = rows::Batch::new(records)?;
        let c = self.client().await?;
        self.write(rows::put(&self.ctx(&c), &batch)).await
    }

    async fn delete_resource(&self, address: &str) -> Result<(), StateError> {
        let c = self.client().await?;
        self.write(rows::delete(&self.ctx(&c), address, "")).await
    }

    async fn delete_deposed(&self, address: &str, key: &str) -> Result<(), StateError> {
        if key.is_empty() {
            return Err(StateError::Storage(format!("delete a deposed object of {address}: the deposed key is empty")));
        }
        let c = self.client().await?;
        self.write(rows::delete(&self.ctx(&c), address, key)).await
    }

    async fn apply_batch(&self, batch: StateBatch) -> Result<(), StateError> {
        let batch = batch::EncodedBatch::new(batch)?;
        let c = self.client().await?;
        self.write(batch::apply(&self.ctx(&c), &batch)).await
    }

    async fn set_outputs(&self, outputs: Vec<OutputRecord>) -> Result<(), StateError> {
        let c = self.client().await?;
        self.write(rows::set_outputs(&self.ctx(&c), outputs)).await
    }

    async fn journal(&self, entry: JournalEntry) -> Result<i64, StateError> {
        let c = self.client().await?;
        self.write(journal::append(&self.ctx(&c), &entry)).await
    }

    async fn open_intents(&self) -> Result<Vec<JournalRecord>, StateError> {
        let c = self.client().await?;
        journal::open_intents(&self.ctx(&c)).await
    }

    async fn close_intent(&self, seq: i64, note: &str) -> Result<(), StateError> {
        let c = self.client().await?;
        self.write(journal::close_intent(&self.ctx(&c), seq, note)).await
    }

    async fn run_journal(&self, run_id: &str) -> Result<Vec<JournalRecord>, StateError> {
        let c = self.client().await?;
        journal::run_journal(&self.ctx(&c), run_id).await
    }

    async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        let c = self.client().await?;
        workspaces::list(&self.ctx(&c)).await
    }

    async fn delete_workspace(&self) -> Result<(), StateError> {
        let c = self.client().await?;
        self.write(workspaces::delete(&self.ctx(&c))).await
    }
}
