//! Instance expansion: evaluating `count` and `for_each` into instance keys. Both must be
//! known at plan time; an unknown value is a clear error that says how to proceed, rather
//! than a silently partial plan. Must not evaluate resource bodies.

use super::scope::{Binding, Expansion, InstId, World};
use crate::config::Expr;
use crate::diag::{Diagnostic, Diagnostics, Span};
use crate::eval::Step;
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, TraversalOperator};
use indexmap::IndexMap;
use std::sync::Arc;
use tarn_sdk::{ModuleStep, Value};

/// How a block expands.
pub struct Expanded {
    pub expansion: Expansion,
    /// For `for_each`: each key's `each.value`.
    pub each: Option<IndexMap<String, Value>>,
    /// The instances the count/for_each value was derived from: every instance depends on
    /// them (they may reach the body through `each.value`).
    pub deps: Vec<InstId>,
    /// For a `for_each` over a whole block (see [`whole_block`]): what each key's
    /// `each.value` was derived from, in the order of the keys; then `deps` is empty and each
    /// instance depends on its own element only. Without it, 300 instances of
    /// `for_each = module.m` would each depend on every object of every instance of `m`.
    pub key_deps: Option<Vec<Arc<[InstId]>>>,
}

/// A `for_each` that is a bare reference to a whole block: `module.NAME`, `TYPE.NAME` or
/// `data.TYPE.NAME`. Its root and steps; `each.value` of key `k` is then the element the
/// same steps with `[k]` added reach, and comes from that element's objects alone.
pub fn whole_block(e: &Expr) -> Option<(&str, Vec<Step>)> {
    whole_ref(&e.expr)
}

/// [`whole_block`] on a raw expression.
fn whole_ref(e: &Expression) -> Option<(&str, Vec<Step>)> {
    let Expression::Traversal(t) = e else { return None };
    let Expression::Variable(root) = &t.expr else { return None };
    let root = root.value().as_str();
    let mut steps = Vec::new();
    for op in &t.operators {
        match op.value() {
            TraversalOperator::GetAttr(id) => steps.push(Step::Attr(id.value().to_string())),
            _ => return None,
        }
    }
    let wanted = match root {
        "data" => 2,
        "var" | "local" | "each" | "count" | "path" | "self" | "tarn" | "terraform" => return None,
        _ => 1,
    };
    (steps.len() == wanted).then_some((root, steps))
}

/// A `for_each` whose key `k` comes from element `[k]` of a whole block alone.
enum PerKey<'e> {
    /// `module.NAME`, `TYPE.NAME`, `data.TYPE.NAME` (see [`whole_block`]).
    Whole(&'e str, Vec<Step>),
    /// `{ for k, v in BLOCK : k => VALUE }`, optionally `if COND`, over a whole block that
    /// itself uses `for_each` (so its keys are the map's keys, strings as the result's):
    /// key `k` exists when COND holds for `k` and element `[k]`, and its value is VALUE
    /// for them, so it comes from element `[k]` and what VALUE and COND read besides.
    For {
        root: &'e str,
        steps: Vec<Step>,
        key_var: &'e str,
        value_var: &'e str,
        value: Box<Expr>,
        cond: Option<Box<Expr>>,
    },
}

impl<'e> PerKey<'e> {
    fn of(world: &World, module: &[ModuleStep], e: &'e Expr) -> Option<Self> {
        if let Some((root, steps)) = whole_block(e) {
            return Some(PerKey::Whole(root, steps));
        }
        let Expression::ForExpr(f) = &e.expr else { return None };
        let key_var = f.intro.key_var.as_ref()?.value().as_str();
        let value_var = f.intro.value_var.value().as_str();
        let Some(Expression::Variable(key)) = &f.key_expr else { return None };
        if f.grouping || key.value().as_str() != key_var || key_var == value_var {
            return None;
        }
        let (root, steps) = whole_ref(&f.intro.collection_expr)?;
        // Only a block with for_each iterates as a map keyed like its instances; a list
        // (count) gives number keys, and a single object its attribute names.
        let tree = world.tree(module)?;
        let expanded_by_for_each = match (root, &steps[..]) {
            ("module", [Step::Attr(name)]) => tree.module.module_calls.get(name)?.for_each.is_some(),
            ("data", [Step::Attr(ty), Step::Attr(name)]) => {
                tree.module.resources.get(&format!("data.{ty}.{name}"))?.for_each.is_some()
            }
            (ty, [Step::Attr(name)]) => tree.module.resources.get(&format!("{ty}.{name}"))?.for_each.is_some(),
            _ => false,
        };
        if !expanded_by_for_each {
            return None;
        }
        let sub = |x: &Expression| Box::new(Expr { expr: x.clone(), span: e.sub_span(x.span()) });
        let value = sub(&f.value_expr);
        let cond = f.cond.as_ref().map(|c| sub(&c.expr));
        Some(PerKey::For { root, steps, key_var, value_var, value, cond })
    }

