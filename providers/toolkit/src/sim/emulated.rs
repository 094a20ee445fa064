//! The contract between a provider crate's emulator and the CLI's sandbox registry: a provider
//! that ships an emulator implements [`Emulated`], so `tarn --sandbox` and `tarn sim serve` can
//! start it and aim the provider at it without knowing the vendor.
//!
//! Owns the options an emulator starts with (bind address, snapshot file) and the atomic
//! snapshot writer emulators persist their objects with. Must not know any vendor's routes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{Faults, SimServer};
use crate::value::Value;

/// How an emulator is started.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {
    /// Where the emulator keeps its objects between runs: read at start when the file exists,
    /// rewritten atomically after every change. `None`: memory only, gone when it stops.
    pub snapshot: Option<PathBuf>,
    /// The address to serve on; `None`: 127.0.0.1 on a free port.
    pub addr: Option<SocketAddr>,
}

/// A started emulator: the server (stops when dropped), its fault switches, and the API's base
/// URL on it (the vendor's base path included, e.g. `http://127.0.0.1:P/client/v4`).
#[derive(Debug)]
pub struct RunningEmulator {
    pub server: SimServer,
    pub faults: Faults,
    pub base_url: String,
}

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot serve on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot read the emulator snapshot {path}: {detail}")]
    Snapshot { path: PathBuf, detail: String },
}

/// A provider whose vendor API has an in-process emulator.
#[async_trait]
pub trait Emulated: Send + Sync {
    /// The provider's name as used in configuration (`cloudflare`).
    fn provider_name(&self) -> &str;

    /// Starts the emulator with its objects from `options.snapshot`, if that file exists.
    async fn start(&self, options: EmulatorOptions) -> Result<RunningEmulator, EmulatorError>;

    /// The provider-block arguments that aim the provider at an emulator whose API base URL is
    /// `base_url` ([`RunningEmulator::base_url`]), with dummy credentials. They replace what the
    /// configuration says.
    fn sandbox_config(&self, base_url: &str) -> Vec<(String, Value)>;
}

/// Writes `json` to `path` atomically (temporary file beside it, then rename), creating the
/// directory, so a killed process leaves either the old snapshot or the new one.
pub fn write_snapshot(path: &Path, json: &serde_json::Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(json).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Reads a snapshot written by [`write_snapshot`]; `Ok(None)` when there is none yet.
pub fn read_snapshot(path: &Path) -> Result<Option<serde_json::Value>, EmulatorError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| EmulatorError::Snapshot { path: path.to_path_buf(), detail: format!("not valid JSON: {e}") }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EmulatorError::Snapshot { path: path.to_path_buf(), detail: e.to_string() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_missing_is_none() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/emu.json");
        assert!(read_snapshot(&path).expect("missing is fine").is_none());
        write_snapshot(&path, &serde_json::json!({"zones": [1]})).expect("write");
        assert_eq!(read_snapshot(&path).expect("read"), Some(serde_json::json!({"zones": [1]})));
        std::fs::write(&path, "{not json").expect("damage");
        let err = read_snapshot(&path).expect_err("damaged snapshot is an error");
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
