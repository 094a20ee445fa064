//! Create, read, update, delete and adopt for the three container kinds, over a [`Node`].
//!
//! Create is atomic: a container the engine made before failing (e.g. created but not
//! started) is removed again, found by its correlation label. Volumes' data directories are
//! created (or moved from another VSN, see migrate.rs) before the container and are never
//! removed unless `delete_data_on_destroy` is true.
//! Secrets reach the engine only through a 0600 env-file (see remote.rs).

use std::collections::BTreeMap;

use tarn_sdk::{ProviderError, Value};

use crate::aside;
use crate::attrs::{self, Map, opt_bool, opt_num, opt_str, string_map};
use crate::engine::{self, LABEL_CORRELATION, Observed, Spec};
use crate::kinds::{self, Kind, name_of};
use crate::migrate;
use crate::node::Node;
use crate::remote::{self, Scratch};

/// Inspects a container by name; `None` when it does not exist.
pub async fn inspect(node: &Node, name: &str) -> Result<Option<Observed>, ProviderError> {
    let out = node.engine(&engine::inspect_args(name)).await?;
    if !out.success() {
        if engine::is_missing(&out.stderr) {
            return Ok(None);
        }
        return Err(ProviderError::transient(format!(
            "inspecting container {name} on {} failed: {}",
            node.describe(),
            out.stderr.trim()
        )));
    }
    engine::parse_inspect(&out.stdout)
        .map(Some)
        .map_err(|e| ProviderError::permanent(format!("container {name} on {}: {e}", node.describe())))
}

async fn image_env(node: &Node, image_id: &str) -> Vec<(String, String)> {
    if image_id.is_empty() {
        return Vec::new();
    }
    let args = engine::args(&["image", "inspect", "--format", "{{json .Config.Env}}", image_id]);
    let Ok(out) = node.engine(&args).await else { return Vec::new() };
    let list: Vec<String> = serde_json::from_str(out.stdout.trim()).unwrap_or_default();
    list.iter().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The object as the container shows it now.
async fn observed_state(node: &Node, kind: Kind, state: Map, seen: &Observed) -> Map {
    let env = if kind == Kind::Volume { Vec::new() } else { image_env(node, &seen.image_id).await };
    let mut o = kinds::observe(kind, state, seen, &env);
    match kind {
        Kind::Host => attrs::set_str(&mut o, "data_root", node.config.data_root.clone()),
        Kind::Volume => {
            if let Some(name) = opt_str(&o, "name") {
                let dir = node.config.data_dir(&name);
                attrs::set_str(&mut o, "data_dir", dir.clone());
                // A directory grown past its limit since the last check shows as drift. A
                // size that cannot be measured now leaves the recorded answer as it was.
                if let Ok(size) = remote::dir_size(node, &dir).await {
                    let within = size.is_none_or(|s| s <= size_limit(node, &o));
                    o.insert("within_size_limit".into(), Value::Bool(within));
                }
            }
        }
        Kind::Service => {}
    }
    o
}

/// A volume's size limit in bytes.
fn size_limit(node: &Node, o: &Map) -> u64 {
    opt_num(o, "size_limit_gb")
        .map(|gb| (gb * crate::config::GB as f64) as u64)
        .unwrap_or(node.config.volume_size_limit_bytes)
}

/// Checks a volume's data directory against its size limit.
async fn check_size(node: &Node, o: &Map, dir: &str) -> Result<(), ProviderError> {
    let limit = size_limit(node, o);
    if let Some(size) = remote::dir_size(node, dir).await? {
        if size > limit {
            return Err(ProviderError::permanent(format!(
                "the data directory {dir} on {} holds {size} bytes, over the volume size limit of {limit} bytes",
                node.describe()
            )));
        }
    }
    Ok(())
}

/// Every published port a service names must be published by its host container.
async fn check_ports(node: &Node, o: &Map) -> Result<(), ProviderError> {
    let ports = attrs::strings(o, "ports");
    if ports.is_empty() {
        return Ok(());
    }
    let host = attrs::req_str(o, "host_id", "vsn_service")?;
    let published = inspect(node, &host).await?.map(|h| h.published).unwrap_or_default();
    let missing: Vec<&String> = ports.iter().filter(|p| !engine::port_published(&published, p)).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ProviderError::permanent(format!(
            "the service's ports {missing:?} are not published by its host container; add them to vsn_host.ports (services share the host's network)"
        )))
    }
}

