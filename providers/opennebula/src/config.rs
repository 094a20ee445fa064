//! The provider's configuration, read from its block with the original engine's
//! `engine.conf` keys as the model: the oned XML-RPC and OneFlow endpoints (`one_xmlrpc`,
//! `oneflow_server`), the credentials, `timeout`, `capacity` (defaults and multipliers) and the
//! explicit `flavours` mapping (`:mapping:`). Defaults are engine.conf's.
//!
//! Turns a tarn value into ready-to-use settings and checks them; no IO.

use std::collections::BTreeMap;
use std::time::Duration;

use tarn_sdk::{ProviderError, Value};

pub const DEFAULT_XMLRPC: &str = "http://localhost:2633/RPC2";
pub const DEFAULT_ONEFLOW: &str = "http://localhost:2474";

/// engine.conf's `:capacity:`: what a function gets when its specification leaves a size out,
/// and how far it can grow in place (`max = size × mult`).
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    pub disk_default: u64,
    pub cpu_default: u64,
    pub cpu_mult: u64,
    pub memory_default: u64,
    pub memory_mult: u64,
    pub memory_resize_mode: String,
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            disk_default: 1024,
            cpu_default: 2,
            cpu_mult: 2,
            memory_default: 1024,
            memory_mult: 2,
            memory_resize_mode: "BALLOONING".into(),
        }
    }
}

/// Where a flavour tuple (`Function`, `Function-Data`) leads: a service template by id or name.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateRef {
    Id(u64),
    Name(String),
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub xmlrpc: String,
    pub oneflow: String,
    pub username: String,
    pub password: String,
    /// How long a create, resize or delete waits for OpenNebula.
    pub timeout: Duration,
    /// Between two looks at a service or VM.
    pub poll: Duration,
    pub capacity: Capacity,
    /// engine.conf's `:mapping:`; empty: templates are found by the tuple's name.
    pub flavours: BTreeMap<String, TemplateRef>,
}

fn text(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(|x| x.unmark().0.as_str()).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn whole(v: &Value, name: &str, what: &str) -> Result<Option<u64>, ProviderError> {
    match v.get(name).and_then(|x| x.unmark().0.as_f64()) {
        None => Ok(None),
        Some(n) if n >= 1.0 && n.fract() == 0.0 && n < 1e12 => Ok(Some(n as u64)),
        Some(n) => Err(ProviderError::permanent(format!("{what} must be a whole number of at least 1, not {n}"))),
    }
}

impl Settings {
    pub fn from_config(config: &Value) -> Result<Settings, ProviderError> {
        let username = text(config, "username").or_else(|| env("ONE_USERNAME"));
        let password = text(config, "password").or_else(|| env("ONE_PASSWORD"));
        let (Some(username), Some(password)) = (username, password) else {
            return Err(ProviderError::permanent(
                "no OpenNebula credentials: set username and password in the provider block, or ONE_USERNAME and \
                 ONE_PASSWORD (or try the configuration without a cloud: tarn plan --sandbox)",
            ));
        };
        if username.contains(':') {
            return Err(ProviderError::permanent(
                "username must not contain ':' (the session string is user:password)",
            ));
        }
        let timeout = match config.get("timeout").and_then(|t| t.unmark().0.as_f64()) {
            None => Duration::from_secs(30),
            Some(s) if s > 0.0 && s.is_finite() => Duration::from_secs_f64(s),
            Some(s) => {
                return Err(ProviderError::permanent(format!("timeout must be a positive number of seconds, not {s}")));
            }
        };
        let mut capacity = Capacity::default();
        if let Some(c) = config.get("capacity").filter(|c| !c.is_null()) {
            let c = c.unmark().0;
            capacity.disk_default = whole(c, "disk_default", "capacity.disk_default")?.unwrap_or(capacity.disk_default);
            capacity.cpu_default = whole(c, "cpu_default", "capacity.cpu_default")?.unwrap_or(capacity.cpu_default);
            capacity.cpu_mult = whole(c, "cpu_mult", "capacity.cpu_mult")?.unwrap_or(capacity.cpu_mult);
            capacity.memory_default =
                whole(c, "memory_default", "capacity.memory_default")?.unwrap_or(capacity.memory_default);
            capacity.memory_mult = whole(c, "memory_mult", "capacity.memory_mult")?.unwrap_or(capacity.memory_mult);
            if let Some(mode) = text(c, "memory_resize_mode") {
                if mode != "BALLOONING" && mode != "HOTPLUG" {
                    return Err(ProviderError::permanent(format!(
                        "capacity.memory_resize_mode must be \"BALLOONING\" or \"HOTPLUG\", not {mode:?}"
                    )));
                }
                capacity.memory_resize_mode = mode;
            }
        }
        let mut flavours = BTreeMap::new();
        if let Some(map) = config.get("flavours").and_then(|f| f.unmark().0.as_map()) {
            for (tuple, target) in map {
                let target = match target.unmark().0 {
                    Value::Number(n) if n.to_u64().is_some() => TemplateRef::Id(n.to_u64().unwrap_or(0)),
                    Value::String(s) if !s.trim().is_empty() => match s.trim().parse::<u64>() {
                        Ok(id) => TemplateRef::Id(id),
                        Err(_) => TemplateRef::Name(s.trim().to_string()),
                    },
                    other => {
                        return Err(ProviderError::permanent(format!(
                            "flavours[{tuple:?}] must be a service template id or name, not {}",
                            other.type_name()
                        )));
                    }
                };
                flavours.insert(tuple.clone(), target);
            }
        }
        Ok(Settings {
            xmlrpc: text(config, "one_xmlrpc").or_else(|| env("ONE_XMLRPC")).unwrap_or_else(|| DEFAULT_XMLRPC.into()),
            oneflow: text(config, "oneflow_server")
                .or_else(|| env("ONEFLOW_URL"))
                .unwrap_or_else(|| DEFAULT_ONEFLOW.into()),
            username,
            password,
            timeout,
            poll: Duration::from_millis(500),
            capacity,
            flavours,
        })
    }
}
