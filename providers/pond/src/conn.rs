//! Reaching one Pond server: its connection settings (host, port, user, key, host-key policy,
//! Pond root directory) parsed from a resource's attributes or from one entry of an
//! environment's `servers`, and a [`Host`] that runs scripts there as the SSH user or, for the
//! few privileged steps, as root (`sudo -n` when the user is not root).
//!
//! It must not accept a host key silently: a policy is required, and trust on first use is only
//! taken when asked for by name, its fingerprint then recorded in state and enforced after. It
//! must not put secrets on a command line: files with secrets travel over SFTP.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tarn_sdk::ssh::{Command, ExecOutput, HostKeyPolicy, KeySource, Pool, Session, SshConfig};
use tarn_sdk::{ProviderError, Value};

/// Where Pond keeps its tree when nothing else is said (the seed's layout).
pub const DEFAULT_ROOT: &str = "/var/www/pond";

/// One server's connection settings.
#[derive(Debug, Clone)]
pub struct Conn {
    pub ssh: SshConfig,
    /// The Pond root on that server: `<root>/projects/<project>/<environment>`.
    pub root: String,
    /// The key file, when the key is one (exported in `pond_server.connection`).
    pub key_file: Option<String>,
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string).filter(|s| !s.is_empty())
}

/// Checks a Pond root: absolute, not `/`, no `..`.
pub fn check_root(root: &str) -> Result<(), String> {
    if !root.starts_with('/') || root == "/" || root.split('/').any(|s| s == "..") {
        return Err(format!("\"root\" must be an absolute directory other than \"/\", without \"..\", not \"{root}\""));
    }
    Ok(())
}

impl Conn {
    /// Parses connection settings. `key_text` is a key given as text (a sensitive attribute) for
    /// when the entry names no key file; `recorded` is a fingerprint learned on first use earlier.
    /// `what` names the entry in messages ("pond_server", "servers[1]").
    pub fn parse(v: &Value, key_text: Option<&str>, recorded: Option<&str>, what: &str) -> Result<Conn, ProviderError> {
        let mut problems = Vec::new();
        let host = string(v, "host").unwrap_or_default();
        if host.is_empty() {
            problems.push("\"host\" is required: the server's SSH address (a droplet's ipv4_address)".to_string());
        }
        let port = match v.get("port").and_then(Value::as_number) {
            None => 22,
            Some(p) if (1.0..=65535.0).contains(&p) && p.fract() == 0.0 => p as u16,
            Some(p) => {
                problems.push(format!("\"port\" must be a TCP port (1-65535), not {p}"));
                22
            }
        };
        let user = string(v, "user").unwrap_or_else(|| "root".to_string());
        let key_file = string(v, "private_key_file");
        let key = match (&key_file, key_text.filter(|k| !k.is_empty())) {
            (Some(path), _) => Some(KeySource::File(PathBuf::from(path))),
            (None, Some(text)) => Some(KeySource::Text(text.to_string())),
            (None, None) => {
                problems.push("\"private_key_file\" (or the sensitive \"private_key\") is required".to_string());
                None
            }
        };
        let tofu = v.get("trust_on_first_use").and_then(Value::as_bool).unwrap_or(false);
        let host_key = match (string(v, "host_key_fingerprint"), string(v, "known_hosts_file"), tofu) {
            (Some(fp), None, false) => Some(HostKeyPolicy::Pinned(fp)),
            (None, Some(path), false) => Some(HostKeyPolicy::KnownHostsFile(PathBuf::from(path))),
            (None, None, true) => Some(HostKeyPolicy::TrustOnFirstUse { recorded: recorded.map(str::to_string) }),
            (None, None, false) => {
                problems.push(
                    "say how to check the server's host key: \"host_key_fingerprint\" (SHA256:...), \"known_hosts_file\", or \"trust_on_first_use = true\""
                        .to_string(),
                );
                None
            }
            _ => {
                problems.push(
                    "set only one of \"host_key_fingerprint\", \"known_hosts_file\" and \"trust_on_first_use\""
                        .to_string(),
                );
                None
            }
        };
        let root = string(v, "root").unwrap_or_else(|| DEFAULT_ROOT.to_string());
        if let Err(p) = check_root(&root) {
            problems.push(p);
        }
        let timeout = v.get("connect_timeout_seconds").and_then(Value::as_number).unwrap_or(10.0).max(1.0);
        let (Some(key), Some(host_key), true) = (key, host_key, problems.is_empty()) else {
            return Err(ProviderError::permanent(format!("{what}: {}.", problems.join("; "))));
        };
        let ssh = SshConfig::new(host, user, key)
            .with_port(port)
            .with_host_key(host_key)
            .with_connect_timeout(Duration::from_secs_f64(timeout));
        Ok(Conn { ssh, root: root.trim_end_matches('/').to_string(), key_file })
    }

    /// "user@host:port", for messages.
    pub fn describe(&self) -> String {
        format!("{}@{}:{}", self.ssh.user, self.ssh.host, self.ssh.port)
    }

    /// "host:port": how status and drift messages name the server.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.ssh.host, self.ssh.port)
    }
}

/// A connected server.
pub struct Host {
    pub conn: Conn,
    pub session: Arc<Session>,
    /// The SSH user is root: privileged steps need no `sudo -n`.
    pub is_root: bool,
}

impl Host {
    pub async fn connect(pool: &Pool, conn: Conn) -> Result<Host, ProviderError> {
        let session = pool.get(&conn.ssh).await?;
        let out = session.exec_checked("id -u").await?;
        let is_root = out.stdout.trim() == "0";
        Ok(Host { conn, session, is_root })
    }

    /// Runs a script as the SSH user; a non-zero exit is an error naming it.
    pub async fn run(&self, script: &str) -> Result<ExecOutput, ProviderError> {
        self.session.exec_checked(Command::shell(script.to_string())).await
    }

    /// Runs a script as the SSH user, whatever its exit status.
    pub async fn try_run(&self, script: &str) -> Result<ExecOutput, ProviderError> {
        self.session.exec(Command::shell(script.to_string())).await
    }

    /// Runs a script as root: directly when the SSH user is root, else through `sudo -n`.
    pub async fn run_privileged(&self, script: &str) -> Result<ExecOutput, ProviderError> {
        let cmd = Command::shell(script.to_string());
        self.session.exec_checked(if self.is_root { cmd } else { cmd.sudo() }).await
    }
}

/// POSIX single-quote quoting for values placed into scripts.
pub fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_listed_and_no_host_key_is_accepted_silently() {
        let err = Conn::parse(&Value::map([("port", Value::Number(0.5))]), None, None, "servers[0]").unwrap_err();
        for needle in ["servers[0]", "\"host\"", "\"port\"", "private_key_file", "host key"] {
            assert!(err.message.contains(needle), "{needle} missing in {}", err.message);
        }
    }

    #[test]
    fn a_relative_or_climbing_root_is_refused() {
        assert!(check_root("var/www").is_err());
        assert!(check_root("/var/../etc").is_err());
        assert!(check_root("/").is_err());
        assert!(check_root("/srv/pond").is_ok());
    }
}
