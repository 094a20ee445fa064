//! `tarn providers`: list providers and their types, print schemas (`schema`), generate the
//! reference docs (`docs`), and run the plugin conformance suite (`check`).

mod catalog;
mod check;
mod docs;

use crate::cli::{ProvidersArgs, ProvidersCommand};
use crate::error::CliError;
use catalog::Entry;

/// The version of `tarn providers --json` and `tarn providers schema --json`
/// (docs/provider-schemas.md). Bumped on any incompatible change.
pub const FORMAT_VERSION: &str = "1";

pub async fn run(args: ProvidersArgs) -> Result<(), CliError> {
    match args.command {
        None => list(args.json).await,
        Some(ProvidersCommand::Schema { names, json }) => schema(&names, json).await,
        Some(ProvidersCommand::Docs { out, check, plugins }) => {
            let catalog = catalog::with_plugins(&plugins).await?;
            catalog.result()?;
            let files = docs::render_all(&catalog.entries);
            if check {
                let stale = docs::stale(&out, &files);
                if stale.is_empty() {
                    outln!("{} is up to date ({} files).", out.display(), files.len());
                    return Ok(());
                }
                let fix = if plugins.is_empty() && out == std::path::Path::new("docs/providers") {
                    docs::REGENERATE.to_string()
                } else {
                    "tarn providers docs with the same arguments, without --check,".to_string()
                };
                return Err(CliError::Failed(format!(
                    "the provider docs in {} are out of date: {}. Run `{fix}` to regenerate them.",
                    out.display(),
                    stale.join(", ")
                )));
            }
            docs::write(&out, &files)
        }
        Some(ProvidersCommand::Check { path, fixture, name, timeout, json }) => {
            check::run(&path, fixture.as_deref(), name, &timeout, json).await
        }
    }
}

async fn list(json: bool) -> Result<(), CliError> {
    let catalog = catalog::everything().await?;
    if json {
        let providers: serde_json::Map<String, serde_json::Value> = catalog
            .entries
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
                    serde_json::json!({
                        "source": e.source,
                        "resources": e.schema.resources.keys().collect::<Vec<_>>(),
                        "data_sources": e.schema.data_sources.keys().collect::<Vec<_>>(),
                    }),
                )
            })
            .collect();
        outln!("{}", serde_json::json!({"format_version": FORMAT_VERSION, "providers": providers}));
    } else {
        for e in &catalog.entries {
            outln!("{} ({})", e.name, e.source);
            for t in e.schema.resources.keys() {
                outln!("  resource {t}");
            }
            for t in e.schema.data_sources.keys() {
                outln!("  data     {t}");
            }
        }
    }
    for p in &catalog.problems {
        eoutln!("{}", crate::render::error_line(p, crate::render::Color::detect(false).stderr));
    }
    catalog.result()
}

async fn schema(names: &[String], json: bool) -> Result<(), CliError> {
    let catalog = catalog::everything().await?;
    let mut chosen: Vec<&Entry> =
        catalog.entries.iter().filter(|e| names.is_empty() || names.contains(&e.name)).collect();
    chosen.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(missing) = names.iter().find(|n| !catalog.entries.iter().any(|e| e.name == **n)) {
        let known: Vec<&str> = catalog.entries.iter().map(|e| e.name.as_str()).collect();
        return Err(CliError::Failed(format!(
            "there is no provider \"{missing}\"; known providers: {}",
            known.join(", ")
        )));
    }
    if json {
        let mut providers = serde_json::Map::new();
        for e in &chosen {
            let mut schema = serde_json::to_value(&e.schema).map_err(|err| {
                CliError::Failed(format!("cannot encode the schema of {}: {err}; this is a bug in tarn", e.name))
            })?;
            if let Some(obj) = schema.as_object_mut() {
                obj.insert("source".into(), serde_json::Value::String(e.source.clone()));
            }
            providers.insert(e.name.clone(), schema);
        }
        outln!("{}", serde_json::json!({"format_version": FORMAT_VERSION, "providers": providers}));
    } else {
        for e in chosen {
            out!("{}", docs::render(e));
        }
    }
    catalog.result()
}
