//! WAL checkpoints off the write path. SQLite's automatic checkpoint runs inside the COMMIT
//! that takes the WAL past 1,000 pages: that commit copies every page back into the database
//! and fsyncs both files (15–40 ms here) while every write queued behind it, and every
//! provider call waiting for its intent, stands still. Instead, the writer's connection only
//! reports the WAL's size (a wal hook), and a thread with its own connection runs the
//! checkpoint in PASSIVE mode, which never waits for, nor blocks, the writer.
//!
//! Durability does not change: a commit is in the WAL before it returns, checkpointed or not.
//! The last connection to close still checkpoints, so a cleanly closed file stands alone.
//! This module must not know what is written.

use std::sync::mpsc;

use rusqlite::Connection;

use crate::StateError;

/// WAL size, in pages, past which a checkpoint is asked for (SQLite's own default).
const WAL_PAGES: i32 = 1000;

/// Opens the checkpoint thread's connection, on its first checkpoint: most commands never
/// write 1,000 pages and should not pay for a third connection.
pub(super) type Open = Box<dyn Fn() -> Result<Connection, StateError> + Send>;

/// Hands `write_conn`'s checkpoints to a new thread with a connection of its own. The thread
/// ends when `write_conn` is dropped.
pub(super) fn start(write_conn: &mut Connection, open: Open, display: &str) -> Result<(), StateError> {
    let (ask, asked) = mpsc::sync_channel::<()>(1);
    let name = display.to_string();
    std::thread::Builder::new()
        .name("tarn-state-checkpoint".to_string())
        .spawn(move || run(open, asked, name))
        .map_err(|e| StateError::Storage(format!("start the checkpoint thread for {display}: {e}")))?;
    // Replaces SQLite's automatic checkpoint (also a wal hook) on this connection.
    write_conn
        .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
            if pages >= WAL_PAGES {
                // Full: a checkpoint is already asked for; it will see this commit too.
                let _ = ask.try_send(());
            }
            Ok(())
        }))
        .map_err(|e| StateError::Storage(format!("install the WAL hook on {display}: {e}")))
}

fn run(open: Open, asked: mpsc::Receiver<()>, file: String) {
    let mut conn = None;
    while asked.recv().is_ok() {
        if conn.is_none() {
            match open() {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    tracing::warn!(file = %file, error = %e, "cannot open a connection to checkpoint the WAL; the WAL grows until one opens");
                    continue;
                }
            }
        }
        let Some(conn) = &conn else { continue };
        // (busy, pages in the WAL, pages checkpointed); busy only means it could not finish
        // this time, and the next commit asks again.
        let result = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        match result {
            Ok((busy, log, done)) => tracing::trace!(file = %file, busy, log, done, "WAL checkpoint"),
            Err(e) => {
                tracing::warn!(file = %file, error = %e, "WAL checkpoint failed; the WAL grows until one succeeds")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn the_writer_never_checkpoints_and_the_thread_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let open = || {
            let c = Connection::open(&path).expect("open");
            let _: String = c.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).expect("wal");
            c
        };
        let mut writer = open();
        writer.execute_batch("CREATE TABLE t (x BLOB)").expect("create");
        // A hook alone: no commit checkpoints any more. ~9.6 MB goes to the WAL, which SQLite's
        // automatic checkpoint would have kept near 4 MB, and none of it to the database.
        writer.wal_hook(Some(|_: &mut rusqlite::hooks::Wal, _: i32| Ok(()))).expect("hook");
        for _ in 0..600 {
            writer.execute("INSERT INTO t VALUES (zeroblob(16000))", []).expect("insert");
        }
        assert!(size(&dir.path().join("s.db-wal")) > 9_000_000, "the WAL kept every commit");
        assert!(size(&path) < 1_000_000, "nothing was checkpointed into the database");

        // With the thread: the next commit asks for a checkpoint, which copies the WAL back.
        let path2 = path.clone();
        let opener: Open = Box::new(move || Ok(Connection::open(&path2).expect("open")));
        start(&mut writer, opener, "s.db").expect("start");
        writer.execute("INSERT INTO t VALUES (1)", []).expect("insert");
        let deadline = Instant::now() + Duration::from_secs(20);
        while size(&path) < 9_000_000 {
            assert!(Instant::now() < deadline, "the checkpoint thread never copied the WAL back");
            std::thread::sleep(Duration::from_millis(20));
        }
        let n: i64 = open().query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).expect("count");
        assert_eq!(n, 601);
    }
}
