//! SQLite backend tests: the conformance suite, plus what only a file can show — parent
//! directories, WAL, schema versions, garbage files, and a lock held by another process.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use super::SqliteBackend;
use crate::conformance::Fixture;
use crate::{Backend, LockHolder, LockOptions, StateError};

struct SqliteFixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn fixture() -> SqliteFixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(".tarn").join("state.db");
    SqliteFixture { _dir: dir, path }
}

#[async_trait]
impl Fixture for SqliteFixture {
    async fn open(&self) -> Result<Box<dyn Backend>, StateError> {
        Ok(Box::new(SqliteBackend::open(&self.path)?))
    }

    async fn open_workspace(&self, workspace: &str) -> Result<Box<dyn Backend>, StateError> {
        Ok(Box::new(SqliteBackend::open_workspace(&self.path, workspace)?))
    }

    async fn corrupt_resource(&self, address: &str) -> Result<(), StateError> {
        let conn = rusqlite::Connection::open(&self.path).map_err(|e| StateError::Storage(e.to_string()))?;
        conn.execute("UPDATE resources SET attributes = '{\"id\": ' WHERE address = ?1", [address])
            .map_err(|e| StateError::Storage(e.to_string()))?;
        Ok(())
    }
}

crate::conformance_tests!(fixture());

#[test]
fn open_creates_the_parent_directory_and_uses_wal() {
    let f = fixture();
    let b = SqliteBackend::open(&f.path).expect("open");
    assert!(f.path.exists());
    assert_eq!(b.describe(), format!("sqlite {}", f.path.display()));
    let mode: String = b
        .with_ctx(|ctx| {
            ctx.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(ctx.err("read journal_mode"))
        })
        .expect("journal mode");
    assert_eq!(mode, "wal");
    let ws = SqliteBackend::open_workspace(&f.path, "staging").expect("open workspace");
    assert_eq!(ws.describe(), format!("sqlite {} (workspace staging)", f.path.display()));
}

#[test]
fn migrations_are_recorded_once() {
    let f = fixture();
    let version = |b: &SqliteBackend| {
        b.with_ctx(|ctx| {
            ctx.conn
                .query_row("SELECT COUNT(*), MAX(version) FROM schema_migrations", [], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(ctx.err("read versions"))
        })
        .expect("versions")
    };
    let known = super::schema::known_version();
    assert_eq!(version(&SqliteBackend::open(&f.path).expect("open")), (known, known));
    assert_eq!(version(&SqliteBackend::open(&f.path).expect("reopen")), (known, known), "reopening migrates nothing");
}

/// A state file written before deposed objects existed (schema version 1) keeps its rows as
/// current objects and can then hold deposed ones.
#[tokio::test]
async fn a_version_1_file_migrates_its_rows_to_current_objects() {
    let f = fixture();
    std::fs::create_dir_all(f.path.parent().expect("parent")).expect("mkdir");
    {
        let conn = rusqlite::Connection::open(&f.path).expect("create a v1 file");
        conn.execute_batch(super::schema::MIGRATIONS[0]).expect("v1 schema");
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 'then');
             INSERT INTO meta VALUES ('default', 'lin-1', 7, 'then');
             INSERT INTO resources VALUES ('default', 'null_resource.a', 'managed', 'null_resource', 'null',
                 '{\"id\":\"1\"}', '[]', '[]', 'tarn-x', 0, 'then');",
        )
        .expect("v1 rows");
    }
    let b = SqliteBackend::open(&f.path).expect("open migrates");
    let s = b.snapshot().await.expect("snapshot");
    assert_eq!((s.lineage.as_str(), s.serial), ("lin-1", 7));
    assert_eq!(s.resources.len(), 1);
    assert_eq!((s.resources[0].address.as_str(), s.resources[0].deposed.as_ref()), ("null_resource.a", None));
    assert_eq!(s.resources[0].correlation.as_deref(), Some("tarn-x"));
    let mut old = s.resources[0].clone();
    old.deposed = Some("1a2b3c4d".into());
    b.put_resource(old).await.expect("a deposed row beside the migrated one");
    assert_eq!(b.snapshot().await.expect("snapshot").resources.len(), 2);
}

