//! The single writer: one thread owns the write connection and commits queued writes in groups.
//!
//! Each write is an operation closure run inside the group's `BEGIN IMMEDIATE` transaction;
//! its caller is answered only after the group's COMMIT, so "durable when the call returns"
//! still holds. Concurrent writers (the executor's workers) then share one commit instead of
//! paying one each. Operations must be atomic on their own (one statement, or a savepoint), so
//! that a failing one leaves nothing behind and does not affect the others in its group.
//! This module must not know what the operations do.

use std::sync::mpsc;

use rusqlite::Connection;

use super::Ctx;
use crate::StateError;

/// At most this many operations share a commit, bounding the latency of the first.
const MAX_GROUP: usize = 512;

/// Answers an operation's caller once the fate of its transaction is known: `Err(message)`
/// when the commit failed and the operation's writes are lost.
pub(super) type Deliver = Box<dyn FnOnce(Result<(), &str>) + Send>;
pub(super) type Job = Box<dyn FnOnce(&mut Ctx<'_>) -> Deliver + Send>;

/// Wraps a typed operation and its reply channel into a [`Job`].
pub(super) fn job<T, F>(op: F, reply: tokio::sync::oneshot::Sender<Result<T, StateError>>) -> Job
where
    T: Send + 'static,
    F: FnOnce(&mut Ctx<'_>) -> Result<T, StateError> + Send + 'static,
{
    Box::new(move |ctx: &mut Ctx<'_>| {
        let result = op(ctx);
        Box::new(move |commit: Result<(), &str>| {
            let answer = match (result, commit) {
                (Err(e), _) => Err(e),
                (Ok(v), Ok(())) => Ok(v),
                (Ok(_), Err(msg)) => Err(StateError::Storage(msg.to_string())),
            };
            // The caller may have gone away (cancelled); the write stands regardless.
            let _ = reply.send(answer);
        }) as Deliver
    })
}

/// Runs until every sender (every clone of the backend) is dropped, then closes the connection.
pub(super) fn run(mut conn: Connection, jobs: mpsc::Receiver<Job>, ws: String, display: String) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let mut ctx = Ctx { conn: &mut conn, ws: &ws, display: &display };
        commit_group(&mut ctx, group);
    }
}

/// Runs one operation. A panic (a bug) costs only that operation: its savepoint rolled back
/// as it unwound, its caller sees the reply channel close, and the thread lives on.
fn run_one(ctx: &mut Ctx<'_>, job: Job) -> Option<Deliver> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(ctx))).ok()
}

fn commit_group(ctx: &mut Ctx<'_>, group: Vec<Job>) {
    let mut pending: Vec<Deliver> = Vec::with_capacity(group.len());
    for job in group {
        if ctx.conn.is_autocommit() {
            if !pending.is_empty() {
                // SQLite rolled the whole transaction back under an operation (disk full, I/O
                // error): everything run so far in this group is lost.
                let msg = format!("write ({}): the transaction was rolled back by SQLite", ctx.display());
                pending.drain(..).for_each(|d| d(Err(&msg)));
            }
            if ctx.conn.execute_batch("BEGIN IMMEDIATE").is_err() {
                // Could not take the write lock for a group; let this operation run (and fail,
                // or succeed) on its own, reporting its own error.
                if let Some(deliver) = run_one(ctx, job) {
                    deliver(Ok(()));
                }
                continue;
            }
        }
        pending.extend(run_one(ctx, job));
    }
    if pending.is_empty() {
        return;
    }
    if ctx.conn.is_autocommit() {
        let msg = format!("write ({}): the transaction was rolled back by SQLite", ctx.display());
        pending.into_iter().for_each(|d| d(Err(&msg)));
        return;
    }
    match ctx.conn.execute_batch("COMMIT") {
        Ok(()) => pending.into_iter().for_each(|d| d(Ok(()))),
        Err(e) => {
            let msg = format!("commit ({}): {e}", ctx.display());
            if !ctx.conn.is_autocommit() {
                let _ = ctx.conn.execute_batch("ROLLBACK");
            }
            pending.into_iter().for_each(|d| d(Err(&msg)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(sql: &'static str) -> (Job, tokio::sync::oneshot::Receiver<Result<usize, StateError>>) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let op = move |ctx: &mut Ctx<'_>| {
            let err = ctx.err("insert");
            let sp = ctx.conn.savepoint().map_err(&err)?;
            let n = sp.execute(sql, []).map_err(&err)?;
            sp.commit().map_err(&err)?;
            Ok(n)
        };
        (job(op, tx), rx)
    }

    #[test]
    fn a_failing_operation_does_not_sink_its_group() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)").expect("create");
        let (a, ra) = insert("INSERT INTO t VALUES (1)");
        let (b, rb) = insert("INSERT INTO t VALUES (1)"); // duplicate key: fails
        let (c, rc) = insert("INSERT INTO t VALUES (2)");
        let mut ctx = Ctx { conn: &mut conn, ws: "default", display: ":memory:" };
        commit_group(&mut ctx, vec![a, b, c]);
        assert!(matches!(ra.blocking_recv(), Ok(Ok(1))));
        assert!(matches!(rb.blocking_recv(), Ok(Err(StateError::Storage(msg))) if msg.contains("UNIQUE")));
        assert!(matches!(rc.blocking_recv(), Ok(Ok(1))));
        assert!(conn.is_autocommit(), "the group was committed");
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).expect("count");
        assert_eq!(n, 2);
    }

    #[test]
    fn a_panicking_operation_costs_only_itself() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch("CREATE TABLE t (x INTEGER PRIMARY KEY)").expect("create");
        let (a, ra) = insert("INSERT INTO t VALUES (1)");
        let (tx, rb) = tokio::sync::oneshot::channel::<Result<(), StateError>>();
        let b = job(|_: &mut Ctx<'_>| -> Result<(), StateError> { panic!("a bug") }, tx);
        let (c, rc) = insert("INSERT INTO t VALUES (2)");
        let mut ctx = Ctx { conn: &mut conn, ws: "default", display: ":memory:" };
        commit_group(&mut ctx, vec![a, b, c]);
        assert!(matches!(ra.blocking_recv(), Ok(Ok(1))));
        assert!(rb.blocking_recv().is_err(), "the panicking caller sees its reply dropped");
        assert!(matches!(rc.blocking_recv(), Ok(Ok(1))));
    }

    #[test]
    fn the_thread_ends_when_the_backend_is_dropped() {
        let conn = Connection::open_in_memory().expect("memory db");
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::spawn(move || run(conn, rx, "default".into(), ":memory:".into()));
        drop(tx);
        handle.join().expect("the writer thread exits cleanly");
    }
}
