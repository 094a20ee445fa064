//! Attribute-level diffs of values, as in a Terraform plan: `+` added, `-` removed, `~` changed,
//! nested objects and lists indented, multi-line strings as unified diffs, unknowns as
//! `(known after apply)`, sensitive values as `(sensitive value)` — never their content.

use super::style;
use std::fmt::{self, Write};
use tarn_sdk::Value;

pub struct DiffStyle {
    pub color: bool,
    /// Attribute names that force replacement, marked `# forces replacement`.
    pub forces: Vec<String>,
}

/// Renders the attributes of `before` → `after` (either may be absent) at `indent`.
///
/// Everything here writes into `out` (a plan of thousands of instances is one buffer, not
/// thousands of nested strings); writing to a `String` cannot fail, so `fmt::Result`s are
/// dropped.
pub fn attributes(before: Option<&Value>, after: Option<&Value>, indent: usize, style: &DiffStyle, out: &mut String) {
    let empty = indexmap::IndexMap::new();
    let b = before.and_then(Value::as_map).unwrap_or(&empty);
    let a = after.and_then(Value::as_map).unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let width = keys
        .iter()
        .filter(|k| !is_unchanged_null(b.get(k.as_str()), a.get(k.as_str())))
        .map(|k| k.len())
        .max()
        .unwrap_or(0);
    let mut unchanged = 0;
    for k in keys {
        let (bv, av) = (b.get(k.as_str()), a.get(k.as_str()));
        if is_unchanged_null(bv, av) {
            continue;
        }
        if before.is_some() && after.is_some() && bv == av {
            unchanged += 1;
            continue;
        }
        let forces = style.forces.iter().any(|f| f == k);
        let key = Key { name: k, width };
        entry(key, bv, av, indent, style, forces, before.is_none(), after.is_none(), out);
    }
    if unchanged > 0 {
        let hidden = format!("# ({unchanged} unchanged attribute{} hidden)", if unchanged == 1 { "" } else { "s" });
        let _ = writeln!(out, "{:pad$}{}", "", Paint(&hidden, style::DIM, style.color), pad = indent + 2);
    }
}

fn is_unchanged_null(b: Option<&Value>, a: Option<&Value>) -> bool {
    b.is_none_or(Value::is_null) && a.is_none_or(Value::is_null)
}

/// An attribute name padded to the width of its siblings.
#[derive(Clone, Copy)]
struct Key<'a> {
    name: &'a str,
    width: usize,
}

impl fmt::Display for Key<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:width$}", self.name, width = self.width)
    }
}

/// `s` in `style` when `on`; the [`super::paint`] of this module, without a string.
struct Paint<'a>(&'a str, owo_colors::Style, bool);

impl fmt::Display for Paint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use owo_colors::OwoColorize as _;
        if self.2 { write!(f, "{}", self.0.style(self.1)) } else { f.write_str(self.0) }
    }
}

