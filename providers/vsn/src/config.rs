//! The provider block: which VSN to reach over SSH and how to drive its container engine.
//!
//! Owns [`NodeConfig`], parsed from the evaluated provider block with every problem collected
//! into one message. It must not connect anywhere (that is `node.rs`) nor print key material.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tarn_sdk::ssh::{HostKeyPolicy, KeySource, SshConfig};
use tarn_sdk::{ProviderError, Value};

/// The container engine on the VSN. Both take the same command-line flags for everything the
/// provider issues; where they differ (in-place restart-policy updates), the code says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Engine {
    /// The program to run: `podman`, `docker`, or a path to either.
    pub program: String,
    pub kind: EngineKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Podman,
    Docker,
}

/// Everything the provider block says.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub ssh: SshConfig,
    pub engine: Engine,
    /// Directory on the VSN under which every volume container has its data directory.
    pub data_root: String,
    /// The largest data directory a volume container may have, in bytes (seed: 200 GB).
    pub volume_size_limit_bytes: u64,
    /// Environment variables set for every engine command (e.g. `CONTAINERS_CONF`).
    pub env: BTreeMap<String, String>,
    /// Extra commands that must exist on the VSN, beyond the ones the provider uses.
    pub required_commands: Vec<String>,
    /// Never remove images (`vsn_image_cleanup` removes none).
    pub keep_images: bool,
}

/// A podman configuration (`CONTAINERS_CONF`) for a VSN on a development machine: runc,
/// cgroupfs and the ulimits that make podman 4.3 run containers as root without systemd, and
/// without touching /etc. Used by `--sandbox` and the test harness.
pub const LOCAL_CONTAINERS_CONF: &str = "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\n";

pub const GB: u64 = 1_000_000_000;
pub const DEFAULT_SIZE_LIMIT_GB: f64 = 200.0;

fn string(config: &Value, key: &str) -> Option<String> {
    config.get(key).and_then(Value::as_str).map(str::to_string)
}

/// What `sandbox_node` may set: everything that says where the VSN is and how it runs.
const SANDBOX_NODE: [&str; 8] =
    ["host", "port", "user", "private_key_file", "host_key_fingerprint", "data_root", "engine", "env"];

/// The block with `sandbox_node` (what `--sandbox` sets for its local VSN) in place of the
/// block's connection, host-key, engine and data settings; the rest (limits, options) stays.
fn sandbox_node(config: &Value, node: &Value) -> Result<Value, ProviderError> {
    let Some(node) = node.as_map() else {
        return Err(ProviderError::permanent("\"sandbox_node\" must be an object of settings"));
    };
    if let Some(k) = node.keys().find(|k| !SANDBOX_NODE.contains(&k.as_str())) {
        return Err(ProviderError::permanent(format!(
            "\"sandbox_node\" has no setting \"{k}\"; it takes {}",
            SANDBOX_NODE.join(", ")
        )));
    }
    let replaced = [
        "private_key",
        "private_key_passphrase",
        "known_hosts_file",
        "trust_on_first_use",
        "engine_kind",
        "sandbox_node",
    ];
    let mut map = config.as_map().cloned().unwrap_or_default();
    map.retain(|k, _| !SANDBOX_NODE.contains(&k.as_str()) && !replaced.contains(&k.as_str()));
    for (k, v) in node {
        map.insert(k.clone(), v.clone());
    }
    Ok(Value::Map(map))
}

