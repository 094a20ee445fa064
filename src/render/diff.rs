//! Attribute-level diffs of values, as in a Terraform plan: `+` added, `-` removed, `~` changed,
//! nested objects and lists indented, multi-line strings as unified diffs, unknowns as
//! `(known after apply)`, sensitive values as `(sensitive value)` — never their content.

use super::paint;
use tarn_sdk::Value;
use tarn_sdk::value::format_number;

pub struct DiffStyle {
    pub color: bool,
    /// Attribute names that force replacement, marked `# forces replacement`.
    pub forces: Vec<String>,
}

/// Renders the attributes of `before` → `after` (either may be absent) at `indent`.
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
        entry(&format!("{k:width$}"), bv, av, indent, style, forces, before.is_none(), after.is_none(), out);
    }
    if unchanged > 0 {
        out.push_str(&format!(
            "{}{}\n",
            " ".repeat(indent + 2),
            paint(&format!("# ({unchanged} unchanged attribute{} hidden)", if unchanged == 1 { "" } else { "s" }), "2", style.color)
        ));
    }
}

fn is_unchanged_null(b: Option<&Value>, a: Option<&Value>) -> bool {
    b.is_none_or(Value::is_null) && a.is_none_or(Value::is_null)
}

#[allow(clippy::too_many_arguments)]
fn entry(
    key: &str,
    b: Option<&Value>,
    a: Option<&Value>,
    indent: usize,
    style: &DiffStyle,
    forces: bool,
    creating: bool,
    deleting: bool,
    out: &mut String,
) {
    let pad = " ".repeat(indent);
    let note = if forces { paint(" # forces replacement", "31", style.color) } else { String::new() };
    let (sym, code) = match (b, a) {
        _ if creating => ("+", "32"),
        _ if deleting => ("-", "31"),
        (None, Some(_)) | (Some(Value::Null), Some(_)) => ("+", "32"),
        (Some(_), None) | (Some(_), Some(Value::Null)) => ("-", "31"),
        _ => ("~", "33"),
    };
    let s = paint(sym, code, style.color);
    match (b, a) {
        (Some(bv), Some(av)) if sym == "~" => {
            if let (Some(bs), Some(as_)) = (plain_str(bv), plain_str(av)) {
                if bs.contains('\n') || as_.contains('\n') {
                    out.push_str(&format!("{pad}{s} {key} = <<-EOT{note}\n"));
                    let diff = similar::TextDiff::from_lines(bs, as_);
                    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
                        for change in hunk.iter_changes() {
                            let (mark, c) = match change.tag() {
                                similar::ChangeTag::Delete => ("-", "31"),
                                similar::ChangeTag::Insert => ("+", "32"),
                                similar::ChangeTag::Equal => (" ", "0"),
                            };
                            let line = change.value().trim_end_matches('\n');
                            out.push_str(&format!("{pad}    {} {line}\n", paint(mark, c, style.color)));
                        }
                    }
                    out.push_str(&format!("{pad}  EOT\n"));
                    return;
                }
            }
            if let (Some(_), Some(_)) = (bv.as_map().filter(|_| !bv.is_sensitive()), av.as_map().filter(|_| !av.is_sensitive())) {
                out.push_str(&format!("{pad}{s} {key} = {{{note}\n"));
                let inner = DiffStyle { color: style.color, forces: Vec::new() };
                attributes(Some(bv), Some(av), indent + 4, &inner, out);
                out.push_str(&format!("{pad}    }}\n"));
                return;
            }
            out.push_str(&format!("{pad}{s} {key} = {} -> {}{note}\n", inline(bv), inline(av)));
        }
        (_, Some(v)) if sym == "+" => {
            out.push_str(&format!("{pad}{s} {key} = {}{note}\n", block_marked(v, indent + 4, Some("+"), style.color)))
        }
        (Some(v), _) => out.push_str(&format!("{pad}{s} {key} = {}{note}\n", block_marked(v, indent + 4, Some("-"), style.color))),
        _ => {}
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
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format_number(*n),
        Value::String(s) => format!("{s:?}"),
        Value::Unknown => "(known after apply)".into(),
        Value::Sensitive(_) => "(sensitive value)".into(),
        Value::List(l) => format!("[{}]", l.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => format!("{{ {} }}", m.iter().map(|(k, v)| format!("{k} = {}", inline(v))).collect::<Vec<_>>().join(", ")),
    }
}

/// Multi-line rendering of a whole value (for created or deleted attributes).
pub fn block(v: &Value, indent: usize) -> String {
    block_marked(v, indent, None, false)
}

/// Like [`block`], with every nested entry prefixed by `mark` (`+` for a created attribute,
/// `-` for a deleted one), as in a Terraform plan. Map keys are shown sorted.
pub fn block_marked(v: &Value, indent: usize, mark: Option<&str>, color: bool) -> String {
    let pad = " ".repeat(indent);
    let prefix = match mark {
        Some(m) => format!("{} ", paint(m, if m == "-" { "31" } else { "32" }, color)),
        None => String::new(),
    };
    let close = " ".repeat(indent.saturating_sub(if mark.is_some() { 2 } else { 4 }));
    match v {
        Value::Map(m) if !m.is_empty() => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let width = entries.iter().map(|(k, _)| k.len() + 2).max().unwrap_or(0);
            let mut s = String::from("{\n");
            for (k, v) in entries {
                s.push_str(&format!("{pad}{prefix}{:width$} = {}\n", format!("{k:?}"), block_marked(v, indent + 4, mark, color)));
            }
            s.push_str(&close);
            s.push('}');
            s
        }
        Value::List(l) if !l.is_empty() && l.iter().any(|e| matches!(e, Value::Map(_) | Value::List(_))) => {
            let mut s = String::from("[\n");
            for e in l {
                s.push_str(&format!("{pad}{prefix}{},\n", block_marked(e, indent + 4, mark, color)));
            }
            s.push_str(&close);
            s.push(']');
            s
        }
        Value::String(st) if st.contains('\n') => {
            let mut s = String::from("<<-EOT\n");
            for line in st.lines() {
                s.push_str(&format!("{pad}{line}\n"));
            }
            s.push_str(&close);
            s.push_str("EOT");
            s
        }
        other => inline(other),
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
    fn created_values_and_unknowns() {
        let out = render(None, Some(Value::map([("id", Value::Unknown), ("triggers", Value::map([("v", Value::string("x"))]))])));
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
            Some(Value::map([("a", Value::string("same")), ("b", Value::Number(1.0))])),
            Some(Value::map([("a", Value::string("same")), ("b", Value::Number(2.0))])),
        );
        assert!(out.contains("~ b = 1 -> 2"), "{out}");
        assert!(out.contains("1 unchanged attribute hidden"), "{out}");
    }
}
