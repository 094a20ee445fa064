//! Loading a configuration: config's reader with the evaluator answering what must be known
//! while loading (`eval::LoadingConstants`). The one place the two meet, one layer above both,
//! so config never imports eval. Every caller that wants a `Config` from files loads it here.

// Diagnostics are the error type of the language front end by design (they carry spans).
#![allow(clippy::result_large_err)]

use crate::config::{self, Config};
use crate::diag::Diagnostics;
use crate::eval::LoadingConstants;
use std::path::Path;

/// Loads the module in `dir` and its whole module tree (see [`config::read`]): the config is
/// `None` only when nothing usable could be read; otherwise it comes with every diagnostic
/// found, and the caller checks `has_errors()`.
pub fn load(dir: &Path) -> (Option<Config>, Diagnostics) {
    config::read(dir, &LoadingConstants)
}

/// Parses in-memory files as one module (names decide the syntax); module calls are decoded
/// but not followed. For tests and tools.
pub fn load_sources(files: &[(&str, &str)]) -> (Config, Diagnostics) {
    config::read_sources(files, &LoadingConstants)
}

#[cfg(test)]
mod fixtures;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod types;
