//! Evaluation scopes: the [`Resolver`] that answers `var.*`, `local.*`, `module.*`,
//! `TYPE.NAME[key]`, `data.*`, `count.index`, `each.*`, `path.*` and `tarn.workspace` for one
//! module instance, and the [`World`] behind it that evaluates variables, locals, module
//! outputs and module expansions lazily, once each (memoized), recording which resource
//! instances every value was derived from (precise instance-level dependencies).
//!
//! Resource values come from an [`Instances`] source: planned values during plan, applied
//! values during apply (the finalizer), so both phases share one scope implementation. This
//! module must not decide actions or talk to providers.

use super::lang;
use crate::config::{Config, Expr, ModuleTree};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Span};
use crate::eval::{EvalContext, Resolved, Resolver, Step};
use indexmap::IndexMap;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use tarn_sdk::{Address, InstanceKey, Mode, ModuleStep, Value};

/// Instance id: index of a planned instance (see the walk); recorded as a dependency.
pub type InstId = u32;

/// How a block expanded in one module instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Expansion {
    Single,
    Count(usize),
    ForEach(Vec<String>),
}

impl Expansion {
    pub fn keys(&self) -> Vec<Option<InstanceKey>> {
        match self {
            Expansion::Single => vec![None],
            Expansion::Count(n) => (0..*n as i64).map(|i| Some(InstanceKey::Int(i))).collect(),
            Expansion::ForEach(ks) => ks.iter().map(|k| Some(InstanceKey::Str(k.clone()))).collect(),
        }
    }
}

/// Where resource instance values come from.
pub trait Instances {
    /// The expansion of block `key` (`TYPE.NAME`/`data.TYPE.NAME`) in module instance `module`;
    /// `None` when it has not been (or will not be) planned.
    fn expansion(&self, module: &[ModuleStep], key: &str) -> Option<Arc<Expansion>>;
    /// The value of one instance, descended along as many of `steps` as can be followed
    /// without copying the whole object (see [`descend`]), the number of steps consumed, and
    /// the instance's id.
    fn value(&self, address: &Address, steps: &[Step]) -> Option<(Value, usize, Option<InstId>)>;
}

/// Follows attribute and index steps into `value` by reference and clones only what is
/// reached. Stops at marks (sensitive, unknown) and at anything it cannot follow, leaving the
/// rest (and its error messages) to the evaluator.
pub fn descend(value: &Value, steps: &[Step]) -> (Value, usize) {
    let mut cur = value;
    let mut n = 0;
    for step in steps {
        let next = match (cur, step) {
            (Value::Map(m), Step::Attr(a)) => m.get(a),
            (Value::Map(m), Step::Index(Value::String(k))) => m.get(k),
            (Value::List(l), Step::Index(Value::Number(i))) if i.fract() == 0.0 && *i >= 0.0 => l.get(*i as usize),
            _ => None,
        };
        match next {
            Some(v) => {
                cur = v;
                n += 1;
            }
            None => break,
        }
    }
    (cur.clone(), n)
}

/// What `count.index` / `each.*` mean in the current evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Binding {
    #[default]
    None,
    Count(i64),
    Each { key: String, value: Value },
}

impl Binding {
    pub fn for_key(key: &Option<InstanceKey>, each_values: Option<&IndexMap<String, Value>>) -> Binding {
        match key {
            None => Binding::None,
            Some(InstanceKey::Int(i)) => Binding::Count(*i),
            Some(InstanceKey::Str(k)) => Binding::Each {
                key: k.clone(),
                value: each_values.and_then(|m| m.get(k)).cloned().unwrap_or_else(|| Value::string(k.clone())),
            },
        }
    }
}

