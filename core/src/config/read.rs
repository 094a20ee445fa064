//! Loading: finds the `*.tarn.hcl` and `*.tarn.json` files of a module directory (sorted by
//! name, no recursion into subdirectories), parses and decodes them, then loads every called
//! module from its local `source` path, detecting source cycles. Computes the configuration
//! hash that binds saved plans.
//!
//! This is the only place in config that touches the filesystem; it evaluates nothing itself
//! (loading-time constants go to the caller's `Constants`).

use super::decode::Decoder;
use super::model::{Config, Module, ModuleTree};
use super::statics::Constants;
use crate::diag::{Diagnostic, Diagnostics, SourceMap};
use indexmap::IndexMap;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Loads the module in `dir` and its whole module tree. The config is `None` only when nothing
/// usable could be read (the directory is missing or unreadable); otherwise it is returned
/// together with every diagnostic found, and the caller checks `has_errors()`. Loading-time
/// constants are evaluated by `constants` (`crate::load::load` passes the evaluator's).
pub fn read(dir: &Path, constants: &dyn Constants) -> (Option<Config>, Diagnostics) {
    let mut loader = Loader {
        constants,
        sources: SourceMap::default(),
        diags: Diagnostics::default(),
        hashed: Vec::new(),
        root: dir.to_path_buf(),
    };
    let Some(module) = loader.module(dir, &mut Vec::new(), None) else {
        return (None, loader.diags);
    };
    let mut hasher = Sha256::new();
    for (rel, content) in &loader.hashed {
        hasher.update((rel.len() as u64).to_le_bytes());
        hasher.update(rel.as_bytes());
        hasher.update((content.len() as u64).to_le_bytes());
        hasher.update(content.as_bytes());
    }
    let config = Config { sources: loader.sources, root: module, hash: hex::encode(hasher.finalize()) };
    (Some(config), loader.diags)
}

/// Parses a set of in-memory files as one module (names decide the syntax). For tests and
/// tools; module calls are decoded but not followed.
pub fn read_sources(files: &[(&str, &str)], constants: &dyn Constants) -> (Config, Diagnostics) {
    let mut sources = SourceMap::default();
    let mut diags = Diagnostics::default();
    let mut module = Module::default();
    let mut hasher = Sha256::new();
    for (name, text) in files {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
        let id = sources.add(PathBuf::from(name), text.to_string());
        decode_file(&mut module, name, text, id, &mut diags, constants);
    }
    let root = ModuleTree { module, children: IndexMap::new() };
    (Config { sources, root, hash: hex::encode(hasher.finalize()) }, diags)
}

fn decode_file(
    module: &mut Module,
    name: &str,
    text: &str,
    id: usize,
    diags: &mut Diagnostics,
    constants: &dyn Constants,
) {
    let is_json = name.ends_with(".json");
    let parsed = if is_json { super::json::parse_file(text, id) } else { super::hcl::parse_file(text, id) };
    match parsed {
        Ok(body) => {
            let mut decoder = Decoder { module, diags: Vec::new(), is_json, constants };
            decoder.file(&body);
            diags.0.extend(decoder.diags);
        }
        Err(d) => diags.push(d),
    }
}

struct Loader<'c> {
    constants: &'c dyn Constants,
    sources: SourceMap,
    diags: Diagnostics,
    /// (path relative to the root module, content) of every file read, in load order.
    hashed: Vec<(String, String)>,
    root: PathBuf,
}

/// Configuration files by name; editor backups and lock files (`.#x`, `#x#`, `x~`) and hidden
/// files are skipped, as Terraform does.
fn is_config_file(name: &str) -> bool {
    let hidden = name.starts_with('.') || name.starts_with('#');
    !hidden && (name.ends_with(".tarn.hcl") || name.ends_with(".tarn.json"))
}

impl Loader<'_> {
    /// Loads one module directory. `stack` holds the canonical directories of the calling
    /// modules, to detect cycles; `call_span` is where this module was called from.
    fn module(
        &mut self,
        dir: &Path,
        stack: &mut Vec<PathBuf>,
        call_span: Option<crate::diag::Span>,
    ) -> Option<ModuleTree> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(
                        "Cannot read module directory",
                        format!("The directory {} could not be read: {e}.", dir.display()),
                    )
                    .maybe_at(call_span),
                );
                return None;
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_file() || t.is_symlink()).unwrap_or(false))
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| is_config_file(n))
            .collect();
        names.sort();
        if names.is_empty() && call_span.is_some() {
            self.diags.push(
                Diagnostic::error(
                    "Empty module",
                    format!("The module directory {} contains no *.tarn.hcl or *.tarn.json files.", dir.display()),
                )
                .maybe_at(call_span),
            );
        }
        let mut module = Module { dir: dir.to_path_buf(), ..Module::default() };
        for name in &names {
            let path = dir.join(name);
            let text = match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => t,
                    Err(_) => {
                        self.diags.push(Diagnostic::error(
                            "Invalid file encoding",
                            format!("{} is not valid UTF-8.", path.display()),
                        ));
                        continue;
                    }
                },
                Err(e) => {
                    self.diags.push(Diagnostic::error(
                        "Cannot read file",
                        format!("{} could not be read: {e}.", path.display()),
                    ));
                    continue;
                }
            };
            let rel = path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            self.hashed.push((rel, text.clone()));
            // `./main.tarn.hcl` reads better as `main.tarn.hcl` in messages.
            let shown = path.strip_prefix(".").map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
            let id = self.sources.add(shown, text.clone());
            decode_file(&mut module, name, &text, id, &mut self.diags, self.constants);
        }
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        stack.push(canonical);
        let mut children = IndexMap::new();
        let calls: Vec<(String, String, crate::diag::Span)> =
            module.module_calls.values().map(|c| (c.name.clone(), c.source.clone(), c.span)).collect();
        for (name, source, span) in calls {
            // Empty means decode already reported a missing or non-local source.
            if !super::decode::is_local_source(&source) {
                continue;
            }
            let child_dir = dir.join(&source);
            let child_canonical = child_dir.canonicalize().unwrap_or_else(|_| child_dir.clone());
            if let Some(pos) = stack.iter().position(|p| *p == child_canonical) {
                let chain: Vec<String> = stack[pos..].iter().map(|p| p.display().to_string()).collect();
                self.diags.push(
                    Diagnostic::error(
                        "Module source cycle",
                        format!("Module \"{name}\" calls {}, which is already being loaded by a calling module ({}). Modules must not call themselves, directly or indirectly.", source, chain.join(" → ")),
                    )
                    .at(span),
                );
                continue;
            }
            if let Some(tree) = self.module(&child_dir, stack, Some(span)) {
                children.insert(name, tree);
            }
        }
        stack.pop();
        Some(ModuleTree { module, children })
    }
}
