//! The engine's command lines and the parsing of what it reports: `run` arguments from a
//! [`Spec`], `container inspect` JSON into an [`Observed`] container. Pure functions, so the
//! exact commands issued to podman and docker are unit-tested without either.
//!
//! Both engines accept the same flags for everything built here (`run -d --name --label
//! --network container:NAME -v --volumes-from -e --env-file -p --restart --health-* --pull
//! --stop-timeout`), and both answer `container inspect` with the Docker-shaped JSON read
//! here. It must not run anything.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::config::EngineKind;

/// Label keys put on every container the provider creates.
pub const LABEL_CORRELATION: &str = "tarn.correlation";
pub const LABEL_ROLE: &str = "tarn.vsn.role";
pub const LABEL_MANAGED: &str = "tarn.managed-by";
/// On a container a rollback created again (restore.rs): the ID of the container it replaces,
/// so that restored REST containers find the host whose network they joined.
pub const LABEL_RESTORED_FROM: &str = "tarn.vsn.restored-from";

/// A container health check, as `--health-*` flags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Health {
    pub command: String,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
}

/// What to create.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Spec {
    pub name: String,
    pub image: String,
    /// "host", "volume" or "service".
    pub role: &'static str,
    pub correlation: String,
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// A file on the VSN holding secret `NAME=value` lines.
    pub env_file: Option<String>,
    /// `container:HOST` for REST containers: they share the host container's network.
    pub network: Option<String>,
    pub ports: Vec<String>,
    /// `-v SOURCE:TARGET` bind mounts.
    pub mounts: Vec<(String, String)>,
    pub volumes_from: Vec<String>,
    pub restart: Option<String>,
    pub health: Option<Health>,
    /// `never`, `missing` or `always`.
    pub pull: Option<String>,
    pub stop_timeout: Option<u32>,
    /// Further labels (`tarn.vsn.restored-from`).
    pub labels: BTreeMap<String, String>,
}

impl Spec {
    /// The arguments of `ENGINE run`.
    pub fn run_args(&self) -> Vec<String> {
        let mut a: Vec<String> = ["run", "-d", "--name"].iter().map(|s| s.to_string()).collect();
        a.push(self.name.clone());
        for (k, v) in [(LABEL_CORRELATION, self.correlation.as_str()), (LABEL_ROLE, self.role), (LABEL_MANAGED, "tarn")]
        {
            a.push("--label".into());
            a.push(format!("{k}={v}"));
        }
        for (k, v) in &self.labels {
            a.push("--label".into());
            a.push(format!("{k}={v}"));
        }
        if let Some(net) = &self.network {
            a.push("--network".into());
            a.push(net.clone());
        }
        for p in &self.ports {
            a.push("-p".into());
            a.push(p.clone());
        }
        for (src, dst) in &self.mounts {
            a.push("-v".into());
            a.push(format!("{src}:{dst}"));
        }
        for v in &self.volumes_from {
            a.push("--volumes-from".into());
            a.push(v.clone());
        }
        for (k, v) in &self.env {
            a.push("-e".into());
            a.push(format!("{k}={v}"));
        }
        if let Some(f) = &self.env_file {
            a.push("--env-file".into());
            a.push(f.clone());
        }
        if let Some(r) = &self.restart {
            a.push(format!("--restart={r}"));
        }
        if let Some(h) = &self.health {
            a.push("--health-cmd".into());
            a.push(h.command.clone());
            if let Some(i) = &h.interval {
                a.push(format!("--health-interval={i}"));
            }
            if let Some(t) = &h.timeout {
                a.push(format!("--health-timeout={t}"));
            }
            if let Some(r) = h.retries {
                a.push(format!("--health-retries={r}"));
            }
        }
        if let Some(p) = &self.pull {
            a.push(format!("--pull={p}"));
        }
        if let Some(t) = self.stop_timeout {
            a.push(format!("--stop-timeout={t}"));
        }
        a.push(self.image.clone());
        a.extend(self.command.iter().cloned());
        a
    }
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `ENGINE container inspect NAME`.
pub fn inspect_args(name: &str) -> Vec<String> {
    args(&["container", "inspect", name])
}

/// Stop within `timeout` seconds (then the engine kills), then remove.
pub fn stop_args(name: &str, timeout: u32) -> Vec<String> {
    vec!["stop".into(), "-t".into(), timeout.to_string(), name.into()]
}

pub fn remove_args(name: &str) -> Vec<String> {
    args(&["rm", "-f", name])
}

/// Names of containers carrying a label, all states.
pub fn find_by_label_args(key: &str, value: &str) -> Vec<String> {
    vec![
        "ps".into(),
        "-a".into(),
        "--filter".into(),
        format!("label={key}={value}"),
        "--format".into(),
        "{{.Names}}".into(),
    ]
}

/// The in-place restart-policy change, where the engine has one. Podman 4 has none
/// (`podman update` only changes cgroup limits), so there the policy forces replacement.
pub fn update_restart_args(kind: EngineKind, name: &str, policy: &str) -> Option<Vec<String>> {
    match kind {
        EngineKind::Docker => Some(vec!["update".into(), format!("--restart={policy}"), name.into()]),
        EngineKind::Podman => None,
    }
}

/// True when the engine's stderr says the object does not exist.
pub fn is_missing(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    s.contains("no such container")
        || s.contains("no such object")
        || s.contains("no such image")
        || s.contains("image not known")
}

/// A container as `inspect` reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    pub running: bool,
    pub status: String,
    pub env: Vec<(String, String)>,
    pub labels: BTreeMap<String, String>,
    /// `container:<id>` when it shares another container's network.
    pub network_mode: String,
    pub restart: String,
    pub command: Vec<String>,
    /// Published container ports (`80/tcp`), from HostConfig.PortBindings.
    pub published: Vec<String>,
}

