//! The server's configuration, read with the original engine's `engine.conf` keys: a YAML
//! file whose keys are Ruby symbols (`:one_xmlrpc:`, `:capacity:` → `:cpu:` → `:mult:`). The
//! colons are dropped, the result is checked against the contract's `schemas/config.json`, and
//! turned into the provider block every runtime's stack gets. Without `--config`, the
//! original's defaults (`specs/provisioning-engine/etc/engine.conf`, compiled in).
//!
//! Reads one file; no network.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value as Json, json};

use super::contract;
use crate::error::CliError;

/// The original engine's default configuration.
pub const DEFAULT: &str = include_str!("../../specs/provisioning-engine/etc/engine.conf");

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct EngineConf {
    /// The file as read, keys without their colons: what `GET /server/config` answers.
    pub document: Json,
    pub host: String,
    pub port: u16,
    /// How long OpenNebula may take (a deploy, a resize, an undeploy).
    pub timeout: Duration,
    /// How many refused requests the `serve-refused` history keeps (`:refused_history:`, a
    /// tarn extension like `:mapping:`; default [`HISTORY`]).
    pub refused_history: usize,
    /// How many runs each runtime's own history keeps (`:history:`, a tarn extension; default
    /// [`HISTORY`]): every request on a runtime is a run, so a device that polls would
    /// otherwise grow it without end.
    pub history: usize,
}

/// The default of `:refused_history:` and of `:history:`.
pub const HISTORY: usize = 1000;

/// A history bound from `:KEY:`: a whole number of at least 1, [`HISTORY`] when absent.
fn retention(document: &Json, key: &str) -> Result<usize, String> {
    match document.get(key) {
        None => Ok(HISTORY),
        Some(n) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n >= 1 => Ok(n),
            _ => Err(format!(":{key}: must be a whole number of at least 1, not {n}")),
        },
    }
}

impl EngineConf {
    /// Reads `path`, or the defaults.
    pub fn load(path: Option<&Path>) -> Result<EngineConf, CliError> {
        let (text, name) = match path {
            Some(p) => (
                std::fs::read_to_string(p).map_err(|e| {
                    CliError::Failed(format!("cannot read the engine configuration {}: {e}", p.display()))
                })?,
                p.display().to_string(),
            ),
            None => (DEFAULT.to_string(), "the default engine.conf".to_string()),
        };
        Self::parse(&text).map_err(|e| CliError::Failed(format!("{name}: {e}")))
    }

