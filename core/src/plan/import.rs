//! Imports at plan time. [`evaluate`] reads the root module's `import {}` blocks: the target
//! must be a managed resource declared in configuration, no two blocks may name one target, and
//! the ID must be known at plan time (variables, locals, literals and functions; nothing a
//! resource or data source computes). With `for_each`, one block imports one object per
//! element, `to = TYPE.NAME[each.key]` and `id` evaluated per element. [`read_imports`] finds
//! each object through its provider (`import`, then `read`: the same [`import_object`] apply
//! and `tarn import` use), so that the pure planner can diff the found object against
//! configuration like any refreshed prior object.
//!
//! Reads only: nothing here writes state or changes an object. Importing into an address the
//! state already holds is a no-op with a warning (the block can stay after the import).

use super::PlanInput;
use super::providers::{ProviderSet, parse_provider_key};
use super::scope::{Binding, World};
use super::statevalue::mark_sensitive;
use super::walk::Store;
use crate::config::{Config, Import, ModuleTree};
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use std::collections::HashMap;
use tarn_sdk::{Address, ErrorClass, InstanceKey, Mode, Provider, ProviderError, ReadRequest, Value};
use tokio::task::JoinSet;

/// An import the planner needs read before it can plan the target.
#[derive(Debug, Clone)]
pub struct ImportRead {
    pub address: Address,
    /// Provider configuration key of the target resource.
    pub provider: String,
    pub id: String,
    /// The `import {}` block (`None` for `tarn import`).
    pub span: Option<Span>,
}

/// An object found by import, as the planner diffs it.
#[derive(Debug, Clone)]
pub struct ImportedObject {
    pub id: String,
    /// Marked sensitive by the schema.
    pub value: Value,
}

/// Objects imported so far, by target address.
pub type ImportResults = HashMap<Address, ImportedObject>;

/// One evaluated `import {}` block.
#[derive(Debug, Clone)]
pub(crate) struct Wanted {
    pub id: String,
    pub span: Span,
}

/// Finds an existing object by its import ID: the provider's `import`, then `read` (so the
/// value is what refresh would see). `NotFound` when either finds nothing.
pub async fn import_object(provider: &dyn Provider, type_name: &str, id: &str) -> Result<Value, ProviderError> {
    let gone = || {
        ProviderError::not_found(format!(
            "the {} provider found no {type_name} with import ID \"{id}\" (call: import({type_name}, \"{id}\"))",
            provider.name()
        ))
    };
    let found = provider.import(type_name, id).await?.ok_or_else(gone)?;
    let req = ReadRequest { type_name: type_name.to_string(), state: found };
    provider.read(req).await?.ok_or_else(gone)
}

/// What went wrong with a failed [`import_object`], in a sentence that names the address and
/// the API call; callers add what to do.
pub fn import_failed(address: &Address, provider_key: &str, id: &str, e: &ProviderError) -> String {
    match e.class {
        ErrorClass::NotFound => format!("{address} cannot be imported: {}.", e.message.trim_end_matches('.')),
        _ => format!(
            "{address} cannot be imported (provider \"{provider_key}\": import({}, \"{id}\")): {}.",
            address.type_name,
            e.message.trim_end_matches('.')
        ),
    }
}

/// Evaluates the `import {}` blocks of the configuration. Blocks outside the root module are
/// errors (as in Terraform: a module does not decide what its caller adopts).
pub(crate) fn evaluate(input: &PlanInput, diags: &mut Diagnostics) -> HashMap<Address, Wanted> {
    let config = input.config;
    for child in config.root.children.values() {
        refuse_in_modules(child, diags);
    }
    let mut wanted: HashMap<Address, Wanted> = HashMap::new();
    let imports = &config.root.module.imports;
    if imports.is_empty() {
        return wanted;
    }
    // A world of its own, where no resource or data source has a value yet: an ID that needs
    // one is unknown, hence refused, and the planning world's memo stays untouched.
    let store = Store::default();
    let world = World::new(
        config,
        input.variables,
        &store,
        &input.binding.workspace,
        &input.options.cwd,
        input.options.home.as_deref(),
    );
    for imp in imports {
        if !target_declared(config, imp, diags) {
            continue;
        }
        for (to, binding) in targets(&world, imp, diags) {
            if let Some(prev) = wanted.get(&to) {
                diags.push(duplicate(imp, &to, prev.span));
                continue;
            }
            if let Some(id) = import_id(&world, imp, &to, &binding, diags) {
                wanted.insert(to, Wanted { id, span: imp.span });
            }
        }
    }
    diags.extend(std::mem::take(&mut *world.diags.borrow_mut()));
    wanted
}

