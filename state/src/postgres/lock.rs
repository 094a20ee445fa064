//! The lock lease of one (stack, workspace): one row with the holder, when it was taken and
//! when it expires. Other stacks and workspaces have rows of their own, so they never wait.
//!
//! Taking it is compare-and-set on that row — insert when absent, replace only the lease that
//! was read when it is expired or its holder dead — so two tarns can never both succeed, with
//! no transaction held while waiting. Times are the database server's clock, so clients whose
//! clocks disagree still agree on expiry. A holder on this host whose pid is gone counts as
//! expired at once.
//!
//! A take also bumps the workspace's generation in `lock_generations`, in the same statement
//! and only when the compare-and-set succeeded; the lock's generation is read from there. The
//! fence on writes is the `tarn_fence` trigger (see `schema.rs`), armed per connection.

use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::{Ctx, PgBackend};
use crate::StateError;
use crate::clock;
use crate::lease::{self, LeaseStatus};
use crate::liveness::holder_is_dead;
use crate::model::*;
use crate::sqlite::resources::{from_json, to_json};

const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(1);

pub async fn acquire(backend: &PgBackend, holder: LockHolder, opts: LockOptions) -> Result<LockInfo, StateError> {
    let started = Instant::now();
    let mut poll = FIRST_POLL;
    loop {
        let client = backend.client().await?;
        match try_take(&backend.ctx(&client), &holder, opts.lease).await? {
            Some(Ok(taken)) => return Ok(taken),
            // Someone else changed the row between our read and our write: look again at once.
            None => continue,
            Some(Err(current)) => {
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

/// The server's clock and the stored lease, read together.
async fn read(ctx: &Ctx<'_>) -> Result<(OffsetDateTime, Option<(LockInfo, i64)>), StateError> {
    let row = ctx
        .client
        .query_one(
            &format!(
                "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::int8, l.id, l.holder, l.acquired_at, l.expires_at, \
                 l.lease_ms, COALESCE(g.generation, 0)::int8 FROM (SELECT 1) AS one LEFT JOIN {s}.lock l ON l.workspace = $1 \
                 LEFT JOIN {s}.lock_generations g ON g.workspace = $1",
                s = ctx.s
            ),
            &[&ctx.ws],
        )
        .await
        .map_err(ctx.err("read the state lock"))?;
    let now = from_millis(row.get(0));
    let Some(id) = row.get::<_, Option<String>>(1) else { return Ok((now, None)) };
    let holder_json: String = row.get(2);
    let holder = from_json(|| format!("lock {id}"), "holder", &holder_json)?;
    let info = LockInfo { id, holder, acquired_at: row.get(3), expires_at: row.get(4), generation: row.get(6) };
    Ok((now, Some((info, row.get(5)))))
}

fn from_millis(ms: i64) -> OffsetDateTime {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or_else(|_| clock::now());
    t.replace_millisecond(t.millisecond()).unwrap_or(t)
}

fn is_live(lock: &LockInfo, now: OffsetDateTime) -> bool {
    // An unreadable expiry counts as expired: a lease nobody can interpret must not block forever.
    let unexpired = clock::parse(&lock.expires_at).is_some_and(|at| at > now);
    unexpired && !holder_is_dead(&lock.holder)
}

/// `Some(Ok(ours))` when taken, `Some(Err(theirs))` when someone holds a live lease, `None`
/// when the row changed under us (retry).
async fn try_take(
    ctx: &Ctx<'_>,
    holder: &LockHolder,
    lease: Duration,
) -> Result<Option<Result<LockInfo, LockInfo>>, StateError> {
    let err = ctx.err("take the state lock");
    let (now, current) = read(ctx).await?;
    if let Some((current, _)) = &current {
        if is_live(current, now) {
            return Ok(Some(Err(current.clone())));
        }
        tracing::info!(lock = %current, "taking over an expired or abandoned state lock");
    }
    let mut info = LockInfo {
        id: uuid::Uuid::new_v4().to_string(),
        holder: holder.clone(),
        acquired_at: clock::format(now),
        expires_at: clock::format(clock::add(now, lease)),
        generation: 0,
    };
    let holder_json = to_json("the lock holder", holder)?;
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let s = &ctx.s;
    // The generation is bumped from the rows the compare-and-set changed: none, no bump.
    let bump = format!(
        "g AS (INSERT INTO {s}.lock_generations (workspace, generation) SELECT workspace, 1 FROM t \
         ON CONFLICT (workspace) DO UPDATE SET generation = {s}.lock_generations.generation + 1 RETURNING generation) \
         SELECT generation FROM g"
    );
    let rows = match current {
        None => ctx
            .client
            .query(
                &format!(
                    "WITH t AS (INSERT INTO {s}.lock (workspace, id, holder, acquired_at, expires_at, lease_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace) DO NOTHING RETURNING workspace), {bump}"
                ),
                &[&ctx.ws, &info.id, &holder_json, &info.acquired_at, &info.expires_at, &lease_ms],
            )
            .await
            .map_err(&err)?,
        Some((old, _)) => ctx
            .client
            .query(
                &format!(
                    "WITH t AS (UPDATE {s}.lock SET id = $2, holder = $3, acquired_at = $4, expires_at = $5, lease_ms = $6 \
                     WHERE workspace = $1 AND id = $7 RETURNING workspace), {bump}"
                ),
                &[&ctx.ws, &info.id, &holder_json, &info.acquired_at, &info.expires_at, &lease_ms, &old.id],
            )
            .await
            .map_err(&err)?,
    };
    let Some(row) = rows.first() else { return Ok(None) };
    info.generation = row.get(0);
    Ok(Some(Ok(info)))
}

/// Where the lock `(id, generation)` stands now.
pub(super) async fn status(ctx: &Ctx<'_>, id: &str, generation: i64) -> Result<LeaseStatus, StateError> {
    let (now, current) = read(ctx).await?;
    Ok(match current {
        Some((l, _)) if l.id == id && l.generation == generation => {
            if clock::parse(&l.expires_at).is_some_and(|at| at > now) {
                LeaseStatus::Current
            } else {
                LeaseStatus::Expired
            }
        }
        other => LeaseStatus::Lost(lease::reason(generation, other.as_ref().map(|(l, _)| l))),
    })
}

/// Arms (or, with `None`, disarms) the fence on this connection: its writes to the workspace
/// then pass only while `generation` is the last one taken.
pub(super) async fn arm(ctx: &Ctx<'_>, generation: Option<i64>) -> Result<(), StateError> {
    let (ws, generation) = match generation {
        Some(g) => (ctx.ws.to_string(), g.to_string()),
        None => (String::new(), String::new()),
    };
    ctx.client
        .execute(
            "SELECT set_config('tarn.fence_workspace', $1, false), set_config('tarn.fence_generation', $2, false)",
            &[&ws, &generation],
        )
        .await
        .map_err(ctx.err("arm the state lock's fence"))?;
    Ok(())
}

/// Extends the lease by its original length from now. `NotLocked` when the lease was released
/// or taken over — the holder has lost the lock and must stop writing.
pub async fn heartbeat(ctx: &Ctx<'_>, lock_id: &str) -> Result<(), StateError> {
    let (now, current) = read(ctx).await?;
    let Some((current, lease_ms)) = current.filter(|(l, _)| l.id == lock_id) else {
        return Err(StateError::NotLocked(lock_id.to_string()));
    };
    let lease = Duration::from_millis(u64::try_from(lease_ms).unwrap_or(0));
    let expires_at = clock::format(clock::add(now, lease));
    let n = ctx
        .client
        .execute(
            &format!("UPDATE {}.lock SET expires_at = $1 WHERE workspace = $2 AND id = $3", ctx.s),
            &[&expires_at, &ctx.ws, &current.id],
        )
        .await
        .map_err(ctx.err("renew the state lock"))?;
    if n == 0 { Err(StateError::NotLocked(lock_id.to_string())) } else { Ok(()) }
}

/// Releases the lease only if `lock_id` holds it.
pub async fn unlock(ctx: &Ctx<'_>, lock_id: &str) -> Result<(), StateError> {
    let n = ctx
        .client
        .execute(&format!("DELETE FROM {}.lock WHERE workspace = $1 AND id = $2", ctx.s), &[&ctx.ws, &lock_id])
        .await
        .map_err(ctx.err("release the state lock"))?;
    if n == 0 { Err(StateError::NotLocked(lock_id.to_string())) } else { Ok(()) }
}

/// Releases whatever lease is held, whoever holds it; `NotLocked` when there was none.
pub async fn force_unlock(ctx: &Ctx<'_>, lock_id: &str) -> Result<(), StateError> {
    let rows = ctx
        .client
        .query(&format!("DELETE FROM {}.lock WHERE workspace = $1 RETURNING id", ctx.s), &[&ctx.ws])
        .await
        .map_err(ctx.err("force-release the state lock"))?;
    let Some(row) = rows.first() else { return Err(StateError::NotLocked(lock_id.to_string())) };
    let held: String = row.get(0);
    if held != lock_id {
        tracing::warn!(requested = lock_id, held = %held, "force-released a lock whose ID differs from the one given");
    }
    Ok(())
}

/// The live lease, if any.
pub async fn current(ctx: &Ctx<'_>) -> Result<Option<LockInfo>, StateError> {
    let (now, current) = read(ctx).await?;
    Ok(current.map(|(l, _)| l).filter(|l| is_live(l, now)))
}
