//! Evaluation scopes: the [`World`] that evaluates variables, locals, module outputs and
//! module expansions lazily, once each (memoized), recording which resource instances every
//! value was derived from (precise instance-level dependencies). Name lookup itself is the
//! resolver's (`resolver.rs`).
//!
//! Resource values come from an [`Instances`] source: planned values during plan, applied
//! values during apply (the finalizer), so both phases share one scope implementation. This
//! module must not decide actions or talk to providers.

use super::lang;
use super::resolver::ScopeResolver;
use crate::config::{Config, Expr, ModuleTree};
use crate::diag::{Diagnostic, Diagnostics};
use crate::eval::{EvalContext, Step};
use indexmap::IndexMap;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use tarn_sdk::{Address, InstanceKey, ModuleStep, Value};

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
            (Value::List(l), Step::Index(Value::Number(i))) => i.to_usize().and_then(|i| l.get(i)),
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
    /// `deps`: the instances the for_each value came from; reading `each.*` depends on them.
    Each {
        key: String,
        value: Value,
        deps: Arc<[InstId]>,
    },
}

impl Binding {
    pub fn for_key(
        key: &Option<InstanceKey>,
        each_values: Option<&IndexMap<String, Value>>,
        deps: &Arc<[InstId]>,
    ) -> Binding {
        match key {
            None => Binding::None,
            Some(InstanceKey::Int(i)) => Binding::Count(*i),
            Some(InstanceKey::Str(k)) => Binding::Each {
                key: k.clone(),
                value: each_values.and_then(|m| m.get(k)).cloned().unwrap_or_else(|| Value::string(k.clone())),
                deps: deps.clone(),
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

/// Which module-level value a slot holds.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum SlotKind {
    Var,
    Local,
    Output,
}

/// A module-level value: module instance, kind, name.
type SlotKey = (Vec<ModuleStep>, SlotKind, String);

/// One module call's instances in one parent instance: key and the binding its inputs see,
/// with an index by key. Shared (`Arc`), never copied: every input variable of every instance
/// looks its binding up here, so a copy per lookup would cost instances² (issue 15).
#[derive(Debug, Default)]
pub struct ModuleKeys {
    keys: Vec<(Option<InstanceKey>, Binding)>,
    index: FxHashMap<Option<InstanceKey>, usize>,
}

impl ModuleKeys {
    pub fn new(keys: Vec<(Option<InstanceKey>, Binding)>) -> Self {
        let index = keys.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect();
        ModuleKeys { keys, index }
    }

    /// Every instance, in expansion order.
    pub fn iter(&self) -> impl Iterator<Item = &(Option<InstanceKey>, Binding)> {
        self.keys.iter()
    }

    /// The binding of instance `key`, when the call has it.
    pub fn binding(&self, key: &Option<InstanceKey>) -> Option<&Binding> {
        self.index.get(key).map(|&i| &self.keys[i].1)
    }

    /// Whether every instance's `each.value` is known: then apply sees the same bindings as
    /// plan, and they can be kept for the whole apply (see [`World::known_calls`]).
    fn wholly_known(&self) -> bool {
        self.keys.iter().all(|(_, b)| match b {
            Binding::Each { value, .. } => value.is_wholly_known(),
            _ => true,
        })
    }
}

/// Module call instances whose bindings are wholly known, kept across the worlds of one apply
/// (the finalizer makes one world per operation; without this each would expand every module
/// call it reaches again, instances² for a module with `for_each` over a large map).
pub type KnownCalls = std::sync::Mutex<FxHashMap<CallKey, Arc<ModuleKeys>>>;

/// A module call in one parent module instance.
type CallKey = (Vec<ModuleStep>, String);

/// Lazily evaluated, memoized module-level values over a resource value source.
pub struct World<'a> {
    pub config: &'a Config,
    pub root_vars: &'a IndexMap<String, Value>,
    pub instances: &'a dyn Instances,
    pub workspace: &'a str,
    pub cwd: &'a Path,
    /// The run's home directory (`pathexpand`), as the caller gave it.
    pub home: Option<&'a Path>,
    memo: RefCell<FxHashMap<SlotKey, Slot>>,
    calls: RefCell<HashMap<CallKey, Arc<ModuleKeys>>>,
    /// Set by the apply-time finalizer: module call instances shared by its worlds.
    pub known_calls: Option<&'a KnownCalls>,
    busy: RefCell<FxHashSet<SlotKey>>,
    pub diags: RefCell<Diagnostics>,
    /// `tarn validate`: an unknown count or for_each expands to one stand-in instance
    /// instead of being an error.
    pub validating: bool,
}

impl<'a> World<'a> {
    pub fn new(
        config: &'a Config,
        root_vars: &'a IndexMap<String, Value>,
        instances: &'a dyn Instances,
        workspace: &'a str,
        cwd: &'a Path,
        home: Option<&'a Path>,
    ) -> Self {
        World {
            config,
            root_vars,
            instances,
            workspace,
            cwd,
            home,
            memo: RefCell::default(),
            calls: RefCell::default(),
            busy: RefCell::default(),
            diags: RefCell::default(),
            validating: false,
            known_calls: None,
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
    pub fn eval(
        &self,
        expr: &Expr,
        module: &[ModuleStep],
        binding: &Binding,
    ) -> (Value, Vec<InstId>, Option<Diagnostics>) {
        let resolver = ScopeResolver { world: self, module, binding, deps: RefCell::default() };
        let dir = self.tree(module).map_or(std::path::Path::new(""), |t| t.module.dir.as_path());
        let ctx = EvalContext { resolver: &resolver, module_dir: dir };
        let result = lang::evaluate(expr, &ctx);
        let deps = resolver.deps.into_inner();
        match result {
            Ok(v) => (v, deps, None),
            Err(d) => (Value::Unknown, deps, Some(d)),
        }
    }

    /// The value of reference `root` followed by `steps` in module instance `module`, and the
    /// instances it came from, when the resolver follows every step (one element of a whole
    /// block: `module.NAME[key]`, `TYPE.NAME[key]`); `None` otherwise or on an error (the
    /// caller then falls back to evaluating the whole expression, which reports it).
    pub fn element(
        &self,
        module: &[ModuleStep],
        root: &str,
        steps: &[Step],
        span: crate::diag::Span,
    ) -> Option<(Value, Vec<InstId>)> {
        use crate::eval::Resolver;
        let resolver = ScopeResolver { world: self, module, binding: &Binding::None, deps: RefCell::default() };
        match resolver.resolve(root, steps, span) {
            Ok(Some(r)) if r.consumed == steps.len() => Some((r.value, resolver.deps.into_inner())),
            _ => None,
        }
    }

    /// [`eval`](Self::eval) with extra names in scope (`self` in a postcondition).
    pub fn eval_with(
        &self,
        expr: &Expr,
        module: &[ModuleStep],
        binding: &Binding,
        vars: IndexMap<String, Value>,
    ) -> (Value, Vec<InstId>, Option<Diagnostics>) {
        let resolver = ScopeResolver { world: self, module, binding, deps: RefCell::default() };
        let dir = self.tree(module).map_or(std::path::Path::new(""), |t| t.module.dir.as_path());
        let ctx = EvalContext { resolver: &resolver, module_dir: dir };
        let result = crate::eval::evaluate_with(expr, &ctx, vars);
        let deps = resolver.deps.into_inner();
        match result {
            Ok(v) => (v, deps, None),
            Err(d) => (Value::Unknown, deps, Some(d)),
        }
    }

    pub(crate) fn slot(&self, module: &[ModuleStep], kind: SlotKind, name: &str) -> Option<Slot> {
        let key = (module.to_vec(), kind, name.to_string());
        if let Some(s) = self.memo.borrow().get(&key) {
            return Some(s.clone());
        }
        if kind == SlotKind::Local {
            self.prefetch_locals(module, name);
            if let Some(s) = self.memo.borrow().get(&key) {
                return Some(s.clone());
            }
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

    /// Evaluates the locals that local `name` reaches through other locals of the same module,
    /// deepest first, with an explicit stack: each then finds what it refers to memoized, so
    /// a chain of any length (`a_i = local.a_{i-1} + 1`, thousands long) is evaluated without
    /// one nested evaluation per link, whose stack would overflow. Other references (module
    /// outputs, resources) stay lazy: their depth is bounded by the module tree.
    fn prefetch_locals(&self, module: &[ModuleStep], name: &str) {
        let Some(tree) = self.tree(module) else { return };
        let locals = &tree.module.locals;
        let pending = |n: &str| {
            let key = (module.to_vec(), SlotKind::Local, n.to_string());
            locals.contains_key(n) && !self.memo.borrow().contains_key(&key) && !self.busy.borrow().contains(&key)
        };
        // Depth-first, post-order: (local, whether its references were pushed already).
        let mut order: Vec<&str> = Vec::new();
        let mut seen: FxHashSet<&str> = FxHashSet::default();
        let Some((root, _)) = locals.get_key_value(name) else { return };
        let mut stack: Vec<(&str, bool)> = vec![(root.as_str(), false)];
        while let Some((n, expanded)) = stack.pop() {
            if expanded {
                order.push(n);
                continue;
            }
            if !seen.insert(n) {
                continue;
            }
            stack.push((n, true));
            for r in crate::eval::references(&locals[n].value) {
                if let [head, dep, ..] = r.path.as_slice()
                    && head == "local"
                    && let Some((dep, _)) = locals.get_key_value(dep.as_str())
                    && !seen.contains(dep.as_str())
                    && pending(dep)
                {
                    stack.push((dep.as_str(), false));
                }
            }
        }
        // The last is `name` itself, which the caller computes.
        order.pop();
        for n in order {
            if pending(n) {
                self.slot(module, SlotKind::Local, n);
            }
        }
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
                        let keys = self.module_keys(parent, call_name);
                        let binding = keys.binding(&last[0].key).cloned().unwrap_or_default();
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
                        let msg = if var.sensitive || raw.contains_sensitive() {
                            "the value (sensitive, not shown) does not convert".to_string()
                        } else {
                            msg
                        };
                        let span = call.inputs.get(name).map(|a| a.value.span).unwrap_or(call.span);
                        self.diags.borrow_mut().push(
                            Diagnostic::error(
                                "Invalid value for input variable",
                                format!(
                                    "The value given for \"{name}\" of module \"{call_name}\" is not a {}: {msg}.",
                                    var.ty
                                ),
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
    pub fn module_keys(&self, parent: &[ModuleStep], call_name: &str) -> Arc<ModuleKeys> {
        let key = (parent.to_vec(), call_name.to_string());
        if let Some(k) = self.calls.borrow().get(&key) {
            return k.clone();
        }
        let known = self.known_calls.and_then(|c| c.lock().ok()?.get(&key).cloned());
        if let Some(k) = known {
            self.calls.borrow_mut().insert(key, k.clone());
            return k;
        }
        let mut expanded = true;
        let keys = match self.tree(parent).and_then(|t| t.module.module_calls.get(call_name)) {
            None => Vec::new(),
            Some(call) => {
                let what = format!("module.{call_name}");
                match super::expand::expand(self, parent, call.count.as_ref(), call.for_each.as_ref(), &what) {
                    Ok(x) => super::expand::bindings(&x),
                    Err(d) => {
                        self.diags.borrow_mut().extend(d);
                        expanded = false;
                        Vec::new()
                    }
                }
            }
        };
        let keys = Arc::new(ModuleKeys::new(keys));
        if let Some(shared) = self.known_calls
            && expanded
            && keys.wholly_known()
            && let Ok(mut shared) = shared.lock()
        {
            shared.insert(key.clone(), keys.clone());
        }
        self.calls.borrow_mut().insert(key, keys.clone());
        keys
    }

    /// Every instance path of the module at static path `path`.
    pub fn module_instances(&self, path: &[String]) -> Vec<Vec<ModuleStep>> {
        let mut out: Vec<Vec<ModuleStep>> = vec![Vec::new()];
        for name in path {
            let mut next = Vec::new();
            for parent in &out {
                for (key, _) in self.module_keys(parent, name).iter() {
                    let mut p = parent.clone();
                    p.push(ModuleStep { name: name.clone(), key: key.clone() });
                    next.push(p);
                }
            }
            out = next;
        }
        out
    }

    /// Evaluates a block body into an object: attributes by name, nested blocks as lists of
    /// objects under their block type. Errors are returned, not recorded.
    pub fn eval_body(
        &self,
        body: &crate::config::Body,
        module: &[ModuleStep],
        binding: &Binding,
    ) -> (Value, Vec<InstId>, Diagnostics) {
        let mut out = IndexMap::new();
        let mut deps = Vec::new();
        let mut diags = Diagnostics::default();
        for (name, a) in &body.attributes {
            let (v, d, err) = self.eval(&a.value, module, binding);
            deps.extend(d);
            if let Some(err) = err {
                diags.extend(err);
            }
            // Providers see a set as the list of its elements (sets belong to the language).
            out.insert(name.clone(), v.sets_as_lists());
        }
        for block in &body.blocks {
            let (v, d, err) = self.eval_body(&block.body, module, binding);
            deps.extend(d);
            diags.extend(err);
            match out.entry(block.kind.clone()).or_insert_with(|| Value::List(Vec::new())) {
                Value::List(items) => items.push(v),
                _ => diags.push(
                    Diagnostic::error(
                        "Duplicate argument",
                        format!("\"{}\" is set both as an argument and as a block.", block.kind),
                    )
                    .at(block.span),
                ),
            }
        }
        (Value::Map(out), deps, diags)
    }

    pub fn output(&self, module: &[ModuleStep], name: &str) -> Option<Slot> {
        self.slot(module, SlotKind::Output, name)
    }
}
