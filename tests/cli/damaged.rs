//! Damaged state is noticed, never silently replaced: tarn keeps a verified copy of the last
//! state a command left (`.tarn/state.db.backup`) and a record of it (`.tarn/state.db.meta`:
//! lineage, serial, high-water marks, the copy's SHA-256). A database that is missing, empty,
//! unreadable or older than that record is refused — exit 1, a message saying what happened and
//! how to restore, and not one byte of the damaged files changed — and `tarn state restore`
//! puts the verified copy back (after checking its digest), recording one run.

use crate::harness::{FAULT_PROVIDER, Run, Stack};
use std::path::PathBuf;

fn config(n: usize, value: &str) -> String {
    let mut c = FAULT_PROVIDER.to_string();
    for i in 0..n {
        c.push_str(&format!(
            "\nresource \"fault_object\" \"o{i}\" {{\n  name  = \"o{i}\"\n  value = \"{value}\"\n}}\n"
        ));
    }
    c
}

/// A stack with two applies behind it (serial 2): five objects, then an update of all five.
fn applied_twice() -> Stack {
    let s = Stack::with(&config(5, "v1"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.write("main.tarn.hcl", &config(5, "v2"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert!(s.path().join(".tarn/state.db.meta").exists(), "the record of the verified state was written");
    assert!(s.path().join(".tarn/state.db.backup").exists(), "the verified copy was written");
    s
}

fn file(s: &Stack, name: &str) -> PathBuf {
    s.path().join(".tarn").join(name)
}

/// A file's size and a hash of its bytes; `None` when it does not exist.
type Fingerprint = Option<(usize, u64)>;

/// The fingerprints of the database and of its WAL.
fn bytes(s: &Stack) -> (Fingerprint, Fingerprint) {
    let digest = |name: &str| {
        std::fs::read(file(s, name)).ok().map(|b| {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            b.hash(&mut h);
            (b.len(), h.finish())
        })
    };
    (digest("state.db"), digest("state.db-wal"))
}

/// Every command that opens the state refuses it the same way and writes nothing.
#[track_caller]
fn refused_everywhere(s: &Stack, what: &str) {
    let before = bytes(s);
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["show", "--json"], &["state", "list"]] {
        let run: Run = s.tarn(args).code(1).stderr_has(what).stderr_has("tarn state restore");
        assert!(!run.stderr.contains("invalid utf-8"), "a raw message:\n{}", run.dump());
        assert_eq!(bytes(s), before, "tarn {args:?} wrote into the damaged state");
    }
}

/// After the refusal: `tarn state restore` puts the verified copy back, and the state is the
/// one the second apply left (nothing to change), with the restore in the history.
#[track_caller]
fn restores(s: &Stack) {
    let restore = s.tarn(&["state", "restore"]).ok().stdout_has("Restored the state from");
    assert!(restore.stdout.contains("state.db.backup"), "{}", restore.dump());
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
    assert_eq!(s.state_ids(), s.object_ids(), "the restored state records exactly what exists");
    s.tarn(&["history"]).ok().stdout_has("tarn state restore");
    // Restoring a healthy state is refused.
    s.tarn(&["state", "restore"]).code(1).stderr_has("nothing was restored");
}

#[test]
fn a_truncated_database_is_refused_and_restored() {
    let s = applied_twice();
    let _ = std::fs::remove_file(file(&s, "state.db-wal"));
    std::fs::write(file(&s, "state.db"), b"").unwrap();
    refused_everywhere(&s, "is empty (0 bytes)");
    restores(&s);
}

#[test]
fn a_missing_database_with_its_record_present_is_refused_and_restored() {
    let s = applied_twice();
    for name in ["state.db", "state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(file(&s, name));
    }
    refused_everywhere(&s, "is missing");
    assert!(!file(&s, "state.db").exists(), "the refusal created no database");
    restores(&s);
}

#[test]
fn a_database_older_than_its_record_is_refused_and_restored() {
    // What a lost or deleted WAL, or a file put back from an old copy, looks like: the state of
    // the first apply under the record of the second.
    let s = Stack::with(&config(5, "v1"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let old = std::fs::read(file(&s, "state.db.backup")).unwrap();
    s.write("main.tarn.hcl", &config(5, "v2"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    for name in ["state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(file(&s, name));
    }
    std::fs::write(file(&s, "state.db"), old).unwrap();
    refused_everywhere(&s, "is older than the last verified state");
    restores(&s);
}

#[test]
fn flipped_bytes_in_the_database_are_refused_and_restored() {
    let s = applied_twice();
    let _ = std::fs::remove_file(file(&s, "state.db-wal"));
    let _ = std::fs::remove_file(file(&s, "state.db-shm"));
    let path = file(&s, "state.db");
    let mut db = std::fs::read(&path).unwrap();
    // The header's magic string: SQLite no longer recognises the file.
    for b in &mut db[0..16] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, db).unwrap();
    refused_everywhere(&s, "cannot be read");
    restores(&s);
}

#[test]
fn a_damaged_verified_copy_is_not_restored() {
    let s = applied_twice();
    std::fs::write(file(&s, "state.db"), b"").unwrap();
    let backup = file(&s, "state.db.backup");
    let mut copy = std::fs::read(&backup).unwrap();
    let last = copy.len() - 1;
    copy[last] ^= 0xff;
    std::fs::write(&backup, &copy).unwrap();
    let before = bytes(&s);
    s.tarn(&["state", "restore"]).code(1).stderr_has("does not match its record").stderr_has("Nothing was restored");
    assert_eq!(bytes(&s), before, "nothing moved");
    assert!(std::fs::read(&backup).unwrap() == copy, "the damaged copy stays as it was");
}

/// A stack whose second apply is still in the WAL, as a tarn that exits before its last
/// connection closes leaves it: a read-only connection held open across that apply keeps tarn
/// from checkpointing the WAL away, and (read-only) it does not checkpoint when it closes.
fn second_apply_in_the_wal() -> Stack {
    let s = Stack::with(&config(5, "v1"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let reader = rusqlite::Connection::open_with_flags(
        file(&s, "state.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap();
    let _: i64 = reader.query_row("SELECT COUNT(*) FROM meta", [], |r| r.get(0)).unwrap();
    s.write("main.tarn.hcl", &config(5, "v2"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    drop(reader);
    let wal = std::fs::metadata(file(&s, "state.db-wal")).map(|m| m.len()).unwrap_or(0);
    assert!(wal > 32, "the second apply is in the WAL ({wal} bytes)");
    let _ = std::fs::remove_file(file(&s, "state.db-shm"));
    s
}

#[test]
fn a_wal_deleted_at_rest_is_noticed_and_restored() {
    let s = second_apply_in_the_wal();
    std::fs::remove_file(file(&s, "state.db-wal")).unwrap();
    refused_everywhere(&s, "is older than the last verified state");
    restores(&s);
}

#[test]
fn flipped_bytes_in_the_wal_are_noticed_and_restored() {
    let s = second_apply_in_the_wal();
    let path = file(&s, "state.db-wal");
    let mut wal = std::fs::read(&path).unwrap();
    // Inside the first frame's page (32-byte WAL header, 24-byte frame header): its checksum
    // fails, and SQLite ignores that frame and every one after it.
    wal[32 + 24 + 100] ^= 0xff;
    std::fs::write(&path, &wal).unwrap();
    refused_everywhere(&s, "is older than the last verified state");
    restores(&s);
}