#[allow(clippy::too_many_arguments)]
fn entry(
    key: Key<'_>,
    b: Option<&Value>,
    a: Option<&Value>,
    indent: usize,
    style: &DiffStyle,
    forces: bool,
    creating: bool,
    deleting: bool,
    out: &mut String,
) {
    let pad = Pad(indent);
    let note = Paint(if forces { " # forces replacement" } else { "" }, style::RED, style.color && forces);
    let (sym, code) = match (b, a) {
        _ if creating => ("+", style::GREEN),
        _ if deleting => ("-", style::RED),
        (None, Some(_)) | (Some(Value::Null), Some(_)) => ("+", style::GREEN),
        (Some(_), None) | (Some(_), Some(Value::Null)) => ("-", style::RED),
        _ => ("~", style::YELLOW),
    };
    let s = Paint(sym, code, style.color);
    match (b, a) {
        (Some(bv), Some(av)) if sym == "~" => {
            if let (Some(bs), Some(as_)) = (plain_str(bv), plain_str(av)) {
                if bs.contains('\n') || as_.contains('\n') {
                    let _ = writeln!(out, "{pad}{s} {key} = <<-EOT{note}");
                    let diff = similar::TextDiff::from_lines(bs, as_);
                    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
                        for change in hunk.iter_changes() {
                            let (mark, c) = match change.tag() {
                                similar::ChangeTag::Delete => ("-", style::RED),
                                similar::ChangeTag::Insert => ("+", style::GREEN),
                                similar::ChangeTag::Equal => (" ", style::PLAIN),
                            };
                            let line = change.value().trim_end_matches('\n');
                            let _ = writeln!(out, "{pad}    {} {line}", Paint(mark, c, style.color));
                        }
                    }
                    let _ = writeln!(out, "{pad}  EOT");
                    return;
                }
            }
            if let (Some(_), Some(_)) =
                (bv.as_map().filter(|_| !bv.is_sensitive()), av.as_map().filter(|_| !av.is_sensitive()))
            {
                let _ = writeln!(out, "{pad}{s} {key} = {{{note}");
                let inner = DiffStyle { color: style.color, forces: Vec::new() };
                attributes(Some(bv), Some(av), indent + 4, &inner, out);
                let _ = writeln!(out, "{pad}    }}");
                return;
            }
            let _ = write!(out, "{pad}{s} {key} = ");
            write_inline(bv, out);
            out.push_str(" -> ");
            write_inline(av, out);
            let _ = writeln!(out, "{note}");
        }
        (_, Some(v)) if sym == "+" => {
            let _ = write!(out, "{pad}{s} {key} = ");
            write_block(v, indent + 4, Some("+"), style.color, out);
            let _ = writeln!(out, "{note}");
        }
        (Some(v), _) => {
            let _ = write!(out, "{pad}{s} {key} = ");
            write_block(v, indent + 4, Some("-"), style.color, out);
            let _ = writeln!(out, "{note}");
        }
        _ => {}
    }
}

/// `n` spaces.
#[derive(Clone, Copy)]
struct Pad(usize);

impl fmt::Display for Pad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SPACES: &str = "                                                                ";
        let mut left = self.0;
        while left > 0 {
            let n = left.min(SPACES.len());
            f.write_str(&SPACES[..n])?;
            left -= n;
        }
        Ok(())
    }
}

/// Writes `s` quoted as Rust's `{:?}` does (what HCL reads back for the common escapes), taking
/// the short way for the usual string that needs no escape: a plan quotes every key and value.
pub fn quote(s: &str, out: &mut String) {
    if s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        let _ = write!(out, "{s:?}");
    }
}

fn plain_str(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// One-line rendering.
pub fn inline(v: &Value) -> String {
    let mut out = String::new();
    write_inline(v, &mut out);
    out
}

fn write_inline(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_text()),
        Value::String(s) => quote(s, out),
        Value::Unknown => out.push_str("(known after apply)"),
        Value::Sensitive(_) => out.push_str("(sensitive value)"),
        Value::List(l) | Value::Set(l) => {
            out.push('[');
            for (i, e) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_inline(e, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("{ ");
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{k} = ");
                write_inline(e, out);
            }
            out.push_str(" }");
        }
    }
}

/// Multi-line rendering of a whole value (for created or deleted attributes).
pub fn block(v: &Value, indent: usize) -> String {
    block_marked(v, indent, None, false)
}

/// Like [`block`], with every nested entry prefixed by `mark` (`+` for a created attribute,
/// `-` for a deleted one), as in a Terraform plan. Map keys are shown sorted.
pub fn block_marked(v: &Value, indent: usize, mark: Option<&str>, color: bool) -> String {
    let mut out = String::new();
    write_block(v, indent, mark, color, &mut out);
    out
}

