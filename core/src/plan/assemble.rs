//! The planner's entry point: runs the walk for the plan mode, then assembles the [`Plan`]:
//! orphaned objects become deletes (or, under a `removed {}` block with `destroy = false`,
//! no-ops that forget them), `moved {}` blocks re-key prior objects first, `import {}`
//! blocks are evaluated (the walk diffs found objects like prior ones), targets and
//! excludes trim the change set, `prevent_destroy` is enforced, changes are sorted by address
//! and the execution graph and outputs are computed; `check {}` assertions are judged last.
//! Pure and synchronous.

use super::execgraph;
use super::model::*;
use super::scope::World;
use super::walk::{Planned, Store, Walk};
use super::{PlanInput, PlanOutcome};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{self, NodeKind};
use indexmap::IndexMap;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;
use tarn_sdk::{Address, Value};

/// Plans `input`. Returns no plan when there are errors; data sources not yet read are listed
/// in `pending_reads` (see `plan_with_data`, which reads them and plans again).
pub fn plan(input: PlanInput) -> PlanOutcome {
    let mut diags = Diagnostics::default();
    let (g, gd) = graph::build(input.config);
    diags.extend(gd);
    if diags.has_errors() {
        return PlanOutcome { plan: None, diagnostics: diags, pending_reads: Vec::new(), pending_imports: Vec::new() };
    }
    let store = Store::default();
    let mut world = World::new(
        input.config,
        input.variables,
        &store,
        &input.binding.workspace,
        &input.options.cwd,
        input.options.home.as_deref(),
    );
    world.validating = input.options.validate;
    let world = world;
    let (prior_index, moved_from) = apply_moves(&input, &world, &mut diags);
    // Imports matter only when planning configuration (not destroy, not refresh-only).
    let imports = match input.options.mode {
        PlanMode::Normal => super::import::evaluate(&input, &mut diags),
        PlanMode::Destroy | PlanMode::RefreshOnly => HashMap::new(),
    };
    let mut walk = Walk {
        input: &input,
        world: &world,
        store: &store,
        planned: Vec::new(),
        prior_index,
        moved_from,
        consumed: vec![false; input.prior.objects.len()],
        diags: Diagnostics::default(),
        pending: Vec::new(),
        members: Default::default(),
        imports,
        pending_imports: Vec::new(),
    };
    match input.options.mode {
        PlanMode::Normal => {
            for &id in &g.order {
                let node = g.node(id);
                if node.kind == NodeKind::Resource {
                    walk.resource_block(&node.module, &node.name);
                }
            }
            walk.orphans(false);
            walk.unclaimed_imports();
        }
        PlanMode::Destroy => walk.orphans(true),
        PlanMode::RefreshOnly => walk.unchanged(),
    }
    diags.extend(std::mem::take(&mut walk.diags));
    let mut pending = std::mem::take(&mut walk.pending);
    let mut pending_imports = std::mem::take(&mut walk.pending_imports);
    if input.options.validate {
        // Validation reads nothing: what providers would say stays unknown.
        pending.clear();
        pending_imports.clear();
    }
    let mut planned = std::mem::take(&mut walk.planned);
    let outputs = outputs(&input, &world, &mut diags);
    if input.options.mode != PlanMode::Destroy {
        diags.extend(super::conditions::output_preconditions(input.config, &world));
        diags.extend(super::conditions::checks(input.config, &world));
    }
    if input.options.validate {
        super::conditions::evaluate_unreferenced(input.config, &world);
    }
    diags.extend(removed_still_configured(input.config));
    diags.extend(std::mem::take(&mut *world.diags.borrow_mut()));
    let mut values = store.take_values();
    for (p, v) in planned.iter_mut().zip(values.iter_mut()) {
        if p.stored_after {
            p.change.after = Some(std::mem::take(v));
        }
    }
    drop(values);
    let planned = trim(planned, &input.options.targets, &input.options.excludes);
    diags.extend(check_prevent_destroy(&planned));
    diags.extend(check_provider_moves(input.config, &planned));
    let (mut changes, deps, delete_deps) = order(planned);
    execgraph::promote_create_before_destroy(&mut changes, &deps);
    for c in changes.iter_mut() {
        if c.action == Action::CreateThenDelete && c.irreversible {
            c.irreversible = false;
        }
    }
    let graph = execgraph::build(&changes, &deps, &delete_deps);
    if execgraph::has_cycle(&graph) {
        diags.push(Diagnostic::error(
            "Cycle in execution graph",
            "The planned operations depend on each other in a cycle. This is a bug in tarn; please report it with the configuration.",
        ));
    }
    if diags.has_errors() || !pending_imports.is_empty() {
        return PlanOutcome { plan: None, diagnostics: diags, pending_reads: pending, pending_imports };
    }
    let plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        tarn_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: now(),
        binding: (*input.binding).clone(),
        mode: input.options.mode,
        variables: planned_variables(input.variables, &input.binding.lineage),
        changes,
        outputs,
        drift: input.drift.to_vec(),
        graph,
    };
    PlanOutcome { plan: Some(plan), diagnostics: diags, pending_reads: pending, pending_imports: Vec::new() }
}

fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Re-keys prior objects by the `moved {}` blocks of every module (addresses in a module's
/// moved block are relative to each instance of that module).
fn apply_moves(
    input: &PlanInput,
    world: &World,
    diags: &mut Diagnostics,
) -> (FxHashMap<Address, usize>, FxHashMap<usize, Address>) {
    let objects = &input.prior.objects;
    // Deposed objects are not claimed by configuration: they keep their address and are deleted.
    let mut index: FxHashMap<Address, usize> =
        objects.iter().enumerate().filter(|(_, o)| o.deposed.is_none()).map(|(i, o)| (o.address.clone(), i)).collect();
    let mut moved_from = FxHashMap::default();
    let mut moves = Vec::new();
    collect_moves(&input.config.root, &mut Vec::new(), world, &mut moves);
    if moves.is_empty() {
        return (index, moved_from);
    }
    for (from, to, span) in moves {
        for (i, o) in objects.iter().enumerate() {
            if o.deposed.is_some() || !o.address.is_within(&from) {
                continue;
            }
            let key = if from.key.is_none() { o.address.key.clone() } else { to.key.clone() };
            let to = to.clone().with_key(key);
            if index.contains_key(&to) {
                diags.push(
                    Diagnostic::warning(
                        "Moved object still exists",
                        format!("{} cannot be moved to {to}, because an object with that address already exists; the moved block is ignored for it.", o.address),
                    )
                    .at(span),
                );
                continue;
            }
            index.remove(&o.address);
            index.insert(to, i);
            moved_from.insert(i, o.address.clone());
        }
    }
    (index, moved_from)
}

fn collect_moves(
    tree: &crate::config::ModuleTree,
    path: &mut Vec<String>,
    world: &World,
    out: &mut Vec<(Address, Address, crate::diag::Span)>,
) {
    if !tree.module.moved.is_empty() {
        for mi in world.module_instances(path) {
            for m in &tree.module.moved {
                let rel = |a: &Address| {
                    let mut a = a.clone();
                    let mut module = mi.clone();
                    module.extend(a.module);
                    a.module = module;
                    a
                };
                out.push((rel(&m.from), rel(&m.to), m.span));
            }
        }
    }
    for (name, child) in &tree.children {
        path.push(name.clone());
        collect_moves(child, path, world, out);
        path.pop();
    }
}

/// Applies `--target` (targets and what they depend on) and `--exclude` (excluded and what
/// depends on them).
fn trim(planned: Vec<Planned>, targets: &[Address], excludes: &[Address]) -> Vec<Planned> {
    if targets.is_empty() && excludes.is_empty() {
        return planned;
    }
    let n = planned.len();
    let matches = |p: &Planned, set: &[Address]| set.iter().any(|t| p.change.address.is_within(t));
    let mut keep = vec![targets.is_empty(); n];
    if !targets.is_empty() {
        let mut stack: Vec<usize> = (0..n).filter(|&i| matches(&planned[i], targets)).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut keep[i], true) {
                continue;
            }
            stack.extend(planned[i].deps.iter().map(|&d| d as usize));
        }
    }
    if !excludes.is_empty() {
        let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, p) in planned.iter().enumerate() {
            for &d in &p.deps {
                dependants[d as usize].push(i);
            }
        }
        let mut dropped = vec![false; n];
        let mut stack: Vec<usize> = (0..n).filter(|&i| matches(&planned[i], excludes)).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut dropped[i], true) {
                continue;
            }
            stack.extend(dependants[i].iter().copied());
        }
        for i in 0..n {
            keep[i] &= !dropped[i];
        }
    }
    // Ids stay stable (dependencies point into this numbering); `order` leaves these out.
    planned
        .into_iter()
        .zip(keep)
        .map(|(mut p, k)| {
            p.excluded = !k;
            p
        })
        .collect()
}