/// A value with the instances it was derived from.
#[derive(Debug, Clone, Default)]
pub struct Slot {
    pub value: Value,
    pub deps: Vec<InstId>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum SlotKind {
    Var,
    Local,
    Output,
}

/// One module call's instances in one parent instance: key and the binding its inputs see.
pub type ModuleKeys = Vec<(Option<InstanceKey>, Binding)>;

/// Lazily evaluated, memoized module-level values over a resource value source.
pub struct World<'a> {
    pub config: &'a Config,
    pub root_vars: &'a IndexMap<String, Value>,
    pub instances: &'a dyn Instances,
    pub workspace: &'a str,
    pub cwd: &'a Path,
    memo: RefCell<HashMap<(Vec<ModuleStep>, SlotKind, String), Slot>>,
    calls: RefCell<HashMap<(Vec<ModuleStep>, String), ModuleKeys>>,
    busy: RefCell<HashSet<(Vec<ModuleStep>, SlotKind, String)>>,
    pub diags: RefCell<Diagnostics>,
}

impl<'a> World<'a> {
    pub fn new(
        config: &'a Config,
        root_vars: &'a IndexMap<String, Value>,
        instances: &'a dyn Instances,
        workspace: &'a str,
        cwd: &'a Path,
    ) -> Self {
        World {
            config,
            root_vars,
            instances,
            workspace,
            cwd,
            memo: RefCell::default(),
            calls: RefCell::default(),
            busy: RefCell::default(),
            diags: RefCell::default(),
        }
    }