#[test]
fn a_newer_schema_is_refused() {
    let f = fixture();
    let b = SqliteBackend::open(&f.path).expect("open");
    b.with_ctx(|ctx| {
        ctx.conn
            .execute("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')", [])
            .map_err(ctx.err("pretend to be newer"))
    })
    .expect("insert version");
    match SqliteBackend::open(&f.path) {
        Err(StateError::TooNew { found: 99, known }) => assert_eq!(known, super::schema::known_version()),
        other => panic!("expected TooNew, got {:?}", other.map(|b| b.describe())),
    }
}

#[test]
fn a_file_that_is_not_a_database_is_a_storage_error_naming_it() {
    let f = fixture();
    std::fs::create_dir_all(f.path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&f.path, vec![b'x'; 4096]).expect("write garbage");
    match SqliteBackend::open(&f.path) {
        Err(StateError::Storage(msg)) => assert!(msg.contains(&f.path.display().to_string()), "{msg}"),
        other => panic!("expected Storage, got {:?}", other.map(|b| b.describe())),
    }
}

#[tokio::test]
async fn corrupt_journal_and_history_rows_name_the_record() {
    let f = fixture();
    let b = SqliteBackend::open(&f.path).expect("open");
    let run = b
        .begin_run(crate::RunStart {
            command: "apply".into(),
            holder: LockHolder::here("apply"),
            summary: serde_json::json!({}),
        })
        .await
        .expect("begin");
    b.with_ctx(|ctx| ctx.conn.execute("UPDATE runs SET holder = 'nope'", []).map_err(ctx.err("corrupt run")))
        .expect("corrupt run");
    assert!(matches!(b.history().await, Err(StateError::Corrupt { what, .. }) if what.contains(&run)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_handles_write_concurrently_without_busy_errors() {
    let f = fixture();
    let mut tasks = tokio::task::JoinSet::new();
    for h in 0..4 {
        let b = SqliteBackend::open(&f.path).expect("open");
        tasks.spawn(async move {
            for i in 0..200 {
                b.put_resource(crate::conformance::sample(&format!("null_resource.h{h}[{i}]"), i)).await?;
            }
            Ok::<_, StateError>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("join").expect("no write fails under contention");
    }
    let b = SqliteBackend::open(&f.path).expect("open");
    assert_eq!(b.snapshot().await.expect("snapshot").resources.len(), 800);
}

/// Set in the child process started by `lock_of_a_killed_process_is_taken_over`.
const CHILD_DB: &str = "TARN_STATE_TEST_CHILD_DB";

/// Not a test on its own: in the child process, takes the lock, says so, and waits to be killed.
#[test]
fn child_lock_holder() {
    let Some(path) = std::env::var_os(CHILD_DB) else { return };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let b = SqliteBackend::open(std::path::Path::new(&path)).expect("child open");
        let opts = LockOptions { timeout: Duration::ZERO, lease: Duration::from_secs(3600) };
        let info = b.lock(LockHolder::here("tarn apply (child)"), opts).await.expect("child lock");
        println!("LOCKED {}", info.id);
        let _ = std::io::Write::flush(&mut std::io::stdout());
        tokio::time::sleep(Duration::from_secs(120)).await;
    });
}

/// Kills the child when the test ends, however it ends.
struct Reaper(std::process::Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn lock_of_a_killed_process_is_taken_over() {
    let f = fixture();
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Reaper(
        std::process::Command::new(exe)
            .args(["--exact", "sqlite::tests::child_lock_holder", "--nocapture", "--test-threads=1"])
            .env(CHILD_DB, &f.path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the child holder"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    // libtest prints "test NAME ... " before the test's own output, on the same line.
    let child_lock = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("LOCKED ").map(|(_, id)| id.trim().to_string()))
        .expect("the child reports its lock");

    let b = SqliteBackend::open(&f.path).expect("open");
    let opts = LockOptions { timeout: Duration::from_millis(200), lease: Duration::from_secs(60) };
    match b.lock(LockHolder::here("tarn apply"), opts).await {
        Err(StateError::Locked { holder }) => {
            assert_eq!(holder.id, child_lock);
            assert_eq!(holder.holder.pid, child.0.id());
        }
        other => panic!("expected Locked while the child lives, got {other:?}"),
    }
    child.0.kill().expect("kill -9 the child");
    child.0.wait().expect("reap the child");
    let taken = b.lock(LockHolder::here("tarn apply"), LockOptions { timeout: Duration::ZERO, ..opts }).await;
    assert!(taken.is_ok(), "the dead child's hour-long lease does not block: {taken:?}");
}

/// Set in the child process started by `a_kill_9_loses_no_acknowledged_write`.
const CRASH_DB: &str = "TARN_STATE_TEST_CRASH_DB";

/// Not a test on its own: in the child process, writes rows and journal intents from several
/// tasks as fast as it can, printing each one once its call has returned, until killed.
#[test]
fn child_busy_writer() {
    let Some(path) = std::env::var_os(CRASH_DB) else { return };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let b = SqliteBackend::open(std::path::Path::new(&path)).expect("child open");
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..8 {
            let b = b.clone();
            tasks.spawn(async move {
                for i in 0.. {
                    let address = format!("null_resource.w{w}[{i}]");
                    let entry = crate::JournalEntry {
                        run_id: "crash".into(),
                        address: address.clone(),
                        op: "create".into(),
                        phase: crate::JournalPhase::Intent,
                        correlation: None,
                        detail: serde_json::json!({}),
                        intent_seq: None,
                    };
                    let seq = b.journal(entry).await.expect("child journal");
                    println!("INTENT {seq}");
                    b.put_resource(crate::conformance::sample(&address, i)).await.expect("child put");
                    println!("ROW {address}");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    });
}

#[tokio::test]
async fn a_kill_9_loses_no_acknowledged_write() {
    let f = fixture();
    SqliteBackend::open(&f.path).expect("create the file first");
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Reaper(
        std::process::Command::new(exe)
            .args(["--exact", "sqlite::tests::child_busy_writer", "--nocapture", "--test-threads=1"])
            .env(CRASH_DB, &f.path)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the child writer"),
    );
    let stdout = child.0.stdout.take().expect("child stdout");
    let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
    let (mut rows, mut intents) = (Vec::new(), Vec::new());
    let note = |line: &str, rows: &mut Vec<String>, intents: &mut Vec<i64>| {
        if let Some((_, a)) = line.split_once("ROW ") {
            rows.push(a.trim().to_string());
        } else if let Some((_, s)) = line.split_once("INTENT ") {
            intents.push(s.trim().parse().expect("seq"));
        }
    };
    for line in lines.by_ref() {
        note(&line, &mut rows, &mut intents);
        if rows.len() >= 400 {
            break;
        }
    }
    child.0.kill().expect("kill -9 the child mid-write");
    child.0.wait().expect("reap the child");
    // What the child printed before it died is still in the pipe.
    for line in lines {
        note(&line, &mut rows, &mut intents);
    }

    assert!(rows.len() >= 400, "the child wrote only {} rows before dying on its own", rows.len());

    let b = SqliteBackend::open(&f.path).expect("reopen after the crash");
    let ok: String = b
        .with_ctx(|ctx| {
            ctx.conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(ctx.err("integrity_check"))
        })
        .expect("integrity check");
    assert_eq!(ok, "ok");
    let stored: std::collections::HashSet<String> =
        b.snapshot().await.expect("snapshot").resources.into_iter().map(|r| r.address).collect();
    let lost: Vec<_> = rows.iter().filter(|a| !stored.contains(*a)).collect();
    assert!(lost.is_empty(), "{} acknowledged rows lost, e.g. {:?}", lost.len(), lost.first());
    let open: std::collections::HashSet<i64> =
        b.open_intents().await.expect("open intents").into_iter().map(|r| r.seq).collect();
    assert!(intents.iter().all(|s| open.contains(s)), "every acknowledged intent is still open");
}

/// A batch that fails on its last row leaves nothing of its earlier deletes and puts.
#[tokio::test]
async fn a_failing_batch_writes_nothing() {
    let f = fixture();
    let b = SqliteBackend::open(&f.path).expect("open");
    b.put_resource(crate::conformance::sample("null_resource.a", 1)).await.expect("put");
    b.with_ctx(|ctx| {
        ctx.conn
            .execute_batch(
                "CREATE TRIGGER poison BEFORE INSERT ON resources WHEN NEW.address = 'null_resource.poison' \
                 BEGIN SELECT RAISE(ABORT, 'poisoned row'); END",
            )
            .map_err(ctx.err("create trigger"))
    })
    .expect("trigger");
    let before = b.snapshot().await.expect("snapshot");
    let err = b
        .apply_batch(crate::StateBatch {
            delete: vec!["null_resource.a".into()],
            put: vec![
                crate::conformance::sample("null_resource.b", 2),
                crate::conformance::sample("null_resource.poison", 3),
            ],
            outputs: Some(vec![]),
            lineage: Some("x".into()),
            serial_at_least: Some(9),
        })
        .await
        .expect_err("the poisoned row fails the batch");
    assert!(err.to_string().contains("poisoned row"), "{err}");
    assert_eq!(b.snapshot().await.expect("snapshot"), before);
    // The writer is still usable afterwards.
    b.put_resource(crate::conformance::sample("null_resource.c", 4)).await.expect("put after");
}

/// The verified copy: written when a lock is released, checked on every open. A newer file is
/// fine; an older one, or one of another lineage, is refused before anything is written; the
/// copy is restored only when its digest matches.
#[tokio::test]
async fn the_verified_copy_is_recorded_at_unlock_and_guards_every_open() {
    use super::verified;
    let f = fixture();
    let b = SqliteBackend::open(&f.path).expect("open");
    b.snapshot().await.expect("lineage");
    assert!(verified::read_record(&f.path).expect("read").is_none(), "nothing recorded without a lock");
    let lock = b.lock(LockHolder::here("tarn apply"), opts()).await.expect("lock");
    b.begin_run(crate::RunStart {
        command: "tarn apply".into(),
        holder: LockHolder::here("x"),
        summary: serde_json::json!({}),
    })
    .await
    .expect("run");
    b.unlock(&lock.id).await.expect("unlock");
    let record = verified::read_record(&f.path).expect("read").expect("recorded at unlock");
    assert_eq!(record.workspaces["default"].serial, 1);
    assert!(verified::backup_path(&f.path).exists());
    let copy_of_serial_1 = std::fs::read(verified::backup_path(&f.path)).expect("backup");

    // Newer than recorded (a run that was killed before it could record): fine.
    let lock = b.lock(LockHolder::here("tarn apply"), opts()).await.expect("lock");
    b.begin_run(crate::RunStart {
        command: "tarn apply".into(),
        holder: LockHolder::here("x"),
        summary: serde_json::json!({}),
    })
    .await
    .expect("run");
    verified::check(&f.path).expect("a newer file passes");
    b.unlock(&lock.id).await.expect("unlock");
    drop(b);
    assert_eq!(verified::read_record(&f.path).expect("read").expect("record").workspaces["default"].serial, 2);
    // The writer thread closes the last connection on its own time, which checkpoints the WAL
    // into the file and removes it: wait for that before replacing the file.
    let wal = PathBuf::from(format!("{}-wal", f.path.display()));
    let t = std::time::Instant::now();
    while wal.exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "the backend's connections never closed");
        std::thread::sleep(Duration::from_millis(20));
    }

    // Older than recorded: refused on open, and the file is not touched.
    let _ = std::fs::remove_file(format!("{}-shm", f.path.display()));
    std::fs::write(&f.path, &copy_of_serial_1).expect("put an old copy back");
    match SqliteBackend::open(&f.path) {
        Err(StateError::Damaged(m)) => assert!(m.contains("is older than the last verified state"), "{m}"),
        other => panic!("expected Damaged, got {:?}", other.map(|b| b.describe())),
    }
    assert_eq!(std::fs::read(&f.path).expect("read"), copy_of_serial_1, "the refused file is unchanged");
    let restored = verified::restore(&f.path).expect("restore");
    assert_eq!(restored.record.workspaces["default"].serial, 2);
    assert_eq!(restored.kept_aside.len(), 1);
    let b = SqliteBackend::open(&f.path).expect("the restored file opens");
    assert_eq!(b.snapshot().await.expect("snapshot").serial, 2);
    assert!(matches!(verified::restore(&f.path), Err(StateError::Damaged(m)) if m.contains("nothing was restored")));
}

fn opts() -> LockOptions {
    LockOptions { timeout: Duration::ZERO, lease: Duration::from_secs(60) }
}
