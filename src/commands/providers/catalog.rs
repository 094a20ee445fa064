//! The providers this tarn can use, with their schemas: the built-ins, every plugin in
//! `TARN_PLUGIN_PATH`, and the `exec:` plugins of the configuration in the current directory
//! (if there is one). Plugins are started once to read their schema, then closed.

use crate::error::CliError;
use crate::plugins;
use std::path::{Path, PathBuf};
use tarn_core::plan::ProviderFactory;
use tarn_plugin::Plugin;
use tarn_sdk::ProviderSchema;

/// One provider and where it comes from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    /// `built-in`, or the plugin's program path.
    pub source: String,
    pub schema: ProviderSchema,
}

/// The providers and the plugins that could not be read (each a sentence).
pub struct Catalog {
    pub entries: Vec<Entry>,
    pub problems: Vec<String>,
}

impl Catalog {
    /// Fails when some plugin could not be read, after the caller printed what could.
    pub fn result(&self) -> Result<(), CliError> {
        match self.problems.len() {
            0 => Ok(()),
            n => Err(CliError::Failed(format!("{n} plugin(s) could not be read: {}", self.problems.join("; ")))),
        }
    }
}

/// Only the built-in providers (what the committed docs describe).
pub fn builtins() -> Vec<Entry> {
    crate::providers::Builtins
        .names()
        .into_iter()
        .filter_map(|name| {
            let p = crate::providers::instantiate(&name)?;
            Some(Entry { source: "built-in".into(), schema: p.schema(), name })
        })
        .collect()
}

/// Built-ins, plugins of the plugin path and of the configuration here.
pub async fn everything() -> Result<Catalog, CliError> {
    let mut entries = builtins();
    let mut problems = Vec::new();
    let timeouts = plugins::timeouts().map_err(CliError::Failed)?;
    let mut found: Vec<(String, PathBuf)> = tarn_plugin::search(std::env::var_os(tarn_plugin::PATH_VAR));
    found.extend(configured());
    let mut seen = std::collections::BTreeSet::new();
    found.retain(|(name, _)| seen.insert(name.clone()));
    let probes = found
        .into_iter()
        .map(|(name, program)| async move { (name.clone(), Plugin::probe(&name, program, timeouts).await) });
    for (name, result) in futures::future::join_all(probes).await {
        match result {
            Ok(p) => {
                p.close().await;
                entries.retain(|e| e.name != name);
                entries.push(Entry { name, source: p.program().display().to_string(), schema: p.schema().clone() });
            }
            Err(e) => problems.push(e),
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Catalog { entries, problems })
}

/// Built-ins and the given plugin programs (named from their file names).
pub async fn with_plugins(programs: &[PathBuf]) -> Result<Catalog, CliError> {
    let mut entries = builtins();
    let mut problems = Vec::new();
    let timeouts = plugins::timeouts().map_err(CliError::Failed)?;
    for program in programs {
        let name = name_from_path(program);
        match Plugin::probe(&name, program.clone(), timeouts).await {
            Ok(p) => {
                p.close().await;
                entries.retain(|e| e.name != name);
                entries.push(Entry { name, source: "plugin".into(), schema: p.schema().clone() });
            }
            Err(e) => problems.push(e),
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Catalog { entries, problems })
}

/// `tarn-provider-kv` → `kv`; any other file name as it is, without extension.
pub fn name_from_path(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    match file.strip_prefix(tarn_plugin::PREFIX) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => path.file_stem().map(|f| f.to_string_lossy().to_string()).unwrap_or(file),
    }
}

/// The `exec:` plugins of the configuration in the current directory, when it loads cleanly.
fn configured() -> Vec<(String, PathBuf)> {
    let (Some(config), diags) = tarn_core::load::load(Path::new(".")) else { return Vec::new() };
    if diags.has_errors() || config.sources.files.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut stack = vec![&config.root];
    while let Some(tree) = stack.pop() {
        for (name, req) in &tree.module.settings.required_providers {
            if let Some(Ok(program)) = req.source.as_deref().and_then(|s| tarn_plugin::exec_source(s, &tree.module.dir))
            {
                out.push((name.clone(), program));
            }
        }
        stack.extend(tree.children.values());
    }
    out
}
