//! Canonical formatting of native syntax, like `terraform fmt`: two-space indentation by
//! nesting depth, `=` aligned across consecutive single-line attributes, one blank line after
//! each block, no trailing whitespace, one final newline. Comments and heredoc bodies are kept
//! byte for byte.
//!
//! It works on lines with a small lexer (strings, interpolations, comments, heredocs), and it
//! checks its own work: the result must parse to the same syntax tree as the input, or the
//! input is returned untouched with an error. Formatting formatted text changes nothing.

use crate::diag::Diagnostic;

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// `{`, `[` or `(`; the flag marks a block body `{`; the number is the line it opened on.
    Bracket(char, bool, usize),
    Str,
    /// `${` or `%{` inside a string.
    Interp,
}

#[derive(Default)]
struct Line {
    text: String,
    /// Copied byte for byte: inside a heredoc, a block comment or a multi-line string.
    verbatim: bool,
    /// Indentation level: one per line that opened a still-open bracket (so `map(object({`
    /// indents its content once, like `terraform fmt`), after this line's leading closers.
    level: usize,
    leading_closers: usize,
    /// Byte offset of the attribute `=` in `text`, when the line is `key = value` at its own depth.
    eq: Option<usize>,
    /// The line opens or closes brackets: not a single-line attribute.
    multiline: bool,
    /// The line's value starts a heredoc (still aligned with its neighbours).
    heredoc: bool,
    /// The line is a lone `}` closing a block body.
    ends_block: bool,
}

/// Formats HCL text. Errors when the text does not parse.
pub fn format_hcl(text: &str) -> Result<String, Diagnostic> {
    if let Err(e) = hcl::edit::parser::parse_body(text) {
        return Err(super::hcl::parse_error(&e, text, 0, 0));
    }
    let lines = scan(text);
    let out = render(&lines);
    // Guard: formatting only moves whitespace; the tree must be unchanged.
    match (hcl::parse(text), hcl::parse(&out)) {
        (Ok(a), Ok(b)) if a == b => Ok(out),
        _ => Err(Diagnostic::error(
            "Formatting failed",
            "The formatter produced text that does not mean the same as the input, so the file was left unchanged. This is a bug in tarn.",
        )),
    }
}

fn is_label_prefix(prefix: &str) -> bool {
    let p = prefix.trim();
    let mut first = true;
    let mut rest = p;
    while !rest.is_empty() {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('"') {
            if first {
                return false;
            }
            match r.find('"') {
                Some(i) => rest = &r[i + 1..],
                None => return false,
            }
        } else {
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
            if end == 0 {
                return false;
            }
            rest = &rest[end..];
        }
        first = false;
    }
    !p.is_empty()
}

