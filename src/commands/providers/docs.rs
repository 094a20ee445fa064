//! Provider reference docs generated from schemas: one Markdown file per provider (its
//! configuration, resource types and data sources, each attribute with its type, whether it is
//! required, optional or computed, sensitive, and whether a change forces replacement) and a
//! README.md index. `--check` compares instead of writing, for CI and the freshness test.

use super::catalog::Entry;
use crate::error::CliError;
use indexmap::IndexMap;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use tarn_sdk::{AttributeSchema, ResourceSchema};

/// The command that regenerates the committed docs, quoted in messages.
pub const REGENERATE: &str = "cargo run -q -- providers docs --out docs/providers";

const HEADER: &str =
    "<!-- Generated from the provider schemas by `tarn providers docs`. Do not edit: regenerate. -->\n";

/// File name → content, for these providers.
pub fn render_all(entries: &[Entry]) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for e in entries {
        files.insert(format!("{}.md", e.name), render(e));
    }
    files.insert("README.md".into(), index(entries));
    files
}

fn index(entries: &[Entry]) -> String {
    let mut s = String::from(HEADER);
    s.push_str("# Providers\n\nReference for every provider, generated from its schema. ");
    s.push_str("Plugins (external providers, docs/plugin-protocol.md) can be documented the same way with ");
    s.push_str("`tarn providers docs --plugin PATH --out DIR`.\n\n");
    s.push_str("| provider | source | resource types | data sources |\n|---|---|---|---|\n");
    for e in entries {
        let list = |m: &IndexMap<String, ResourceSchema>| {
            if m.is_empty() {
                "—".to_string()
            } else {
                m.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
            }
        };
        let _ = writeln!(
            s,
            "| [{}]({}.md) | {} | {} | {} |",
            e.name,
            e.name,
            e.source,
            list(&e.schema.resources),
            list(&e.schema.data_sources)
        );
    }
    s
}

/// One provider's page.
pub fn render(e: &Entry) -> String {
    let mut s = String::from(HEADER);
    let _ = writeln!(s, "# Provider `{}`\n\nSource: {}.\n", e.name, e.source);
    s.push_str("## Configuration\n\n");
    if e.schema.config.is_empty() {
        let _ = writeln!(s, "The `provider \"{}\"` block takes no arguments.\n", e.name);
    } else {
        let _ = writeln!(s, "Arguments of the `provider \"{}\"` block:\n", e.name);
        table(&mut s, &e.schema.config);
    }
    section(&mut s, "Resource types", "resource", &e.schema.resources);
    section(&mut s, "Data sources", "data", &e.schema.data_sources);
    s
}

fn section(s: &mut String, title: &str, block: &str, types: &IndexMap<String, ResourceSchema>) {
    let _ = writeln!(s, "## {title}\n");
    if types.is_empty() {
        s.push_str("None.\n\n");
        return;
    }
    for (name, rs) in types {
        let _ = writeln!(s, "### `{name}`\n");
        if !rs.description.is_empty() {
            let _ = writeln!(s, "{}\n", rs.description.trim());
        }
        if rs.destroy_is_irreversible {
            s.push_str(
                "**Destroying it loses data that cannot be recreated**: plans flag its deletion as irreversible.\n\n",
            );
        }
        if let Some(attr) = &rs.irreversible_when {
            let _ = writeln!(
                s,
                "**Destroying it loses data when `{attr}` is true**: plans then flag its deletion as irreversible.\n"
            );
        }
        for n in &rs.change_notes {
            let attrs: Vec<String> = n.attributes.iter().map(|a| format!("`{a}`")).collect();
            let _ = writeln!(s, "**Changing {}**: {} (plans say so).\n", attrs.join(" or "), n.note);
        }
        for n in &rs.destroy_notes {
            let _ = writeln!(s, "**Before destroying it**: {n} (plans say so under every change that deletes one).\n");
        }
        let _ = writeln!(s, "```hcl\n{block} \"{name}\" \"example\" {{\n{}}}\n```\n", example_body(rs));
        table(s, &rs.attributes);
    }
}