fn check_prevent_destroy(planned: &[Planned]) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for p in planned {
        let destroys = matches!(p.change.action, Action::Delete | Action::DeleteThenCreate | Action::CreateThenDelete);
        if destroys && p.prevent_destroy && !p.excluded {
            let why = p.change.reasons.iter().map(execgraph::reason_text).collect::<Vec<_>>().join("; ");
            diags.push(
                Diagnostic::error(
                    "Instance cannot be destroyed",
                    format!(
                        "{} has lifecycle.prevent_destroy set, but this plan would destroy it ({why}). Remove prevent_destroy if destroying it is intended, or change the configuration so that it is not replaced.",
                        p.change.address
                    ),
                )
                .maybe_at(p.span)
                .for_address(&p.change.address),
            );
        }
    }
    diags
}

/// A replacement that moves an object to another provider configuration deletes the old
/// object through the configuration it lives behind, so that configuration must still be
/// there: without its block, tarn would reach the old object through an empty configuration
/// (or not at all) and leave it behind.
fn check_provider_moves(config: &crate::config::Config, planned: &[Planned]) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for p in planned.iter().filter(|p| !p.excluded) {
        let Some(old) = &p.change.prior_provider else { continue };
        if graph::declares(config, &super::providers::parse_provider_key(old)) {
            continue;
        }
        let (address, new) = (&p.change.address, &p.change.provider);
        // Point at the `provider` argument that moved it, when there is one.
        let module: Vec<String> = address.module.iter().map(|s| s.name.clone()).collect();
        let argument = graph::module_at(config, &module)
            .and_then(|t| t.module.resources.get(&format!("{}.{}", address.type_name, address.name)))
            .and_then(|r| r.provider.as_ref().map(|p| p.span));
        diags.push(
            Diagnostic::error(
                "Old provider configuration not in configuration",
                format!(
                    "{address} is now assigned provider configuration \"{new}\", but its object was created through \"{old}\", which configuration no longer declares. tarn replaces such an object: it creates the new one through \"{new}\" and destroys the old one through \"{old}\" (without that configuration it cannot reach the old object, nor even tell whether it still exists). Keep the provider block for \"{old}\" until this change is applied, then remove it; or, to leave the object where it is, assign \"{old}\" again."
                ),
            )
            .maybe_at(argument.or(p.span))
            .for_address(address),
        );
    }
    diags
}

/// Sorts changes by address and turns instance ids into change indices. Returns, per change,
/// what its new object depends on (configuration: orders creates and updates) and what its
/// old object depended on (recorded in state: orders deletes). Keeping them apart means a
/// dependency whose direction changed cannot make the graph circular.
fn order(planned: Vec<Planned>) -> (Vec<ResourceChange>, Vec<Vec<u32>>, Vec<Vec<u32>>) {
    let mut idx: Vec<usize> = (0..planned.len()).filter(|&i| !planned[i].excluded).collect();
    // A deposed object sorts right after the current object of its address.
    let key = |i: usize| (&planned[i].change.address, &planned[i].change.deposed);
    idx.sort_by(|&a, &b| key(a).cmp(&key(b)));
    let mut new_of = vec![u32::MAX; planned.len()];
    for (new, &old) in idx.iter().enumerate() {
        new_of[old] = new as u32;
    }
    // Only recorded dependencies are looked up by address (none in a plan from empty state).
    let any_recorded = idx.iter().any(|&old| !planned[old].recorded.is_empty());
    let by_address: FxHashMap<&Address, u32> = idx
        .iter()
        .filter(|&&old| any_recorded && planned[old].change.deposed.is_none())
        .map(|&old| (&planned[old].change.address, new_of[old]))
        .collect();
    // An object recorded as depending on an address depended on whichever object was there:
    // its delete also waits for the deletes of that address's deposed objects.
    let mut deposed_at: FxHashMap<&Address, Vec<u32>> = FxHashMap::default();
    for &old in idx.iter().filter(|&&old| planned[old].change.deposed.is_some()) {
        deposed_at.entry(&planned[old].change.address).or_default().push(new_of[old]);
    }
    let clean = |mut d: Vec<u32>| {
        let mut seen = FxHashSet::default();
        d.retain(|x| seen.insert(*x));
        d.sort_unstable();
        d
    };
    let mut deps = Vec::with_capacity(idx.len());
    let mut delete_deps = Vec::with_capacity(idx.len());
    let mut addr_deps = Vec::with_capacity(idx.len());
    for &old in &idx {
        let p = &planned[old];
        let d = clean(p.deps.iter().map(|&x| new_of[x as usize]).filter(|&x| x != u32::MAX).collect());
        let r = clean(
            p.recorded
                .iter()
                .flat_map(|a| {
                    by_address.get(a).copied().into_iter().chain(deposed_at.get(a).into_iter().flatten().copied())
                })
                .collect(),
        );
        // The dependencies a state row will record: the new object's, or for a delete the
        // old object's.
        let shown = if p.change.action == Action::Delete { &r } else { &d };
        let mut shown: Vec<Address> = shown.iter().map(|&x| planned[idx[x as usize]].change.address.clone()).collect();
        // A current and a deposed object of one address are one dependency by address.
        shown.dedup();
        addr_deps.push(shown);
        deps.push(d);
        delete_deps.push(r);
    }
    let mut slots: Vec<Option<Planned>> = planned.into_iter().map(Some).collect();
    let changes = idx
        .iter()
        .zip(addr_deps)
        .map(|(&old, ad)| {
            let mut c = slots[old].take().expect("each index once").change;
            c.dependencies = ad;
            c
        })
        .collect();
    (changes, deps, delete_deps)
}

