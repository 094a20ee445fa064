//! The filesystem side of the local provider, synchronous and run on tokio's blocking pool:
//! atomic writes (temporary file in the same directory, explicit mode, rename), reads with the
//! file's mode, removal that tolerates a missing file. Every error names the path and carries
//! the OS's own words. Relative paths are resolved by the OS against the process's current
//! directory, which the CLI sets for `-C`.

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use tarn_sdk::ProviderError;

/// A file as found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDisk {
    pub bytes: Vec<u8>,
    /// Permission bits only (`0o7777` mask).
    pub mode: u32,
}

fn io_error(action: &str, path: &Path, e: &std::io::Error) -> ProviderError {
    ProviderError::permanent(format!("Could not {action} {}: {e}.", path.display()))
}

/// Runs blocking filesystem work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ProviderError> + Send + 'static,
) -> Result<T, ProviderError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ProviderError::permanent(format!("A local provider filesystem task failed ({e}); this is a bug in tarn."))
    })?
}

/// Reads the file `source` names, for the `source` attribute.
pub fn read_source(source: &str) -> Result<Vec<u8>, ProviderError> {
    fs::read(source).map_err(|e| io_error("read the source file", Path::new(source), &e))
}

/// The file and its mode; `Ok(None)` when nothing exists at `path`.
pub fn read(path: &Path) -> Result<Option<OnDisk>, ProviderError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read", path, &e)),
    };
    let meta = fs::metadata(path).map_err(|e| io_error("inspect", path, &e))?;
    Ok(Some(OnDisk { bytes, mode: meta.permissions().mode() & 0o7777 }))
}

/// Removes the file; a file that is already gone is not an error.
pub fn remove(path: &Path) -> Result<(), ProviderError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_error("remove", path, &e)),
    }
}

/// Writes `bytes` to `path` so that no reader, and no crash, ever sees a partial file: the
/// content goes to a temporary file beside it, gets its mode, and is renamed into place.
/// Missing parent directories are created with `dir_mode`. Modes are set explicitly, so the
/// process umask does not apply and the recorded permission is the real one.
pub fn write_atomic(path: &Path, bytes: &[u8], file_mode: u32, dir_mode: u32) -> Result<(), ProviderError> {
    let Some(name) = path.file_name() else {
        return Err(ProviderError::permanent(format!("The filename {} does not name a file.", path.display())));
    };
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    create_parents(parent, dir_mode)?;
    let tmp = parent.join(format!(".{}.tarn-{}.tmp", name.to_string_lossy(), uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(file_mode)
            .open(&tmp)
            .map_err(|e| io_error("create", &tmp, &e))?;
        f.write_all(bytes).map_err(|e| io_error("write", &tmp, &e))?;
        f.sync_all().map_err(|e| io_error("flush", &tmp, &e))?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(file_mode))
            .map_err(|e| io_error("set the permissions of", &tmp, &e))?;
        fs::rename(&tmp, path).map_err(|e| io_error("write", path, &e))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written
}

/// Creates the missing directories leading to `dir`, top down, each with `mode`.
fn create_parents(dir: &Path, mode: u32) -> Result<(), ProviderError> {
    let mut missing = Vec::new();
    let mut cursor = Some(dir);
    while let Some(d) = cursor {
        if d.as_os_str().is_empty() || d.exists() {
            break;
        }
        missing.push(d);
        cursor = d.parent();
    }
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => fs::set_permissions(d, fs::Permissions::from_mode(mode))
                .map_err(|e| io_error("set the permissions of", d, &e))?,
            // Another create of a sibling file made it first.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("create the directory", d, &e)),
        }
    }
    Ok(())
}
