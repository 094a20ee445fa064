//! The three container kinds and how each maps to the engine: the [`Spec`] a resource object
//! creates, and the resource object a live container reads back as (the drift rules).
//!
//! Mapping (docs/vsn.md): the host container owns the network namespace; REST
//! containers join it with `--network container:<host id>` (the same flag on podman and
//! docker), so a new host means new REST containers. The host sees the data root at the same
//! path; each volume container mounts `<data_root>/<name>` at its `mount_path`; services mount
//! volume containers with `--volumes-from`.

use std::collections::BTreeMap;

use tarn_sdk::{ProviderError, Value};

use crate::attrs::{self, Map, map_value, opt_num, opt_str, req_str, string_map, strings};
use crate::engine::{Health, Observed, Spec, engine_added_env};
use crate::node::Node;
use crate::schema;

pub const DEFAULT_HOST_NAME: &str = "vsn-host";
pub const DEFAULT_MOUNT_PATH: &str = "/data";
/// What a volume container runs: busybox idling, and exiting promptly on SIGTERM.
pub const VOLUME_COMMAND: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 3600 & wait; done"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Host,
    Volume,
    Service,
}

impl Kind {
    pub fn from_type_name(t: &str) -> Option<Kind> {
        match t {
            schema::HOST => Some(Kind::Host),
            schema::VOLUME => Some(Kind::Volume),
            schema::SERVICE => Some(Kind::Service),
            _ => None,
        }
    }
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::Host => schema::HOST,
            Kind::Volume => schema::VOLUME,
            Kind::Service => schema::SERVICE,
        }
    }
    pub fn role(self) -> &'static str {
        match self {
            Kind::Host => "host",
            Kind::Volume => "volume",
            Kind::Service => "service",
        }
    }
}

/// The container name of an object (the host's default applied).
pub fn name_of(kind: Kind, o: &Map) -> Result<String, ProviderError> {
    match (kind, opt_str(o, "name")) {
        (Kind::Host, None) => Ok(DEFAULT_HOST_NAME.to_string()),
        (_, Some(n)) => Ok(n),
        (_, None) => Err(ProviderError::permanent(format!("{}: \"name\" is required", kind.type_name()))),
    }
}

fn health(o: &Map) -> Option<Health> {
    let h = o.get("healthcheck")?.as_map()?;
    let s = |k: &str| h.get(k).and_then(Value::as_str).map(str::to_string);
    Some(Health {
        command: s("command")?,
        interval: s("interval"),
        timeout: s("timeout"),
        retries: h.get("retries").and_then(Value::as_f64).map(|n| n as u32),
    })
}

/// The engine specification of an object. `env_file` is the uploaded secret file, if any.
pub fn spec(
    kind: Kind,
    node: &Node,
    o: &Map,
    correlation: &str,
    env_file: Option<String>,
) -> Result<Spec, ProviderError> {
    let what = kind.type_name();
    let name = name_of(kind, o)?;
    attrs::check_name(&name, what)?;
    let mut spec = Spec {
        name: name.clone(),
        image: req_str(o, "image", what)?,
        role: kind.role(),
        correlation: correlation.to_string(),
        pull: opt_str(o, "pull"),
        stop_timeout: opt_num(o, "stop_timeout").map(|n| n as u32),
        ..Spec::default()
    };
    if kind != Kind::Host {
        spec.network = Some(format!("container:{}", req_str(o, "host_id", what)?));
    }
    match kind {
        Kind::Host => {
            spec.command = strings(o, "command");
            spec.env = string_map(o, "env");
            spec.ports = strings(o, "ports");
            let root = node.config.data_root.clone();
            spec.mounts = vec![(root.clone(), root)];
        }
        Kind::Volume => {
            spec.command = VOLUME_COMMAND.iter().map(|s| s.to_string()).collect();
            let mount = opt_str(o, "mount_path").unwrap_or_else(|| DEFAULT_MOUNT_PATH.to_string());
            spec.mounts = vec![(node.config.data_dir(&name), mount)];
        }
        Kind::Service => {
            spec.command = strings(o, "command");
            spec.env = string_map(o, "env");
            spec.env_file = env_file;
            spec.volumes_from = strings(o, "volumes_from");
            spec.restart = opt_str(o, "restart");
            spec.health = health(o);
        }
    }
    Ok(spec)
}

