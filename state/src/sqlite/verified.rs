//! The last verified state of a SQLite file, kept beside it so that damage is noticed instead
//! of silently replacing the state: `<db>.backup`, a copy made after each command that held the
//! lock (SQLite's `VACUUM INTO`, then renamed into place), and `<db>.meta`, a small record
//! written atomically after it: each workspace's lineage and serial, the journal's and the
//! history's high-water marks, and the backup's SHA-256.
//!
//! Before a file is opened for writing, [`check`] compares it with that record on a read-only
//! connection: a file that is missing, empty, unreadable, of another lineage or older (a serial
//! or a high-water mark lower than recorded: a lost or damaged WAL, a file put back from an old
//! copy) is refused with [`StateError::Damaged`], and nothing is written. Newer is fine: a run
//! killed before it could record. [`restore`] puts the backup back after checking its digest.
//! The record only ever moves forward; it never causes a refusal of a state tarn wrote since.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::StateError;
use crate::clock;

/// The record's format version; a newer one is not understood and not trusted either way.
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub format: u32,
    /// RFC 3339: when the backup was made.
    pub recorded_at: String,
    /// Lineage and serial of every workspace in the file.
    pub workspaces: BTreeMap<String, Mark>,
    /// The AUTOINCREMENT high-water marks of the journal and the run history: they only grow.
    pub journal_seq: i64,
    pub runs_seq: i64,
    /// SHA-256 (hex) and size of `<db>.backup`.
    pub backup_sha256: String,
    pub backup_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub lineage: String,
    pub serial: i64,
}

/// The marks of a database, as read from it.
#[derive(Debug, Clone, PartialEq)]
struct Marks {
    workspaces: BTreeMap<String, Mark>,
    journal_seq: i64,
    runs_seq: i64,
}

pub fn record_path(db: &Path) -> PathBuf {
    suffixed(db, ".meta")
}

pub fn backup_path(db: &Path) -> PathBuf {
    suffixed(db, ".backup")
}

fn suffixed(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The record beside `db`, if one was written.
pub fn read_record(db: &Path) -> Result<Option<Record>, StateError> {
    let path = record_path(db);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::Storage(format!("read {}: {e}", path.display()))),
    };
    let record: Record = serde_json::from_slice(&text).map_err(|e| {
        StateError::Damaged(format!(
            "the record of the last verified state, {}, is damaged ({e}). Nothing was changed. If the state database \
             itself is fine, delete that file and tarn writes a new one after the next command that takes the lock.",
            path.display()
        ))
    })?;
    if record.format > FORMAT {
        return Err(StateError::Damaged(format!(
            "{} was written by a newer tarn (format {}); upgrade tarn",
            path.display(),
            record.format
        )));
    }
    Ok(Some(record))
}

/// Refuses a database that is missing, empty, unreadable, of another lineage or older than
/// the record beside it. Opens it read-only: a refused file is never written.
pub fn check(db: &Path) -> Result<(), StateError> {
    let Some(record) = read_record(db)? else { return Ok(()) };
    // A read-only connection still creates an empty WAL and shared-memory file when they are
    // absent; a refusal removes those again, so that it leaves the files as it found them.
    let absent: Vec<PathBuf> = ["-wal", "-shm"].iter().map(|s| suffixed(db, s)).filter(|p| !p.exists()).collect();
    let problem = match std::fs::metadata(db) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("is missing".to_string()),
        Err(e) => Some(format!("cannot be read ({e})")),
        Ok(m) if m.len() == 0 => Some("is empty (0 bytes)".to_string()),
        Ok(_) => match read_marks_readonly(db) {
            Err(e) => Some(format!("cannot be read ({e})")),
            Ok(marks) => older(&marks, &record),
        },
    };
    let Some(what) = problem else { return Ok(()) };
    for created in absent {
        let _ = std::fs::remove_file(&created);
    }
    Err(damaged(db, &record, &what))
}

