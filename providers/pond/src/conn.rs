//! Reaching one Pond server: its connection settings (host, port, user, key, host-key policy,
//! Pond root directory) parsed from a resource's attributes or from one entry of an
//! environment's `servers`, and a [`Host`] that runs scripts there as the SSH user or, for the
//! few privileged steps, as root (`sudo -n` when the user is not root).
//!
//! It must not accept a host key silently: a policy is required, and trust on first use is only
//! taken when asked for by name, its fingerprint then recorded in state and enforced after. It
//! must not put secrets on a command line: files with secrets travel over SFTP.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
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
        let port = match v.get("port").and_then(Value::as_f64) {
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
        let timeout = v.get("connect_timeout_seconds").and_then(Value::as_f64).unwrap_or(10.0).max(1.0);
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

/// Where an address is really reached, and that server's own paths: the provider block's
/// `host_overrides` entry for it (what `--sandbox` sets for its local servers). Every field
/// replaces what resources say about that address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Override {
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key_file: Option<String>,
    pub host_key_fingerprint: Option<String>,
    pub root: Option<String>,
    /// Server settings (`pond_server`'s attributes of the same names).
    pub settings: BTreeMap<String, Value>,
}

/// The server settings an override may give.
pub const OVERRIDDEN_SETTINGS: &[&str] =
    &["vhost_dir", "reload_command", "http_port", "web_user", "web_group", "package_install_command"];

impl Override {
    fn parse(address: &str, v: &Value) -> Result<Override, ProviderError> {
        let known = ["port", "user", "private_key_file", "host_key_fingerprint", "root"];
        let map = v.as_map().ok_or_else(|| {
            ProviderError::permanent(format!("host_overrides[\"{address}\"] must be an object of settings"))
        })?;
        if let Some(k) = map.keys().find(|k| !known.contains(&k.as_str()) && !OVERRIDDEN_SETTINGS.contains(&k.as_str()))
        {
            return Err(ProviderError::permanent(format!(
                "host_overrides[\"{address}\"] has no setting \"{k}\"; it takes {} and {}",
                known.join(", "),
                OVERRIDDEN_SETTINGS.join(", ")
            )));
        }
        if let Some(root) = string(v, "root") {
            check_root(&root).map_err(|p| ProviderError::permanent(format!("host_overrides[\"{address}\"]: {p}")))?;
        }
        Ok(Override {
            port: v.get("port").and_then(Value::as_f64).map(|p| p as u16),
            user: string(v, "user"),
            private_key_file: string(v, "private_key_file"),
            host_key_fingerprint: string(v, "host_key_fingerprint"),
            root: string(v, "root"),
            settings: OVERRIDDEN_SETTINGS
                .iter()
                .filter_map(|k| v.get(k).filter(|x| !x.is_null()).map(|x| (k.to_string(), x.clone())))
                .collect(),
        })
    }

    /// `conn` reaching the overridden server instead.
    fn apply(&self, mut conn: Conn) -> Conn {
        if let Some(port) = self.port {
            conn.ssh.port = port;
        }
        if let Some(user) = &self.user {
            conn.ssh.user = user.clone();
        }
        if let Some(file) = &self.private_key_file {
            conn.ssh.key = KeySource::File(PathBuf::from(file));
            conn.key_file = Some(file.clone());
        }
        if let Some(fp) = &self.host_key_fingerprint {
            conn.ssh.host_key = HostKeyPolicy::Pinned(fp.clone());
        }
        if let Some(root) = &self.root {
            conn.root = root.trim_end_matches('/').to_string();
        }
        conn
    }
}

/// How the provider reaches servers: one session pool, and the overrides by address.
#[derive(Default)]
pub struct Reach {
    pub pool: Pool,
    overrides: RwLock<BTreeMap<String, Override>>,
}

impl Reach {
    /// Takes the provider block's `host_overrides` (address = settings).
    pub fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        let mut parsed = BTreeMap::new();
        if let Some(map) = config.get("host_overrides").and_then(Value::as_map) {
            for (address, v) in map {
                parsed.insert(address.clone(), Override::parse(address, v)?);
            }
        }
        *self.overrides.write().unwrap_or_else(|p| p.into_inner()) = parsed;
        Ok(())
    }

    /// The override for the server `conn` names, if any.
    pub fn override_for(&self, conn: &Conn) -> Option<Override> {
        self.overrides.read().unwrap_or_else(|p| p.into_inner()).get(&conn.ssh.host).cloned()
    }
}