/// The required arguments, as a skeleton to fill in.
fn example_body(rs: &ResourceSchema) -> String {
    rs.attributes.iter().filter(|(_, a)| a.required).map(|(k, a)| format!("  {k} = {}\n", placeholder(&a.ty))).collect()
}

fn placeholder(ty: &tarn_sdk::Type) -> &'static str {
    match ty {
        tarn_sdk::Type::String => "\"...\"",
        tarn_sdk::Type::Number => "0",
        tarn_sdk::Type::Bool => "false",
        tarn_sdk::Type::List { .. } | tarn_sdk::Type::Set { .. } | tarn_sdk::Type::Tuple { .. } => "[]",
        tarn_sdk::Type::Map { .. } | tarn_sdk::Type::Object { .. } => "{}",
        tarn_sdk::Type::Any => "null",
    }
}

fn table(s: &mut String, attrs: &IndexMap<String, AttributeSchema>) {
    s.push_str(
        "| attribute | type | use | sensitive | forces replacement | description |\n|---|---|---|---|---|---|\n",
    );
    for (name, a) in attrs {
        let usage = match (a.required, a.optional, a.computed) {
            (true, _, _) => "required",
            (false, true, true) => "optional, computed",
            (false, true, false) => "optional",
            _ => "computed",
        };
        let yes = |b: bool| if b { "yes" } else { "" };
        let _ = writeln!(
            s,
            "| `{name}` | `{}` | {usage} | {} | {} | {} |",
            cell(&a.ty.to_string()),
            yes(a.sensitive),
            yes(a.force_new),
            cell(a.description.trim())
        );
    }
    s.push('\n');
}

/// Table cells hold one line without pipes.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// Writes the files, removing generated pages of providers that no longer exist.
pub fn write(dir: &Path, files: &BTreeMap<String, String>) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    for (name, text) in files {
        let path = dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)
                .map_err(|e| CliError::Failed(format!("cannot write {}: {e}", path.display())))?;
            outln!("wrote {}", path.display());
        }
    }
    for stale in generated_files(dir).into_iter().filter(|f| !files.contains_key(f)) {
        let path = dir.join(&stale);
        std::fs::remove_file(&path).map_err(|e| CliError::Failed(format!("cannot remove {}: {e}", path.display())))?;
        outln!("removed {}", path.display());
    }
    Ok(())
}

/// The files that differ from what would be generated, each with why.
pub fn stale(dir: &Path, files: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, text) in files {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(_) => out.push(format!("{name} (differs)")),
            Err(_) => out.push(format!("{name} (missing)")),
        }
    }
    for extra in generated_files(dir).into_iter().filter(|f| !files.contains_key(f)) {
        out.push(format!("{extra} (no such provider any more)"));
    }
    out
}

/// Markdown files in `dir` that this command generated (they start with its header).
fn generated_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".md"))
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.starts_with(HEADER)))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_sdk::{ProviderSchema, Type};

    #[test]
    fn a_page_lists_every_attribute_flag() {
        let rs = ResourceSchema::new("A thing.")
            .attr("name", AttributeSchema::required(Type::String, "Its name | with a pipe.").force_new())
            .attr("token", AttributeSchema::optional(Type::String, "Secret.").sensitive())
            .attr("id", AttributeSchema::computed(Type::String, "ID."));
        let mut schema = ProviderSchema::default();
        schema.resources.insert("x_thing".into(), rs);
        let page = render(&Entry { name: "x".into(), source: "built-in".into(), schema });
        assert!(page.starts_with(HEADER));
        assert!(page.contains("| `name` | `string` | required |  | yes | Its name \\| with a pipe. |"), "{page}");
        assert!(page.contains("| `token` | `string` | optional | yes |  | Secret. |"), "{page}");
        assert!(page.contains("| `id` | `string` | computed |  |  | ID. |"), "{page}");
        assert!(page.contains("resource \"x_thing\" \"example\" {\n  name = \"...\"\n}"), "{page}");
        assert!(page.contains("## Data sources\n\nNone."));
    }
}
