//! Plain-text rendering of diagnostics, in the Terraform/rustc tradition:
//!
//! ```text
//! Error: Unsupported attribute
//!
//!   on main.tarn.hcl line 3, col 17:
//!     3 |   name = var.map.zz
//!       |                 ^^^
//!
//! This object has no attribute named "zz". Did you mean "z"?
//!
//!   previously declared here: main.tarn.hcl:5:1
//! ```
//!
//! It only formats; it never prints and never fails, even on spans that do not fit the source.

use super::{Diagnostic, Severity, SourceMap, Span};
use std::fmt::Write as _;

use owo_colors::{OwoColorize as _, Style};

const RED: Style = Style::new().bold().red();
const YELLOW: Style = Style::new().bold().yellow();
const BOLD: Style = Style::new().bold();
const BLUE: Style = Style::new().bold().blue();
const TAB: &str = "    ";

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, style: Style, s: &str) -> String {
        if self.on { s.style(style).to_string() } else { s.to_string() }
    }
}

/// `file:line:col` of a span's start, or `None` when the span is not in `sources`.
pub fn location(span: Span, sources: &SourceMap) -> Option<String> {
    let (line, col) = sources.try_line_col(span.file, span.start)?;
    let path = sources.files.get(span.file)?.path.display().to_string();
    Some(format!("{path}:{line}:{col}"))
}

/// Renders one diagnostic. The output ends with a newline.
pub fn render(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let p = Paint { on: color };
    let (label, code) = match d.severity {
        Severity::Error => ("Error", RED),
        Severity::Warning => ("Warning", YELLOW),
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}{}", p.wrap(code, &format!("{label}:")), p.wrap(BOLD, &format!(" {}", d.summary)));
    let mut wrote_context = false;
    if let Some(span) = d.span
        && let Some(snippet) = snippet(span, sources, &p, code)
    {
        out.push('\n');
        out.push_str(&snippet);
        wrote_context = true;
    }
    if let Some(addr) = &d.address {
        if !wrote_context {
            out.push('\n');
        }
        let _ = writeln!(out, "  with {addr}");
        wrote_context = true;
    }
    if !d.detail.trim().is_empty() {
        if wrote_context || !d.summary.is_empty() {
            out.push('\n');
        }
        for line in d.detail.trim_end().lines() {
            let _ = writeln!(out, "{line}");
        }
    }
    if !d.related.is_empty() {
        out.push('\n');
        for (span, note) in &d.related {
            match location(*span, sources) {
                Some(loc) => {
                    let _ = writeln!(out, "  {}: {loc}", p.wrap(BLUE, note));
                }
                None => {
                    let _ = writeln!(out, "  {}", p.wrap(BLUE, note));
                }
            }
        }
    }
    out
}

/// Renders every diagnostic, separated by blank lines.
pub fn render_all<'a>(ds: impl IntoIterator<Item = &'a Diagnostic>, sources: &SourceMap, color: bool) -> String {
    ds.into_iter().map(|d| render(d, sources, color)).collect::<Vec<_>>().join("\n")
}

/// Display width of `s` in terminal columns, tabs expanded: a CJK character takes two
/// columns and a combining mark none, so the caret lands under the character it names.
fn width(s: &str) -> usize {
    s.chars().map(|c| if c == '\t' { TAB.len() } else { unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) }).sum()
}

