//! Markdown for pull-request comments and issues: `tarn show PLANFILE --markdown` (counts, a
//! table of changes with replacements and irreversible actions called out, the full diff
//! collapsed) and the helpers the drift report shares. GitHub-flavoured, readable as plain
//! text elsewhere. Sensitive values are hidden by the same renderers the terminal uses.

use super::diff;
use super::plan::{Counts, has_changes, render};
use tarn_core::plan::{Action, ChangeReason, Plan, ResourceChange};

/// Comments longer than this are refused by GitHub (65,536); keep a margin for a bot's header.
const LIMIT: usize = 60_000;

/// Inline code that survives backticks in the text.
pub fn code(s: &str) -> String {
    let longest = longest_run(s, '`');
    if longest == 0 {
        return format!("`{s}`");
    }
    let ticks = "`".repeat(longest + 1);
    format!("{ticks} {s} {ticks}")
}

/// Text safe inside a table cell: pipes escaped, line breaks as spaces.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A `<details>` block, closed by default.
pub fn collapsed(summary: &str, body: &str) -> String {
    format!("<details><summary>{summary}</summary>\n\n{body}\n</details>\n")
}

/// tarn's human diff as a ```diff block: the `+ - ~` symbols moved to the start of the line so
/// that GitHub colours them (`~` becomes `!`), and a fence longer than any run of backticks in
/// the text, so that no value can close it early.
pub fn diff_block(text: &str) -> String {
    let mut body = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let moved = ["-/+ ", "+/- ", "+ ", "- ", "~ "].iter().find_map(|sym| {
            trimmed.strip_prefix(sym).map(|rest| {
                let mark = match sym.trim() {
                    "+" => '+',
                    "-" => '-',
                    _ => '!',
                };
                format!("{mark}{}{rest}", " ".repeat(indent + sym.len() - 1))
            })
        });
        body.push_str(&moved.unwrap_or_else(|| format!(" {line}")));
        body.push('\n');
    }
    let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
    format!("{fence}diff\n{body}{fence}\n")
}

/// Drops the collapsed details when the whole would be too long for a comment.
pub fn fit(text: String) -> String {
    if text.len() <= LIMIT {
        return text;
    }
    let Some(start) = text.find("<details>") else { return text };
    let end = text.rfind("</details>\n").map(|e| e + "</details>\n".len()).unwrap_or(text.len());
    let mut out = format!(
        "{}_The full diff is too long for a comment; run `tarn show PLANFILE` or `tarn drift` to see it._\n{}",
        &text[..start],
        &text[end..]
    );
    if out.len() > LIMIT {
        let mut cut = LIMIT;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n\n_(truncated)_\n");
    }
    out
}

/// A saved plan as a pull-request comment.
pub fn plan(p: &Plan) -> String {
    let counts = Counts::of(p);
    let mut out = String::new();
    if !has_changes(p) {
        out.push_str("### tarn plan: no changes\n\nThe real objects match the configuration.\n");
        drift_note(p, &mut out);
        footer(p, &mut out);
        return out;
    }
    out.push_str(&format!(
        "### tarn plan: {} to add, {} to change, {} to destroy\n\n",
        counts.add, counts.change, counts.destroy
    ));
    let changed: Vec<&ResourceChange> = p
        .changes
        .iter()
        .filter(|c| {
            c.action != Action::NoOp
                || moved_from(c).is_some()
                || c.reasons.iter().any(|r| matches!(r, ChangeReason::Import { .. } | ChangeReason::Forget))
        })
        .collect();
    warnings(&changed, &mut out);
    if !changed.is_empty() {
        out.push_str("| Action | Object | Details |\n|---|---|---|\n");
        for c in &changed {
            out.push_str(&format!("| {} | {} | {} |\n", action(c), code(&c.address.to_string()), cell(&details(c))));
        }
    }
    outputs(p, &mut out);
    drift_note(p, &mut out);
    out.push('\n');
    out.push_str(&collapsed("Full plan", &diff_block(&render(p, false))));
    footer(p, &mut out);
    fit(out)
}

fn action(c: &ResourceChange) -> String {
    match c.action {
        Action::Create => "create".into(),
        Action::Read => "read".into(),
        Action::Update => "update".into(),
        Action::DeleteThenCreate => "**replace**".into(),
        Action::CreateThenDelete => "**replace** (create first)".into(),
        Action::Delete => "**destroy**".into(),
        Action::NoOp if c.reasons.iter().any(|r| matches!(r, ChangeReason::Import { .. })) => "import".into(),
        Action::NoOp if c.reasons.contains(&ChangeReason::Forget) => "forget".into(),
        Action::NoOp => "move".into(),
    }
}

fn moved_from(c: &ResourceChange) -> Option<&str> {
    c.reasons.iter().find_map(|r| match r {
        ChangeReason::Moved { from } => Some(from.as_str()),
        _ => None,
    })
}