fn refuse_in_modules(tree: &ModuleTree, diags: &mut Diagnostics) {
    for imp in &tree.module.imports {
        diags.push(
            Diagnostic::error(
                "Import block in a module",
                format!(
                    "Import blocks are only allowed in the root module; this one imports into {}. Move it to the root module and prefix the address with the module path, like `module.NAME.{}`.",
                    imp.to, imp.to
                ),
            )
            .at(imp.span),
        );
    }
    for child in tree.children.values() {
        refuse_in_modules(child, diags);
    }
}

/// The target must be a managed resource block declared in configuration, with the provider
/// the import block names (if it names one).
fn target_declared(config: &Config, imp: &Import, diags: &mut Diagnostics) -> bool {
    let to = &imp.to;
    if to.mode == Mode::Data {
        diags.push(
            Diagnostic::error(
                "Invalid import target",
                format!("{to} is a data source; data sources are read, not imported. Import into a managed resource."),
            )
            .at(imp.span),
        );
        return false;
    }
    let path: Vec<String> = to.module.iter().map(|s| s.name.clone()).collect();
    let Some(tree) = crate::graph::module_at(config, &path) else {
        diags.push(
            Diagnostic::error(
                "Import target not in configuration",
                format!("{to} is in a module that is not called in this configuration. Declare the module and its resource first: tarn imports only into declared resources."),
            )
            .at(imp.span),
        );
        return false;
    };
    let key = format!("{}.{}", to.type_name, to.name);
    let Some(resource) = tree.module.resources.get(&key) else {
        let managed = tree.module.resources.values().filter(|r| r.mode == Mode::Managed).map(|r| r.key());
        let names: Vec<String> = managed.collect();
        let hint = did_you_mean(&key, names.iter().map(String::as_str))
            .map(|s| format!(" Did you mean {s}?"))
            .unwrap_or_default();
        diags.push(
            Diagnostic::error(
                "Import target not in configuration",
                format!(
                    "There is no resource block {key} for {to}.{hint} Add a `resource \"{}\" \"{}\"` block describing the object first: tarn imports only into declared resources.",
                    to.type_name, to.name
                ),
            )
            .at(imp.span),
        );
        return false;
    };
    if let Some(p) = &imp.provider {
        if (p.name.clone(), p.alias.clone()) != crate::graph::requested_provider(resource) {
            diags.push(
                Diagnostic::error(
                    "Import provider mismatch",
                    format!("The import block names provider {}, but {key} is managed by another provider configuration. Use the resource's `provider` argument, or remove it from the import block.", p.name),
                )
                .at(p.span)
                .related(resource.span, "resource declared here"),
            );
            return false;
        }
    }
    true
}

