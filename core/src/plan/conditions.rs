//! Custom conditions: a resource's `lifecycle` preconditions (judged at plan, per instance)
//! and postconditions (judged after the object's create or update, with `self` bound to the
//! new object), and the assertions of `check {}` blocks (judged at plan, after apply and by
//! drift; a failed assertion is a warning, never a stop). Judging only evaluates; what a
//! failure means is the caller's to decide.

use super::scope::{Binding, InstId, World};
use crate::config::{Config, ModuleTree, Validation};
use crate::diag::{Diagnostic, Diagnostics};
use indexmap::IndexMap;
use tarn_sdk::{ModuleStep, Value};

/// The summary of every failed `check` assertion, so that callers (drift) can pick them out.
pub const CHECK_FAILED: &str = "Check block assertion failed";

/// The summary of a false precondition.
pub const PRECONDITION_FAILED: &str = "Resource precondition failed";

/// The summary of a false postcondition.
pub const POSTCONDITION_FAILED: &str = "Resource postcondition failed";

/// What a condition evaluated to.
pub(crate) enum Verdict {
    Holds,
    /// Depends on values known only after apply.
    Unknown,
    /// False, with the condition's `error_message`.
    Fails(String),
    /// The condition could not be evaluated, or is not a bool.
    Invalid(Diagnostics),
}

/// Judges one condition in module instance `module` with `binding`; `this` is `self`. The
/// instances the condition read are added to `deps`.
pub(crate) fn judge(
    world: &World,
    cond: &Validation,
    module: &[ModuleStep],
    binding: &Binding,
    this: Option<&Value>,
    deps: &mut Vec<InstId>,
) -> Verdict {
    let vars = || -> IndexMap<String, Value> {
        this.map(|v| [("self".to_string(), v.clone())].into_iter().collect()).unwrap_or_default()
    };
    let (value, read, err) = world.eval_with(&cond.condition, module, binding, vars());
    deps.extend(read);
    if let Some(d) = err {
        return Verdict::Invalid(d);
    }
    match value.unmark().0 {
        Value::Bool(true) => Verdict::Holds,
        Value::Unknown => Verdict::Unknown,
        Value::Bool(false) => {
            let (msg, _, err) = world.eval_with(&cond.error_message, module, binding, vars());
            let text = match (err, msg.unmark()) {
                (None, (Value::String(s), false)) => s.clone(),
                (None, (_, true)) => "(the error message is sensitive and not shown)".to_string(),
                _ => "(the error message could not be evaluated)".to_string(),
            };
            Verdict::Fails(text)
        }
        other => Verdict::Invalid(
            Diagnostic::error(
                "Invalid condition result",
                format!("A condition must be true or false; this one is {}.", describe(other)),
            )
            .at(cond.condition.span)
            .into(),
        ),
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "an object",
        _ => "not a bool",
    }
}

/// Judges every `check {}` assertion of every module instance: failures are warnings.
/// Assertions that depend on unknown values are not judged (apply judges them again).
pub(crate) fn checks(config: &Config, world: &World) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mut stack: Vec<(Vec<String>, &ModuleTree)> = vec![(Vec::new(), &config.root)];
    while let Some((path, tree)) = stack.pop() {
        if !tree.module.checks.is_empty() {
            for mi in world.module_instances(&path) {
                let prefix: String = mi
                    .iter()
                    .map(|s| format!("module.{}{}.", s.name, s.key.as_ref().map(|k| k.to_string()).unwrap_or_default()))
                    .collect();
                for check in &tree.module.checks {
                    for a in &check.asserts {
                        match judge(world, a, &mi, &Binding::None, None, &mut Vec::new()) {
                            Verdict::Holds | Verdict::Unknown => {}
                            Verdict::Fails(message) => diags.push(
                                Diagnostic::warning(CHECK_FAILED, format!("{prefix}check.{}: {message}", check.name))
                                    .at(a.condition.span),
                            ),
                            // A check never stops a run: its errors are warnings too.
                            Verdict::Invalid(errs) => {
                                for e in errs.iter() {
                                    let mut w = Diagnostic::warning(
                                        CHECK_FAILED,
                                        format!("{prefix}check.{}: {}: {}", check.name, e.summary, e.detail),
                                    );
                                    w.span = e.span;
                                    diags.push(w);
                                }
                            }
                        }
                    }
                }
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

/// For validation: evaluates what a plan evaluates only when something refers to it — every
/// local, every module input and every provider block of every module instance — so that
/// their errors are found too. Errors land in the world's diagnostics.
pub(crate) fn evaluate_unreferenced(config: &Config, world: &World) {
    use super::scope::SlotKind;
    let mut stack: Vec<(Vec<String>, &ModuleTree)> = vec![(Vec::new(), &config.root)];
    while let Some((path, tree)) = stack.pop() {
        for mi in world.module_instances(&path) {
            for name in tree.module.locals.keys() {
                world.slot(&mi, SlotKind::Local, name);
            }
            if !mi.is_empty() {
                for name in tree.module.variables.keys() {
                    world.slot(&mi, SlotKind::Var, name);
                }
            }
            for p in &tree.module.providers {
                let (_, _, errs) = world.eval_body(&p.body, &mi, &Binding::None);
                world.diags.borrow_mut().extend(errs);
            }
        }
        for (name, child) in &tree.children {
            let mut p = path.clone();
            p.push(name.clone());
            stack.push((p, child));
        }
    }
}

/// Judges the preconditions of every output of every module instance: a false one is an
/// error at its condition (the plan stops), one not yet known is not judged.
pub(crate) fn output_preconditions(config: &Config, world: &World) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mut stack: Vec<(Vec<String>, &ModuleTree)> = vec![(Vec::new(), &config.root)];
    while let Some((path, tree)) = stack.pop() {
        let judged: Vec<_> = tree.module.outputs.values().filter(|o| !o.preconditions.is_empty()).collect();
        if !judged.is_empty() {
            for mi in world.module_instances(&path) {
                let prefix: String = mi
                    .iter()
                    .map(|s| format!("module.{}{}.", s.name, s.key.as_ref().map(|k| k.to_string()).unwrap_or_default()))
                    .collect();
                for o in &judged {
                    for cond in &o.preconditions {
                        match judge(world, cond, &mi, &Binding::None, None, &mut Vec::new()) {
                            Verdict::Holds | Verdict::Unknown => {}
                            Verdict::Fails(message) => diags.push(
                                Diagnostic::error(
                                    "Output precondition failed",
                                    format!("{prefix}output.{}: {message}", o.name),
                                )
                                .at(cond.condition.span),
                            ),
                            Verdict::Invalid(errs) => diags.extend(errs),
                        }
                    }
                }
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
