//! Traversals: `root.attr[index].0[*].x`. The root and the steps before the first splat are
//! offered to the resolver, which says how many it consumed; the evaluator applies the rest,
//! including splats, with precise errors ("This object has no attribute named \"idd\". Did you
//! mean \"id\"?") at the step that failed.

use super::Step;
use super::expr::{EvalResult, Evaluator, error};
use super::ops::mark;
use crate::diag::{Diagnostics, Span, did_you_mean};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, Traversal, TraversalOperator};
use tarn_sdk::Value;

impl Evaluator<'_> {
    pub fn root(&mut self, name: &str, steps: &[Step], root_span: Span, whole: Span) -> EvalResult {
        let r = self.resolve_root(name, steps, root_span, whole)?;
        Ok(r.value)
    }

    pub fn traversal(&mut self, t: &Traversal) -> EvalResult {
        let whole = self.span(t.span());
        let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
        let op_spans: Vec<Span> = t.operators.iter().map(|o| self.span(o.span())).collect();
        // Evaluate the steps up to the first splat; they may be offered to the resolver.
        let mut steps = Vec::new();
        for op in &ops {
            match op {
                TraversalOperator::GetAttr(id) => steps.push(Step::Attr(id.value().to_string())),
                TraversalOperator::LegacyIndex(i) => steps.push(Step::Index(Value::number(*i.value()))),
                TraversalOperator::Index(e) => steps.push(Step::Index(self.eval(e)?)),
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => break,
            }
        }
        let (mut value, consumed) = match &t.expr {
            Expression::Variable(v) => {
                let root_span = self.span(v.span());
                let r = self.resolve_root(v.value().as_str(), &steps, root_span, whole)?;
                (r.value, r.consumed)
            }
            other => (self.eval(other)?, 0),
        };
        let mut i = consumed;
        while i < ops.len() {
            let span = op_spans.get(i).copied().unwrap_or(whole);
            match ops[i] {
                TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_) => {
                    let full = matches!(ops[i], TraversalOperator::FullSplat(_));
                    // An attribute splat applies only the following attribute steps per element.
                    let mut end = i + 1;
                    while end < ops.len() {
                        let per_element = match ops[end] {
                            TraversalOperator::GetAttr(_) | TraversalOperator::LegacyIndex(_) => true,
                            TraversalOperator::Index(_) => full,
                            _ => false,
                        };
                        if !per_element {
                            break;
                        }
                        end += 1;
                    }
                    value = self.splat(
                        value,
                        &ops[i + 1..end],
                        &op_spans[(i + 1).min(op_spans.len())..end.min(op_spans.len())],
                    )?;
                    i = end;
                    continue;
                }
                op => {
                    let step = match op {
                        TraversalOperator::GetAttr(id) => Step::Attr(id.value().to_string()),
                        TraversalOperator::LegacyIndex(n) => Step::Index(Value::number(*n.value())),
                        TraversalOperator::Index(e) => match steps.get(i) {
                            Some(s) => s.clone(),
                            None => Step::Index(self.eval(e)?),
                        },
                        _ => Step::Attr(String::new()),
                    };
                    value = apply_step(&value, &step, span)?;
                }
            }
            i += 1;
        }
        Ok(value)
    }

    fn splat(&mut self, value: Value, ops: &[&TraversalOperator], spans: &[Span]) -> EvalResult {
        let (inner, sensitive) = value.unmark();
        let items: Vec<Value> = match inner {
            Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
            Value::Null => Vec::new(),
            // A set's elements are taken in set order; the result is a list, as in Terraform.
            Value::List(items) | Value::Set(items) => items.clone(),
            // A splat on a single value treats it as a one-element list.
            other => vec![other.clone()],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let mut v = item;
            for (j, op) in ops.iter().enumerate() {
                let span = spans.get(j).copied().unwrap_or(self.fallback);
                let step = match op {
                    TraversalOperator::GetAttr(id) => Step::Attr(id.value().to_string()),
                    TraversalOperator::LegacyIndex(n) => Step::Index(Value::number(*n.value())),
                    TraversalOperator::Index(e) => Step::Index(self.eval(e)?),
                    _ => continue,
                };
                v = apply_step(&v, &step, span)?;
            }
            out.push(v);
        }
        Ok(mark(Value::List(out), sensitive))
    }
}

