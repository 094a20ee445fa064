//! Plugins in a run: the provider names a configuration and its state use that are served by
//! an external plugin — an `exec:` source in a `required_providers` entry of any module, or,
//! for a name tarn has no built-in for, a `tarn-provider-<name>` in `TARN_PLUGIN_PATH` — each
//! started once to read its schema. [`Factory`] puts them in front of another factory (the
//! built-ins), so the engine sees one `ProviderFactory`. Each provider configuration gets its
//! own plugin process.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use tarn_core::config::{Config, ModuleTree};
use tarn_core::plan::ProviderFactory;
use tarn_core::{Diagnostic, Diagnostics, Span};
use tarn_plugin::{Plugin, Timeouts};
use tarn_sdk::Provider;
use tarn_state::Snapshot;

/// The environment variable that sets the per-call timeout of plugins (e.g. `30s`, `10m`).
pub const TIMEOUT_VAR: &str = "TARN_PLUGIN_TIMEOUT";

/// Plugin timeouts: the defaults, with the call timeout from `TARN_PLUGIN_TIMEOUT`.
pub fn timeouts() -> Result<Timeouts, String> {
    let mut t = Timeouts::default();
    if let Ok(v) = std::env::var(TIMEOUT_VAR) {
        t.call = crate::stack::parse_duration(&v).map_err(|e| format!("{TIMEOUT_VAR}: {e}"))?;
        t.start = t.start.min(t.call.max(std::time::Duration::from_secs(1)));
    }
    Ok(t)
}

/// A plugin the configuration asks for: its program and where it was named.
#[derive(Debug, Clone)]
struct Wanted {
    program: PathBuf,
    span: Option<Span>,
}

/// Built-ins (or any other factory) with plugins in front.
pub struct Factory<B> {
    base: B,
    plugins: BTreeMap<String, Arc<Plugin>>,
}

impl<B: ProviderFactory> Factory<B> {
    /// Finds and starts the plugins `config` and `snapshot` need. A plugin that cannot be
    /// started or sends a bad schema is an error diagnostic at its `required_providers` entry.
    pub async fn load(config: &Config, snapshot: Option<&Snapshot>, base: B) -> (Self, Diagnostics) {
        let mut diags = Diagnostics::default();
        let timeouts = match timeouts() {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error("Invalid plugin timeout", e));
                return (Factory { base, plugins: BTreeMap::new() }, diags);
            }
        };
        let wanted = wanted(config, snapshot, &base, &mut diags);
        let probes = wanted.into_iter().map(|(name, w)| async move {
            let result = Plugin::probe(&name, w.program.clone(), timeouts).await;
            (name, w, result)
        });
        let mut plugins = BTreeMap::new();
        for (name, w, result) in futures::future::join_all(probes).await {
            match result {
                Ok(p) => {
                    plugins.insert(name, Arc::new(p));
                }
                Err(e) => diags.push(
                    Diagnostic::error(
                        "Provider plugin failed to start",
                        format!("Provider \"{name}\" is a plugin, and {e}."),
                    )
                    .maybe_at(w.span),
                ),
            }
        }
        (Factory { base, plugins }, diags)
    }

    /// The version of the provider serving `name`: a plugin's from its handshake (when it
    /// says), a built-in's is tarn's own (they are built with it).
    pub fn version_of(&self, name: &str) -> Option<String> {
        match self.plugins.get(name) {
            Some(p) => p.handshake().version.clone(),
            None if self.base.names().iter().any(|n| n == name) => Some(env!("CARGO_PKG_VERSION").to_string()),
            None => None,
        }
    }

    /// Stops the processes started to read schemas that no provider configuration took.
    pub async fn close(&self) {
        for p in self.plugins.values() {
            p.close().await;
        }
    }
}

impl<B: ProviderFactory> ProviderFactory for Factory<B> {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        match self.plugins.get(name) {
            Some(p) => Some(p.instantiate() as Arc<dyn Provider>),
            None => self.base.instantiate(name),
        }
    }
    fn names(&self) -> Vec<String> {
        let mut names = self.base.names();
        let extra: Vec<String> = self.plugins.keys().filter(|n| !names.contains(n)).cloned().collect();
        names.extend(extra);
        names.sort();
        names
    }
}

/// Plugins by local name: `exec:` sources first (the first module that names one wins), then
/// names in use that neither the base factory nor an `exec:` source serves, from the plugin path.
fn wanted(
    config: &Config,
    snapshot: Option<&Snapshot>,
    base: &dyn ProviderFactory,
    diags: &mut Diagnostics,
) -> BTreeMap<String, Wanted> {
    let mut out = BTreeMap::new();
    let mut used = Vec::new();
    let mut stack = vec![&config.root];
    while let Some(tree) = stack.pop() {
        collect(tree, &mut out, &mut used, diags);
        stack.extend(tree.children.values());
    }
    used.extend(
        snapshot
            .into_iter()
            .flat_map(|s| s.resources.iter())
            .map(|r| tarn_core::plan::parse_provider_key(&r.provider).name),
    );
    let builtin = base.names();
    let path_var = std::env::var_os(tarn_plugin::PATH_VAR);
    for name in used {
        if out.contains_key(&name) || builtin.contains(&name) {
            continue;
        }
        if let Some(program) = tarn_plugin::find(&name, path_var.clone()) {
            out.insert(name, Wanted { program, span: None });
        }
    }
    out
}

fn collect(tree: &ModuleTree, out: &mut BTreeMap<String, Wanted>, used: &mut Vec<String>, diags: &mut Diagnostics) {
    let module = &tree.module;
    for (name, req) in &module.settings.required_providers {
        let Some(source) = req.source.as_deref() else { continue };
        match tarn_plugin::exec_source(source, &module.dir) {
            Some(Ok(program)) => {
                out.entry(name.clone()).or_insert(Wanted { program, span: Some(req.span) });
            }
            Some(Err(e)) => diags.push(Diagnostic::error("Invalid plugin source", format!("{e}.")).at(req.span)),
            None => {}
        }
    }
    used.extend(module.providers.iter().map(|p| p.name.clone()));
    used.extend(module.resources.values().map(|r| tarn_core::graph::requested_provider(r).0));
}
