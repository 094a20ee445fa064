//! `tarn validate`: syntax, structure, references, cycles and arguments against provider
//! schemas, without state, variables' values or provider calls. Every problem is reported at once.

use super::workflow;
use crate::cli::ValidateArgs;
use crate::error::CliError;
use crate::render::Color;
use std::path::Path;

pub fn run(args: &ValidateArgs, color: Color) -> Result<(), CliError> {
    let (config, mut diags) = tarn_core::config::load(Path::new("."));
    let sources = config.as_ref().map(|c| c.sources.clone()).unwrap_or_default();
    if let Some(config) = &config {
        let (_, graph_diags) = tarn_core::graph::build(config);
        diags.extend(graph_diags);
        let schemas = crate::providers::BUILTIN
            .iter()
            .filter_map(|n| crate::providers::instantiate(n).map(|p| (n.to_string(), p.schema())))
            .collect();
        diags.extend(tarn_core::plan::validate_schemas(config, &schemas));
    }
    if args.json {
        let list: Vec<_> = diags
            .iter()
            .map(|d| {
                let range = d.span.map(|s| {
                    let (line, col) = sources.line_col(s.file, s.start);
                    let file = sources.files.get(s.file).map(|f| f.path.display().to_string());
                    serde_json::json!({"file": file, "line": line, "column": col})
                });
                serde_json::json!({"severity": d.severity, "summary": d.summary, "detail": d.detail, "range": range, "address": d.address})
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"format_version": crate::render::json::FORMAT_VERSION, "valid": !diags.has_errors(), "diagnostics": list})
        );
        return if diags.has_errors() { Err(CliError::Failed("the configuration is invalid".into())) } else { Ok(()) };
    }
    workflow::check(diags, &sources)?;
    println!("{}", crate::render::paint("The configuration is valid.", "1;32", color.stdout));
    Ok(())
}