    /// `each.value` of key `key`, and what it came from (`None`: not reached, or an error or
    /// an unknown condition; the caller then evaluates the whole `for_each`).
    fn element(&self, world: &World, module: &[ModuleStep], span: Span, key: &str) -> Option<(Value, Vec<InstId>)> {
        let (root, steps) = match self {
            PerKey::Whole(root, steps) | PerKey::For { root, steps, .. } => (*root, steps),
        };
        let mut steps = steps.clone();
        steps.push(Step::Index(Value::string(key.to_string())));
        let (element, mut deps) = world.element(module, root, &steps, span)?;
        let PerKey::For { key_var, value_var, value, cond, .. } = self else { return Some((element, deps)) };
        let vars: IndexMap<String, Value> =
            [(key_var.to_string(), Value::string(key.to_string())), (value_var.to_string(), element)]
                .into_iter()
                .collect();
        if let Some(cond) = cond {
            let (c, d, err) = world.eval_with(cond, module, &Binding::None, vars.clone());
            if err.is_some() || !matches!(c.unmark().0, Value::Bool(true)) {
                return None;
            }
            deps.extend(d);
        }
        let (v, d, err) = world.eval_with(value, module, &Binding::None, vars);
        if err.is_some() {
            return None;
        }
        deps.extend(d);
        Some((v, deps))
    }
}

/// `each.value` of key `key` of a `for_each` whose keys each come from one element of a
/// whole block (a bare reference, or a `for` over one keeping its keys), and what it came
/// from.
pub fn element(world: &World, module: &[ModuleStep], e: &Expr, key: &str) -> Option<(Value, Vec<InstId>)> {
    PerKey::of(world, module, e)?.element(world, module, e.span, key)
}

/// Per-key dependencies of a `for_each` whose keys each come from one element of a whole
/// block (`None`: not one, or an element the resolver does not reach, and then every
/// instance keeps the whole value's).
fn key_deps(world: &World, module: &[ModuleStep], e: &Expr, keys: &[String]) -> Option<Vec<Arc<[InstId]>>> {
    let shape = PerKey::of(world, module, e)?;
    keys.iter().map(|k| shape.element(world, module, e.span, k).map(|(_, deps)| deps.into())).collect()
}

