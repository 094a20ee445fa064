//! The lock lease: one row per workspace with the holder, when it was taken and when it expires.
//!
//! Taking it is a read-check-write under `BEGIN IMMEDIATE`, so two processes on one file can
//! never both succeed. A lease counts as free when it has expired or when its holder ran on this
//! host and its pid is gone — a crashed tarn never blocks the next one for longer than that.
//! Waiting happens between transactions, never while holding the connection or the file.
//!
//! Every take bumps the workspace's generation (`lock_generations`, also stored in the lock
//! row): [`fenced`] runs a holder's write only while its generation is the last one given, in
//! the write's own savepoint, so a holder whose lease was taken over can never write again.

use std::time::{Duration, Instant};

use rusqlite::{OptionalExtension, params};

use super::resources::{from_json, to_json};
use super::{Ctx, SqliteBackend};
use crate::StateError;
use crate::clock;
use crate::lease::{self, LeaseStatus};
use crate::liveness::holder_is_dead;
use crate::model::*;

const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(1);

pub async fn acquire(backend: &SqliteBackend, holder: LockHolder, opts: LockOptions) -> Result<LockInfo, StateError> {
    let started = Instant::now();
    let mut poll = FIRST_POLL;
    loop {
        let h = holder.clone();
        match backend.write_unfenced(move |ctx| try_take(ctx, h, opts.lease)).await? {
            Ok(taken) => return Ok(taken),
            Err(current) => {
                let remaining = opts.timeout.saturating_sub(started.elapsed());
                if remaining.is_zero() {
                    return Err(StateError::Locked { holder: Box::new(current) });
                }
                tokio::time::sleep(poll.min(remaining)).await;
                poll = (poll * 2).min(MAX_POLL);
            }
        }
    }
}

/// `Ok(Ok(ours))` when taken, `Ok(Err(theirs))` when someone else holds a live lease.
fn try_take(ctx: &mut Ctx<'_>, holder: LockHolder, lease: Duration) -> Result<Result<LockInfo, LockInfo>, StateError> {
    let err = ctx.err("take the state lock");
    let holder_json = to_json("the lock holder", &holder)?;
    let tx = ctx.conn.savepoint().map_err(&err)?;
    let now = clock::now();
    if let Some(current) = read(&tx, ctx.ws).map_err(&err)? {
        let current = current.parse()?;
        if is_live(&current, now) {
            return Ok(Err(current));
        }
        tracing::info!(lock = %current, "taking over an expired or abandoned state lock");
    }
    let generation: i64 = tx
        .query_row(
            "INSERT INTO lock_generations (workspace, generation) VALUES (?1, 1) \
             ON CONFLICT (workspace) DO UPDATE SET generation = generation + 1 RETURNING generation",
            [ctx.ws],
            |r| r.get(0),
        )
        .map_err(&err)?;
    let info = LockInfo {
        id: uuid::Uuid::new_v4().to_string(),
        holder,
        acquired_at: clock::format(now),
        expires_at: clock::format(clock::add(now, lease)),
        generation,
    };
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT OR REPLACE INTO lock (workspace, id, holder, acquired_at, expires_at, lease_ms, generation) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![ctx.ws, info.id, holder_json, info.acquired_at, info.expires_at, lease_ms, generation],
    )
    .map_err(&err)?;
    tx.commit().map_err(&err)?;
    Ok(Ok(info))
}

fn is_live(lock: &LockInfo, now: time::OffsetDateTime) -> bool {
    // An unreadable expiry counts as expired: a lease nobody can interpret must not block forever.
    let unexpired = clock::parse(&lock.expires_at).is_some_and(|at| at > now);
    unexpired && !holder_is_dead(&lock.holder)
}

struct RawLock {
    id: String,
    holder: String,
    acquired_at: String,
    expires_at: String,
    generation: i64,
}

impl RawLock {
    fn parse(self) -> Result<LockInfo, StateError> {
        let holder = from_json(|| format!("lock {}", self.id), "holder", &self.holder)?;
        Ok(LockInfo {
            id: self.id,
            holder,
            acquired_at: self.acquired_at,
            expires_at: self.expires_at,
            generation: self.generation,
        })
    }
}

fn read(conn: &rusqlite::Connection, ws: &str) -> rusqlite::Result<Option<RawLock>> {
    conn.prepare_cached("SELECT id, holder, acquired_at, expires_at, generation FROM lock WHERE workspace = ?1")?
        .query_row([ws], |r| {
            Ok(RawLock {
                id: r.get(0)?,
                holder: r.get(1)?,
                acquired_at: r.get(2)?,
                expires_at: r.get(3)?,
                generation: r.get(4)?,
            })
        })
        .optional()
}

