//! The planning walk: visits resource and data blocks in dependency order, expands each into
//! instances per module instance, evaluates every instance's body in its scope, judges its
//! preconditions (and a data source's postconditions on what plan read), checks it
//! against the schema, diffs it against the prior object and records the change with the
//! instances it actually read. Module-level values (variables, locals, outputs) are evaluated
//! lazily by the scope. Assembly (orphans, targets, ordering, outputs) is in `assemble`.

use super::conditions::{self, Verdict};
use super::diff::{self, same};
use super::import::{ImportRead, Wanted};
use super::model::{Action, ChangeReason, ResourceChange};
use super::scope::{Binding, Expansion, InstId, Instances, World, descend};
use super::{DataRead, PlanInput, expand, schema_check};
use crate::config::{Reference, Resource};
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::eval::Step;
use crate::graph::provider_key;
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use tarn_sdk::{Address, Mode, ModuleStep, ResourceSchema, Value};

/// A block (`TYPE.NAME`) in one module instance.
type BlockInModule = (Vec<ModuleStep>, String);

/// Planned values so far, as the scope sees them.
#[derive(Default)]
pub(crate) struct Store {
    expansions: RefCell<FxHashMap<BlockInModule, Arc<Expansion>>>,
    ids: RefCell<FxHashMap<Address, InstId>>,
    values: RefCell<Vec<Value>>,
}

impl Store {
    /// Takes the planned values out, for assembly (the scope is done with them).
    pub fn take_values(&self) -> Vec<Value> {
        std::mem::take(&mut *self.values.borrow_mut())
    }
}

impl Instances for Store {
    fn expansion(&self, module: &[ModuleStep], key: &str) -> Option<Arc<Expansion>> {
        self.expansions.borrow().get(&(module.to_vec(), key.to_string())).cloned()
    }
    fn value(&self, address: &Address, steps: &[Step]) -> Option<(Value, usize, Option<InstId>)> {
        let id = *self.ids.borrow().get(address)?;
        let (v, n) = descend(&self.values.borrow()[id as usize], steps);
        Some((v, n, Some(id)))
    }
}

/// One planned instance and what it depends on.
pub(crate) struct Planned {
    pub change: ResourceChange,
    /// Instances this one read (current configuration).
    pub deps: Vec<InstId>,
    /// Dependencies recorded in state (for deletes of objects no longer configured).
    pub recorded: Vec<Address>,
    pub prevent_destroy: bool,
    pub span: Option<Span>,
    /// Left out by `--target`/`--exclude`.
    pub excluded: bool,
    /// The planned value lives in the store until assembly (one copy, not two).
    pub stored_after: bool,
}

pub(crate) struct Walk<'a> {
    pub input: &'a PlanInput<'a>,
    pub world: &'a World<'a>,
    pub store: &'a Store,
    pub planned: Vec<Planned>,
    /// Prior objects by (moved) address.
    pub prior_index: FxHashMap<Address, usize>,
    /// Original address of prior objects moved by `moved {}` blocks.
    pub moved_from: FxHashMap<usize, Address>,
    pub consumed: Vec<bool>,
    pub diags: Diagnostics,
    pub pending: Vec<DataRead>,
    /// `depends_on = [module.x]` answers, by module instance and call (one scan each).
    pub members: RefCell<HashMap<BlockInModule, Vec<InstId>>>,
    /// `import {}` targets not yet met by the walk; what remains afterwards names no instance.
    pub imports: HashMap<Address, Wanted>,
    /// Imports to read before their targets can be planned.
    pub pending_imports: Vec<ImportRead>,
}