/// Why `marks` are older than (or not of) `record`, if they are.
fn older(marks: &Marks, record: &Record) -> Option<String> {
    for (ws, want) in &record.workspaces {
        let Some(found) = marks.workspaces.get(ws) else {
            return Some(format!(
                "is older than the last verified state: it has lost workspace {ws:?} (serial {} was recorded)",
                want.serial
            ));
        };
        if found.lineage != want.lineage {
            return Some(format!(
                "holds another state in workspace {ws:?} (lineage {}, where {} was recorded)",
                found.lineage, want.lineage
            ));
        }
        if found.serial < want.serial {
            return Some(format!(
                "is older than the last verified state: workspace {ws:?} is at serial {}, and serial {} was recorded",
                found.serial, want.serial
            ));
        }
    }
    if marks.journal_seq < record.journal_seq || marks.runs_seq < record.runs_seq {
        return Some(format!(
            "is older than the last verified state: it has lost journal entries or runs (journal up to {}, runs up \
             to {}; {} and {} were recorded)",
            marks.journal_seq, marks.runs_seq, record.journal_seq, record.runs_seq
        ));
    }
    None
}

fn damaged(db: &Path, record: &Record, what: &str) -> StateError {
    let backup = backup_path(db);
    StateError::Damaged(format!(
        "the state database {} {what}. It was last verified at {} ({}). Nothing was changed: tarn refuses to \
         work on it, since it would lose track of real objects or record them twice. Restore the last verified copy \
         ({}) with `tarn state restore`; the damaged file is kept aside, not deleted.",
        db.display(),
        record.recorded_at,
        describe(record),
        backup.display()
    ))
}

fn describe(record: &Record) -> String {
    record
        .workspaces
        .iter()
        .map(|(ws, m)| format!("workspace {ws:?} at serial {}", m.serial))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_marks_readonly(db: &Path) -> Result<Marks, String> {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| e.to_string())?;
    let ok: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| e.to_string())?;
    if ok != "ok" {
        return Err(format!("SQLite's integrity check failed: {ok}"));
    }
    read_marks(&conn).map_err(|e| e.to_string())
}

fn read_marks(conn: &Connection) -> rusqlite::Result<Marks> {
    let tx = conn.unchecked_transaction()?;
    let has_meta: Option<i64> = tx
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [], |r| r.get(0))
        .optional()?;
    let mut workspaces = BTreeMap::new();
    if has_meta.is_some() {
        let mut stmt = tx.prepare("SELECT workspace, lineage, serial FROM meta")?;
        let rows =
            stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, Mark { lineage: r.get(1)?, serial: r.get(2)? })))?;
        for row in rows {
            let (ws, mark) = row?;
            workspaces.insert(ws, mark);
        }
    }
    let seq = |name: &str| -> rusqlite::Result<i64> {
        let has: Option<i64> = tx
            .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if has.is_none() {
            return Ok(0);
        }
        Ok(tx
            .query_row("SELECT seq FROM sqlite_sequence WHERE name = ?1", [name], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    };
    let marks = Marks { workspaces, journal_seq: seq("journal")?, runs_seq: seq("runs")? };
    tx.commit()?;
    Ok(marks)
}

/// Makes `<db>.backup` from `conn` (a connection to `db` outside any transaction) and records
/// it in `<db>.meta`, unless the record already holds these marks. Called at the end of a
/// command that held the lock, before it is released.
pub fn record(conn: &Connection, db: &Path) -> Result<(), StateError> {
    let io = |what: &str, e: &dyn std::fmt::Display| StateError::Storage(format!("{what}: {e}"));
    let now = read_marks(conn).map_err(|e| io("read the state's marks", &e))?;
    let previous = read_record(db).ok().flatten();
    let backup = backup_path(db);
    if previous.as_ref().is_some_and(|r| same(r, &now)) && backup.exists() {
        return Ok(());
    }
    let tmp = suffixed(db, &format!(".backup.{}.tmp", uuid::Uuid::new_v4().simple()));
    let made = (|| -> Result<Record, StateError> {
        conn.execute("VACUUM INTO ?1", [tmp.to_string_lossy().as_ref()]).map_err(|e| io("copy the state", &e))?;
        let copy = Connection::open(&tmp).map_err(|e| io("open the state's copy", &e))?;
        // The copy is a state at rest: the lock of the command that made it is not part of it.
        copy.execute("DELETE FROM lock", []).map_err(|e| io("clear the lock in the state's copy", &e))?;
        let marks = read_marks(&copy).map_err(|e| io("read the copy's marks", &e))?;
        drop(copy);
        let bytes = std::fs::read(&tmp).map_err(|e| io("read the state's copy", &e))?;
        sync(&tmp)?;
        Ok(Record {
            format: FORMAT,
            recorded_at: clock::now_string(),
            workspaces: marks.workspaces,
            journal_seq: marks.journal_seq,
            runs_seq: marks.runs_seq,
            backup_sha256: hex::encode(Sha256::digest(&bytes)),
            backup_bytes: bytes.len() as u64,
        })
    })();
    let record = match made {
        Ok(r) => r,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &backup).map_err(|e| io(&format!("rename the state's copy to {}", backup.display()), &e))?;
    let text = serde_json::to_vec_pretty(&record).map_err(|e| io("encode the state record", &e))?;
    write_atomically(&record_path(db), &text)?;
    Ok(())
}

fn same(record: &Record, marks: &Marks) -> bool {
    record.workspaces == marks.workspaces
        && record.journal_seq == marks.journal_seq
        && record.runs_seq == marks.runs_seq
}

/// Writes `path` whole or not at all: a temporary file beside it, synced, renamed over it, and
/// the directory synced.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let tmp = suffixed(path, &format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let io = |e: std::io::Error| StateError::Storage(format!("write {}: {e}", path.display()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    sync(&tmp)?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Durability of the rename; not every file system lets a directory be synced.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

fn sync(path: &Path) -> Result<(), StateError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StateError::Storage(format!("sync {}: {e}", path.display())))
}

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    pub record: Record,
    /// Where the damaged database (and its WAL) went, if there was one.
    pub kept_aside: Vec<PathBuf>,
}

