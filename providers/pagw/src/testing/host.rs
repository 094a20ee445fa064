//! A PAGW host for tests: a real sshd on 127.0.0.1 with a home directory of its own, the
//! Proxmox host of `pve.rs` (emulator and `qm`/`pvesh` shims), the environment its commands need
//! to reach the private dockerd and the emulator, slot definitions on it, and a small build
//! context whose builder checks its environment and leaves a qcow2 image. Shared by this crate's
//! tests and the CLI's end-to-end tests. Not for production use.

use std::path::{Path, PathBuf};

use tarn_sdk::ssh::testing::TestSshd;

use super::{TestDocker, TestPve};

/// The password the build contexts of [`build_context`] with [`CUSTOMIZE`] expect.
pub const BUILD_PASSWORD: &str = "s3cret-pw";

/// A builder script that checks its environment (the password came through the env-file) and
/// copies the context's `base.img` to `PAGW_IMAGE_PATH`.
pub const CUSTOMIZE: &str = "set -e\n\
    [ \"$SUDO_PASSWORD\" = \"s3cret-pw\" ] || { echo 'no password in the env-file' >&2; exit 4; }\n\
    [ -n \"$PUBIP\" ] && [ \"$PUBMASK\" = 255.255.255.0 ] && [ -n \"$SSH_PUBKEY\" ]\n\
    mkdir -p \"$(dirname \"$PAGW_IMAGE_PATH\")\"\n\
    cp /ctx/base.img \"$PAGW_IMAGE_PATH\"\n\
    echo \"built $PAGW_HOSTNAME\"\n";

/// A PAGW host: a real sshd, its home directory (`PAGW_HOST_HOME`), and a Proxmox host.
pub struct TestPagwHost {
    pub sshd: TestSshd,
    pub home: tempfile::TempDir,
    pub pve: TestPve,
    /// The slots' PAGW_STORAGE_POOL (an unknown one makes the deploy fail).
    pub pool: String,
    /// The slots' PAGW_DEPLOY_DRIVER.
    pub driver: String,
}

impl TestPagwHost {
    /// Starts the host (and this process's dockerd); `wrap` is applied to the emulator's router
    /// (a spec recorder). Needs a Tokio runtime that keeps running: the emulator is a task on it.
    pub async fn start_with(
        pool: &str,
        driver: &str,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Result<TestPagwHost, String> {
        TestDocker::shared();
        let sshd = TestSshd::start()?;
        let home = tempfile::Builder::new().prefix("pagw-home-").tempdir().map_err(|e| e.to_string())?;
        let pve = TestPve::start_with(wrap).await?;
        Ok(TestPagwHost { sshd, home, pve, pool: pool.into(), driver: driver.into() })
    }

    /// A slot definition for the addresses `first` to `last` on this host.
    pub fn definition(&self, first: &str, last: &str) -> String {
        let key = std::fs::read_to_string(self.sshd.client_key_path()).unwrap_or_default();
        format!(
            "PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='{first} {last}'\n\
             PAGW_MASK=255.255.255.0\nPAGW_GATEWAY=198.51.100.1\n\
             PAGW_HOST=127.0.0.1\nPAGW_HOST_PORT={port}\nPAGW_HOST_USER={user}\nPAGW_HOST_HOME={home}\n\
             PAGW_HOST_DOCKER_TMP=/tmp\nPAGW_SSH_PRIVKEY='{key}'\nPAGW_SSH_PUBKEY='ssh-ed25519 AAAA test'\n\
             PAGW_DEPLOY_DRIVER='{driver}'\nPAGW_HOST_MGMT_BRIDGE='vmbr1'\nPAGW_MGMT_VLAN='13'\n\
             PAGW_HOST_PUB_BRIDGE='vmbr2'\nPAGW_PUB_VLAN=''\nPAGW_STORAGE_POOL='{pool}'\n\
             PAGW_PVE_API_URL='{api}'\n",
            port = self.sshd.port(),
            user = self.sshd.user(),
            home = self.home.path().display(),
            pool = self.pool,
            driver = self.driver,
            api = self.pve.emulator.base_url(),
        )
    }

    /// The provider's `host_env`: the private dockerd, the shims first on PATH, the emulator
    /// (HTTPS) and the CA the shims verify its certificate with.
    pub fn host_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("DOCKER_HOST", TestDocker::shared().host()),
            ("PATH", self.pve.path_env()),
            ("PVE_URL", self.pve.emulator.base_url()),
            ("PVE_CA_FILE", self.pve.ca_file().display().to_string()),
        ]
    }

    /// The `n`th (below 200) loopback address of this host's slots, nothing listening on its
    /// port 22: unique per host (derived from its sshd's port), consecutive in `n`, so a range
    /// of them is one slot definition. Outside addresses cannot be used here: on these machines
    /// a connect to any outside address's port 22 succeeds, so the duplicate-address probe would
    /// refuse them.
    pub fn address(&self, n: u8) -> String {
        let port = self.sshd.port();
        format!("127.{}.{}.{}", (port >> 8) & 0xff, port & 0xff, 10 + u16::from(n.min(199)))
    }

    /// What is left in the host's home directory (uploads, env-files, images).
    pub fn leftovers(&self) -> Vec<PathBuf> {
        leftovers(self.home.path())
    }
}

/// Every entry of `dir`.
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

/// A build context (`Dockerfile` from the test base image, `customize.sh` = `customize`, an 8 MiB
/// qcow2 `base.img`). Panics with the install command when qemu-img is missing.
pub fn build_context(customize: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("pagw-ctx-").tempdir().expect("a temporary directory");
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(dir.path().join("base.img"))
        .arg("8M")
        .output()
        .unwrap_or_else(|e| panic!("qemu-img: {e}; install it with `apt-get install -y qemu-utils`"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("FROM {}\nCOPY . /ctx\nENTRYPOINT [\"/bin/sh\", \"/ctx/customize.sh\"]\n", super::docker::BASE_IMAGE),
    )
    .expect("write the Dockerfile");
    std::fs::write(dir.path().join("customize.sh"), customize).expect("write customize.sh");
    dir
}