/// The seed's guard (`vsn_host.require_stopped`): a running host container named `name` that
/// tarn manages is not replaced or destroyed.
pub async fn refuse_running_host(node: &Node, o: &Map, name: &str) -> Result<(), ProviderError> {
    if opt_bool(o, "require_stopped") != Some(true) {
        return Ok(());
    }
    match inspect(node, name).await? {
        Some(seen) if seen.running && seen.label(engine::LABEL_MANAGED) == Some("tarn") => {
            Err(ProviderError::permanent(format!(
                "the host container {name} on {} is running, and vsn_host.require_stopped forbids replacing or destroying it while it runs; stop it first (`{} stop {name}`), or set require_stopped = false",
                node.describe(),
                node.config.engine.program
            )))
        }
        _ => Ok(()),
    }
}

async fn remove_by_correlation(node: &Node, correlation: &str) {
    if let Ok(out) = node.engine(&engine::find_by_label_args(LABEL_CORRELATION, correlation)).await {
        for name in out.stdout.lines().map(str::trim).filter(|n| !n.is_empty()) {
            let _ = node.engine(&engine::remove_args(name)).await;
        }
    }
}

pub async fn create(node: &Node, kind: Kind, planned: Value, correlation: &str) -> Result<Value, ProviderError> {
    create_labelled(node, kind, planned, correlation, BTreeMap::new()).await
}

/// [`create`], with further labels on the container (a restore's `tarn.vsn.restored-from`).
pub async fn create_labelled(
    node: &Node,
    kind: Kind,
    planned: Value,
    correlation: &str,
    labels: BTreeMap<String, String>,
) -> Result<Value, ProviderError> {
    let mut o = attrs::object(planned, kind.type_name())?;
    let name = name_of(kind, &o)?;
    attrs::check_name(&name, kind.type_name())?;
    if let Some(archive) = opt_str(&o, "image_archive") {
        remote::load_image(node, &archive).await?;
    }
    match kind {
        Kind::Volume => {
            let dir = node.config.data_dir(&name);
            // Moved from another VSN (migrate.rs) before the container starts, or made empty.
            match migrate::source(&o, &name)? {
                Some(source) => migrate::bring(node, source, &name, size_limit(node, &o)).await?,
                None => {
                    remote::ensure_data_dir(node, &dir).await?;
                }
            }
            check_size(node, &o, &dir).await?;
        }
        Kind::Service => check_ports(node, &o).await?,
        // The host sees the data root; a missing one is created, an existing one left alone.
        Kind::Host => {
            remote::ensure_data_dir(node, &node.config.data_root).await?;
        }
    }
    if kind == Kind::Host {
        refuse_running_host(node, &o, &name).await?;
    }
    let timeout = opt_num(&o, "stop_timeout").map(|n| n as u32).unwrap_or(10);
    let set_aside = aside::set_aside(node, kind, &name, timeout).await?;
    let secrets = string_map(&o, "secrets");
    let run = async {
        let scratch = if secrets.is_empty() { None } else { Some(Scratch::new(node).await?) };
        let env_file = match &scratch {
            Some(s) => Some(s.env_file(node, &secrets).await?),
            None => None,
        };
        let ran = match kinds::spec(kind, node, &o, correlation, env_file) {
            Ok(spec) => node.engine_checked(&Spec { labels: labels.clone(), ..spec }.run_args()).await,
            Err(e) => Err(e),
        };
        if let Some(s) = scratch {
            let _ = s.remove(node).await;
        }
        ran
    }
    .await;
    if let Err(mut e) = run {
        remove_by_correlation(node, correlation).await;
        if let Some(old) = set_aside {
            if let Err(r) = aside::restore(node, old).await {
                e.message =
                    format!("{}; putting the previous container {name} back failed too: {}", e.message, r.message);
            }
        }
        return Err(e);
    }
    if opt_bool(&o, "running") == Some(false) {
        let stop = engine::stop_args(&name, opt_num(&o, "stop_timeout").map(|n| n as u32).unwrap_or(10));
        if let Err(e) = node.engine_checked(&stop).await {
            let seen = inspect(node, &name).await.ok().flatten().unwrap_or_default();
            let state = observed_state(node, kind, o, &seen).await;
            return Err(ProviderError::partially_created(e.message, Value::Map(state)));
        }
    }
    if kind == Kind::Host {
        attrs::set_str(&mut o, "name", name.clone());
    }
    match inspect(node, &name).await? {
        Some(seen) => {
            let mut state = observed_state(node, kind, o.clone(), &seen).await;
            // What was just created is what was asked for, whatever the engine's spelling.
            for k in ["image", "env", "secrets", "restart", "running"] {
                if let Some(v) = o.get(k) {
                    state.insert(k.to_string(), v.clone());
                }
            }
            Ok(Value::Map(state))
        }
        None => Err(ProviderError::permanent(format!(
            "container {name} vanished on {} right after it was created",
            node.describe()
        ))),
    }
}