/// Puts `<db>.backup` back as `db`, after checking it against the record (digest and marks).
/// The file it replaces, if any, and its WAL are renamed aside (`<db>.damaged-<time>`), never
/// deleted (the shared-memory index of the WAL is). Refuses, changing nothing, when the database passes
/// [`check`] (there is nothing to restore), or when there is no record or the backup does not
/// match it.
pub fn restore(db: &Path) -> Result<Restored, StateError> {
    let Some(record) = read_record(db)? else {
        return Err(StateError::Damaged(format!(
            "there is no record of a verified state beside {} ({} is missing), so there is nothing to restore from",
            db.display(),
            record_path(db).display()
        )));
    };
    if check(db).is_ok() {
        return Err(StateError::Damaged(format!(
            "the state database {} is readable and not older than the last verified state ({}); nothing was \
             restored. To replace a healthy state on purpose, use `tarn state push`.",
            db.display(),
            describe(&record)
        )));
    }
    let backup = backup_path(db);
    let bytes = std::fs::read(&backup).map_err(|e| {
        StateError::Damaged(format!("cannot read the verified copy {}: {e}; nothing was restored", backup.display()))
    })?;
    let digest = hex::encode(Sha256::digest(&bytes));
    if digest != record.backup_sha256 || bytes.len() as u64 != record.backup_bytes {
        return Err(StateError::Damaged(format!(
            "the verified copy {} does not match its record in {} (SHA-256 {digest}, {} bytes; {} and {} bytes were \
             recorded): it is damaged too. Nothing was restored. Restore the state from a copy of your own (`tarn \
             state push`), or move the damaged files away to start a new state.",
            backup.display(),
            record_path(db).display(),
            bytes.len(),
            record.backup_sha256,
            record.backup_bytes
        )));
    }
    let staged = suffixed(db, &format!(".restore.{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&staged, &bytes).map_err(|e| StateError::Storage(format!("write {}: {e}", staged.display())))?;
    sync(&staged)?;
    let stamp = clock::now_string().replace(':', "");
    let mut kept_aside = Vec::new();
    // The shared-memory file is only an index of the WAL, rebuilt on open: not worth keeping.
    let _ = std::fs::remove_file(suffixed(db, "-shm"));
    for suffix in ["", "-wal"] {
        let from = suffixed(db, suffix);
        if from.exists() {
            let to = suffixed(db, &format!(".damaged-{stamp}{suffix}"));
            std::fs::rename(&from, &to)
                .map_err(|e| StateError::Storage(format!("move {} aside to {}: {e}", from.display(), to.display())))?;
            kept_aside.push(to);
        }
    }
    std::fs::rename(&staged, db)
        .map_err(|e| StateError::Storage(format!("put the verified copy in place as {}: {e}", db.display())))?;
    Ok(Restored { record, kept_aside })
}
