//! The [`Resolver`] of one evaluation: answers `var.*`, `local.*`, `module.*`,
//! `TYPE.NAME[key]`, `data.*`, `count.index`, `each.*`, `path.*` and `tarn.workspace` for one
//! module instance from the [`World`], consuming as many traversal steps as it can follow
//! (`a[4].id` reads one attribute of one instance) and recording which instances were read.
//! It must not evaluate expressions itself; module-level values come from the world.

// Errors are `Diagnostic`s, as the evaluator's `Resolver` contract has them.
#![allow(clippy::result_large_err)]

use super::scope::{Binding, Expansion, InstId, Slot, SlotKind, World};
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::eval::{Resolved, Resolver, Step};
use indexmap::IndexMap;
use std::cell::RefCell;
use std::path::Path;
use tarn_sdk::{Address, InstanceKey, Mode, ModuleStep, Value};

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
            Value::Number(n) => n.to_i64().map(|i| Some(InstanceKey::Int(i))),
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

    #[allow(clippy::too_many_arguments)]
    fn resource(
        &self,
        key: &str,
        mode: Mode,
        type_name: &str,
        name: &str,
        steps: &[Step],
        consumed: usize,
        span: Span,
    ) -> Result<Option<Resolved>, Diagnostic> {
        let w = self.world;
        let exists = w.tree(self.module).is_some_and(|t| t.module.resources.contains_key(key));
        if !exists {
            let names: Vec<&str> = w
                .tree(self.module)
                .map(|t| t.module.resources.keys().map(String::as_str).collect())
                .unwrap_or_default();
            let hint = did_you_mean(key, names).map(|s| format!(" Did you mean {s}?")).unwrap_or_default();
            return Err(undefined(
                "Reference to undeclared resource",
                format!("No resource \"{key}\" is declared in this module.{hint}"),
                span,
            ));
        }
        let addr = Address {
            module: self.module.to_vec(),
            mode,
            type_name: type_name.to_string(),
            name: name.to_string(),
            key: None,
        };
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
                // Validation does not know which instances count or for_each make.
                None if w.validating => Ok((Value::Unknown, rest.len())),
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
                    _ => {
                        Value::List(exp.keys().into_iter().map(|k| one(k, &[]).map(|x| x.0)).collect::<Result<_, _>>()?)
                    }
                };
                let unknown_index = matches!(index_key(steps.get(consumed)), Some(None));
                Ok(Some(Resolved {
                    value: if unknown_index { Value::Unknown } else { value },
                    consumed: consumed + usize::from(unknown_index),
                }))
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
            return Err(undefined(
                "Reference to undeclared module",
                format!("No module call named \"{call}\" is declared.{hint}"),
                span,
            ));
        };
        let keys = w.module_keys(self.module, call);
        let child_path = |key: Option<InstanceKey>| {
            let mut p = self.module.to_vec();
            p.push(ModuleStep { name: call.to_string(), key });
            p
        };
        let object = |path: &[ModuleStep]| -> Value {
            let outs = w.tree(path).map(|t| t.module.outputs.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
            Value::Map(
                outs.into_iter()
                    .map(|o| {
                        let v = w.output(path, &o).map(|s| self.take(s)).unwrap_or(Value::Null);
                        (o, v)
                    })
                    .collect(),
            )
        };
        let keyed = mc.count.is_some() || mc.for_each.is_some();
        let (path, consumed) = if keyed {
            match index_key(steps.get(1)) {
                Some(Some(k)) => {
                    if keys.binding(&Some(k.clone())).is_none() {
                        if w.validating {
                            return Ok(Some(Resolved { value: Value::Unknown, consumed: 2 }));
                        }
                        return Err(
                            Diagnostic::error("Invalid index", format!("module.{call} has no instance {k}.")).at(span)
                        );
                    }
                    (child_path(Some(k)), 2)
                }
                Some(None) => return Ok(Some(Resolved { value: Value::Unknown, consumed: 2 })),
                None => {
                    let value = if mc.for_each.is_some() {
                        Value::Map(
                            keys.iter()
                                .map(|(k, _)| {
                                    let name = match k {
                                        Some(InstanceKey::Str(s)) => s.clone(),
                                        _ => String::new(),
                                    };
                                    (name, object(&child_path(k.clone())))
                                })
                                .collect(),
                        )
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
                None => Err(Diagnostic::error(
                    "Unsupported attribute",
                    format!("Module \"{call}\" has no output named \"{out}\"."),
                )
                .at(span)),
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
                    return Err(undefined(
                        "Invalid reference",
                        format!("`{root}` must be followed by a name, like `{root}.example`."),
                        span,
                    ));
                };
                let kind = if root == "var" { SlotKind::Var } else { SlotKind::Local };
                match w.slot(self.module, kind, name) {
                    Some(s) => Ok(Some(Resolved { value: self.take(s), consumed: 1 })),
                    None => {
                        let names: Vec<String> = tree
                            .map(|t| {
                                if root == "var" {
                                    t.module.variables.keys().cloned().collect()
                                } else {
                                    t.module.locals.keys().cloned().collect()
                                }
                            })
                            .unwrap_or_default();
                        let hint = did_you_mean(name, names.iter().map(String::as_str))
                            .map(|s| format!(" Did you mean {root}.{s}?"))
                            .unwrap_or_default();
                        let summary = if root == "var" {
                            "Reference to undeclared input variable"
                        } else {
                            "Reference to undeclared local value"
                        };
                        Err(undefined(summary, format!("\"{name}\" is not declared in this module.{hint}"), span))
                    }
                }
            }
            "count" => match (self.binding, attr(steps, 0)) {
                (Binding::Count(i), Some("index")) => Ok(Some(Resolved { value: Value::number(*i), consumed: 1 })),
                _ => Err(undefined(
                    "Reference to \"count\" in non-counted context",
                    "`count.index` is only available in blocks that set `count`.".into(),
                    span,
                )),
            },
            "each" => match (self.binding, attr(steps, 0)) {
                (Binding::Each { key, deps, .. }, Some("key")) => {
                    self.deps.borrow_mut().extend_from_slice(deps);
                    Ok(Some(Resolved { value: Value::string(key.clone()), consumed: 1 }))
                }
                (Binding::Each { value, deps, .. }, Some("value")) => {
                    self.deps.borrow_mut().extend_from_slice(deps);
                    Ok(Some(Resolved { value: value.clone(), consumed: 1 }))
                }
                _ => Err(undefined(
                    "Reference to \"each\" in context without for_each",
                    "`each.key` and `each.value` are only available in blocks that set `for_each`.".into(),
                    span,
                )),
            },
            "path" => {
                let dir = |p: &Path| Value::string(p.display().to_string());
                match attr(steps, 0) {
                    Some("module") => Ok(Some(Resolved {
                        value: dir(&tree.map(|t| t.module.dir.clone()).unwrap_or_default()),
                        consumed: 1,
                    })),
                    Some("root") => Ok(Some(Resolved { value: dir(&w.config.root.module.dir), consumed: 1 })),
                    Some("cwd") => Ok(Some(Resolved { value: dir(w.cwd), consumed: 1 })),
                    _ => Err(undefined(
                        "Invalid reference",
                        "`path` offers `path.module`, `path.root` and `path.cwd`.".into(),
                        span,
                    )),
                }
            }
            "tarn" | "terraform" => match attr(steps, 0) {
                Some("workspace") => Ok(Some(Resolved { value: Value::string(w.workspace), consumed: 1 })),
                _ => Err(undefined("Invalid reference", format!("`{root}` offers only `{root}.workspace`."), span)),
            },
            "module" => self.module_ref(steps, span),
            "data" => match (attr(steps, 0), attr(steps, 1)) {
                (Some(t), Some(n)) => self.resource(&format!("data.{t}.{n}"), Mode::Data, t, n, steps, 2, span),
                _ => Err(undefined(
                    "Invalid reference",
                    "A data source is referred to as `data.TYPE.NAME`.".into(),
                    span,
                )),
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
        let mut names: Vec<String> =
            ["var", "local", "module", "data", "path", "count", "each", "tarn"].map(String::from).to_vec();
        if let Some(t) = self.world.tree(self.module) {
            for r in t.module.resources.values() {
                if r.mode == Mode::Managed && !names.contains(&r.type_name) {
                    names.push(r.type_name.clone());
                }
            }
        }
        names
    }

    fn cwd(&self) -> Option<&Path> {
        Some(self.world.cwd)
    }

    fn home(&self) -> Option<&Path> {
        self.world.home
    }
}