    pub fn tree(&self, module: &[ModuleStep]) -> Option<&'a ModuleTree> {
        let mut t = &self.config.root;
        for s in module {
            t = t.children.get(&s.name)?;
        }
        Some(t)
    }

    /// Evaluates `expr` in module instance `module` with `binding`; errors go to `diags`
    /// and give `Unknown`, so one problem does not hide others.
    pub fn eval(&self, expr: &Expr, module: &[ModuleStep], binding: &Binding) -> (Value, Vec<InstId>, Option<Diagnostics>) {
        let resolver = ScopeResolver { world: self, module, binding, deps: RefCell::default() };
        let dir = self.tree(module).map(|t| t.module.dir.clone()).unwrap_or_default();
        let ctx = EvalContext { resolver: &resolver, module_dir: dir };
        let result = lang::evaluate(expr, &ctx);
        let deps = resolver.deps.into_inner();
        match result {
            Ok(v) => (v, deps, None),
            Err(d) => (Value::Unknown, deps, Some(d)),
        }
    }

    fn slot(&self, module: &[ModuleStep], kind: SlotKind, name: &str) -> Option<Slot> {
        let key = (module.to_vec(), kind, name.to_string());
        if let Some(s) = self.memo.borrow().get(&key) {
            return Some(s.clone());
        }
        if !self.busy.borrow_mut().insert(key.clone()) {
            // A cycle; the graph reports it. Unknown keeps evaluation going.
            return Some(Slot { value: Value::Unknown, deps: Vec::new() });
        }
        let slot = self.compute(module, kind, name);
        self.busy.borrow_mut().remove(&key);
        let slot = slot?;
        self.memo.borrow_mut().insert(key, slot.clone());
        Some(slot)
    }

    fn report(&self, d: Option<Diagnostics>) {
        if let Some(d) = d {
            self.diags.borrow_mut().extend(d);
        }
    }

    fn compute(&self, module: &[ModuleStep], kind: SlotKind, name: &str) -> Option<Slot> {
        let tree = self.tree(module)?;
        let m = &tree.module;
        match kind {
            SlotKind::Local => {
                let l = m.locals.get(name)?;
                let (value, deps, d) = self.eval(&l.value, module, &Binding::None);
                self.report(d);
                Some(Slot { value, deps })
            }
            SlotKind::Output => {
                let o = m.outputs.get(name)?;
                let (value, deps, d) = self.eval(&o.value, module, &Binding::None);
                self.report(d);
                let value = if o.sensitive { value.sensitive() } else { value };
                Some(Slot { value, deps })
            }
            SlotKind::Var => {
                let var = m.variables.get(name)?;
                if module.is_empty() {
                    let value = self.root_vars.get(name).cloned().unwrap_or(Value::Null);
                    return Some(Slot { value, deps: Vec::new() });
                }
                let (parent, last) = module.split_at(module.len() - 1);
                let call_name = &last[0].name;
                let parent_tree = self.tree(parent)?;
                let call = parent_tree.module.module_calls.get(call_name)?;
                let (raw, deps) = match call.inputs.get(name) {
                    Some(attr) => {
                        let binding = self
                            .module_keys(parent, call_name)
                            .into_iter()
                            .find(|(k, _)| *k == last[0].key)
                            .map(|(_, b)| b)
                            .unwrap_or_default();
                        let (v, deps, d) = self.eval(&attr.value, parent, &binding);
                        self.report(d);
                        (v, deps)
                    }
                    None => match &var.default {
                        Some(e) => {
                            let (v, deps, d) = self.eval(e, module, &Binding::None);
                            self.report(d);
                            (v, deps)
                        }
                        None => (Value::Null, Vec::new()),
                    },
                };
                let value = match lang::convert_variable(&raw, var) {
                    Ok(v) => v,
                    Err(msg) => {
                        let span = call.inputs.get(name).map(|a| a.value.span).unwrap_or(call.span);
                        self.diags.borrow_mut().push(
                            Diagnostic::error(
                                "Invalid value for input variable",
                                format!("The value given for \"{name}\" of module \"{call_name}\" is not a {}: {msg}.", var.ty),
                            )
                            .at(span),
                        );
                        Value::Unknown
                    }
                };
                let value = if var.sensitive { value.sensitive() } else { value };
                Some(Slot { value, deps })
            }
        }
    }

    /// Instances of module call `call` inside module instance `parent`. An unknown or invalid
    /// count/for_each is reported and gives no instances.
    pub fn module_keys(&self, parent: &[ModuleStep], call_name: &str) -> ModuleKeys {
        let key = (parent.to_vec(), call_name.to_string());
        if let Some(k) = self.calls.borrow().get(&key) {
            return k.clone();
        }
        let keys = match self.tree(parent).and_then(|t| t.module.module_calls.get(call_name)) {
            None => Vec::new(),
            Some(call) => {
                let what = format!("module.{call_name}");
                match super::expand::expand(self, parent, call.count.as_ref(), call.for_each.as_ref(), &what) {
                    Ok((exp, each)) => exp.keys().into_iter().map(|k| {
                        let b = Binding::for_key(&k, each.as_ref());
                        (k, b)
                    }).collect(),
                    Err(d) => {
                        self.diags.borrow_mut().extend(d);
                        Vec::new()
                    }
                }
            }
        };
        self.calls.borrow_mut().insert(key, keys.clone());
        keys
    }

    /// Every instance path of the module at static path `path`.
    pub fn module_instances(&self, path: &[String]) -> Vec<Vec<ModuleStep>> {
        let mut out: Vec<Vec<ModuleStep>> = vec![Vec::new()];
        for name in path {
            let mut next = Vec::new();
            for parent in &out {
                for (key, _) in self.module_keys(parent, name) {
                    let mut p = parent.clone();
                    p.push(ModuleStep { name: name.clone(), key });
                    next.push(p);
                }
            }
            out = next;
        }
        out
    }

    /// Evaluates a block body into an object: attributes by name, nested blocks as lists of
    /// objects under their block type. Errors are returned, not recorded.
    pub fn eval_body(&self, body: &crate::config::Body, module: &[ModuleStep], binding: &Binding) -> (Value, Vec<InstId>, Diagnostics) {
        let mut out = IndexMap::new();
        let mut deps = Vec::new();
        let mut diags = Diagnostics::default();
        for (name, a) in &body.attributes {
            let (v, d, err) = self.eval(&a.value, module, binding);
            deps.extend(d);
            if let Some(err) = err {
                diags.extend(err);
            }
            out.insert(name.clone(), v);
        }
        for block in &body.blocks {
            let (v, d, err) = self.eval_body(&block.body, module, binding);
            deps.extend(d);
            diags.extend(err);
            match out.entry(block.kind.clone()).or_insert_with(|| Value::List(Vec::new())) {
                Value::List(items) => items.push(v),
                _ => diags.push(
                    Diagnostic::error("Duplicate argument", format!("\"{}\" is set both as an argument and as a block.", block.kind)).at(block.span),
                ),
            }
        }
        (Value::Map(out), deps, diags)
    }

    pub fn output(&self, module: &[ModuleStep], name: &str) -> Option<Slot> {
        self.slot(module, SlotKind::Output, name)
    }
}