fn outputs(input: &PlanInput, world: &World, diags: &mut Diagnostics) -> Vec<OutputChange> {
    let mut out = Vec::new();
    let declared = &input.config.root.module.outputs;
    let destroy = input.options.mode == PlanMode::Destroy;
    for o in declared.values() {
        let before = input.prior.outputs.get(&o.name).cloned();
        if destroy {
            if before.is_some() {
                out.push(OutputChange {
                    name: o.name.clone(),
                    action: Action::Delete,
                    before,
                    after: None,
                    sensitive: o.sensitive,
                });
            }
            continue;
        }
        let after = if input.options.mode == PlanMode::RefreshOnly {
            before.clone().unwrap_or(Value::Null)
        } else {
            world.output(&[], &o.name).map(|s| s.value).unwrap_or(Value::Null)
        };
        if let Some(d) = super::limits::check_depth(&after, &format!("output \"{}\"", o.name), o.value.span) {
            diags.push(d);
        }
        if !o.sensitive && after.contains_sensitive() {
            diags.push(
                Diagnostic::error(
                    "Output refers to sensitive values",
                    format!(
                        "The output \"{}\" contains sensitive values. To show it anyway, add `sensitive = true` to the output block (it is then hidden in plans); or, if the value is not secret, wrap it in `nonsensitive()`.",
                        o.name
                    ),
                )
                .at(o.span),
            );
        }
        let action = match &before {
            None => Action::Create,
            Some(b) if super::diff::same(b, &after) => Action::NoOp,
            Some(_) => Action::Update,
        };
        out.push(OutputChange { name: o.name.clone(), action, before, after: Some(after), sensitive: o.sensitive });
    }
    for (name, v) in &input.prior.outputs {
        if !declared.contains_key(name) {
            out.push(OutputChange {
                name: name.clone(),
                action: Action::Delete,
                before: Some(v.clone()),
                after: None,
                sensitive: v.is_sensitive(),
            });
        }
    }
    out
}

fn planned_variables(vars: &IndexMap<String, Value>, lineage: &str) -> IndexMap<String, PlannedVariable> {
    vars.iter()
        .map(|(name, v)| {
            let sensitive = v.contains_sensitive();
            let digest = super::model::variable_digest(v, lineage);
            (name.clone(), PlannedVariable { value: if sensitive { None } else { Some(v.clone()) }, sensitive, digest })
        })
        .collect()
}

/// A `removed {}` block names a resource that is no longer in configuration: naming one that
/// still is would both keep and remove it.
fn removed_still_configured(config: &crate::config::Config) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mut stack: Vec<(Vec<String>, &crate::config::ModuleTree)> = vec![(Vec::new(), &config.root)];
    while let Some((path, tree)) = stack.pop() {
        for r in &tree.module.removed {
            let mut full = path.clone();
            full.extend(r.from.module.iter().map(|s| s.name.clone()));
            let key = match r.from.mode {
                tarn_sdk::Mode::Managed => format!("{}.{}", r.from.type_name, r.from.name),
                tarn_sdk::Mode::Data => format!("data.{}.{}", r.from.type_name, r.from.name),
            };
            if let Some(res) = graph::module_at(config, &full).and_then(|t| t.module.resources.get(&key)) {
                diags.push(
                    Diagnostic::error(
                        "Removed resource still in configuration",
                        format!(
                            "The removed block names {}, which is still declared. Delete its resource block to take \
                             it out of management, or delete the removed block to keep managing it.",
                            r.from
                        ),
                    )
                    .at(r.span)
                    .related(res.span, "still declared here"),
                );
            }
        }
        for (name, child) in &tree.children {
            let mut p = path.clone();
            p.push(name.clone());
            stack.push((p, child));
        }
    }
    diags
}