/// The resource object as the live container shows it: `state` with what the engine reports
/// written over it. `image_env` is the image's own environment, which is not drift.
pub fn observe(kind: Kind, mut state: Map, seen: &Observed, image_env: &[(String, String)]) -> Map {
    attrs::set_str(&mut state, "id", seen.id.clone());
    attrs::set_str(&mut state, "image_id", seen.image_id.clone());
    if !seen.image.is_empty() && opt_str(&state, "image").as_deref() != Some(seen.image.as_str()) {
        attrs::set_str(&mut state, "image", seen.image.clone());
    }
    // null means "running": keep null while it runs, report false when stopped.
    let running = match (state.get("running").and_then(Value::as_bool), seen.running) {
        (None, true) => Value::Null,
        (_, r) => Value::Bool(r),
    };
    state.insert("running".into(), running);
    if kind != Kind::Host {
        if let Some(host) = seen.network_mode.strip_prefix("container:") {
            attrs::set_str(&mut state, "host_id", host);
        } else {
            attrs::set_str(&mut state, "host_id", format!("(network {})", seen.network_mode));
        }
    }
    if kind == Kind::Volume {
        return state;
    }
    let secret_keys: Vec<String> = string_map(&state, "secrets").into_keys().collect();
    let mut env = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (k, v) in &seen.env {
        if secret_keys.contains(k) {
            secrets.insert(k.clone(), v.clone());
        } else if !engine_added_env(k) && !image_env.iter().any(|(ik, iv)| ik == k && iv == v) {
            env.insert(k.clone(), v.clone());
        }
    }
    let env_null = state.get("env").is_none_or(Value::is_null);
    state.insert("env".into(), map_value(&env, env_null));
    if kind == Kind::Service {
        let null = state.get("secrets").is_none_or(Value::is_null);
        state.insert("secrets".into(), map_value(&secrets, null));
        if !seen.restart.is_empty() {
            let configured = opt_str(&state, "restart");
            // The engines report "" or "no" for no policy; null in configuration means "no".
            let same =
                configured.as_deref().unwrap_or("no") == seen.restart || (seen.restart == "no" && configured.is_none());
            if !same {
                attrs::set_str(&mut state, "restart", seen.restart.clone());
            }
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen() -> Observed {
        Observed {
            id: "abc".into(),
            image: "localhost/web:1".into(),
            running: true,
            env: vec![
                ("PATH".into(), "/bin".into()),
                ("HOSTNAME".into(), "x".into()),
                ("MODE".into(), "prod".into()),
                ("TOKEN".into(), "s3cret".into()),
            ],
            network_mode: "container:hostid".into(),
            restart: "no".into(),
            ..Observed::default()
        }
    }

    fn state() -> Map {
        attrs::object(
            Value::map([
                ("name", Value::string("web")),
                ("image", Value::string("localhost/web:1")),
                ("host_id", Value::string("hostid")),
                ("env", Value::map([("MODE", Value::string("prod"))])),
                ("secrets", Value::map([("TOKEN", Value::string("s3cret"))])),
                ("running", Value::Null),
                ("restart", Value::Null),
            ]),
            "t",
        )
        .unwrap()
    }

    #[test]
    fn an_unchanged_container_reads_back_as_its_state() {
        let image_env = vec![("PATH".to_string(), "/bin".to_string())];
        let mut expected = state();
        expected.insert("id".into(), Value::string("abc"));
        expected.insert("image_id".into(), Value::string(""));
        assert_eq!(observe(Kind::Service, state(), &seen(), &image_env), expected);
    }

    #[test]
    fn stopped_other_image_other_env_and_other_host_show_as_drift() {
        let mut s = seen();
        s.running = false;
        s.image = "localhost/web:9".into();
        s.env.push(("EXTRA".into(), "1".into()));
        s.network_mode = "container:otherhost".into();
        let o = observe(Kind::Service, state(), &s, &[]);
        assert_eq!(o["running"], Value::Bool(false));
        assert_eq!(o["image"], Value::string("localhost/web:9"));
        assert_eq!(o["host_id"], Value::string("otherhost"));
        assert!(o["env"].get("EXTRA").is_some());
        assert!(o["env"].get("PATH").is_some(), "PATH is not the image's here, so it is drift");
    }
}
