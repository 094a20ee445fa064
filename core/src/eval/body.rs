//! Whole bodies: evaluates a resource's (or provider's) body into one object value —
//! attributes by name, nested blocks grouped by type into lists of objects — expanding
//! `dynamic "TYPE" { for_each = ..., iterator = NAME, content { ... } }` blocks; and collects
//! the static references of a body, including those inside nested and dynamic blocks.
//!
//! It does not know schemas: whether a nested block type is a list, a set or a single object is
//! the planner's decision, made on the lists produced here.

use super::expr::Evaluator;
use super::ops::mark;
use super::{EvalContext, refs};
use crate::config::{Block, Body, Expr, Reference};
use crate::diag::{Diagnostic, Diagnostics};
use hcl::edit::Span as _;
use indexmap::IndexMap;
use tarn_sdk::Value;

/// Evaluates `body` into an object. Every error in every attribute is collected.
pub fn evaluate_body(body: &Body, ctx: &EvalContext) -> Result<Value, Diagnostics> {
    eval_body(body, ctx, &IndexMap::new())
}

fn eval_expr(e: &Expr, ctx: &EvalContext, scope: &IndexMap<String, Value>) -> Result<Value, Diagnostics> {
    let base = e.expr.span().map(|r| e.span.start.saturating_sub(r.start)).unwrap_or(e.span.start);
    let mut ev = Evaluator {
        ctx,
        file: e.span.file,
        base,
        fallback: e.span,
        scopes: if scope.is_empty() { Vec::new() } else { vec![scope.clone()] },
        isolated: false,
        depth: 0,
    };
    ev.eval(&e.expr)
}

fn eval_body(body: &Body, ctx: &EvalContext, scope: &IndexMap<String, Value>) -> Result<Value, Diagnostics> {
    let mut out: IndexMap<String, Value> = IndexMap::new();
    let mut diags = Diagnostics::default();
    for (name, attr) in &body.attributes {
        match eval_expr(&attr.value, ctx, scope) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(d) => diags.extend(d),
        }
    }
    for block in &body.blocks {
        let (kind, items) = if block.kind == "dynamic" {
            match dynamic(block, ctx, scope) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            }
        } else {
            match eval_body(&block.body, ctx, scope) {
                Ok(v) => (block.kind.clone(), Value::List(vec![v])),
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            }
        };
        let slot = out.entry(kind).or_insert_with(|| Value::List(Vec::new()));
        match (slot, items) {
            (Value::List(have), Value::List(more)) => have.extend(more),
            (slot, other) => *slot = other,
        }
    }
    if diags.is_empty() { Ok(Value::Map(out)) } else { Err(diags) }
}

/// Expands one `dynamic` block into `(block type, list of objects)`; `None` when malformed
/// (already diagnosed).
fn dynamic(
    block: &Block,
    ctx: &EvalContext,
    scope: &IndexMap<String, Value>,
) -> Result<Option<(String, Value)>, Diagnostics> {
    let Some(kind) = block.labels.first().cloned() else {
        return Err(Diagnostic::error(
            "Missing block label",
            "A dynamic block takes one label: the type of block to generate, like `dynamic \"rule\" { ... }`.",
        )
        .at(block.kind_span)
        .into());
    };
    let Some(for_each) = block.body.attributes.get("for_each") else {
        return Err(Diagnostic::error(
            "Missing required argument",
            "A dynamic block requires a \"for_each\" argument.",
        )
        .at(block.span)
        .into());
    };
    let Some(content) = block.body.blocks.iter().find(|b| b.kind == "content") else {
        return Err(Diagnostic::error(
            "Missing content block",
            "A dynamic block requires a nested \"content\" block describing each generated block.",
        )
        .at(block.span)
        .into());
    };
    let iterator = match block.body.attributes.get("iterator") {
        Some(a) => match crate::config::statics::attr_path(&a.value) {
            Some(p) if p.len() == 1 => p[0].clone(),
            _ => {
                return Err(Diagnostic::error(
                    "Invalid iterator",
                    "The iterator argument is a plain name, like `iterator = rule`.",
                )
                .at(a.value.span)
                .into());
            }
        },
        None => kind.clone(),
    };
    let coll = eval_expr(&for_each.value, ctx, scope)?;
    let sensitive = coll.contains_sensitive();
    let pairs: Vec<(Value, Value)> = match coll.unmark().0 {
        Value::Unknown => return Ok(Some((kind, mark(Value::Unknown, sensitive)))),
        Value::Null => Vec::new(),
        Value::List(items) => items.iter().enumerate().map(|(i, v)| (Value::number(i), v.clone())).collect(),
        // A set's elements are their own keys, as in a `for` expression.
        Value::Set(items) => items.iter().map(|v| (v.clone(), v.clone())).collect(),
        Value::Map(m) => m.iter().map(|(k, v)| (Value::String(k.clone()), v.clone())).collect(),
        other => {
            return Err(Diagnostic::error(
                "Invalid dynamic for_each value",
                format!("Cannot use a {} value in for_each: a list, set or map is required.", other.type_name()),
            )
            .at(for_each.value.span)
            .into());
        }
    };
    let mut items = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        let mut inner = scope.clone();
        inner.insert(iterator.clone(), Value::map([("key", k), ("value", mark(v, sensitive))]));
        items.push(eval_body(&content.body, ctx, &inner)?);
    }
    Ok(Some((kind, Value::List(items))))
}