fn snippet(span: Span, sources: &SourceMap, p: &Paint, code: Style) -> Option<String> {
    let file = sources.files.get(span.file)?;
    let text = &file.text;
    let start = floor(text, span.start);
    let end = floor(text, span.end.max(span.start));
    let (line_no, col) = sources.line_col(span.file, start);
    let line_start = text.get(..start)?.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text.get(start..)?.find('\n').map(|i| start + i).unwrap_or(text.len());
    let line = text.get(line_start..line_end)?.trim_end_matches('\r');
    let before = text.get(line_start..start)?;
    // Underline to the end of the span, or to the end of the line for multi-line spans.
    let underlined = text.get(start..end.min(line_end).max(start)).unwrap_or("");
    let marks = width(underlined).max(1);
    // A span that only swallows the line break (parse errors at end of line) is not multi-line.
    let multi = end > line_end + 1;
    let gutter = line_no.to_string().len();
    let mut out = String::new();
    let _ = writeln!(out, "  on {} line {line_no}, col {col}:", file.path.display());
    let _ = writeln!(out, "  {:>gutter$} | {}", line_no, line.replace('\t', TAB));
    let carets = format!("{}{}", "^".repeat(marks), if multi { "..." } else { "" });
    let _ = writeln!(out, "  {:>gutter$} | {}{}", "", " ".repeat(width(before)), p.wrap(code, &carets));
    Some(out)
}

fn floor(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn sources() -> SourceMap {
        let mut s = SourceMap::default();
        s.add(PathBuf::from("main.tarn.hcl"), "locals {\n  a = var.map.zz\n\tb = \"é\" + 1\n}\n".to_string());
        s
    }

    #[test]
    fn renders_summary_location_snippet_detail_and_related() {
        let src = sources();
        let text = &src.files[0].text;
        let start = text.find(".zz").unwrap();
        let d = Diagnostic::error("Unsupported attribute", "This object has no attribute named \"zz\".")
            .at(Span { file: 0, start, end: start + 3 })
            .related(Span { file: 0, start: 0, end: 6 }, "declared here");
        let want = "Error: Unsupported attribute\n\n  on main.tarn.hcl line 2, col 14:\n  2 |   a = var.map.zz\n    |              ^^^\n\nThis object has no attribute named \"zz\".\n\n  declared here: main.tarn.hcl:1:1\n";
        assert_eq!(render(&d, &src, false), want);
    }

    #[test]
    fn tabs_unicode_and_multiline_spans_align() {
        let src = sources();
        let text = &src.files[0].text;
        let start = text.find('"').unwrap();
        let d = Diagnostic::warning("W", "").at(Span { file: 0, start, end: start + 4 });
        let r = render(&d, &src, false);
        assert!(r.contains("  3 |     b = \"é\" + 1\n    |         ^^^\n"), "{r}");
        // Wide characters take two columns each: the caret after "日本語" is six columns on.
        let mut wide = SourceMap::default();
        wide.add(PathBuf::from("main.tarn.hcl"), "x = \"日本語\" + 1\n".to_string());
        let plus = "x = \"日本語\" ".len();
        let r = render(&Diagnostic::error("E", "d").at(Span { file: 0, start: plus, end: plus + 1 }), &wide, false);
        let caret_line = format!("    | {}^\n", " ".repeat(13));
        assert!(r.contains(&caret_line), "{r}");
        let eol = text.find('\n').unwrap();
        let at_eol = render(&Diagnostic::error("E", "d").at(Span { file: 0, start: eol, end: eol + 1 }), &src, false);
        assert!(at_eol.contains("  1 | locals {\n    |         ^\n"), "{at_eol}");
        let all = Diagnostic::error("E", "d").at(Span { file: 0, start: 0, end: text.len() });
        assert!(render(&all, &src, false).contains("^^^^^^^^..."));
    }

    #[test]
    fn bad_spans_and_color_never_panic() {
        let src = sources();
        for span in [
            Span { file: 9, start: 0, end: 1 },
            Span { file: 0, start: 999, end: 5 },
            Span { file: 0, start: 31, end: 32 },
        ] {
            let d = Diagnostic::error("E", "detail").at(span).for_address("null_resource.a");
            let r = render(&d, &src, true);
            assert!(r.contains(&format!("{}", "Error:".style(RED))), "{r:?}");
            assert!(r.contains("Error:\x1b[0m"), "{r:?}");
        }
        let two = render_all([&Diagnostic::error("A", "a"), &Diagnostic::warning("B", "b")], &src, false);
        assert_eq!(two, "Error: A\n\na\n\nWarning: B\n\nb\n");
    }
}
