//! The PAGW host, over SSH: the session from the slot's variables (`PAGW_HOST`,
//! `PAGW_HOST_USER`, the key `PAGW_SSH_PRIVKEY`, and `PAGW_HOST_PORT` when not 22), commands run
//! with the provider's `host_env`, the duplicate-address probe (`probe.rs`) and the image build
//! (`build.rs`), and the deploy drivers behind one dispatch point (`driver.rs`: `proxmox_ssh.rs`,
//! `proxmox_api.rs`; `libvirt_ssh.rs` with its domain and backup XML in `libvirt_xml.rs` and its
//! backup job in `libvirt_backup.rs`), with Proxmox backup jobs (`backup.rs`).
//!
//! Must not put a secret on a command line: secrets travel in files uploaded over SFTP with
//! mode 0600.

pub mod backup;
pub mod build;
pub mod driver;
pub mod libvirt_backup;
pub mod libvirt_ssh;
mod libvirt_xml;
pub mod probe;
pub mod proxmox_api;
pub mod proxmox_ssh;

use std::time::Duration;

use tarn_sdk::ProviderError;
use tarn_sdk::ssh::{Command, ExecOutput, HostKeyPolicy, KeySource, Session, SshConfig};

use crate::config::PagwConfig;
use crate::db::slots::Slot;

/// A connected PAGW host and the slot variables commands need.
pub struct Host {
    pub session: Session,
    pub home: String,
    pub docker_tmp: String,
    env_prefix: String,
}

/// Single-quotes `s` for a POSIX shell.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Host {
    pub async fn connect(config: &PagwConfig, slot: &Slot) -> Result<Host, ProviderError> {
        let host = slot.require("PAGW_HOST")?.to_string();
        let user = slot.var("PAGW_HOST_USER").filter(|u| !u.is_empty()).unwrap_or("root").to_string();
        let key = slot.require("PAGW_SSH_PRIVKEY")?.to_string();
        let port = match slot.var("PAGW_HOST_PORT").filter(|p| !p.is_empty()) {
            Some(p) => p.parse::<u16>().map_err(|_| {
                ProviderError::permanent(format!("PAGW slot {}: PAGW_HOST_PORT {p:?} is not a TCP port", slot.id))
            })?,
            None => 22,
        };
        let policy = match &config.known_hosts_file {
            Some(path) => HostKeyPolicy::KnownHostsFile(path.into()),
            None => HostKeyPolicy::TrustOnFirstUse { recorded: None },
        };
        let ssh = SshConfig::new(host, user, KeySource::Text(key))
            .with_port(port)
            .with_host_key(policy)
            .with_connect_timeout(Duration::from_secs(20));
        let session = Session::connect(&ssh).await?;
        let home = slot.require("PAGW_HOST_HOME")?.trim_end_matches('/').to_string();
        let docker_tmp = slot.var("PAGW_HOST_DOCKER_TMP").filter(|t| !t.is_empty()).unwrap_or("/tmp").to_string();
        let env_prefix = if config.host_env.is_empty() {
            String::new()
        } else {
            let pairs: Vec<String> = config.host_env.iter().map(|(k, v)| quote(&format!("{k}={v}"))).collect();
            format!("export {}; ", pairs.join(" "))
        };
        Ok(Host { session, home, docker_tmp, env_prefix })
    }

    /// Runs `script` under `sh -c` with the provider's host environment; fails on a non-zero exit.
    pub async fn run(&self, what: &str, script: &str) -> Result<ExecOutput, ProviderError> {
        let full = format!("{}{script}", self.env_prefix);
        let out = self.session.exec(Command::new("sh").arg("-c").arg(full)).await?;
        if !out.success() {
            return Err(ProviderError::permanent(format!(
                "{what} on {} failed (exit {:?}): {}",
                self.session.endpoint(),
                out.status,
                out.stderr.trim()
            )));
        }
        Ok(out)
    }

    /// Runs `script` and returns how it ended, whatever the exit code.
    pub async fn try_run(&self, script: &str) -> Result<ExecOutput, ProviderError> {
        let full = format!("{}{script}", self.env_prefix);
        self.session.exec(Command::new("sh").arg("-c").arg(full)).await
    }

    /// Runs `script` and ignores its outcome: clean-up that must not hide the first failure.
    pub async fn run_quietly(&self, script: &str) {
        let full = format!("{}{script}", self.env_prefix);
        let _ = self.session.exec(Command::new("sh").arg("-c").arg(full)).await;
    }
}