fn details(c: &ResourceChange) -> String {
    let mut parts = Vec::new();
    if c.irreversible {
        parts.push("**irreversible**: a rollback cannot restore what this deletes".to_string());
    }
    for r in &c.reasons {
        parts.push(match r {
            ChangeReason::ReplaceBecauseOf { attributes } => {
                format!("forced by {}", attributes.iter().map(|a| code(a)).collect::<Vec<_>>().join(", "))
            }
            ChangeReason::ReplaceByRequest => "replacement requested (`--replace`)".into(),
            ChangeReason::ReplaceTriggeredBy { by } => format!("triggered by a change to {}", code(by)),
            ChangeReason::GoneOutsideTarn => "deleted outside tarn".into(),
            ChangeReason::NotInConfig => "not in configuration".into(),
            ChangeReason::KeyNotInConfig => "key no longer in count/for_each".into(),
            ChangeReason::DestroyRequested => "destroy requested".into(),
            ChangeReason::Moved { from } => format!("moved from {}", code(from)),
            ChangeReason::ReadDeferred => "read during apply".into(),
            ChangeReason::Import { id } => format!("imported (ID {})", code(id)),
            ChangeReason::ProviderChanged { from, to } => {
                format!("provider configuration changes from {} to {}", code(from), code(to))
            }
            ChangeReason::Forget => "removed block: forgotten, not destroyed".into(),
        });
    }
    if c.action == Action::Update {
        let attrs = changed_attributes(c);
        if !attrs.is_empty() {
            parts.push(attrs.iter().map(|a| code(a)).collect::<Vec<_>>().join(", "));
        }
    }
    parts.join("; ")
}

/// Top-level attributes an update changes.
fn changed_attributes(c: &ResourceChange) -> Vec<String> {
    let (Some(b), Some(a)) = (c.before.as_ref().and_then(|v| v.as_map()), c.after.as_ref().and_then(|v| v.as_map()))
    else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| b.get(k.as_str()) != a.get(k.as_str())).cloned().collect()
}

/// Replacements and irreversible actions, first and loud.
fn warnings(changed: &[&ResourceChange], out: &mut String) {
    let list =
        |cs: Vec<&&ResourceChange>| cs.iter().map(|c| code(&c.address.to_string())).collect::<Vec<_>>().join(", ");
    let replaced: Vec<_> =
        changed.iter().filter(|c| matches!(c.action, Action::DeleteThenCreate | Action::CreateThenDelete)).collect();
    let irreversible: Vec<_> = changed.iter().filter(|c| c.irreversible).collect();
    if replaced.is_empty() && irreversible.is_empty() {
        return;
    }
    out.push_str("> [!WARNING]\n");
    let any_replaced = !replaced.is_empty();
    if any_replaced {
        out.push_str(&format!(
            "> **{} object(s) will be replaced** (destroyed and created again): {}\n",
            replaced.len(),
            list(replaced)
        ));
    }
    if !irreversible.is_empty() {
        if any_replaced {
            out.push_str(">\n");
        }
        out.push_str(&format!(
            "> **{} action(s) cannot be rolled back** if the apply fails later: {}\n",
            irreversible.len(),
            list(irreversible)
        ));
    }
    out.push('\n');
}

fn outputs(p: &Plan, out: &mut String) {
    let changed: Vec<_> = p.outputs.iter().filter(|o| o.action != Action::NoOp).collect();
    if changed.is_empty() {
        return;
    }
    out.push_str("\n| Output | Action | Value |\n|---|---|---|\n");
    for o in changed {
        let value = match (&o.after, o.sensitive) {
            _ if o.action == Action::Delete => String::new(),
            (_, true) => "(sensitive value)".to_string(),
            (Some(v), false) => code(&diff::inline(v)),
            (None, false) => String::new(),
        };
        let action = match o.action {
            Action::Create => "create",
            Action::Delete => "destroy",
            _ => "update",
        };
        out.push_str(&format!("| {} | {action} | {} |\n", code(&o.name), cell(&value)));
    }
}

fn drift_note(p: &Plan, out: &mut String) {
    if p.drift.is_empty() {
        return;
    }
    let list: Vec<String> = p
        .drift
        .iter()
        .map(|d| {
            format!("{} ({})", code(&d.address.to_string()), if d.actual.is_some() { "changed" } else { "deleted" })
        })
        .collect();
    out.push_str(&format!("\nChanged outside tarn since the last apply: {}.\n", list.join(", ")));
}

fn footer(p: &Plan, out: &mut String) {
    out.push_str(&format!(
        "\n<sub>tarn {} · state serial {} · configuration {}</sub>\n",
        p.tarn_version,
        p.binding.serial,
        p.binding.config_hash.get(..12).unwrap_or(&p.binding.config_hash)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_and_code_survive_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "`` a`b ``");
        let block = diff_block("  ~ content = \"```\" -> \"x\"\n");
        assert!(block.starts_with("````diff\n"), "{block}");
        assert!(block.contains("!   content"), "{block}");
    }

    #[test]
    fn diff_symbols_move_to_the_first_column() {
        let block =
            diff_block("  # a will be created\n  + resource \"x\" \"a\" {\n      + id = 1\n    }\n -/+ resource\n");
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines[1], "   # a will be created");
        assert_eq!(lines[2], "+   resource \"x\" \"a\" {");
        assert_eq!(lines[3], "+       id = 1");
        assert_eq!(lines[5], "!    resource", "the column of the text is kept");
    }

    #[test]
    fn long_text_loses_its_details_first() {
        let long = format!("head\n{}", collapsed("x", &"y".repeat(LIMIT)));
        let fitted = fit(long);
        assert!(
            fitted.len() < LIMIT && fitted.starts_with("head\n") && fitted.contains("too long"),
            "{}",
            &fitted[..200]
        );
    }
}