/// The targets of one block with what `each` is for each: one without `for_each`; with it, one
/// per element, the key of `to` evaluated per element.
fn targets(world: &World, imp: &Import, diags: &mut Diagnostics) -> Vec<(Address, Binding)> {
    let Some(for_each) = &imp.for_each else { return vec![(imp.to.clone(), Binding::None)] };
    let expanded = match super::expand::expand(world, &[], None, Some(for_each), "this import block") {
        Ok(x) => x,
        Err(d) => {
            diags.extend(d);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (_, binding) in super::expand::bindings(&expanded) {
        let Some(key_expr) = &imp.to_key else {
            out.push((imp.to.clone(), binding));
            continue;
        };
        let (v, _, errs) = world.eval(key_expr, &[], &binding);
        if let Some(errs) = errs {
            diags.extend(errs);
            continue;
        }
        let key = match v.unmark().0 {
            Value::String(s) => InstanceKey::Str(s.clone()),
            Value::Number(n) if n.to_i64().is_some_and(|i| i >= 0) => InstanceKey::Int(n.to_i64().unwrap_or(0)),
            other => {
                diags.push(
                    Diagnostic::error(
                        "Invalid import target",
                        format!(
                            "The instance key in `to` must be a string or a whole number known at plan time; it is {}.",
                            if other.is_unknown() { "unknown".into() } else { format!("a {}", other.type_name()) }
                        ),
                    )
                    .at(key_expr.span),
                );
                continue;
            }
        };
        out.push((imp.to.clone().with_key(Some(key)), binding));
    }
    out
}

/// The ID, evaluated: a known, non-sensitive string (a number is taken as its decimal text).
fn import_id(world: &World, imp: &Import, to: &Address, binding: &Binding, diags: &mut Diagnostics) -> Option<String> {
    let (v, _, errs) = world.eval(&imp.id, &[], binding);
    if let Some(errs) = errs {
        diags.extend(errs);
        return None;
    }
    let refuse =
        |why: &str| Diagnostic::error("Invalid import ID", format!("The import ID for {to} {why}")).at(imp.id.span);
    if v.contains_sensitive() {
        diags.push(refuse("is sensitive. Import IDs are shown in plans and kept in the journal, so they cannot be secret; wrap the value in `nonsensitive()` if it is not."));
        return None;
    }
    if !v.is_wholly_known() {
        diags.push(refuse(
            "depends on values known only after apply. It must be known at plan time: use a literal, a variable or a local value that does not depend on resources or data sources.",
        ));
        return None;
    }
    match v {
        Value::String(s) if !s.is_empty() => Some(s),
        Value::Number(n) => Some(n.to_text()),
        other => {
            diags.push(refuse(&format!(
                "must be a non-empty string, but it is {}.",
                if other.as_str().is_some() { "empty".to_string() } else { format!("a {}", other.type_name()) }
            )));
            None
        }
    }
}

/// The checks `tarn validate` can make without variables or providers: blocks only in the root
/// module, targets declared as managed resources, one block per target.
pub fn check_imports(config: &Config) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for child in config.root.children.values() {
        refuse_in_modules(child, &mut diags);
    }
    let mut seen: HashMap<&Address, Span> = HashMap::new();
    for imp in &config.root.module.imports {
        if !target_declared(config, imp, &mut diags) {
            continue;
        }
        // With for_each the targets are known only once evaluated (the planner checks them).
        if imp.for_each.is_none()
            && let Some(prev) = seen.insert(&imp.to, imp.span)
        {
            diags.push(duplicate(imp, &imp.to, prev));
        }
    }
    diags
}

fn duplicate(imp: &Import, to: &Address, prev: Span) -> Diagnostic {
    Diagnostic::error(
        "Duplicate import target",
        format!("Two imports import into {to}. An address holds one object: remove one of them."),
    )
    .at(imp.span)
    .related(prev, "first imported here")
}

/// Reads pending imports through their providers, in parallel; results are marked sensitive
/// by schema. Each failure is an error diagnostic naming the address and the call.
pub async fn read_imports(reads: Vec<ImportRead>, providers: &ProviderSet, into: &mut ImportResults) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mut tasks = JoinSet::new();
    for read in reads {
        let Some(provider) = providers.get(&read.provider) else {
            diags.push(
                Diagnostic::error(
                    "Missing provider",
                    format!(
                        "{} needs provider configuration \"{}\", which is not available.",
                        read.address, read.provider
                    ),
                )
                .for_address(&read.address),
            );
            continue;
        };
        tasks.spawn(async move {
            let result = import_object(provider.as_ref(), &read.address.type_name, &read.id).await;
            (read, result)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((read, Ok(value))) => {
                let schema = providers
                    .schemas()
                    .get(parse_provider_key(&read.provider).name.as_str())
                    .and_then(|s| s.resources.get(&read.address.type_name));
                let value = match schema {
                    Some(s) => mark_sensitive(value, s),
                    None => value,
                };
                into.insert(read.address, ImportedObject { id: read.id, value });
            }
            Ok((read, Err(e))) => {
                let what = import_failed(&read.address, &read.provider, &read.id, &e);
                let fix = "Nothing was imported. Correct the ID, or remove the import block to have tarn create the object instead.";
                diags.push(
                    Diagnostic::error("Cannot import object", format!("{what} {fix}"))
                        .maybe_at(read.span)
                        .for_address(&read.address),
                );
            }
            Err(e) => diags.push(Diagnostic::error(
                "Cannot import object",
                format!("A provider import panicked: {e}. This is a bug in the provider."),
            )),
        }
    }
    diags
}