/// A connected server.
pub struct Host {
    pub conn: Conn,
    pub session: Arc<Session>,
    /// The SSH user is root: privileged steps need no `sudo -n`.
    pub is_root: bool,
    /// The override that applied to it (its server settings replace the configuration's).
    pub overridden: Option<Override>,
}

impl Host {
    /// Connects to the server `conn` names, or where `host_overrides` says it really is.
    pub async fn connect(reach: &Reach, conn: Conn) -> Result<Host, ProviderError> {
        let overridden = reach.override_for(&conn);
        let conn = match &overridden {
            Some(o) => o.apply(conn),
            None => conn,
        };
        let session = reach.pool.get(&conn.ssh).await?;
        let out = session.exec_checked("id -u").await?;
        let is_root = out.stdout.trim() == "0";
        Ok(Host { conn, session, is_root, overridden })
    }

    /// A `pond_server` configuration with this server's overridden settings in place.
    pub fn with_overrides(&self, config: &Value) -> Value {
        let mut m = config.as_map().cloned().unwrap_or_default();
        for (k, v) in self.overridden.iter().flat_map(|o| &o.settings) {
            m.insert(k.clone(), v.clone());
        }
        Value::Map(m)
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
        let err = Conn::parse(&Value::map([("port", Value::number(0.5))]), None, None, "servers[0]").unwrap_err();
        for needle in ["servers[0]", "\"host\"", "\"port\"", "private_key_file", "host key"] {
            assert!(err.message.contains(needle), "{needle} missing in {}", err.message);
        }
    }

    #[test]
    fn an_override_leads_an_address_elsewhere_with_its_host_key_pinned() {
        let reach = Reach::default();
        let config = Value::map([(
            "host_overrides",
            Value::map([(
                "203.0.113.7",
                Value::map([
                    ("port", Value::number(2222.0)),
                    ("private_key_file", Value::string("/sandbox/id")),
                    ("host_key_fingerprint", Value::string("SHA256:pinned")),
                    ("root", Value::string("/sandbox/web1/pond/")),
                    ("vhost_dir", Value::string("/sandbox/web1/sites")),
                ]),
            )]),
        )]);
        reach.configure(&config).unwrap();
        let entry = Value::map([
            ("host", Value::string("203.0.113.7")),
            ("private_key_file", Value::string("~/.ssh/id")),
            ("trust_on_first_use", Value::Bool(true)),
        ]);
        let conn = Conn::parse(&entry, None, None, "pond_server").unwrap();
        let o = reach.override_for(&conn).expect("the address is overridden");
        assert_eq!(o.settings.get("vhost_dir"), Some(&Value::string("/sandbox/web1/sites")));
        let led = o.apply(conn);
        assert_eq!(
            (led.ssh.host.as_str(), led.ssh.port, led.root.as_str()),
            ("203.0.113.7", 2222, "/sandbox/web1/pond")
        );
        assert_eq!(led.ssh.host_key, HostKeyPolicy::Pinned("SHA256:pinned".into()));
        assert_eq!(led.key_file.as_deref(), Some("/sandbox/id"));
        let other = Conn::parse(&with_host(&entry, "198.51.100.1"), None, None, "pond_server").unwrap();
        assert!(reach.override_for(&other).is_none());

        let bad = Value::map([("host_overrides", Value::map([("a", Value::map([("colour", Value::string("x"))]))]))]);
        assert!(reach.configure(&bad).unwrap_err().message.contains("no setting \"colour\""));
    }

    fn with_host(v: &Value, host: &str) -> Value {
        let mut m = v.as_map().cloned().unwrap();
        m.insert("host".into(), Value::string(host));
        Value::Map(m)
    }

    #[test]
    fn a_relative_or_climbing_root_is_refused() {
        assert!(check_root("var/www").is_err());
        assert!(check_root("/var/../etc").is_err());
        assert!(check_root("/").is_err());
        assert!(check_root("/srv/pond").is_ok());
    }
}