fn write_block(v: &Value, indent: usize, mark: Option<&str>, color: bool, out: &mut String) {
    let pad = Pad(indent);
    let prefix = Marker(mark, color);
    let close = Pad(indent.saturating_sub(if mark.is_some() { 2 } else { 4 }));
    match v {
        Value::Map(m) if !m.is_empty() => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            // Keys are shown quoted: the width counts the two quotes (escapes are rare).
            let width = entries.iter().map(|(k, _)| k.len() + 2).max().unwrap_or(0);
            out.push_str("{\n");
            for (k, v) in entries {
                let _ = write!(out, "{pad}{prefix}");
                let start = out.len();
                quote(k, out);
                let written = out[start..].chars().count();
                let _ = write!(out, "{:fill$} = ", "", fill = width.saturating_sub(written));
                write_block(v, indent + 4, mark, color, out);
                out.push('\n');
            }
            let _ = write!(out, "{close}}}");
        }
        Value::List(l) | Value::Set(l)
            if !l.is_empty() && l.iter().any(|e| matches!(e, Value::Map(_) | Value::List(_) | Value::Set(_))) =>
        {
            out.push_str("[\n");
            for e in l {
                let _ = write!(out, "{pad}{prefix}");
                write_block(e, indent + 4, mark, color, out);
                out.push_str(",\n");
            }
            let _ = write!(out, "{close}]");
        }
        Value::String(st) if st.contains('\n') => {
            out.push_str("<<-EOT\n");
            for line in st.lines() {
                let _ = writeln!(out, "{pad}{line}");
            }
            let _ = write!(out, "{close}EOT");
        }
        other => write_inline(other, out),
    }
}

/// The `+ `/`- ` that starts each nested entry of a created or deleted value (nothing when unmarked).
#[derive(Clone, Copy)]
struct Marker<'a>(Option<&'a str>, bool);

impl fmt::Display for Marker<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(m) => write!(f, "{} ", Paint(m, if m == "-" { style::RED } else { style::GREEN }, self.1)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(b: Option<Value>, a: Option<Value>) -> String {
        let mut out = String::new();
        attributes(b.as_ref(), a.as_ref(), 4, &DiffStyle { color: false, forces: vec!["filename".into()] }, &mut out);
        out
    }

    #[test]
    fn strings_are_quoted_as_debug_quotes_them() {
        for s in [
            "plain",
            "",
            "with \"quotes\"",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "é ünïcode",
            "\u{7f}del",
            "bell\u{7}",
        ] {
            let mut out = String::new();
            quote(s, &mut out);
            assert_eq!(out, format!("{s:?}"), "{s:?}");
        }
    }

    #[test]
    fn created_values_and_unknowns() {
        let out = render(
            None,
            Some(Value::map([("id", Value::Unknown), ("triggers", Value::map([("v", Value::string("x"))]))])),
        );
        assert!(out.contains("+ id       = (known after apply)"), "{out}");
        assert!(out.contains("+ \"v\" = \"x\""), "{out}");
    }

    #[test]
    fn sensitive_never_shown() {
        let out = render(
            Some(Value::map([("pw", Value::string("old-secret").sensitive())])),
            Some(Value::map([("pw", Value::string("new-secret").sensitive())])),
        );
        assert!(!out.contains("secret"), "{out}");
        assert!(out.contains("(sensitive value) -> (sensitive value)"), "{out}");
    }

    #[test]
    fn multiline_strings_as_unified_diff_and_forces_note() {
        let out = render(
            Some(Value::map([("filename", Value::string("a")), ("content", Value::string("one\ntwo\nthree\n"))])),
            Some(Value::map([("filename", Value::string("b")), ("content", Value::string("one\n2\nthree\n"))])),
        );
        assert!(out.contains("- two"), "{out}");
        assert!(out.contains("+ 2"), "{out}");
        assert!(out.contains("\"a\" -> \"b\" # forces replacement"), "{out}");
    }

    #[test]
    fn unchanged_attributes_are_counted_not_shown() {
        let out = render(
            Some(Value::map([("a", Value::string("same")), ("b", Value::number(1.0))])),
            Some(Value::map([("a", Value::string("same")), ("b", Value::number(2.0))])),
        );
        assert!(out.contains("~ b = 1 -> 2"), "{out}");
        assert!(out.contains("1 unchanged attribute hidden"), "{out}");
    }
}