impl Observed {
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Parses `container inspect` output (a JSON array with one object).
pub fn parse_inspect(text: &str) -> Result<Observed, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("the engine's inspect output is not JSON: {e}"))?;
    let c = match &json {
        Json::Array(items) => items.first().ok_or("the engine's inspect output is empty")?,
        other => other,
    };
    let s = |v: Option<&Json>| v.and_then(Json::as_str).unwrap_or_default().to_string();
    let config = c.get("Config");
    let env = config
        .and_then(|c| c.get("Env"))
        .and_then(Json::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Json::as_str)
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv.to_string(), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    let labels = config
        .and_then(|c| c.get("Labels"))
        .and_then(Json::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
        .unwrap_or_default();
    // Podman names the image it was asked for in ImageName; Docker in Config.Image.
    let image = match s(c.get("ImageName")) {
        name if !name.is_empty() => name,
        _ => s(config.and_then(|c| c.get("Image"))),
    };
    let command = config
        .and_then(|c| c.get("Cmd"))
        .and_then(Json::as_array)
        .map(|l| l.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Observed {
        id: s(c.get("Id")),
        name: s(c.get("Name")).trim_start_matches('/').to_string(),
        image,
        image_id: s(c.get("Image")),
        running: c.pointer("/State/Running").and_then(Json::as_bool).unwrap_or(false),
        status: s(c.pointer("/State/Status")),
        env,
        labels,
        network_mode: s(c.pointer("/HostConfig/NetworkMode")),
        restart: s(c.pointer("/HostConfig/RestartPolicy/Name")),
        command,
        published: c
            .pointer("/HostConfig/PortBindings")
            .and_then(Json::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default(),
    })
}

/// Whether container port `wanted` (`80`, `80/tcp`, `53/udp`) is among `published`.
pub fn port_published(published: &[String], wanted: &str) -> bool {
    let wanted = if wanted.contains('/') { wanted.to_string() } else { format!("{wanted}/tcp") };
    published.contains(&wanted)
}

/// Environment variables the engine adds by itself, never reported as drift.
pub fn engine_added_env(key: &str) -> bool {
    matches!(key, "HOSTNAME" | "container" | "TERM" | "HOME")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_run_arguments_are_exact() {
        let spec = Spec {
            name: "web".into(),
            image: "localhost/web:2".into(),
            role: "service",
            correlation: "c-1".into(),
            command: vec!["httpd".into(), "-f".into()],
            env: BTreeMap::from([("MODE".to_string(), "prod".to_string())]),
            env_file: Some("/tmp/tarn-x/env".into()),
            network: Some("container:vsn-host".into()),
            ports: vec![],
            mounts: vec![],
            volumes_from: vec!["db-data".into()],
            restart: Some("always".into()),
            health: Some(Health {
                command: "wget -q -O- localhost:80".into(),
                interval: Some("30s".into()),
                timeout: None,
                retries: Some(3),
            }),
            pull: Some("never".into()),
            stop_timeout: Some(5),
            labels: BTreeMap::new(),
        };
        assert_eq!(
            spec.run_args().join(" "),
            "run -d --name web --label tarn.correlation=c-1 --label tarn.vsn.role=service --label tarn.managed-by=tarn \
             --network container:vsn-host --volumes-from db-data -e MODE=prod --env-file /tmp/tarn-x/env --restart=always \
             --health-cmd wget -q -O- localhost:80 --health-interval=30s --health-retries=3 --pull=never --stop-timeout=5 \
             localhost/web:2 httpd -f"
        );
    }

    #[test]
    fn docker_updates_restart_in_place_podman_does_not() {
        assert_eq!(
            update_restart_args(EngineKind::Docker, "web", "always").unwrap().join(" "),
            "update --restart=always web"
        );
        assert!(update_restart_args(EngineKind::Podman, "web", "always").is_none());
    }

    #[test]
    fn docker_shaped_inspect_parses() {
        let text = r#"[{"Id":"abc","Name":"/web","Image":"sha256:1","State":{"Running":false,"Status":"exited"},
            "Config":{"Image":"nginx:1","Env":["A=1","B=x=y"],"Labels":{"tarn.correlation":"c"},"Cmd":["a"]},
            "HostConfig":{"NetworkMode":"container:def","RestartPolicy":{"Name":"no"}}}]"#;
        let o = parse_inspect(text).unwrap();
        assert_eq!(o.name, "web");
        assert_eq!(o.image, "nginx:1");
        assert!(!o.running);
        assert_eq!(o.env[1], ("B".to_string(), "x=y".to_string()));
        assert_eq!(o.label(LABEL_CORRELATION), Some("c"));
        assert_eq!(o.network_mode, "container:def");
        assert!(is_missing("Error: No such container: web"));
        assert!(is_missing("Error: inspecting object: no such container nosuch"));
    }
}