/// The resolver for one evaluation.
pub struct ScopeResolver<'w, 'a> {
    pub world: &'w World<'a>,
    pub module: &'w [ModuleStep],
    pub binding: &'w Binding,
    pub deps: RefCell<Vec<InstId>>,
}

fn undefined(summary: &str, detail: String, span: Span) -> Diagnostic {
    Diagnostic::error(summary, detail).at(span)
}

fn attr(steps: &[Step], i: usize) -> Option<&str> {
    match steps.get(i) {
        Some(Step::Attr(a)) => Some(a),
        _ => None,
    }
}

/// `Index(v)` as an instance key, when it is one.
fn index_key(step: Option<&Step>) -> Option<Option<InstanceKey>> {
    match step? {
        Step::Index(v) => match v.unmark().0 {
            Value::Number(n) if n.fract() == 0.0 => Some(Some(InstanceKey::Int(*n as i64))),
            Value::String(s) => Some(Some(InstanceKey::Str(s.clone()))),
            Value::Unknown => Some(None),
            _ => None,
        },
        Step::Attr(_) => None,
    }
}

impl ScopeResolver<'_, '_> {
    fn take(&self, slot: Slot) -> Value {
        self.deps.borrow_mut().extend(slot.deps);
        slot.value
    }

    fn resource(&self, key: &str, mode: Mode, type_name: &str, name: &str, steps: &[Step], consumed: usize, span: Span) -> Result<Option<Resolved>, Diagnostic> {
        let w = self.world;
        let exists = w.tree(self.module).is_some_and(|t| t.module.resources.contains_key(key));
        if !exists {
            let names: Vec<&str> = w.tree(self.module).map(|t| t.module.resources.keys().map(String::as_str).collect()).unwrap_or_default();
            let hint = did_you_mean(key, names).map(|s| format!(" Did you mean {s}?")).unwrap_or_default();
            return Err(undefined("Reference to undeclared resource", format!("No resource \"{key}\" is declared in this module.{hint}"), span));
        }
        let addr = Address { module: self.module.to_vec(), mode, type_name: type_name.to_string(), name: name.to_string(), key: None };
        let Some(exp) = w.instances.expansion(self.module, key) else {
            return Ok(Some(Resolved { value: Value::Unknown, consumed }));
        };
        let one = |k: Option<InstanceKey>, rest: &[Step]| -> Result<(Value, usize), Diagnostic> {
            let mut a = addr.clone();
            a.key = k;
            match w.instances.value(&a, rest) {
                Some((v, n, id)) => {
                    if let Some(id) = id {
                        self.deps.borrow_mut().push(id);
                    }
                    Ok((v, n))
                }
                None => Err(Diagnostic::error(
                    "Invalid index",
                    format!("{} has no instance {}.", addr, a.key.map(|k| k.to_string()).unwrap_or_default()),
                )
                .at(span)),
            }
        };
        if *exp == Expansion::Single {
            let (value, n) = one(None, &steps[consumed.min(steps.len())..])?;
            return Ok(Some(Resolved { value, consumed: consumed + n }));
        }
        match index_key(steps.get(consumed)) {
            Some(Some(k)) => {
                let (value, n) = one(Some(k), &steps[consumed + 1..])?;
                Ok(Some(Resolved { value, consumed: consumed + 1 + n }))
            }
            Some(None) | None => {
                // The whole block: a list (count) or an object (for_each) of every instance.
                let value = match &*exp {
                    Expansion::ForEach(ks) => {
                        let mut m = IndexMap::new();
                        for k in ks {
                            m.insert(k.clone(), one(Some(InstanceKey::Str(k.clone())), &[])?.0);
                        }
                        Value::Map(m)
                    }
                    _ => Value::List(exp.keys().into_iter().map(|k| one(k, &[]).map(|x| x.0)).collect::<Result<_, _>>()?),
                };
                let unknown_index = matches!(index_key(steps.get(consumed)), Some(None));
                Ok(Some(Resolved { value: if unknown_index { Value::Unknown } else { value }, consumed: consumed + usize::from(unknown_index) }))
            }
        }
    }

