//! The highest serial this machine has seen of each PostgreSQL workspace, kept in a small file
//! beside the configuration (`.tarn/postgres.marks`), so that a shared state put back to an
//! older copy — a database restored from an old backup, a failover to a replica that lagged —
//! is noticed instead of silently planned against (which would re-create, or forget, what the
//! lost writes recorded).
//!
//! Every snapshot read compares the state's (lineage, serial) with the mark: the same lineage
//! at a lower serial is refused with [`StateError::Damaged`]; otherwise the mark moves forward.
//! tarn's own writes never lower a serial (`state push` of an older document moves it past the
//! current one), and every machine's mark only trails the server's, so a mark is never wrong
//! for another machine sharing the state: it can only catch a state that went back in time.
//! A new lineage (a workspace deleted and made again) starts a new mark. It must not write the
//! state: it only reads the snapshot the backend already read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::StateError;

/// The file's format version; a file of another version is replaced, never trusted.
const FORMAT: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Marks {
    format: u32,
    /// By "<target, credentials redacted>#<workspace>".
    workspaces: BTreeMap<String, Mark>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Mark {
    lineage: String,
    serial: i64,
}

/// Where the marks of the PostgreSQL states used from one directory live.
pub fn marks_path(state_dir: &Path) -> PathBuf {
    state_dir.join("postgres.marks")
}

/// Checks `lineage`/`serial`, as just read from `key`'s state, against the mark in `file`, and
/// moves the mark forward. An unreadable mark file is replaced (it only ever adds a check).
pub fn check_and_advance(file: &Path, key: &str, lineage: &str, serial: i64) -> Result<(), StateError> {
    let mut marks = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Marks>(&b).ok())
        .filter(|m| m.format == FORMAT)
        .unwrap_or_default();
    if let Some(mark) = marks.workspaces.get(key) {
        if mark.lineage == lineage && serial < mark.serial {
            return Err(StateError::Damaged(format!(
                "the state at {key} went back in time: this machine has seen it at serial {seen}, and it is at serial \
                 {serial} now (lineage {lineage}). The database was probably restored from an older backup or failed \
                 over to a replica that lagged, so it misses what later runs recorded; planning against it could \
                 duplicate or forget objects. Nothing was written. Restore the newest copy of the database; if this \
                 older state is what you want, remove {file} (the marks of this machine) and run again.",
                seen = mark.serial,
                file = file.display(),
            )));
        }
        if mark.lineage == lineage && serial == mark.serial {
            return Ok(());
        }
    }
    marks.format = FORMAT;
    marks.workspaces.insert(key.to_string(), Mark { lineage: lineage.to_string(), serial });
    write_atomically(file, &marks)
}

fn write_atomically(file: &Path, marks: &Marks) -> Result<(), StateError> {
    let fail =
        |e: std::io::Error| StateError::Storage(format!("cannot record the state's serial in {}: {e}", file.display()));
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = file.with_extension(format!("tmp-{}", std::process::id()));
    let text = serde_json::to_vec_pretty(marks).map_err(|e| StateError::Storage(e.to_string()))?;
    std::fs::write(&tmp, text).map_err(fail)?;
    std::fs::rename(&tmp, file).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_serial_going_back_within_a_lineage_is_refused_and_forward_moves_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let file = marks_path(dir.path());
        check_and_advance(&file, "pg#default", "L1", 3).unwrap();
        check_and_advance(&file, "pg#default", "L1", 5).unwrap();
        let err = check_and_advance(&file, "pg#default", "L1", 4).unwrap_err();
        assert!(matches!(&err, StateError::Damaged(m) if m.contains("serial 5") && m.contains("serial 4")), "{err}");
        // Another workspace, and a new lineage, have marks of their own.
        check_and_advance(&file, "pg#staging", "L2", 1).unwrap();
        check_and_advance(&file, "pg#default", "L3", 1).unwrap();
        check_and_advance(&file, "pg#default", "L3", 1).unwrap();
        // A damaged mark file only loses the marks; it never blocks.
        std::fs::write(&file, b"garbage").unwrap();
        check_and_advance(&file, "pg#default", "L3", 0).unwrap();
    }
}