    pub fn parse(text: &str) -> Result<EngineConf, String> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let document = unsymbol(&yaml);
        if !document.is_object() {
            return Err("the configuration must be a mapping of engine.conf's keys (:one_xmlrpc:, :port:, ...)".into());
        }
        contract::Contract::get().check_config(&document)?;
        let host = document.get("host").and_then(Json::as_str).unwrap_or("127.0.0.1").to_string();
        let port = match document.get("port").and_then(Json::as_u64) {
            None => 1337,
            Some(p) => u16::try_from(p).map_err(|_| format!(":port: {p} is not a TCP port"))?,
        };
        let timeout = Duration::from_secs(document.get("timeout").and_then(Json::as_u64).unwrap_or(30).max(1));
        let refused_history = retention(&document, "refused_history")?;
        let history = retention(&document, "history")?;
        Ok(EngineConf { document, host, port, timeout, refused_history, history })
    }

    /// Where to listen, from `:host:` and `:port:`.
    pub fn addr(&self) -> Result<SocketAddr, CliError> {
        let ip: IpAddr = match self.host.as_str() {
            "localhost" => IpAddr::from([127, 0, 0, 1]),
            h => h.parse().map_err(|_| {
                CliError::Failed(format!(":host: {h:?} is not an IP address; give one, or use --listen ADDR"))
            })?,
        };
        Ok(SocketAddr::new(ip, self.port))
    }

    /// Points the OpenNebula endpoints elsewhere (`--sandbox`: at the emulator).
    pub fn set_endpoints(&mut self, xmlrpc: &str, oneflow: &str) {
        if let Some(m) = self.document.as_object_mut() {
            m.insert("one_xmlrpc".into(), json!(xmlrpc));
            m.insert("oneflow_server".into(), json!(oneflow));
        }
    }

    /// The `opennebula` provider block of a runtime's stack, credentials taken from the
    /// variables the request fills in (never written anywhere).
    pub fn provider_block(&self) -> Json {
        let d = &self.document;
        let mut block = Map::new();
        block.insert("username".into(), json!("${var.one_username}"));
        block.insert("password".into(), json!("${var.one_password}"));
        for key in ["one_xmlrpc", "oneflow_server"] {
            if let Some(v) = d.get(key).and_then(Json::as_str) {
                block.insert(key.into(), json!(v));
            }
        }
        block.insert("timeout".into(), json!(self.timeout.as_secs()));
        let cap = |path: &[&str]| -> Option<Json> {
            let mut v = d.get("capacity")?;
            for p in path {
                v = v.get(p)?;
            }
            Some(v.clone())
        };
        let mut capacity = Map::new();
        for (key, path) in [
            ("disk_default", &["disk", "default"][..]),
            ("cpu_default", &["cpu", "default"]),
            ("cpu_mult", &["cpu", "mult"]),
            ("memory_default", &["memory", "default"]),
            ("memory_mult", &["memory", "mult"]),
            ("memory_resize_mode", &["memory", "resize_mode"]),
        ] {
            if let Some(v) = cap(path) {
                capacity.insert(key.into(), v);
            }
        }
        if !capacity.is_empty() {
            block.insert("capacity".into(), Json::Object(capacity));
        }
        // The seed's :mapping: (flavour tuple → service template id or name).
        if let Some(m) = d.get("mapping").and_then(Json::as_object) {
            let flavours: Map<String, Json> = m
                .iter()
                .map(|(k, v)| (k.clone(), json!(v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))))
                .collect();
            block.insert("flavours".into(), Json::Object(flavours));
        }
        Json::Object(block)
    }
}

/// YAML with Ruby-symbol keys (`:port:` parses as the key `":port"`) as JSON with plain keys.
fn unsymbol(v: &serde_yaml::Value) -> Json {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Json::Null,
        Y::Bool(b) => json!(b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Json::Null),
        Y::String(s) => json!(s),
        Y::Sequence(items) => Json::Array(items.iter().map(unsymbol).collect()),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s.trim_start_matches(':').to_string(),
                    other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
                };
                out.insert(key, unsymbol(v));
            }
            Json::Object(out)
        }
        Y::Tagged(t) => unsymbol(&t.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_original_defaults_read_as_the_original_reads_them() {
        let conf = EngineConf::parse(DEFAULT).unwrap();
        assert_eq!(conf.port, 1337);
        assert_eq!(conf.host, "127.0.0.1");
        assert_eq!(conf.timeout, Duration::from_secs(30));
        assert_eq!(conf.document["capacity"]["memory"]["resize_mode"], "BALLOONING");
        let block = conf.provider_block();
        assert_eq!(block["one_xmlrpc"], "http://localhost:2633/RPC2");
        assert_eq!(block["capacity"]["cpu_mult"], 2);
        assert_eq!(block["capacity"]["disk_default"], 1024);
        assert!(block.get("flavours").is_none());
    }

    #[test]
    fn a_mapping_becomes_the_flavours_and_bad_types_are_refused() {
        let conf = EngineConf::parse(":port: 8080\n:mapping:\n  nature: 0\n  nature-s3: Function-Data\n").unwrap();
        assert_eq!(conf.provider_block()["flavours"], json!({"nature": "0", "nature-s3": "Function-Data"}));
        let err = EngineConf::parse(":port: eighty\n").unwrap_err();
        assert!(err.contains("port"), "{err}");
    }
}