/// Expands `count` or `for_each` (neither: one instance).
pub fn expand(
    world: &World,
    module: &[ModuleStep],
    count: Option<&Expr>,
    for_each: Option<&Expr>,
    what: &str,
) -> Result<Expanded, Diagnostics> {
    if let Some(e) = count {
        let (v, deps, d) = world.eval(e, module, &Binding::None);
        if let Some(d) = d {
            return Err(d);
        }
        if v.contains_sensitive() {
            return Err(sensitive_argument("count", e, what));
        }
        if !v.is_wholly_known() && world.validating {
            // Validation: one instance stands for however many apply would make.
            return Ok(Expanded { expansion: Expansion::Count(1), each: None, deps, key_deps: None });
        }
        if !v.is_wholly_known() {
            return Err(Diagnostic::error(
                "Invalid count argument",
                format!(
                    "The count of {what} depends on values that cannot be known until apply. Set it from values known at plan time, or apply the objects it depends on first with `--target`, or leave this block out with `--exclude`."
                ),
            )
            .at(e.span)
            .into());
        }
        return match v.as_number().and_then(tarn_sdk::Number::to_usize) {
            Some(n) => Ok(Expanded { expansion: Expansion::Count(n), each: None, deps, key_deps: None }),
            _ => Err(Diagnostic::error(
                "Invalid count argument",
                format!("The count of {what} must be a whole number, zero or more; it is {}.", v.type_name()),
            )
            .at(e.span)
            .into()),
        };
    }
    let Some(e) = for_each else {
        return Ok(Expanded { expansion: Expansion::Single, each: None, deps: Vec::new(), key_deps: None });
    };
    let (v, deps, d) = world.eval(e, module, &Binding::None);
    if let Some(d) = d {
        return Err(d);
    }
    let unknown = || -> Diagnostics {
        Diagnostic::error(
            "Invalid for_each argument",
            format!(
                "The for_each keys of {what} depend on values that cannot be known until apply. Use keys known at plan time (the values may be unknown), or apply the objects they depend on first with `--target`, or leave this block out with `--exclude`."
            ),
        )
        .at(e.span)
        .into()
    };
    // A map whose values (not keys) are sensitive is fine: only its keys become addresses. A
    // sensitive key marks the whole map (eval's object and `for` constructors do so).
    if v.is_sensitive() {
        return Err(sensitive_argument("for_each", e, what));
    }
    let unknown_keys = match v.unmark().0 {
        Value::Unknown => true,
        Value::List(items) | Value::Set(items) => items.iter().any(|i| i.is_unknown()),
        _ => false,
    };
    if unknown_keys && world.validating {
        // Validation: one instance, key and value unknown, stands for them all.
        let key = "(known after apply)".to_string();
        let each = [(key.clone(), Value::Unknown)].into_iter().collect();
        return Ok(Expanded { expansion: Expansion::ForEach(vec![key]), each: Some(each), deps, key_deps: None });
    }
    match v.unmark().0 {
        Value::Unknown => Err(unknown()),
        Value::Map(m) => {
            let mut entries: Vec<(String, Value)> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let keys: Vec<String> = entries.iter().map(|(k, _)| k.clone()).collect();
            let key_deps = key_deps(world, module, e, &keys);
            let deps = if key_deps.is_some() { Vec::new() } else { deps };
            Ok(Expanded {
                expansion: Expansion::ForEach(keys),
                each: Some(entries.into_iter().collect()),
                deps,
                key_deps,
            })
        }
        // A set of strings, as Terraform requires; a list of strings is accepted too (tarn's
        // leniency from before it had sets), with the same keys.
        Value::List(items) | Value::Set(items) => {
            let mut keys = Vec::with_capacity(items.len());
            for item in items {
                if item.contains_sensitive() {
                    return Err(sensitive_argument("for_each", e, what));
                }
                match item.unmark().0 {
                    Value::String(s) => keys.push(s.clone()),
                    Value::Unknown => return Err(unknown()),
                    other => {
                        return Err(Diagnostic::error(
                            "Invalid for_each argument",
                            format!("for_each over a collection needs a set of strings; {what} was given an element of type {}. Use `toset()` on a list of strings, or a map.", other.type_name()),
                        )
                        .at(e.span)
                        .into());
                    }
                }
            }
            keys.sort();
            keys.dedup();
            let values = keys.iter().map(|k| (k.clone(), Value::string(k.clone()))).collect();
            Ok(Expanded { expansion: Expansion::ForEach(keys), each: Some(values), deps, key_deps: None })
        }
        other => Err(Diagnostic::error(
            "Invalid for_each argument",
            format!("for_each of {what} must be a map, or a set of strings; it is {}.", other.type_name()),
        )
        .at(e.span)
        .into()),
    }
}

/// A sensitive `count` or `for_each` (or a sensitive key in it): instance keys become addresses,
/// shown in every plan, `state list` and the state's row keys, so a secret there would be in
/// clear text everywhere. Terraform's wording, at the argument's span; the value is never quoted.
fn sensitive_argument(argument: &str, e: &Expr, what: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Invalid {argument} argument"),
        format!(
            "Sensitive values, or values derived from sensitive values, cannot be used as {argument} arguments. If used, the sensitive value could be exposed as a resource instance key. The {argument} of {what} is sensitive; if it is not a secret, wrap it in `nonsensitive()`."
        ),
    )
    .at(e.span)
    .into()
}

/// The binding each instance key gives `count.index` / `each.*`.
pub fn bindings(x: &Expanded) -> Vec<(Option<tarn_sdk::InstanceKey>, Binding)> {
    let deps: Arc<[InstId]> = x.deps.clone().into();
    x.expansion
        .keys()
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let deps = x.key_deps.as_ref().and_then(|d| d.get(i)).unwrap_or(&deps);
            let b = Binding::for_key(&k, x.each.as_ref(), deps);
            (k, b)
        })
        .collect()
}
