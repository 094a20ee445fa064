//! Finding plugins and reading their schemas.
//!
//! A plugin is named in one of two ways (docs/plugin-protocol.md, "Naming a plugin"):
//! - `source = "exec:PATH"` in `tarn { required_providers { ... } }`: PATH is relative to the
//!   module's directory (or absolute);
//! - an executable `tarn-provider-<name>` in one of the directories of `TARN_PLUGIN_PATH`
//!   (colon-separated, searched in order), used for a provider name tarn has no built-in for.
//!
//! [`Plugin::probe`] starts the program once, completes the handshake and reads the schema; the
//! process is kept as a spare for the first instance, so a run with one configuration starts
//! one process.

use crate::connection::{Connection, Failure, Launch, Timeouts};
use crate::protocol::{Handshake, method};
use crate::provider::{PluginProvider, start};
use crate::redact::Redactor;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tarn_sdk::ProviderSchema;

/// The environment variable listing directories searched for `tarn-provider-<name>`.
pub const PATH_VAR: &str = "TARN_PLUGIN_PATH";
/// The file-name prefix of plugin executables found through [`PATH_VAR`].
pub const PREFIX: &str = "tarn-provider-";
/// The prefix of a `source` that names a plugin executable.
pub const EXEC_SOURCE: &str = "exec:";

/// The program named by a `required_providers` source, if it is an `exec:` source. Relative
/// paths are taken from `module_dir`.
pub fn exec_source(source: &str, module_dir: &Path) -> Option<Result<PathBuf, String>> {
    let rest = source.strip_prefix(EXEC_SOURCE)?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Some(Err(
            "an exec: source names the plugin's executable, e.g. \"exec:./plugins/tarn-provider-kv\"".into()
        ));
    }
    let path = Path::new(rest);
    Some(Ok(if path.is_absolute() { path.to_path_buf() } else { module_dir.join(path) }))
}

/// Every `tarn-provider-<name>` executable in the `TARN_PLUGIN_PATH` directories, by name; the
/// first directory that has a name wins.
pub fn search(path_var: Option<OsString>) -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    let Some(var) = path_var else { return found };
    for dir in std::env::split_paths(&var).filter(|d| !d.as_os_str().is_empty()) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut here: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().to_string_lossy().to_string();
                let name = file.strip_prefix(PREFIX)?.to_string();
                (!name.is_empty() && is_executable(&e.path())).then(|| (name, e.path()))
            })
            .collect();
        here.sort();
        for (name, path) in here {
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, path));
            }
        }
    }
    found
}

/// The `tarn-provider-<name>` of the plugin path, if there is one.
pub fn find(name: &str, path_var: Option<OsString>) -> Option<PathBuf> {
    search(path_var).into_iter().find(|(n, _)| n == name).map(|(_, p)| p)
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// A plugin that has been started once and has told its schema.
pub struct Plugin {
    launch: Arc<Launch>,
    handshake: Handshake,
    schema: ProviderSchema,
    spare: Mutex<Option<(Arc<Connection>, Arc<Redactor>)>>,
}

impl Plugin {
    /// Starts the program, shakes hands and reads the schema. The error is a sentence that
    /// names the plugin.
    pub async fn probe(name: &str, program: PathBuf, timeouts: Timeouts) -> Result<Plugin, String> {
        let launch = Arc::new(Launch { name: name.to_string(), program, args: Vec::new(), dir: None, timeouts });
        let redactor = Arc::new(Redactor::default());
        let fail = |f: Failure| format!("{} {}", launch.label(), f.describe());
        let (conn, handshake) = start(&launch, redactor.clone()).await.map_err(fail)?;
        let schema = match conn.call(method::SCHEMA, serde_json::json!({}), timeouts.start).await {
            Ok(answer) => {
                crate::schema::parse(&answer).map_err(|why| format!("{} sent an invalid schema: {why}", launch.label()))
            }
            Err(f) => Err(fail(f)),
        };
        let schema = match schema {
            Ok(s) => s,
            Err(e) => {
                conn.close().await;
                return Err(e);
            }
        };
        Ok(Plugin { launch, handshake, schema, spare: Mutex::new(Some((conn, redactor))) })
    }

    pub fn name(&self) -> &str {
        &self.launch.name
    }
    pub fn program(&self) -> &Path {
        &self.launch.program
    }
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }
    pub fn schema(&self) -> &ProviderSchema {
        &self.schema
    }
    pub fn launch(&self) -> Arc<Launch> {
        self.launch.clone()
    }

    /// A provider instance with its own process (the probe's, for the first instance).
    pub fn instantiate(&self) -> Arc<PluginProvider> {
        let spare = self.spare.lock().unwrap_or_else(|p| p.into_inner()).take();
        Arc::new(PluginProvider::new(self.launch.clone(), self.schema.clone(), spare))
    }

    /// Closes the probe's process if no instance took it.
    pub async fn close(&self) {
        let spare = self.spare.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((conn, _)) = spare {
            conn.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_sources_resolve_from_the_module() {
        let dir = Path::new("/cfg/mod");
        assert_eq!(exec_source("exec:./p/kv", dir), Some(Ok(PathBuf::from("/cfg/mod/./p/kv"))));
        assert_eq!(exec_source("exec:/opt/kv", dir), Some(Ok(PathBuf::from("/opt/kv"))));
        assert!(exec_source("exec:", dir).unwrap().is_err());
        assert_eq!(exec_source("tarn/null", dir), None);
    }

    #[test]
    fn plugin_path_is_searched_in_order_for_executables() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let make = |dir: &Path, file: &str, mode: u32| {
            let p = dir.join(file);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            p
        };
        let first = make(a.path(), "tarn-provider-kv", 0o755);
        make(b.path(), "tarn-provider-kv", 0o755);
        let other = make(b.path(), "tarn-provider-acme", 0o755);
        make(b.path(), "tarn-provider-noexec", 0o644);
        make(b.path(), "unrelated", 0o755);
        let var = std::env::join_paths([a.path(), b.path()]).unwrap();
        let found = search(Some(var.clone()));
        assert_eq!(found, vec![("kv".to_string(), first), ("acme".to_string(), other)]);
        assert!(find("noexec", Some(var)).is_none());
        assert!(search(None).is_empty());
    }
}