/// Applies one step to a value, keeping marks.
pub fn apply_step(value: &Value, step: &Step, span: Span) -> Result<Value, Diagnostics> {
    let (inner, sensitive) = value.unmark();
    let out = match (inner, step) {
        (Value::Unknown, _) => Value::Unknown,
        // Terraform refuses to index a set whatever the key, even an unknown one.
        (Value::Set(_), Step::Index(_)) => {
            return Err(error(
                "Invalid index",
                "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.",
                span,
            ));
        }
        (_, Step::Index(k)) if k.is_unknown() => mark(Value::Unknown, k.contains_sensitive()),
        (Value::Null, Step::Attr(name)) => {
            return Err(error(
                "Attempt to get attribute from null value",
                format!("This value is null, so it does not have any attributes; \"{name}\" cannot be read."),
                span,
            ));
        }
        (Value::Null, Step::Index(_)) => {
            return Err(error(
                "Attempt to index null value",
                "This value is null, so it does not have any indices.",
                span,
            ));
        }
        (Value::Map(m), Step::Attr(name)) => match m.get(name) {
            Some(v) => v.clone(),
            None => {
                let hint = did_you_mean(name, m.keys().map(String::as_str))
                    .map(|s| format!(" Did you mean \"{s}\"?"))
                    .unwrap_or_default();
                return Err(error(
                    "Unsupported attribute",
                    format!("This object has no attribute named \"{name}\".{hint}"),
                    span,
                ));
            }
        },
        (Value::List(_), Step::Attr(name)) => {
            return Err(error(
                "Unsupported attribute",
                format!(
                    "This value is a list, which has no attributes. To read \"{name}\" from every element, use a splat: `[*].{name}`; to read one element, index it first: `[0].{name}`."
                ),
                span,
            ));
        }
        (Value::Set(_), Step::Attr(name)) => {
            return Err(error(
                "Unsupported attribute",
                format!(
                    "This value is a set, which has no attributes. To read \"{name}\" from every element, use a splat: `[*].{name}`."
                ),
                span,
            ));
        }
        (other, Step::Attr(name)) => {
            return Err(error(
                "Unsupported attribute",
                format!("Can't access attribute \"{name}\" on a primitive-typed value ({}).", other.type_name()),
                span,
            ));
        }
        (Value::List(items), Step::Index(k)) => {
            let idx = super::ops::to_number(k);
            match idx {
                Some(n) if n.to_usize().is_some_and(|i| i < items.len()) => {
                    mark(items[n.to_usize().unwrap_or(0)].clone(), k.contains_sensitive())
                }
                Some(n) if n.is_integer() => {
                    return Err(error(
                        "Invalid index",
                        format!(
                            "The given key does not identify an element in this collection value: index {} is out of range for a list of {} element{}.",
                            n.to_text(),
                            items.len(),
                            if items.len() == 1 { "" } else { "s" }
                        ),
                        span,
                    ));
                }
                _ => return Err(error("Invalid index", "A list index must be a whole number.", span)),
            }
        }
        (Value::Map(m), Step::Index(k)) => {
            let Some(key) = super::ops::to_string(k) else {
                return Err(error("Invalid index", "A map or object key must be a string.", span));
            };
            match m.get(&key) {
                Some(v) => mark(v.clone(), k.contains_sensitive()),
                None if k.contains_sensitive() => {
                    return Err(error(
                        "Invalid index",
                        "The given key does not identify an element in this collection value. The key is sensitive, so it is not shown.",
                        span,
                    ));
                }
                None => {
                    let hint = did_you_mean(&key, m.keys().map(String::as_str))
                        .map(|s| format!(" Did you mean \"{s}\"?"))
                        .unwrap_or_default();
                    return Err(error(
                        "Invalid index",
                        format!(
                            "The given key does not identify an element in this collection value: there is no element with key \"{key}\".{hint}"
                        ),
                        span,
                    ));
                }
            }
        }
        (other, Step::Index(_)) => {
            return Err(error(
                "Invalid index",
                format!("This value does not have any indices: it is {}.", crate::text::article(other.type_name())),
                span,
            ));
        }
    };
    Ok(mark(out, sensitive))
}