    fn module_ref(&self, steps: &[Step], span: Span) -> Result<Option<Resolved>, Diagnostic> {
        let w = self.world;
        let Some(call) = attr(steps, 0) else { return Ok(None) };
        let Some(tree) = w.tree(self.module) else { return Ok(None) };
        let Some(mc) = tree.module.module_calls.get(call) else {
            let hint = did_you_mean(call, tree.module.module_calls.keys().map(String::as_str))
                .map(|s| format!(" Did you mean module.{s}?"))
                .unwrap_or_default();
            return Err(undefined("Reference to undeclared module", format!("No module call named \"{call}\" is declared.{hint}"), span));
        };
        let keys = w.module_keys(self.module, call);
        let child_path = |key: Option<InstanceKey>| {
            let mut p = self.module.to_vec();
            p.push(ModuleStep { name: call.to_string(), key });
            p
        };
        let object = |path: &[ModuleStep]| -> Value {
            let outs = w.tree(path).map(|t| t.module.outputs.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
            Value::Map(outs.into_iter().map(|o| {
                let v = w.output(path, &o).map(|s| self.take(s)).unwrap_or(Value::Null);
                (o, v)
            }).collect())
        };
        let keyed = mc.count.is_some() || mc.for_each.is_some();
        let (path, consumed) = if keyed {
            match index_key(steps.get(1)) {
                Some(Some(k)) => {
                    if !keys.iter().any(|(kk, _)| kk.as_ref() == Some(&k)) {
                        return Err(Diagnostic::error("Invalid index", format!("module.{call} has no instance {k}.")).at(span));
                    }
                    (child_path(Some(k)), 2)
                }
                Some(None) => return Ok(Some(Resolved { value: Value::Unknown, consumed: 2 })),
                None => {
                    let value = if mc.for_each.is_some() {
                        Value::Map(keys.iter().map(|(k, _)| {
                            let name = match k { Some(InstanceKey::Str(s)) => s.clone(), _ => String::new() };
                            (name, object(&child_path(k.clone())))
                        }).collect())
                    } else {
                        Value::List(keys.iter().map(|(k, _)| object(&child_path(k.clone()))).collect())
                    };
                    return Ok(Some(Resolved { value, consumed: 1 }));
                }
            }
        } else {
            (child_path(None), 1)
        };
        match attr(steps, consumed) {
            Some(out) => match w.output(&path, out) {
                Some(slot) => Ok(Some(Resolved { value: self.take(slot), consumed: consumed + 1 })),
                None => Err(Diagnostic::error("Unsupported attribute", format!("Module \"{call}\" has no output named \"{out}\".")).at(span)),
            },
            None => Ok(Some(Resolved { value: object(&path), consumed })),
        }
    }
}

impl Resolver for ScopeResolver<'_, '_> {
    fn resolve(&self, root: &str, steps: &[Step], span: Span) -> Result<Option<Resolved>, Diagnostic> {
        let w = self.world;
        let tree = w.tree(self.module);
        match root {
            "var" | "local" => {
                let Some(name) = attr(steps, 0) else {
                    return Err(undefined("Invalid reference", format!("`{root}` must be followed by a name, like `{root}.example`."), span));
                };
                let kind = if root == "var" { SlotKind::Var } else { SlotKind::Local };
                match w.slot(self.module, kind, name) {
                    Some(s) => Ok(Some(Resolved { value: self.take(s), consumed: 1 })),
                    None => {
                        let names: Vec<String> = tree
                            .map(|t| if root == "var" { t.module.variables.keys().cloned().collect() } else { t.module.locals.keys().cloned().collect() })
                            .unwrap_or_default();
                        let hint = did_you_mean(name, names.iter().map(String::as_str)).map(|s| format!(" Did you mean {root}.{s}?")).unwrap_or_default();
                        let summary = if root == "var" { "Reference to undeclared input variable" } else { "Reference to undeclared local value" };
                        Err(undefined(summary, format!("\"{name}\" is not declared in this module.{hint}"), span))
                    }
                }
            }
            "count" => match (self.binding, attr(steps, 0)) {
                (Binding::Count(i), Some("index")) => Ok(Some(Resolved { value: Value::Number(*i as f64), consumed: 1 })),
                _ => Err(undefined("Reference to \"count\" in non-counted context", "`count.index` is only available in blocks that set `count`.".into(), span)),
            },
            "each" => match (self.binding, attr(steps, 0)) {
                (Binding::Each { key, .. }, Some("key")) => Ok(Some(Resolved { value: Value::string(key.clone()), consumed: 1 })),
                (Binding::Each { value, .. }, Some("value")) => Ok(Some(Resolved { value: value.clone(), consumed: 1 })),
                _ => Err(undefined("Reference to \"each\" in context without for_each", "`each.key` and `each.value` are only available in blocks that set `for_each`.".into(), span)),
            },
            "path" => {
                let dir = |p: &Path| Value::string(p.display().to_string());
                match attr(steps, 0) {
                    Some("module") => Ok(Some(Resolved { value: dir(&tree.map(|t| t.module.dir.clone()).unwrap_or_default()), consumed: 1 })),
                    Some("root") => Ok(Some(Resolved { value: dir(&w.config.root.module.dir), consumed: 1 })),
                    Some("cwd") => Ok(Some(Resolved { value: dir(w.cwd), consumed: 1 })),
                    _ => Err(undefined("Invalid reference", "`path` offers `path.module`, `path.root` and `path.cwd`.".into(), span)),
                }
            }
            "tarn" | "terraform" => match attr(steps, 0) {
                Some("workspace") => Ok(Some(Resolved { value: Value::string(w.workspace), consumed: 1 })),
                _ => Err(undefined("Invalid reference", format!("`{root}` offers only `{root}.workspace`."), span)),
            },
            "module" => self.module_ref(steps, span),
            "data" => match (attr(steps, 0), attr(steps, 1)) {
                (Some(t), Some(n)) => self.resource(&format!("data.{t}.{n}"), Mode::Data, t, n, steps, 2, span),
                _ => Err(undefined("Invalid reference", "A data source is referred to as `data.TYPE.NAME`.".into(), span)),
            },
            "self" => Err(undefined("Invalid \"self\" reference", "`self` is not available here.".into(), span)),
            _ => {
                let Some(name) = attr(steps, 0) else { return Ok(None) };
                let key = format!("{root}.{name}");
                let is_resource = tree.is_some_and(|t| t.module.resources.contains_key(&key));
                if !is_resource && !tree.is_some_and(|t| t.module.resources.values().any(|r| r.type_name == root)) {
                    return Ok(None);
                }
                self.resource(&key, Mode::Managed, root, name, steps, 1, span)
            }
        }
    }

    fn root_names(&self) -> Vec<String> {
        let mut names: Vec<String> = ["var", "local", "module", "data", "path", "count", "each", "tarn"].map(String::from).to_vec();
        if let Some(t) = self.world.tree(self.module) {
            for r in t.module.resources.values() {
                if r.mode == Mode::Managed && !names.contains(&r.type_name) {
                    names.push(r.type_name.clone());
                }
            }
        }
        names
    }
}