impl Walk<'_> {
    fn add(&mut self, p: Planned, value: Value) -> InstId {
        let id = self.planned.len() as InstId;
        if p.change.action != Action::Delete {
            self.store.ids.borrow_mut().insert(p.change.address.clone(), id);
        }
        self.store.values.borrow_mut().push(value);
        self.planned.push(p);
        id
    }

    /// Plans every instance of one block, in every instance of its module.
    pub fn resource_block(&mut self, module_path: &[String], key: &str) {
        let Some(tree) = crate::graph::module_at(self.input.config, module_path) else { return };
        let Some(resource) = tree.module.resources.get(key) else { return };
        // An error here was reported by the graph.
        let provider = provider_key(self.input.config, module_path, resource).ok();
        let block_addr = Address {
            module: Vec::new(),
            mode: resource.mode,
            type_name: resource.type_name.clone(),
            name: resource.name.clone(),
            key: None,
        };
        let schema = match &provider {
            Some(p) => self.schema(&p.name, resource, &block_addr).cloned(),
            None => None,
        };
        let provider_key = provider.map(|p| p.to_string()).unwrap_or_default();
        for mi in self.world.module_instances(module_path) {
            let inherited = self.module_call_depends(&mi);
            let what = mi
                .iter()
                .map(|s| format!("module.{}{}.", s.name, s.key.as_ref().map(|k| k.to_string()).unwrap_or_default()))
                .collect::<String>()
                + key;
            let x = match expand::expand(self.world, &mi, resource.count.as_ref(), resource.for_each.as_ref(), &what) {
                Ok(x) => x,
                Err(d) => {
                    self.diags.extend(d);
                    continue;
                }
            };
            let bindings = expand::bindings(&x);
            let mut inherited = inherited;
            inherited.extend_from_slice(&x.deps);
            self.store.expansions.borrow_mut().insert((mi.clone(), key.to_string()), Arc::new(x.expansion));
            // One growth for the whole expansion, not a doubling (and a copy of everything
            // planned so far) every few instances.
            self.planned.reserve(bindings.len());
            self.store.values.borrow_mut().reserve(bindings.len());
            self.store.ids.borrow_mut().reserve(bindings.len());
            let per_key = x.key_deps.is_some();
            for (k, binding) in bindings {
                // A for_each over a whole block: this instance depends on its own element.
                let own: Vec<InstId>;
                let inherited: &[InstId] = match &binding {
                    Binding::Each { deps, .. } if per_key && !deps.is_empty() => {
                        own = [&inherited[..], &deps[..]].concat();
                        &own
                    }
                    _ => &inherited,
                };
                let address = Address {
                    module: mi.clone(),
                    mode: resource.mode,
                    type_name: resource.type_name.clone(),
                    name: resource.name.clone(),
                    key: k,
                };
                match &schema {
                    Some(schema) => self.instance(&mi, resource, address, &provider_key, schema, &binding, inherited),
                    None => self.add_unknown(address, provider_key.clone(), resource, None),
                }
            }
        }
        self.diags.extend(std::mem::take(&mut *self.world.diags.borrow_mut()));
    }

    fn schema(&mut self, provider_name: &str, resource: &Resource, address: &Address) -> Option<&'_ ResourceSchema> {
        let Some(ps) = self.input.schemas.get(provider_name) else {
            self.diags.push(
                Diagnostic::error(
                    "Missing provider",
                    format!("{address} needs provider \"{provider_name}\", which is not available."),
                )
                .at(resource.span)
                .for_address(address),
            );
            return None;
        };
        let types = if resource.mode == Mode::Data { &ps.data_sources } else { &ps.resources };
        if !types.contains_key(&resource.type_name) {
            let hint = did_you_mean(&resource.type_name, types.keys().map(String::as_str))
                .map(|s| format!(" Did you mean \"{s}\"?"))
                .unwrap_or_default();
            let kind = if resource.mode == Mode::Data { "data source" } else { "resource type" };
            self.diags.push(
                Diagnostic::error(
                    "Unsupported resource type",
                    format!("Provider \"{provider_name}\" has no {kind} \"{}\".{hint}", resource.type_name),
                )
                .at(resource.span)
                .for_address(address),
            );
            return None;
        }
        self.input.schemas.get(provider_name).and_then(|ps| {
            if resource.mode == Mode::Data {
                ps.data_sources.get(&resource.type_name)
            } else {
                ps.resources.get(&resource.type_name)
            }
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn instance(
        &mut self,
        mi: &[ModuleStep],
        resource: &Resource,
        address: Address,
        provider_key: &str,
        schema: &ResourceSchema,
        binding: &Binding,
        inherited: &[InstId],
    ) {
        let provider_key = provider_key.to_string();
        let (raw, mut deps, errs) = self.world.eval_body(&resource.body, mi, binding);
        let failed = errs.has_errors() || !self.preconditions_hold(resource, mi, binding, &address, &mut deps);
        self.diags.extend(errs);
        self.postcondition_deps(resource, mi, binding, &mut deps);
        deps.extend(self.depends_on(mi, &resource.depends_on));
        deps.extend_from_slice(inherited);
        deps.sort_unstable();
        deps.dedup();
        let (config, errs) = schema_check::check(resource, &address, &raw, schema);
        let failed = failed || errs.has_errors();
        self.diags.extend(errs);
        if failed {
            self.add_unknown(address, provider_key, resource, Some(schema));
            return;
        }
        match resource.mode {
            Mode::Data => self.data_instance(address, provider_key, schema, config, deps, resource, binding),
            Mode::Managed => self.managed_instance(mi, address, provider_key, schema, config, deps, resource),
        }
    }

    /// Judges the instance's preconditions; a false one is an error at its condition, with
    /// its error message. One that depends on values known only after apply is judged again
    /// by apply, right before the object's operation.
    fn preconditions_hold(
        &mut self,
        resource: &Resource,
        mi: &[ModuleStep],
        binding: &Binding,
        address: &Address,
        deps: &mut Vec<InstId>,
    ) -> bool {
        let mut hold = true;
        for cond in &resource.lifecycle.preconditions {
            match conditions::judge(self.world, cond, mi, binding, None, deps) {
                Verdict::Holds | Verdict::Unknown => {}
                Verdict::Fails(message) => {
                    hold = false;
                    self.diags.push(
                        Diagnostic::error(conditions::PRECONDITION_FAILED, format!("{address}: {message}"))
                            .at(cond.condition.span)
                            .for_address(address),
                    );
                }
                Verdict::Invalid(errs) => {
                    hold = false;
                    self.diags.extend(errs);
                }
            }
        }
        hold
    }

    /// What the postconditions read besides `self` (unknown here): apply must have applied
    /// those objects before it judges them. Their errors (an undefined name) are reported now.
    fn postcondition_deps(
        &mut self,
        resource: &Resource,
        mi: &[ModuleStep],
        binding: &Binding,
        deps: &mut Vec<InstId>,
    ) {
        for cond in &resource.lifecycle.postconditions {
            let this: indexmap::IndexMap<String, Value> = [("self".to_string(), Value::Unknown)].into_iter().collect();
            let (_, read, err) = self.world.eval_with(&cond.condition, mi, binding, this);
            deps.extend(read);
            if let Some(err) = err {
                self.diags.extend(err);
            }
        }
    }

    /// A data source read at plan: its postconditions are judged on what it read (`self`),
    /// and a false one stops the plan like a false precondition.
    fn data_postconditions(&mut self, resource: &Resource, address: &Address, binding: &Binding, result: &Value) {
        for cond in &resource.lifecycle.postconditions {
            match conditions::judge(self.world, cond, &address.module, binding, Some(result), &mut Vec::new()) {
                Verdict::Holds | Verdict::Unknown => {}
                Verdict::Fails(message) => self.diags.push(
                    Diagnostic::error(conditions::POSTCONDITION_FAILED, format!("{address}: {message}"))
                        .at(cond.condition.span)
                        .for_address(address),
                ),
                Verdict::Invalid(errs) => self.diags.extend(errs),
            }
        }
    }

    /// An instance that could not be planned: its value is unknown so dependants still plan.
    /// With its schema, it is an object of unknown attributes, so that a reference to an
    /// attribute the type does not have is still reported.
    fn add_unknown(
        &mut self,
        address: Address,
        provider: String,
        resource: &Resource,
        schema: Option<&ResourceSchema>,
    ) {
        // Its errors are reported; an import into it is not "not in configuration" too.
        self.imports.remove(&address);
        if let Some(&i) = self.prior_index.get(&address) {
            self.consumed[i] = true;
        }
        let change = ResourceChange::new(address, provider, Action::NoOp);
        self.add(
            Planned {
                change,
                deps: Vec::new(),
                recorded: Vec::new(),
                prevent_destroy: false,
                span: Some(resource.span),
                excluded: false,
                stored_after: false,
            },
            match schema {
                Some(schema) => Value::Map(schema.attributes.keys().map(|k| (k.clone(), Value::Unknown)).collect()),
                None => Value::Unknown,
            },
        );
    }

    fn depends_on(&self, mi: &[ModuleStep], refs: &[Reference]) -> Vec<InstId> {
        let mut out = Vec::new();
        for r in refs {
            if let [m, call] = r.path.as_slice()
                && m == "module"
            {
                out.extend(self.module_members(mi, call));
                continue;
            }
            for addr in self.block_instances(mi, r) {
                if let Some(&id) = self.store.ids.borrow().get(&addr) {
                    out.push(id);
                }
            }
        }
        out
    }

    /// Every instance planned so far inside any instance of module call `call` of `mi`
    /// (`depends_on = [module.x]`). One scan per module instance and call, done only for such
    /// references; the graph guarantees the module was planned first.
    fn module_members(&self, mi: &[ModuleStep], call: &str) -> Vec<InstId> {
        let key = (mi.to_vec(), call.to_string());
        if let Some(ids) = self.members.borrow().get(&key) {
            return ids.clone();
        }
        let ids: Vec<InstId> = self
            .store
            .ids
            .borrow()
            .iter()
            .filter(|(a, _)| {
                a.module.len() > mi.len() && a.module[..mi.len()] == *mi && a.module[mi.len()].name == call
            })
            .map(|(_, &id)| id)
            .collect();
        self.members.borrow_mut().insert(key, ids.clone());
        ids
    }

    /// `depends_on` of the module calls that contain `mi`, resolved in their callers.
    fn module_call_depends(&self, mi: &[ModuleStep]) -> Vec<InstId> {
        let mut out = Vec::new();
        for k in 1..=mi.len() {
            let parent = &mi[..k - 1];
            let parent_path: Vec<String> = parent.iter().map(|s| s.name.clone()).collect();
            let call = crate::graph::module_at(self.input.config, &parent_path)
                .and_then(|t| t.module.module_calls.get(&mi[k - 1].name));
            if let Some(call) = call {
                out.extend(self.depends_on(parent, &call.depends_on));
            }
        }
        out
    }

    /// Addresses of every instance of the block a static reference names, in module instance `mi`.
    fn block_instances(&self, mi: &[ModuleStep], r: &Reference) -> Vec<Address> {
        let (mode, t, n) = match r.path.as_slice() {
            [d, t, n, ..] if d == "data" => (Mode::Data, t, n),
            [t, n, ..] if !matches!(t.as_str(), "var" | "local" | "module" | "count" | "each" | "path" | "tarn") => {
                (Mode::Managed, t, n)
            }
            _ => return Vec::new(),
        };
        let key = if mode == Mode::Data { format!("data.{t}.{n}") } else { format!("{t}.{n}") };
        let Some(exp) = self.store.expansion(mi, &key) else { return Vec::new() };
        exp.keys()
            .into_iter()
            .map(|k| Address { module: mi.to_vec(), mode, type_name: t.clone(), name: n.clone(), key: k })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn data_instance(
        &mut self,
        address: Address,
        provider: String,
        schema: &ResourceSchema,
        config: Value,
        deps: Vec<InstId>,
        resource: &Resource,
        binding: &Binding,
    ) {
        let waits = deps.iter().any(|&d| !matches!(self.planned[d as usize].change.action, Action::NoOp));
        let known = config.is_wholly_known();
        let cached = self
            .input
            .data
            .get(&address)
            .and_then(|answers| answers.iter().find(|a| known && same(&a.asked, &config)))
            .map(|a| a.value.clone());
        let (action, after, reasons) = match cached {
            Some(result) if !waits => {
                let result = super::statevalue::mark_sensitive(result, schema);
                self.data_postconditions(resource, &address, binding, &result);
                (Action::NoOp, result, Vec::new())
            }
            _ => {
                if known && !waits {
                    self.pending.push(DataRead {
                        address: address.clone(),
                        provider: provider.clone(),
                        type_name: address.type_name.clone(),
                        config: config.clone(),
                        prior: None,
                    });
                }
                (Action::Read, diff::replacement(schema, &config), vec![ChangeReason::ReadDeferred])
            }
        };
        let change = ResourceChange {
            address,
            provider,
            action,
            before: None,
            after: None,
            reasons,
            irreversible: false,
            notes: Vec::new(),
            dependencies: Vec::new(),
            deposed: None,
            prior_provider: None,
        };
        self.add(
            Planned {
                change,
                deps,
                recorded: Vec::new(),
                prevent_destroy: false,
                span: Some(resource.span),
                excluded: false,
                stored_after: true,
            },
            after,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn managed_instance(
        &mut self,
        mi: &[ModuleStep],
        address: Address,
        provider: String,
        schema: &ResourceSchema,
        config: Value,
        deps: Vec<InstId>,
        resource: &Resource,
    ) {
        let prior_i = self.prior_index.get(&address).copied();
        if let Some(i) = prior_i {
            self.consumed[i] = true;
        }
        let prior_obj = prior_i.map(|i| &self.input.prior.objects[i]);
        let mut prior = prior_obj.and_then(|o| o.value.as_ref());
        let recorded = prior_obj.map(|o| o.dependencies.clone()).unwrap_or_default();
        let mut reasons = Vec::new();
        if let Some(wanted) = self.imports.remove(&address) {
            match (prior_obj, self.input.imported.get(&address)) {
                (Some(_), _) => self.diags.push(
                    Diagnostic::warning(
                        "Already managed",
                        format!("{address} is already in the state, so the import block is ignored for it (it may stay, or be removed)."),
                    )
                    .at(wanted.span)
                    .for_address(&address),
                ),
                (None, Some(found)) if found.id == wanted.id => {
                    prior = Some(&found.value);
                    reasons.push(ChangeReason::Import { id: wanted.id });
                }
                (None, _) => self.pending_imports.push(ImportRead {
                    address: address.clone(),
                    provider: provider.clone(),
                    id: wanted.id,
                    span: Some(wanted.span),
                }),
            }
        }
        if let Some(from) = prior_i.and_then(|i| self.moved_from.get(&i)) {
            reasons.push(ChangeReason::Moved { from: from.to_string() });
        }
        let lc = &resource.lifecycle;
        let d = diff::diff(schema, &config, prior, &lc.ignore_changes);
        let mut replace = false;
        // The object lives behind the configuration it was created through: moving it to
        // another one means a new object there and the old one destroyed through the old one,
        // never an update sent to the wrong place or an object silently left behind. Kept for
        // an object refresh found gone too: whether it is gone was asked of the old
        // configuration, which assembly checks is still declared.
        let prior_provider = prior_obj.map(|o| &o.provider).filter(|old| **old != provider).cloned();
        let action = match prior {
            None => {
                if prior_obj.is_some() {
                    reasons.push(ChangeReason::GoneOutsideTarn);
                }
                if let Some(from) = &prior_provider {
                    reasons.push(ChangeReason::ProviderChanged { from: from.clone(), to: provider.clone() });
                }
                Action::Create
            }
            Some(_) => {
                if !d.forces_replace.is_empty() {
                    reasons.push(ChangeReason::ReplaceBecauseOf { attributes: d.forces_replace.clone() });
                    replace = true;
                }
                if self.input.options.replace.iter().any(|r| address.is_within(r)) {
                    reasons.push(ChangeReason::ReplaceByRequest);
                    replace = true;
                }
                for r in &lc.replace_triggered_by {
                    let by = r.path.join(".");
                    let triggered = self.block_instances(mi, r).iter().any(|a| {
                        self.store.ids.borrow().get(a).is_some_and(|&id| {
                            !matches!(self.planned[id as usize].change.action, Action::NoOp | Action::Read)
                        })
                    });
                    if triggered {
                        reasons.push(ChangeReason::ReplaceTriggeredBy { by });
                        replace = true;
                    }
                }
                if let Some(from) = &prior_provider {
                    reasons.push(ChangeReason::ProviderChanged { from: from.clone(), to: provider.clone() });
                    replace = true;
                }
                if replace {
                    replacement(lc)
                } else if d.changed.is_empty() {
                    Action::NoOp
                } else {
                    Action::Update
                }
            }
        };
        let mut action = action;
        let mut after = if replace { diff::replacement(schema, &config) } else { d.after };
        // An update is the provider's to judge, as Terraform's PlanResourceChange: it may refuse
        // it (an error at plan, naming the address) or say which changes cannot be made in place.
        if let (Action::Update, Some(before), true) = (action, prior, schema.refines_plan) {
            let asked = UpdateAsk { config: &config, prior: before, changed: &d.changed, span: resource.span };
            match self.update_planned(&address, &provider, schema, after, asked) {
                Ok(planned) => after = planned,
                Err(attributes) => {
                    reasons.push(ChangeReason::ReplaceBecauseOf { attributes });
                    action = replacement(lc);
                    after = diff::replacement(schema, &config);
                }
            }
        }
        let after = match action {
            Action::Create | Action::DeleteThenCreate | Action::CreateThenDelete => {
                self.refined(&address, &provider, schema, after, resource.span)
            }
            _ => after,
        };
        let irreversible = schema.destroy_irreversible_for(prior) && action == Action::DeleteThenCreate;
        let notes = match (action, prior) {
            (Action::Update, Some(before)) => schema.notes_for_update(before, &after),
            (Action::DeleteThenCreate | Action::CreateThenDelete, Some(before)) => {
                schema.destroy_notes_for(Some(before))
            }
            _ => Vec::new(),
        };
        let change = ResourceChange {
            address,
            provider,
            action,
            before: prior.cloned(),
            after: None,
            reasons,
            irreversible,
            notes,
            dependencies: Vec::new(),
            deposed: None,
            prior_provider,
        };
        self.add(
            Planned {
                change,
                deps,
                recorded,
                prevent_destroy: lc.prevent_destroy,
                span: Some(resource.span),
                excluded: false,
                stored_after: true,
            },
            after,
        );
    }

    /// Import blocks whose target the walk never met: the address names no instance that
    /// configuration produces (a key count/for_each does not give, a missing key).
    pub fn unclaimed_imports(&mut self) {
        let mut left: Vec<(Address, Wanted)> = std::mem::take(&mut self.imports).into_iter().collect();
        left.sort_by(|a, b| a.0.cmp(&b.0));
        for (address, wanted) in left {
            let block = Address { key: None, ..address.clone() };
            let key = format!("{}.{}", address.type_name, address.name);
            let known = self.store.expansion(&address.module, &key).map(|x| x.keys());
            let detail = match known {
                Some(keys) if !keys.is_empty() => {
                    let names: Vec<String> = keys.into_iter().map(|k| block.clone().with_key(k).to_string()).collect();
                    format!(
                        "Configuration has no instance {address}; {block} has: {}. Import into one of them.",
                        names.join(", ")
                    )
                }
                Some(_) => format!(
                    "Configuration has no instance {address}: {block} has no instances (count or for_each is empty)."
                ),
                None => {
                    format!("Configuration has no instance {address}: its module instance is not in configuration.")
                }
            };
            self.diags.push(
                Diagnostic::error("Import target not in configuration", detail).at(wanted.span).for_address(&address),
            );
        }
    }

    /// Refresh-only: every recorded object, unchanged.
    pub fn unchanged(&mut self) {
        for obj in self.input.prior.objects.iter().filter(|o| o.deposed.is_none()) {
            let change = ResourceChange {
                address: obj.address.clone(),
                provider: obj.provider.clone(),
                action: Action::NoOp,
                before: obj.value.clone(),
                after: obj.value.clone(),
                reasons: Vec::new(),
                irreversible: false,
                notes: Vec::new(),
                dependencies: Vec::new(),
                deposed: None,
                prior_provider: None,
            };
            let p = Planned {
                change,
                deps: Vec::new(),
                recorded: obj.dependencies.clone(),
                prevent_destroy: false,
                span: None,
                excluded: false,
                stored_after: false,
            };
            self.add(p, obj.value.clone().unwrap_or(Value::Null));
        }
    }

    /// Deletes for prior objects that no configured instance claimed (every object, when
    /// `destroy` is set).
    pub fn orphans(&mut self, destroy: bool) {
        let prior = &self.input.prior;
        for (i, obj) in prior.objects.iter().enumerate() {
            if self.consumed[i] || obj.address.mode == Mode::Data {
                continue;
            }
            if obj.deposed.is_some() {
                self.deposed(obj, destroy);
                continue;
            }
            let module_path: Vec<String> = obj.address.module.iter().map(|s| s.name.clone()).collect();
            let block_key = match obj.address.mode {
                Mode::Managed => format!("{}.{}", obj.address.type_name, obj.address.name),
                Mode::Data => format!("data.{}.{}", obj.address.type_name, obj.address.name),
            };
            let block = crate::graph::module_at(self.input.config, &module_path)
                .and_then(|t| t.module.resources.get(&block_key));
            let module_exists = !destroy && self.world.module_instances(&module_path).contains(&obj.address.module);
            let mut reasons = vec![if destroy {
                ChangeReason::DestroyRequested
            } else if block.is_some() && module_exists {
                ChangeReason::KeyNotInConfig
            } else {
                ChangeReason::NotInConfig
            }];
            if obj.value.is_none() {
                reasons.push(ChangeReason::GoneOutsideTarn);
            }
            let mut change = self.delete_of(obj, reasons);
            if !destroy && block.is_none() && forgets(self.input.config, &obj.address) {
                change.action = Action::NoOp;
                change.reasons = vec![ChangeReason::Forget];
                change.irreversible = false;
            }
            let prevent_destroy = block.is_some_and(|b| b.lifecycle.prevent_destroy);
            let p = Planned {
                change,
                deps: Vec::new(),
                recorded: obj.dependencies.clone(),
                prevent_destroy,
                span: block.map(|b| b.span),
                excluded: false,
                stored_after: false,
            };
            self.add(p, Value::Null);
        }
    }

    /// The delete of a deposed object: an older object of an address that a
    /// create_before_destroy replacement set aside and an interrupted or failed apply left
    /// behind. Always planned (configuration cannot claim it), in the final-destroy phase like
    /// any destroy, after whatever depends on it; `prevent_destroy` does not apply, since the
    /// object was already replaced.
    fn deposed(&mut self, obj: &super::PriorObject, destroy: bool) {
        let mut reasons = Vec::new();
        if destroy {
            reasons.push(ChangeReason::DestroyRequested);
        }
        if obj.value.is_none() {
            reasons.push(ChangeReason::GoneOutsideTarn);
        }
        let change = self.delete_of(obj, reasons);
        let p = Planned {
            change,
            deps: Vec::new(),
            recorded: obj.dependencies.clone(),
            prevent_destroy: false,
            span: None,
            excluded: false,
            stored_after: false,
        };
        self.add(p, Value::Null);
    }

    /// The change deleting a recorded object (current or deposed).
    fn delete_of(&self, obj: &super::PriorObject, reasons: Vec<ChangeReason>) -> ResourceChange {
        let schema = self
            .input
            .schemas
            .get(super::providers::parse_provider_key(&obj.provider).name.as_str())
            .and_then(|s| s.resources.get(&obj.address.type_name));
        let irreversible = schema.is_some_and(|s| s.destroy_irreversible_for(obj.value.as_ref()));
        let notes = schema.map(|s| s.destroy_notes_for(obj.value.as_ref())).unwrap_or_default();
        ResourceChange {
            address: obj.address.clone(),
            provider: obj.provider.clone(),
            action: Action::Delete,
            before: obj.value.clone(),
            after: None,
            reasons,
            irreversible,
            notes,
            dependencies: Vec::new(),
            deposed: obj.deposed.clone(),
            prior_provider: None,
        }
    }

    /// The planned value of an in-place update, by the provider's `plan` (with the prior
    /// object), or `Err` with the changed attributes it says cannot change in place. The first
    /// round asks and keeps the proposed value; the next uses the answer. The provider may set
    /// computed attributes the configuration leaves unset (unknown: known after apply); an
    /// answer that contradicts anything else is an error naming the provider. Secrets are
    /// withheld as for a create.
    fn update_planned(
        &mut self,
        address: &Address,
        provider: &str,
        schema: &ResourceSchema,
        proposed: Value,
        ask: UpdateAsk<'_>,
    ) -> Result<Value, Vec<String>> {
        let Value::Map(attrs) = &proposed else { return Ok(proposed) };
        let asked = withheld(&proposed);
        let answer = self.input.data.get(address).and_then(|all| all.iter().find(|a| a.with_prior && a.asked == asked));
        let Some(answer) = answer else {
            self.pending.push(DataRead {
                address: address.clone(),
                provider: provider.to_string(),
                type_name: address.type_name.clone(),
                config: asked,
                prior: Some(withheld(ask.prior)),
            });
            return Ok(proposed);
        };
        let forced: Vec<String> = ask.changed.iter().filter(|k| answer.requires_replace.contains(k)).cloned().collect();
        if !forced.is_empty() {
            return Err(forced);
        }
        let mut out = attrs.clone();
        for (k, v) in attrs {
            let given = answer.value.get(k);
            let sent = asked.get(k).unwrap_or(&Value::Null);
            let providers = !v.is_sensitive()
                && ask.config.get(k).is_none_or(Value::is_null)
                && schema.attributes.get(k).is_some_and(|a| a.computed && !a.sensitive);
            if providers {
                if let Some(g) = given {
                    out.insert(k.clone(), g.clone());
                }
            } else if sent.is_wholly_known() && given.is_some_and(|g| g.to_json_unmarked() != sent.to_json_unmarked()) {
                self.diags.push(
                    Diagnostic::error(
                        "Provider produced an invalid plan",
                        format!("The provider of {address} planned a different value for `{k}` than the configuration gives. This is a bug in the provider; the planned values were not used."),
                    )
                    .at(ask.span)
                    .for_address(address),
                );
                return Ok(proposed);
            }
        }
        Ok(super::statevalue::mark_sensitive(Value::Map(out), schema))
    }

    /// The planned value of a create (or a replacement's create), refined by the provider's
    /// `plan` where the schema says it predicts computed attributes and some are still unknown.
    /// The first round asks (a pending call
    /// that `plan_with_data` makes); the next uses the answer given for this same proposed
    /// value. Only unknown computed attributes are taken from the answer; an answer that
    /// contradicts a value the configuration decides is an error naming the provider.
    /// Secrets are withheld: the provider sees sensitive parts as unknown, and no prediction is
    /// taken for a sensitive attribute, so nothing predicted derives from a secret (a checksum of
    /// sensitive content stays known only after apply, and could not reveal it).
    fn refined(
        &mut self,
        address: &Address,
        provider: &str,
        schema: &ResourceSchema,
        proposed: Value,
        span: Span,
    ) -> Value {
        let Value::Map(attrs) = &proposed else { return proposed };
        let computed_unknown = |k: &String, v: &Value| {
            !v.is_sensitive() && v.is_unknown() && schema.attributes.get(k).is_some_and(|a| a.computed && !a.sensitive)
        };
        if !schema.refines_plan || !attrs.iter().any(|(k, v)| computed_unknown(k, v)) {
            return proposed;
        }
        let asked = withheld(&proposed);
        let answer =
            self.input.data.get(address).and_then(|all| all.iter().find(|a| !a.with_prior && a.asked == asked));
        let Some(answer) = answer.map(|a| &a.value) else {
            self.pending.push(DataRead {
                address: address.clone(),
                provider: provider.to_string(),
                type_name: address.type_name.clone(),
                config: asked,
                prior: None,
            });
            return proposed;
        };
        let mut out = attrs.clone();
        for (k, v) in attrs {
            let given = answer.get(k);
            let sent = asked.get(k).unwrap_or(&Value::Null);
            if sent.is_wholly_known() {
                if given.is_some_and(|g| g.to_json_unmarked() != sent.to_json_unmarked()) {
                    self.diags.push(
                        Diagnostic::error(
                            "Provider produced an invalid plan",
                            format!("The provider of {address} planned a different value for `{k}` than the configuration gives. This is a bug in the provider; the planned values were not used."),
                        )
                        .at(span)
                        .for_address(address),
                    );
                    return proposed;
                }
            } else if computed_unknown(k, v)
                && let Some(g) = given.filter(|g| !g.is_unknown())
            {
                out.insert(k.clone(), g.clone());
            }
        }
        super::statevalue::mark_sensitive(Value::Map(out), schema)
    }
}

/// The replacing action the lifecycle asks for.
fn replacement(lc: &crate::config::Lifecycle) -> Action {
    if lc.create_before_destroy { Action::CreateThenDelete } else { Action::DeleteThenCreate }
}

/// What an update's provider plan is judged against.
struct UpdateAsk<'v> {
    /// The evaluated configuration: the attributes it sets are not the provider's to change.
    config: &'v Value,
    prior: &'v Value,
    /// The attributes the default diff found changed: only those can require replacement.
    changed: &'v [String],
    span: Span,
}

/// `v` as a provider's `plan` may see it: every sensitive part unknown.
fn withheld(v: &Value) -> Value {
    match v {
        Value::Sensitive(_) => Value::Unknown,
        Value::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), withheld(v))).collect()),
        Value::List(l) | Value::Set(l) => Value::List(l.iter().map(withheld).collect()),
        other => other.clone(),
    }
}

/// Whether a `removed {}` block with `destroy = false` covers `address` (in the module that
/// declares the block, its `from` relative to that module).
fn forgets(config: &crate::config::Config, address: &Address) -> bool {
    let names: Vec<&str> = address.module.iter().map(|s| s.name.as_str()).collect();
    let mut stack: Vec<(Vec<&str>, &crate::config::ModuleTree)> = vec![(Vec::new(), &config.root)];
    while let Some((path, tree)) = stack.pop() {
        for r in tree.module.removed.iter().filter(|r| !r.destroy) {
            let full: Vec<&str> = path.iter().copied().chain(r.from.module.iter().map(|s| s.name.as_str())).collect();
            if full == names
                && r.from.mode == address.mode
                && r.from.type_name == address.type_name
                && r.from.name == address.name
            {
                return true;
            }
        }
        for (name, child) in &tree.children {
            let mut p = path.clone();
            p.push(name.as_str());
            stack.push((p, child));
        }
    }
    false
}
