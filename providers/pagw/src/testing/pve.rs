//! A Proxmox VE host for tests: the emulator (crate::emulator) on HTTPS on 127.0.0.1, its CA
//! in a file (`pve-root-ca.pem`, as on a Proxmox host), and a directory holding `qm` and `pvesh`
//! commands that talk to it (`pve-shims/`), to put first on the PATH of the test sshd's
//! commands with `PVE_URL` and `PVE_CA_FILE` set (the shims verify the emulator's certificate
//! against that CA). Stops with the value.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::emulator::Emulator;

const QM: &str = include_str!("pve-shims/qm");
const PVESH: &str = include_str!("pve-shims/pvesh");

pub struct TestPve {
    pub emulator: Emulator,
    shims: tempfile::TempDir,
}

impl TestPve {
    pub async fn start() -> Result<TestPve, String> {
        Self::start_with(|r| r).await
    }

    /// Starts with `wrap` applied to the emulator's router (a spec recorder).
    pub async fn start_with(wrap: impl FnOnce(axum::Router) -> axum::Router) -> Result<TestPve, String> {
        let emulator = Emulator::start_with(wrap).await.map_err(|e| format!("the Proxmox emulator: {e}"))?;
        let shims = tempfile::Builder::new().prefix("pve-shims-").tempdir().map_err(|e| e.to_string())?;
        for (name, text) in [("qm", QM), ("pvesh", PVESH)] {
            let path = shims.path().join(name);
            std::fs::write(&path, text).map_err(|e| e.to_string())?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        }
        let pve = TestPve { emulator, shims };
        std::fs::write(pve.ca_file(), &pve.emulator.certs.ca_pem).map_err(|e| e.to_string())?;
        Ok(pve)
    }

    pub fn shim_dir(&self) -> &Path {
        self.shims.path()
    }

    /// The emulator's CA certificate (PEM), as `/etc/pve/pve-root-ca.pem` on a Proxmox host.
    pub fn ca_file(&self) -> PathBuf {
        self.shims.path().join("pve-root-ca.pem")
    }

    /// `PATH` with the shims first.
    pub fn path_env(&self) -> String {
        let mut dirs: Vec<PathBuf> = vec![self.shims.path().to_path_buf()];
        dirs.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
        std::env::join_paths(dirs).map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
    }
}
