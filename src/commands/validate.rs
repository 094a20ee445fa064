//! `tarn validate`: everything `terraform validate` checks, without state, variables' values
//! or provider calls other than reading schemas. Every problem is reported at once, each at
//! its file, line and column: syntax, structure, references, cycles, version constraints,
//! variable defaults (their type and their own `validation` blocks), resource bodies against
//! the providers' schemas, and every expression evaluated — with each root variable, data
//! source and computed attribute unknown, an unknown `count` or `for_each` standing for one
//! instance — so type errors, wrong arguments to functions and references to attributes a
//! schema does not have are found before any plan. Plugins are started once to read theirs.

use super::workflow;
use crate::cli::ValidateArgs;
use crate::error::CliError;
use crate::plugins::Factory;
use crate::providers::Builtins;
use crate::render::Color;
use std::collections::HashMap;
use std::path::Path;
use tarn_core::config::{Config, ModuleTree, Resource};
use tarn_core::diag::did_you_mean;
use tarn_core::plan::{self, ProviderFactory};
use tarn_core::{Diagnostic, Diagnostics};
use tarn_sdk::{Mode, ProviderSchema};

pub fn run(args: &ValidateArgs, color: Color) -> Result<(), CliError> {
    let (config, mut diags) = tarn_core::load::load(Path::new("."));
    let sources = config.as_ref().map(|c| c.sources.clone()).unwrap_or_default();
    if let Some(config) = &config {
        diags.extend(tarn_core::config::version::check_required_version(config, env!("CARGO_PKG_VERSION")));
        let (_, graph_diags) = tarn_core::graph::build(config);
        diags.extend(graph_diags);
        let structural = !diags.has_errors();
        diags.extend(plan::check_defaults(config));
        diags.extend(tarn_core::plan::check_imports(config));
        if structural {
            let factory = load_plugins(config, &mut diags)?;
            let schemas = check_schemas(config, &factory, &mut diags);
            evaluate(config, schemas, &mut diags);
        }
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
        outln!(
            "{}",
            serde_json::json!({"format_version": crate::render::json::FORMAT_VERSION, "valid": !diags.has_errors(), "diagnostics": list})
        );
        return if diags.has_errors() { Err(CliError::Failed("the configuration is invalid".into())) } else { Ok(()) };
    }
    workflow::check(diags, &sources)?;
    outln!("{}", crate::render::paint("The configuration is valid.", crate::render::style::SUCCESS, color.stdout));
    Ok(())
}

/// Plans against an empty state in validation mode (core's `run::validate`: every root
/// variable unknown, nothing read from providers), keeping the problems the checks before did
/// not already report.
fn evaluate(config: &Config, schemas: plan::Schemas, diags: &mut Diagnostics) {
    let workspace = crate::stack::workspace().unwrap_or_else(|_| "default".into());
    let cwd = std::env::current_dir().unwrap_or_default();
    let home = super::workflow::home();
    let validation = tarn_core::run::Validation {
        config,
        schemas: &schemas,
        workspace: &workspace,
        cwd: &cwd,
        home: home.as_deref(),
    };
    let found = tarn_core::run::validate(validation, diags);
    diags.extend(found);
}

/// Built-ins and the plugins the configuration names, started once to read their schemas.
fn load_plugins(config: &Config, diags: &mut Diagnostics) -> Result<Factory<Builtins>, CliError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))?;
    let (factory, found) = runtime.block_on(async {
        let (factory, found) = Factory::load(config, None, Builtins).await;
        factory.close().await;
        (factory, found)
    });
    diags.extend(found);
    diags.extend(tarn_core::config::version::check_provider_versions(config, &|n| factory.version_of(n)));
    Ok(factory)
}

/// Checks every resource of every module against its provider's schema, by name. Returns
/// the schemas of the providers found.
fn check_schemas(config: &Config, factory: &dyn ProviderFactory, diags: &mut Diagnostics) -> plan::Schemas {
    let mut schemas: HashMap<String, Option<ProviderSchema>> = HashMap::new();
    let mut stack: Vec<(Vec<String>, &ModuleTree)> = vec![(Vec::new(), &config.root)];
    while let Some((path, tree)) = stack.pop() {
        for resource in tree.module.resources.values() {
            let prefix: String = path.iter().map(|m| format!("module.{m}.")).collect();
            let address = format!("{prefix}{}", resource.key());
            // Unresolvable provider configurations are the graph's to report.
            let Ok(provider) = tarn_core::graph::provider_key(config, &path, resource) else { continue };
            let schema = schemas
                .entry(provider.name.clone())
                .or_insert_with(|| factory.instantiate(&provider.name).map(|p| p.schema()));
            match schema {
                Some(schema) => check_resource(resource, &address, &provider.name, schema, diags),
                None => diags.push(
                    Diagnostic::error(
                        "Missing provider",
                        format!(
                            "{address} uses provider \"{}\", which this tarn does not have. Known providers: {}.",
                            provider.name,
                            factory.names().join(", ")
                        ),
                    )
                    .at(resource.span),
                ),
            }
        }
        for (name, child) in &tree.children {
            let mut p = path.clone();
            p.push(name.clone());
            stack.push((p, child));
        }
    }
    schemas.into_iter().filter_map(|(name, s)| s.map(|s| (name, s))).collect()
}

fn check_resource(
    resource: &Resource,
    address: &str,
    provider: &str,
    schema: &ProviderSchema,
    diags: &mut Diagnostics,
) {
    let (types, what) = match resource.mode {
        Mode::Managed => (&schema.resources, "resource type"),
        Mode::Data => (&schema.data_sources, "data source"),
    };
    let Some(rs) = types.get(&resource.type_name) else {
        let hint = did_you_mean(&resource.type_name, types.keys().map(String::as_str))
            .map(|s| format!(" Did you mean \"{s}\"?"))
            .unwrap_or_default();
        diags.push(
            Diagnostic::error(
                format!("Unsupported {what}"),
                format!("Provider \"{provider}\" has no {what} \"{}\".{hint}", resource.type_name),
            )
            .at(resource.span)
            .for_address(address),
        );
        return;
    };
    let names = resource.body.attributes.values().map(|a| (a.name.as_str(), a.name_span)).chain(
        resource.body.blocks.iter().map(|b| match (b.kind.as_str(), b.labels.first(), b.label_spans.first()) {
            ("dynamic", Some(label), Some(span)) => (label.as_str(), *span),
            _ => (b.kind.as_str(), b.kind_span),
        }),
    );
    for (name, span) in names {
        if !rs.attributes.contains_key(name) {
            diags.push(tarn_core::plan::unsupported_argument(name, &resource.type_name, rs, span, address));
        }
    }
}
