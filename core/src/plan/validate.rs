//! Static schema checks for `tarn validate`: every resource and data block's arguments against
//! its provider's schema (unknown or provider-set arguments, missing required ones), without
//! variables' values, state or provider calls. Arguments are treated as unknown values, so
//! only what holds for every possible value is reported.

use super::providers::Schemas;
use super::schema_check;
use crate::config::{Config, ModuleTree};
use crate::diag::{Diagnostic, Diagnostics};
use tarn_sdk::{Address, Mode, ModuleStep, Value};

pub fn validate_schemas(config: &Config, schemas: &Schemas) -> Diagnostics {
    let mut diags = Diagnostics::default();
    walk(&config.root, &mut Vec::new(), schemas, &mut diags);
    diags
}

fn walk(tree: &ModuleTree, path: &mut Vec<ModuleStep>, schemas: &Schemas, diags: &mut Diagnostics) {
    for resource in tree.module.resources.values() {
        let (provider, _) = crate::graph::requested_provider(resource);
        let Some(schema) = schemas.get(&provider) else { continue };
        let rs = match resource.mode {
            Mode::Managed => schema.resources.get(&resource.type_name),
            Mode::Data => schema.data_sources.get(&resource.type_name),
        };
        let Some(rs) = rs else {
            let kind = if resource.mode == Mode::Data { "data source" } else { "resource type" };
            let known: Vec<&str> = match resource.mode {
                Mode::Managed => schema.resources.keys().map(String::as_str).collect(),
                Mode::Data => schema.data_sources.keys().map(String::as_str).collect(),
            };
            let hint = crate::diag::did_you_mean(&resource.type_name, known.iter().copied())
                .map(|s| format!(" Did you mean \"{s}\"?"))
                .unwrap_or_default();
            diags.push(
                Diagnostic::error(
                    format!("Unsupported {kind}"),
                    format!("Provider \"{provider}\" has no {kind} \"{}\".{hint}", resource.type_name),
                )
                .at(resource.span),
            );
            continue;
        };
        let address = Address {
            module: path.clone(),
            mode: resource.mode,
            type_name: resource.type_name.clone(),
            name: resource.name.clone(),
            key: None,
        };
        let value = Value::map(
            resource
                .body
                .attributes
                .keys()
                .map(|k| (k.clone(), Value::Unknown))
                .chain(resource.body.blocks.iter().map(|b| (b.kind.clone(), Value::Unknown))),
        );
        let (_, found) = schema_check::check(resource, &address, &value, rs);
        diags.extend(found);
    }
    for (name, child) in &tree.children {
        path.push(ModuleStep { name: name.clone(), key: None });
        walk(child, path, schemas, diags);
        path.pop();
    }
}