pub async fn read(node: &Node, kind: Kind, state: Value) -> Result<Option<Value>, ProviderError> {
    let o = attrs::object(state, kind.type_name())?;
    let name = name_of(kind, &o)?;
    match inspect(node, &name).await? {
        None => Ok(None),
        Some(seen) => Ok(Some(Value::Map(observed_state(node, kind, o, &seen).await))),
    }
}

pub async fn update(node: &Node, kind: Kind, prior: Value, planned: Value) -> Result<Value, ProviderError> {
    let p = attrs::object(prior, kind.type_name())?;
    let o = attrs::object(planned, kind.type_name())?;
    let name = name_of(kind, &o)?;
    let want_running = opt_bool(&o, "running").unwrap_or(true);
    let was_running = opt_bool(&p, "running").unwrap_or(true);
    if kind == Kind::Service && opt_str(&p, "restart") != opt_str(&o, "restart") {
        let policy = opt_str(&o, "restart").unwrap_or_else(|| "no".to_string());
        match engine::update_restart_args(node.config.engine.kind, &name, &policy) {
            Some(args) => {
                node.engine_checked(&args).await?;
            }
            None => {
                return Err(ProviderError::permanent(
                    "podman cannot change a restart policy in place; the plan should have replaced the container (this is a bug in tarn)",
                ));
            }
        }
    }
    if kind == Kind::Volume {
        check_size(node, &o, &node.config.data_dir(&name)).await?;
    }
    if want_running != was_running || want_running {
        let timeout = opt_num(&o, "stop_timeout").map(|n| n as u32).unwrap_or(10);
        let args = if want_running { engine::args(&["start", &name]) } else { engine::stop_args(&name, timeout) };
        node.engine_checked(&args).await?;
    }
    let seen = inspect(node, &name)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("container {name} is gone from {}", node.describe())))?;
    let mut state = observed_state(node, kind, o.clone(), &seen).await;
    for k in ["image", "env", "secrets", "restart", "running"] {
        if let Some(v) = o.get(k) {
            state.insert(k.to_string(), v.clone());
        }
    }
    Ok(Value::Map(state))
}

pub async fn delete(node: &Node, kind: Kind, state: Value) -> Result<(), ProviderError> {
    let o = attrs::object(state, kind.type_name())?;
    let name = name_of(kind, &o)?;
    // By container ID where the state has one: the old half of a replacement carries its
    // set-aside name by now (see aside.rs).
    let target = opt_str(&o, "id").filter(|id| !id.is_empty()).unwrap_or_else(|| name.clone());
    if kind == Kind::Host {
        refuse_running_host(node, &o, &target).await?;
    }
    let current = inspect(node, &target).await?.map(|seen| seen.name.trim_start_matches('/') == name).unwrap_or(false);
    let timeout = opt_num(&o, "stop_timeout").map(|n| n as u32).unwrap_or(10);
    let stop = node.engine(&engine::stop_args(&target, timeout)).await?;
    if !stop.success() && !engine::is_missing(&stop.stderr) {
        return Err(ProviderError::permanent(format!(
            "stopping container {name} on {} failed: {}",
            node.describe(),
            stop.stderr.trim()
        )));
    }
    let rm = node.engine(&engine::remove_args(&target)).await?;
    if !rm.success() && !engine::is_missing(&rm.stderr) {
        return Err(ProviderError::permanent(format!(
            "removing container {name} on {} failed: {}",
            node.describe(),
            rm.stderr.trim()
        )));
    }
    if current {
        aside::bring_back(node, &name).await?;
    }
    if kind == Kind::Volume && opt_bool(&o, "delete_data_on_destroy") == Some(true) {
        remote::delete_data_dir(node, &node.config.data_dir(&name)).await?;
    }
    Ok(())
}

pub async fn adopt(node: &Node, kind: Kind, planned: Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let mut o = attrs::object(planned, kind.type_name())?;
    let out = node.engine_checked(&engine::find_by_label_args(LABEL_CORRELATION, correlation)).await?;
    let Some(name) = out.stdout.lines().map(str::trim).find(|n| !n.is_empty()).map(str::to_string) else {
        return Ok(None);
    };
    attrs::set_str(&mut o, "name", name.clone());
    match inspect(node, &name).await? {
        Some(seen) => Ok(Some(Value::Map(observed_state(node, kind, o, &seen).await))),
        None => Ok(None),
    }
}
