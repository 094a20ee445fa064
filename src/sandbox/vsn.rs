//! VSN under `--sandbox`: a virtual server node on this machine.
//!
//! When a sandboxed run configures the `vsn` provider (and only then), this starts a real sshd
//! on 127.0.0.1 with its own host key (`sshd.rs`), in front of this machine's podman (or
//! Docker when podman is missing, or `TARN_SANDBOX_VSN_ENGINE=docker`), and gives the provider
//! its `sandbox_node`: that address and port, the sandbox's client key, the host key pinned by
//! fingerprint (nothing is trusted on first use), the engine, and a data root under
//! `.tarn/sandbox/vsn/data/`. For podman it passes a `CONTAINERS_CONF` of its own (runc,
//! cgroupfs; /etc is not touched). Keys, the port and the data persist between runs, like the
//! emulators' objects, so the state stays true; sshd stops when the run ends. The containers
//! are the VSN's: they keep running between runs, and `tarn destroy --sandbox` removes them.
//!
//! It installs no packages: a missing one fails with the command that installs it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tarn_sdk::Value;

use super::sshd::{Process, fingerprint, free_port, is_root, key, run};

/// The environment variable choosing the engine: `podman` or `docker`.
pub const ENGINE_ENV: &str = "TARN_SANDBOX_VSN_ENGINE";
const ADDRESS: Ipv4Addr = Ipv4Addr::LOCALHOST;
const PODMAN: &str = "/usr/bin/podman";
const DOCKER: &str = "/usr/bin/docker";
const INSTALL: &str = "apt-get install openssh-server podman runc (or docker.io)";

/// The local VSN's port, kept in `.tarn/sandbox/vsn/server.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot {
    ssh_port: u16,
}

/// The sandbox's VSN.
#[derive(Default)]
pub struct Services {
    started: tokio::sync::Mutex<Option<Started>>,
}

struct Started {
    overrides: Vec<(String, Value)>,
    sshd: Process,
}

/// Where the sandbox keeps its VSN (absolute: it goes into the provider's configuration).
fn home() -> Result<PathBuf, String> {
    let dir = super::dir().join("vsn");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::canonicalize(&dir).map_err(|e| format!("cannot resolve {}: {e}", dir.display()))
}

/// The port recorded, or a new free one.
fn slot(home: &Path) -> Result<Slot, String> {
    let path = home.join("server.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return serde_json::from_str(&text).map_err(|e| format!("{} is damaged ({e}); delete it", path.display()));
    }
    let slot = Slot { ssh_port: free_port(ADDRESS)? };
    let text = serde_json::to_string_pretty(&slot).unwrap_or_default();
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(slot)
}

/// The engine program and its environment.
fn engine(home: &Path) -> Result<(&'static str, Value), String> {
    let choice = std::env::var(ENGINE_ENV).ok().filter(|c| !c.is_empty());
    let podman = match choice.as_deref() {
        Some("podman") => true,
        Some("docker") => false,
        Some(other) => return Err(format!("{ENGINE_ENV} must be \"podman\" or \"docker\", not \"{other}\"")),
        None => Path::new(PODMAN).exists() || !Path::new(DOCKER).exists(),
    };
    let (program, env) = if podman {
        let conf = home.join("containers.conf");
        std::fs::write(&conf, tarn_provider_vsn::config::LOCAL_CONTAINERS_CONF)
            .map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        (PODMAN, Value::map([("CONTAINERS_CONF", Value::string(conf.display().to_string()))]))
    } else {
        (DOCKER, Value::map(Vec::<(String, Value)>::new()))
    };
    if !Path::new(program).exists() {
        return Err(format!("{program} is not installed: {INSTALL}"));
    }
    Ok((program, env))
}

/// Starts the VSN's sshd; the provider's `sandbox_node` and what to tell the user.
fn start_vsn() -> Result<(Process, Value, String), String> {
    let home = home()?;
    let (program, env) = engine(&home)?;
    let client = home.join("id_ed25519");
    key(&client, "tarn-sandbox")?;
    let slot = slot(&home)?;
    let data_root = home.join("data");
    std::fs::create_dir_all(&data_root).map_err(|e| format!("cannot create {}: {e}", data_root.display()))?;
    let dir = home.join("sshd");
    let sshd =
        super::sshd::start(&dir, ADDRESS, slot.ssh_port, &client.with_extension("pub"), &home.join("server.json"))?;
    let fp = fingerprint(&dir.join("ssh_host_ed25519_key.pub"))?;
    let user = if is_root() { "root".to_string() } else { run(Command::new("id").arg("-un"))? };
    let node = Value::map([
        ("host", Value::string(ADDRESS.to_string())),
        ("port", Value::number(f64::from(slot.ssh_port))),
        ("user", Value::string(user)),
        ("private_key_file", Value::string(client.display().to_string())),
        ("host_key_fingerprint", Value::string(fp.clone())),
        ("data_root", Value::string(data_root.display().to_string())),
        ("engine", Value::string(program)),
        ("env", env),
    ]);
    let told = format!(
        "Sandbox: VSN on this machine: sshd on {ADDRESS}:{port} (host key {fp}, pinned) in front of {program}, data under {d}.",
        port = slot.ssh_port,
        d = data_root.display()
    );
    Ok((sshd, node, told))
}

#[async_trait]
impl super::LocalServices for Services {
    async fn start(&self, _emulators: &BTreeMap<String, SocketAddr>) -> Result<Vec<(String, Value)>, String> {
        let mut started = self.started.lock().await;
        if let Some(s) = started.as_ref() {
            return Ok(s.overrides.clone());
        }
        let (sshd, node, told) =
            tokio::task::spawn_blocking(start_vsn).await.map_err(|e| format!("starting the VSN panicked: {e}"))??;
        eoutln!("{told}");
        let overrides = vec![("sandbox_node".to_string(), node)];
        *started = Some(Started { overrides: overrides.clone(), sshd });
        Ok(overrides)
    }

    async fn stop(&self) {
        let taken = self.started.lock().await.take();
        if let Some(s) = taken {
            let what = s.sshd.what.clone();
            let _ = tokio::task::spawn_blocking(move || drop(s)).await;
            eoutln!("Sandbox: stopped the VSN's {what}.");
        }
    }
}