impl NodeConfig {
    /// Parses the evaluated provider block; every problem is listed in one error.
    pub fn parse(config: &Value) -> Result<NodeConfig, ProviderError> {
        let overridden;
        let config = match config.get("sandbox_node") {
            None | Some(Value::Null) => config,
            Some(node) => {
                overridden = sandbox_node(config, node)?;
                &overridden
            }
        };
        let mut problems = Vec::new();
        let host = string(config, "host").unwrap_or_default();
        if host.is_empty() {
            problems.push("\"host\" is required: the VSN's SSH address".to_string());
        }
        let port = match config.get("port").and_then(Value::as_f64) {
            None => 22,
            Some(p) if (1.0..=65535.0).contains(&p) && p.fract() == 0.0 => p as u16,
            Some(p) => {
                problems.push(format!("\"port\" must be a TCP port (1-65535), not {p}"));
                22
            }
        };
        let user = string(config, "user").unwrap_or_else(|| "root".to_string());
        let key = match (string(config, "private_key_file"), string(config, "private_key")) {
            (Some(path), None) => Some(KeySource::File(PathBuf::from(path))),
            (None, Some(text)) => Some(KeySource::Text(text)),
            (Some(_), Some(_)) => {
                problems.push("set only one of \"private_key_file\" and \"private_key\"".to_string());
                None
            }
            (None, None) => {
                problems.push("one of \"private_key_file\" or \"private_key\" is required".to_string());
                None
            }
        };
        let host_key = match (
            string(config, "host_key_fingerprint"),
            string(config, "known_hosts_file"),
            config.get("trust_on_first_use").and_then(Value::as_bool).unwrap_or(false),
        ) {
            (Some(fp), None, false) => Some(HostKeyPolicy::Pinned(fp)),
            (None, Some(path), false) => Some(HostKeyPolicy::KnownHostsFile(PathBuf::from(path))),
            (None, None, true) => Some(HostKeyPolicy::TrustOnFirstUse { recorded: None }),
            (None, None, false) => {
                problems.push(
                    "say how to check the VSN's host key: \"host_key_fingerprint\" (SHA256:...), \"known_hosts_file\", or \"trust_on_first_use = true\""
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
        let engine_program = string(config, "engine").unwrap_or_else(|| "podman".to_string());
        let base = engine_program.rsplit('/').next().unwrap_or_default().to_string();
        let kind = match string(config, "engine_kind").as_deref() {
            Some("podman") => EngineKind::Podman,
            Some("docker") => EngineKind::Docker,
            Some(other) => {
                problems.push(format!("\"engine_kind\" must be \"podman\" or \"docker\", not \"{other}\""));
                EngineKind::Podman
            }
            None if base.contains("docker") => EngineKind::Docker,
            None => EngineKind::Podman,
        };
        let data_root = string(config, "data_root").unwrap_or_else(|| "/srv/vsn/data".to_string());
        if !data_root.starts_with('/') || data_root == "/" || data_root.contains("..") {
            problems.push(format!(
                "\"data_root\" must be an absolute directory other than \"/\", without \"..\", not \"{data_root}\""
            ));
        }
        let limit_gb = config.get("volume_size_limit_gb").and_then(Value::as_f64).unwrap_or(DEFAULT_SIZE_LIMIT_GB);
        if limit_gb.is_nan() || limit_gb <= 0.0 {
            problems.push(format!("\"volume_size_limit_gb\" must be positive, not {limit_gb}"));
        }
        let mut env = BTreeMap::new();
        if let Some(map) = config.get("env").and_then(Value::as_map) {
            for (k, v) in map {
                let valid = !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit());
                match v.as_str() {
                    Some(v) if valid => {
                        env.insert(k.clone(), v.to_string());
                    }
                    _ => problems.push(format!(
                        "\"env\" entry \"{k}\" must be a NAME = \"string\" pair with a shell variable name"
                    )),
                }
            }
        }
        let required_commands = config
            .get("required_commands")
            .and_then(Value::as_list)
            .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        let timeout = config.get("connect_timeout_seconds").and_then(Value::as_f64).unwrap_or(10.0).max(1.0);
        if !problems.is_empty() {
            return Err(ProviderError::permanent(format!(
                "the vsn provider block is invalid: {}.",
                problems.join("; ")
            )));
        }
        let (Some(key), Some(host_key)) = (key, host_key) else {
            return Err(ProviderError::permanent("the vsn provider block is invalid"));
        };
        let mut ssh = SshConfig::new(host, user, key)
            .with_port(port)
            .with_host_key(host_key)
            .with_connect_timeout(Duration::from_secs_f64(timeout));
        if let Some(pass) = string(config, "private_key_passphrase") {
            ssh = ssh.with_passphrase(pass);
        }
        Ok(NodeConfig {
            ssh,
            engine: Engine { program: engine_program, kind },
            data_root: data_root.trim_end_matches('/').to_string(),
            volume_size_limit_bytes: (limit_gb * GB as f64) as u64,
            env,
            required_commands,
            keep_images: config.get("keep_images").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// The data directory of volume container `name`.
    pub fn data_dir(&self, name: &str) -> String {
        format!("{}/{}", self.data_root, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let err = NodeConfig::parse(&cfg(&[("port", Value::number(70000.0)), ("data_root", Value::string("rel"))]))
            .unwrap_err();
        for needle in ["\"host\" is required", "\"port\"", "private_key", "host key", "\"data_root\""] {
            assert!(err.message.contains(needle), "{needle} missing in: {}", err.message);
        }
    }

    #[test]
    fn the_sandbox_node_replaces_where_the_vsn_is_and_keeps_the_rest() {
        let c = NodeConfig::parse(&cfg(&[
            ("host", Value::string("vsn1.example.org")),
            ("private_key", Value::string("not a key")),
            ("known_hosts_file", Value::string("/k")),
            ("keep_images", Value::Bool(true)),
            (
                "sandbox_node",
                Value::map([
                    ("host", Value::string("127.0.0.1")),
                    ("port", Value::number(2222.0)),
                    ("private_key_file", Value::string("/s/id")),
                    ("host_key_fingerprint", Value::string("SHA256:pinned")),
                    ("data_root", Value::string("/s/data")),
                ]),
            ),
        ]))
        .unwrap();
        assert_eq!((c.ssh.host.as_str(), c.ssh.port), ("127.0.0.1", 2222));
        assert!(matches!(&c.ssh.host_key, HostKeyPolicy::Pinned(fp) if fp == "SHA256:pinned"));
        assert_eq!(c.data_root, "/s/data");
        assert!(c.keep_images);
        let bad = cfg(&[("sandbox_node", Value::map([("root", Value::string("/"))]))]);
        assert!(NodeConfig::parse(&bad).unwrap_err().message.contains("no setting \"root\""));
    }

    #[test]
    fn defaults_and_engine_kind_from_the_program_name() {
        let c = NodeConfig::parse(&cfg(&[
            ("host", Value::string("10.0.0.5")),
            ("private_key_file", Value::string("/k")),
            ("host_key_fingerprint", Value::string("SHA256:abc")),
            ("engine", Value::string("/usr/bin/docker")),
            ("env", Value::map([("CONTAINERS_CONF", Value::string("/etc/c.conf"))])),
        ]))
        .unwrap();
        assert_eq!(c.engine.kind, EngineKind::Docker);
        assert_eq!(c.ssh.port, 22);
        assert_eq!(c.ssh.user, "root");
        assert_eq!(c.volume_size_limit_bytes, 200 * GB);
        assert_eq!(c.data_dir("db"), "/srv/vsn/data/db");
        assert_eq!(c.env["CONTAINERS_CONF"], "/etc/c.conf");
    }
}