/// Every static reference in `body`, nested and dynamic blocks included; a dynamic block's
/// iterator variable is not a reference.
pub fn body_references(body: &Body) -> Vec<Reference> {
    let mut out = Vec::new();
    collect(body, &mut Vec::new(), &mut out);
    out
}

fn collect(body: &Body, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for attr in body.attributes.values() {
        out.extend(
            refs::references(&attr.value)
                .into_iter()
                .filter(|r| !r.path.first().is_some_and(|root| bound.contains(root))),
        );
    }
    for block in &body.blocks {
        if block.kind == "dynamic" {
            let iterator = block
                .body
                .attributes
                .get("iterator")
                .and_then(|a| crate::config::statics::attr_path(&a.value))
                .and_then(|p| p.into_iter().next())
                .or_else(|| block.labels.first().cloned())
                .unwrap_or_default();
            if let Some(fe) = block.body.attributes.get("for_each") {
                out.extend(
                    refs::references(&fe.value)
                        .into_iter()
                        .filter(|r| !r.path.first().is_some_and(|root| bound.contains(root))),
                );
            }
            bound.push(iterator);
            for content in block.body.blocks.iter().filter(|b| b.kind == "content") {
                collect(&content.body, bound, out);
            }
            bound.pop();
        } else {
            collect(&block.body, bound, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_sources;

    const SRC: &str = r#"
resource "null_resource" "a" {
  name = var.name
  rule {
    port = 80
  }
  rule {
    port = var.port
  }
  dynamic "rule" {
    for_each = var.list
    iterator = r
    content {
      port = "${r.key}:${r.value}"
    }
  }
  dynamic "tag" {
    for_each = var.map
    content {
      k = tag.key
    }
  }
  dynamic "later" {
    for_each = var.unknown
    content {}
  }
}
"#;

    #[test]
    fn bodies_evaluate_with_nested_and_dynamic_blocks() {
        let (cfg, d) = load_sources(&[("m.tarn.hcl", SRC)]);
        assert!(d.is_empty(), "{d:?}");
        let r = super::super::tests::scope();
        let ctx = EvalContext { resolver: &r, module_dir: std::path::Path::new(".") };
        let body = &cfg.root.module.resources["null_resource.a"].body;
        let v = evaluate_body(body, &ctx).unwrap();
        let rules: Vec<String> =
            v.get("rule").unwrap().as_list().unwrap().iter().map(|x| x.get("port").unwrap().to_string()).collect();
        assert_eq!(rules, ["80", "8080", "\"0:a\"", "\"1:b\"", "\"2:c\""]);
        let tags = v.get("tag").unwrap().as_list().unwrap();
        assert_eq!(tags[0].get("k"), Some(&Value::string("z")));
        assert_eq!(v.get("later"), Some(&Value::Unknown));
        let refs: Vec<String> = body_references(body).iter().map(|r| r.path.join(".")).collect();
        assert_eq!(refs, ["var.name", "var.port", "var.list", "var.map", "var.unknown"]);
    }
}