fn is_key(k: &str) -> bool {
    let k = k.trim();
    if let Some(inner) = k.strip_prefix('"') {
        return inner.ends_with('"') && !inner[..inner.len().saturating_sub(1)].contains('"');
    }
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn scan(text: &str) -> Vec<Line> {
    let mut stack: Vec<Ctx> = Vec::new();
    let mut heredoc: Option<String> = None;
    let mut in_comment = false;
    let mut out = Vec::new();
    for (line_no, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let start_stack = stack.clone();
        let mut line = Line { level: level_of(&start_stack, 0), ..Line::default() };
        if let Some(delim) = &heredoc {
            line.text = raw.to_string();
            line.verbatim = true;
            if raw.trim() == delim {
                heredoc = None;
            }
            out.push(line);
            continue;
        }
        let starts_verbatim = in_comment || matches!(stack.last(), Some(Ctx::Str));
        let body = if starts_verbatim { raw } else { raw.trim() };
        line.verbatim = starts_verbatim;
        let chars: Vec<(usize, char)> = body.char_indices().collect();
        let mut i = 0;
        let mut seen_code = false;
        let mut pending_heredoc = None;
        let start_len = stack.len();
        let mut min_len = stack.len();
        while i < chars.len() {
            let (pos, c) = chars[i];
            let next = chars.get(i + 1).map(|x| x.1);
            if in_comment {
                if c == '*' && next == Some('/') {
                    in_comment = false;
                    i += 2;
                } else {
                    i += 1;
                }
                continue;
            }
            if let Some(Ctx::Str) = stack.last() {
                match (c, next) {
                    ('\\', _) => i += 1,
                    ('"', _) => {
                        stack.pop();
                    }
                    ('$' | '%', Some('{'))
                        // `$${` and `%%{` are escapes, not interpolations.
                        if !(i > 0 && chars[i - 1].1 == c) => {
                            stack.push(Ctx::Interp);
                            i += 1;
                        }
                    _ => {}
                }
                i += 1;
                continue;
            }
            match (c, next) {
                ('#', _) | ('/', Some('/')) => break,
                ('/', Some('*')) => {
                    in_comment = true;
                    i += 2;
                    continue;
                }
                ('"', _) => stack.push(Ctx::Str),
                ('<', Some('<')) => {
                    let rest = &body[pos + 2..];
                    let rest = rest.strip_prefix('-').unwrap_or(rest);
                    let id: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !id.is_empty()
                        && rest.len() == id.len() + rest[id.len()..].len()
                        && rest[id.len()..].trim().is_empty()
                    {
                        pending_heredoc = Some(id);
                        line.heredoc = true;
                        break;
                    }
                }
                ('{' | '[' | '(', _) => {
                    let block = c == '{'
                        && matches!(stack.last(), None | Some(Ctx::Bracket('{', true, _)))
                        && is_label_prefix(&body[..pos]);
                    stack.push(Ctx::Bracket(c, block, line_no));
                }
                ('}', _) if matches!(stack.last(), Some(Ctx::Interp)) => {
                    stack.pop();
                }
                ('}' | ']' | ')', _) => {
                    if let Some(Ctx::Bracket(_, block, _)) = stack.last().copied() {
                        if !seen_code {
                            line.leading_closers += 1;
                            if block && body.trim() == "}" {
                                line.ends_block = true;
                            }
                        }
                        stack.pop();
                    }
                }
                ('=', n) if line.eq.is_none() && stack.len() == start_len => {
                    let prev = if i > 0 { Some(chars[i - 1].1) } else { None };
                    if n != Some('=')
                        && n != Some('>')
                        && !matches!(prev, Some('=' | '!' | '<' | '>'))
                        && is_key(&body[..pos])
                    {
                        line.eq = Some(pos);
                    }
                }
                _ => {}
            }
            if !c.is_whitespace() && !matches!(c, '}' | ']' | ')') {
                seen_code = true;
            }
            min_len = min_len.min(stack.len());
            i += 1;
        }
        if stack.len() != start_len || min_len < start_len || line.leading_closers > 0 {
            line.multiline = true;
        }
        if !starts_verbatim {
            line.level = level_of(&start_stack, line.leading_closers);
        }
        line.text = if starts_verbatim { raw.to_string() } else { body.to_string() };
        if let Some(id) = pending_heredoc {
            heredoc = Some(id);
        }
        out.push(line);
    }
    out
}

/// Distinct opening lines among the open brackets, after dropping the `closed` innermost.
fn level_of(stack: &[Ctx], closed: usize) -> usize {
    let brackets: Vec<usize> =
        stack.iter().filter_map(|c| if let Ctx::Bracket(_, _, l) = c { Some(*l) } else { None }).collect();
    let keep = brackets.len().saturating_sub(closed);
    let mut lines: Vec<usize> = brackets[..keep].to_vec();
    lines.dedup();
    lines.len()
}

fn render(lines: &[Line]) -> String {
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    let mut pending_blank = false;
    while i < lines.len() {
        let l = &lines[i];
        if l.verbatim {
            out.push(l.text.clone());
            pending_blank = false;
            i += 1;
            continue;
        }
        if l.text.is_empty() {
            pending_blank = true;
            i += 1;
            continue;
        }
        let level = l.level;
        if pending_blank && !out.is_empty() && l.leading_closers == 0 {
            out.push(String::new());
        }
        pending_blank = false;
        // A run of single-line attributes at one level is aligned together; heredoc values
        // count as single-line and their bodies do not break the run.
        if l.eq.is_some() && !l.multiline {
            let mut j = i;
            while j < lines.len()
                && (lines[j].verbatim || (lines[j].eq.is_some() && !lines[j].multiline && lines[j].level == l.level))
            {
                j += 1;
            }
            while j > i && lines[j - 1].verbatim && !lines[i..j - 1].iter().any(|x| x.heredoc) {
                j -= 1;
            }
            let width = lines[i..j]
                .iter()
                .filter(|x| !x.verbatim)
                .filter_map(|x| x.eq.map(|e| x.text[..e].trim_end().chars().count()))
                .max()
                .unwrap_or(0);
            for x in &lines[i..j] {
                if x.verbatim {
                    out.push(x.text.clone());
                    continue;
                }
                let e = x.eq.unwrap_or(0);
                let key = x.text[..e].trim_end();
                let value = x.text[e + 1..].trim_start();
                let pad = width.saturating_sub(key.chars().count());
                let line = format!(
                    "{}{key}{} ={}{value}",
                    "  ".repeat(level),
                    " ".repeat(pad),
                    if value.is_empty() { "" } else { " " }
                );
                out.push(line);
            }
            i = j;
            continue;
        }
        let mut line = format!("{}{}", "  ".repeat(level), l.text);
        if let Some(e) = l.eq {
            let key = l.text[..e].trim_end();
            let value = l.text[e + 1..].trim_start();
            line = format!("{}{key} ={}{value}", "  ".repeat(level), if value.is_empty() { "" } else { " " });
        }
        out.push(line);
        if l.ends_block {
            let next = lines[i + 1..].iter().find(|x| !x.text.is_empty() || x.verbatim);
            if next.is_some_and(|n| n.leading_closers == 0) {
                pending_blank = true;
            }
        }
        i += 1;
    }
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: &str) {
        let got = format_hcl(input).unwrap();
        assert_eq!(got, want, "\n--- got ---\n{got}\n--- want ---\n{want}");
        assert_eq!(format_hcl(&got).unwrap(), got, "idempotent");
    }

    #[test]
    fn indents_aligns_and_separates_blocks() {
        check(
            "resource \"null_resource\" \"a\" {\ncount = 2\n    triggers_long_name   =   { a = 1 }\n  # a comment\nx=\"a = b\"\n\n\n  lifecycle {\n  prevent_destroy = true\n  }\n}\nvariable \"v\" {}\n",
            "resource \"null_resource\" \"a\" {\n  count              = 2\n  triggers_long_name = { a = 1 }\n  # a comment\n  x = \"a = b\"\n\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n\nvariable \"v\" {}\n",
        );
    }

    #[test]
    fn keeps_heredocs_comments_and_nested_values() {
        check(
            "locals {\n  tags = {\n  a = 1\n      bbb = \"${x}\"\n  }\n  doc = <<-EOT\n   keep   this\n      EOT\n  /* block\n     comment */\n  list = [\n  1,\n  2,\n  ]\n}\n",
            "locals {\n  tags = {\n    a   = 1\n    bbb = \"${x}\"\n  }\n  doc = <<-EOT\n   keep   this\n      EOT\n  /* block\n     comment */\n  list = [\n    1,\n    2,\n  ]\n}\n",
        );
    }

    #[test]
    fn nested_constructors_indent_once_and_heredocs_align() {
        check(
            "variable \"t\" {\ntype = map(object({\nlead = string\nmembers = optional(number, 1)\n}))\ndefault = {}\n}\nresource \"x\" \"y\" {\nfilename = \"a\"\ncontent = <<-EOT\n    body\n  EOT\nfile_permission = \"0644\"\nother = jsonencode({\na = 1\n})\n}\n",
            "variable \"t\" {\n  type = map(object({\n    lead    = string\n    members = optional(number, 1)\n  }))\n  default = {}\n}\n\nresource \"x\" \"y\" {\n  filename        = \"a\"\n  content         = <<-EOT\n    body\n  EOT\n  file_permission = \"0644\"\n  other = jsonencode({\n    a = 1\n  })\n}\n",
        );
    }

    #[test]
    fn comparison_operators_are_not_attributes() {
        check("a = b == c\nbb = x >= 1\n", "a  = b == c\nbb = x >= 1\n");
        check("x = { for k, v in m : k => v }\n", "x = { for k, v in m : k => v }\n");
    }

    #[test]
    fn invalid_input_is_an_error() {
        assert!(format_hcl("a = \n").is_err());
    }
}
