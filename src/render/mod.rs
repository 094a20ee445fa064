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

/// The styles of tarn's output, all through owo-colors: no escape code is written by hand.
pub mod style {
    use owo_colors::Style;
    pub const PLAIN: Style = Style::new();
    pub const BOLD: Style = Style::new().bold();
    pub const DIM: Style = Style::new().dimmed();
    pub const RED: Style = Style::new().red();
    pub const GREEN: Style = Style::new().green();
    pub const YELLOW: Style = Style::new().yellow();
    pub const MAGENTA: Style = Style::new().magenta();
    pub const CYAN: Style = Style::new().cyan();
    pub const ERROR: Style = Style::new().bold().red();
    pub const SUCCESS: Style = Style::new().bold().green();
    pub const WARNING: Style = Style::new().bold().yellow();
}

/// `s` in `style` when `on`, else `s` unchanged (colour off: `--no-color`, `NO_COLOR`, CI, no terminal).
pub fn paint(s: &str, style: owo_colors::Style, on: bool) -> String {
    use owo_colors::OwoColorize as _;
    if on { s.style(style).to_string() } else { s.to_string() }
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
    // Two checks that find the same problem at the same place (validate's static check and the
    // planner's schema check) report it once.
    sorted.dedup_by(|b, a| {
        a.severity == b.severity
            && a.summary == b.summary
            && a.detail == b.detail
            && a.span.map(|s| (s.file, s.start)) == b.span.map(|s| (s.file, s.start))
    });
    let mut out = String::new();
    for d in sorted {
        out.push_str(&tarn_core::diag::render(d, sources, color));
        out.push('\n');
    }
    out
}

/// The recorded outputs as `tarn show` and `tarn apply` end with them: `Outputs:`, then
/// [`output_lines`].
pub fn outputs(outputs: &[tarn_state::OutputRecord]) -> String {
    format!("Outputs:\n\n{}", output_lines(outputs))
}

/// `name = value` lines with the names aligned, as `tarn output` prints them; a sensitive
/// output as `(sensitive value)`.
pub fn output_lines(outputs: &[tarn_state::OutputRecord]) -> String {
    let width = outputs.iter().map(|o| o.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for o in outputs {
        let v = if o.sensitive {
            "(sensitive value)".to_string()
        } else {
            diff::block(&tarn_sdk::Value::from_json(&o.value), 4)
        };
        out.push_str(&format!("{:width$} = {v}\n", o.name));
    }
    out
}

pub fn error_line(message: &str, color: bool) -> String {
    format!("{} {message}", paint("Error:", style::ERROR, color))
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
        paint(&r.address, style::BOLD, color),
        r.type_name,
        name,
        diff::block(&value, 4)
    )
}
