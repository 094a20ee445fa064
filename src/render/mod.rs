//! Rendering for humans and machines: plans, diffs, events, diagnostics, errors. Pure
//! functions from values to strings; the commands decide where the strings go.

pub mod diff;
pub mod drift;
pub mod events;
pub mod json;
pub mod markdown;
pub mod plan;

use std::io::IsTerminal;
use tarn_core::{Diagnostics, SourceMap};

/// Whether to colour stdout and stderr: only on a terminal, never with --no-color, NO_COLOR or CI=true.
#[derive(Debug, Clone, Copy)]
pub struct Color {
    pub stdout: bool,
    pub stderr: bool,
}

impl Color {
    pub fn detect(no_color: bool) -> Color {
        let allowed = !no_color && std::env::var_os("NO_COLOR").is_none() && !crate::pipeline::ci();
        Color { stdout: allowed && std::io::stdout().is_terminal(), stderr: allowed && std::io::stderr().is_terminal() }
    }
}

/// ANSI styling that is a no-op when colour is off.
pub fn paint(s: &str, code: &str, on: bool) -> String {
    if on { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

/// Renders diagnostics in reading order — by file, then position; those without a place last —
/// whatever order the phases that found them produced them in. The sort is stable, so
/// problems at one place keep their order.
pub fn diagnostics(diags: &Diagnostics, sources: &SourceMap, color: bool) -> String {
    let mut sorted: Vec<_> = diags.iter().collect();
    sorted.sort_by_key(|d| match d.span {
        Some(s) => (0, s.file, s.start),
        None => (1, 0, 0),
    });
    let mut out = String::new();
    for d in sorted {
        out.push_str(&tarn_core::diag::render(d, sources, color));
        out.push('\n');
    }
    out
}

pub fn error_line(message: &str, color: bool) -> String {
    format!("{} {message}", paint("Error:", "1;31", color))
}

/// One recorded instance for people (`tarn show`, `tarn state show`): a comment with its
/// address, then the resource block; sensitive values show as `(sensitive value)`.
pub fn state_resource(r: &tarn_state::ResourceRecord, color: bool) -> String {
    let value = tarn_core::plan::value_from_record(r);
    let kind = if r.mode == "data" { "data" } else { "resource" };
    let name = r.address.rsplit('.').next().unwrap_or("").split('[').next().unwrap_or("");
    let deposed = r.deposed.as_ref().map(|k| format!(" (deposed object {k})")).unwrap_or_default();
    format!(
        "# {}{deposed}:\n{kind} {:?} {:?} {}\n\n",
        paint(&r.address, "1", color),
        r.type_name,
        name,
        diff::block(&value, 4)
    )
}