/// Where the lock `(id, generation)` stands now.
pub(super) fn status(ctx: &mut Ctx<'_>, id: &str, generation: i64) -> Result<LeaseStatus, StateError> {
    let raw = read(ctx.conn, ctx.ws).map_err(ctx.err("read the state lock"))?;
    let current = raw.map(RawLock::parse).transpose()?;
    Ok(match current {
        Some(l) if l.id == id && l.generation == generation => {
            if clock::parse(&l.expires_at).is_some_and(|at| at > clock::now()) {
                LeaseStatus::Current
            } else {
                LeaseStatus::Expired
            }
        }
        other => LeaseStatus::Lost(lease::reason(generation, other.as_ref())),
    })
}

/// Runs the write `f` only while `generation` is the workspace's last (nobody took the lock
/// since): the check and the write share one savepoint, so a take-over commits either before
/// both or after both. A lock released but not taken again still fences nobody out.
pub(super) fn fenced<T>(
    ctx: &mut Ctx<'_>,
    generation: i64,
    f: impl FnOnce(&mut Ctx<'_>) -> Result<T, StateError>,
) -> Result<T, StateError> {
    let err = ctx.err("check the state lock");
    ctx.conn.execute_batch("SAVEPOINT fenced").map_err(&err)?;
    let result = last_generation(ctx).and_then(|last| {
        if last == Some(generation) {
            return f(ctx);
        }
        let now = read(ctx.conn, ctx.ws).map_err(ctx.err("read the state lock"))?.map(RawLock::parse).transpose()?;
        Err(StateError::LeaseLost(lease::reason(generation, now.as_ref())))
    });
    let end = if result.is_ok() { "RELEASE fenced" } else { "ROLLBACK TO fenced; RELEASE fenced" };
    ctx.conn.execute_batch(end).map_err(&err)?;
    result
}

fn last_generation(ctx: &mut Ctx<'_>) -> Result<Option<i64>, StateError> {
    ctx.conn
        .prepare_cached("SELECT generation FROM lock_generations WHERE workspace = ?1")
        .and_then(|mut s| s.query_row([ctx.ws], |r| r.get(0)).optional())
        .map_err(ctx.err("read the state lock generation"))
}

/// Extends the lease by its original length from now. Fails with `NotLocked` when the lease was
/// released or taken over — the holder has lost the lock and must stop writing.
pub fn heartbeat(ctx: &mut Ctx<'_>, lock_id: &str) -> Result<(), StateError> {
    let err = ctx.err("renew the state lock");
    // The id is unique per take, so it names the generation too.
    let lease_ms: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT lease_ms FROM lock WHERE workspace = ?1 AND id = ?2")
        .and_then(|mut s| s.query_row(params![ctx.ws, lock_id], |r| r.get(0)).optional())
        .map_err(&err)?;
    let Some(lease_ms) = lease_ms else { return Err(StateError::NotLocked(lock_id.to_string())) };
    let lease = Duration::from_millis(u64::try_from(lease_ms).unwrap_or(0));
    let expires_at = clock::format(clock::add(clock::now(), lease));
    let n = ctx
        .conn
        .prepare_cached("UPDATE lock SET expires_at = ?1 WHERE workspace = ?2 AND id = ?3")
        .and_then(|mut s| s.execute(params![expires_at, ctx.ws, lock_id]))
        .map_err(&err)?;
    if n == 0 { Err(StateError::NotLocked(lock_id.to_string())) } else { Ok(()) }
}

/// Releases the lease only if `lock_id` holds it.
pub fn unlock(ctx: &mut Ctx<'_>, lock_id: &str) -> Result<(), StateError> {
    let n = ctx
        .conn
        .execute("DELETE FROM lock WHERE workspace = ?1 AND id = ?2", params![ctx.ws, lock_id])
        .map_err(ctx.err("release the state lock"))?;
    if n == 0 { Err(StateError::NotLocked(lock_id.to_string())) } else { Ok(()) }
}

/// Releases whatever lease is held, whoever holds it; `NotLocked` when there was none.
pub fn force_unlock(ctx: &mut Ctx<'_>, lock_id: &str) -> Result<(), StateError> {
    let err = ctx.err("force-release the state lock");
    let tx = ctx.conn.savepoint().map_err(&err)?;
    let current = read(&tx, ctx.ws).map_err(&err)?;
    let Some(current) = current else { return Err(StateError::NotLocked(lock_id.to_string())) };
    if current.id != lock_id {
        tracing::warn!(requested = lock_id, held = %current.id, "force-releasing a lock whose ID differs from the one given");
    }
    tx.execute("DELETE FROM lock WHERE workspace = ?1", [ctx.ws]).map_err(&err)?;
    tx.commit().map_err(&err)
}

/// The live lease, if any.
pub fn current(ctx: &mut Ctx<'_>) -> Result<Option<LockInfo>, StateError> {
    let raw = read(ctx.conn, ctx.ws).map_err(ctx.err("read the state lock"))?;
    match raw {
        None => Ok(None),
        Some(raw) => {
            let info = raw.parse()?;
            Ok(is_live(&info, clock::now()).then_some(info))
        }
    }
}
