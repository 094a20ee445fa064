//! Static interpretation of expressions that must be known while loading: literal strings and
//! bools (`description`, `sensitive`, `alias`, `source`), references (`depends_on`,
//! `replace_triggered_by`), provider references and resource addresses (`moved`, `import`).
//!
//! In `*.tarn.json` files these are written as strings holding the expression
//! (`"depends_on": ["null_resource.a"]`), as in Terraform's JSON syntax; both forms are accepted
//! here. Nothing here reads variables or state, and nothing here evaluates: the values come
//! from the [`Constants`] the caller of the reader supplies.

use super::model::{Expr, ProviderRef, Reference};
use crate::diag::{Diagnostic, Span};
use crate::text::{article, bare_name};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, TraversalOperator};
use tarn_sdk::{Address, Type, Value};

/// How loading evaluates what must be known while loading: descriptions, `sensitive` and
/// other flags, a module call's `source`, `required_providers` entries, backend arguments and
/// `optional(...)` defaults. Config parses and never evaluates: the evaluator implements this
/// one layer up (`eval::LoadingConstants`), and `crate::load` plugs it into the reader, so the
/// dependency runs one way, eval on config.
pub trait Constants {
    /// The value of an expression that may refer to nothing (a reference is an error); the
    /// first diagnostic when it cannot be evaluated.
    fn constant(&self, expr: &Expr) -> Result<Value, Diagnostic>;
    /// `value` converted to `ty` by the language's conversion rules, or why it cannot be.
    fn convert(&self, value: &Value, ty: &Type) -> Result<Value, String>;
}

pub fn constant_string(c: &dyn Constants, expr: &Expr, what: &str) -> Result<String, Diagnostic> {
    let v = c.constant(expr)?;
    match v.unmark().0 {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_text()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(Diagnostic::error(
            "Invalid value",
            format!("The {what} must be a string, but this is {}.", article(other.type_name())),
        )
        .at(expr.span)),
    }
}

pub fn constant_bool(c: &dyn Constants, expr: &Expr, what: &str) -> Result<bool, Diagnostic> {
    let v = c.constant(expr)?;
    match v.unmark().0 {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        other => Err(Diagnostic::error(
            "Invalid value",
            format!("The {what} must be true or false, but this is {}.", article(other.type_name())),
        )
        .at(expr.span)),
    }
}

/// If `expr` is a string literal from a JSON file, re-parses its content as an expression with
/// spans into the file (exact when the string has no escapes).
pub fn unquote_json(expr: &Expr, is_json: bool) -> Expr {
    if !is_json {
        return expr.clone();
    }
    let Expression::String(s) = &expr.expr else { return expr.clone() };
    match hcl::edit::parser::parse_expr(s.value()) {
        Ok(inner) => {
            let start = inner.span().map(|r| r.start).unwrap_or(0);
            let base = expr.span.start + 1;
            let span = Span { file: expr.span.file, start: base + start, end: base + s.value().len() };
            Expr { expr: inner, span }
        }
        Err(_) => expr.clone(),
    }
}

/// The elements of a tuple expression, each as an [`Expr`] with its own span.
pub fn tuple_items(expr: &Expr) -> Option<Vec<Expr>> {
    match &expr.expr {
        Expression::Array(items) => {
            Some(items.iter().map(|e| Expr { expr: e.clone(), span: expr.sub_span(e.span()) }).collect())
        }
        _ => None,
    }
}

/// `a.b.c` (attribute steps only) as a path; `None` for anything else.
pub fn attr_path(expr: &Expr) -> Option<Vec<String>> {
    match &expr.expr {
        Expression::Traversal(t) => {
            let mut path = vec![bare_name(&t.expr)?];
            for op in &t.operators {
                match op.value() {
                    TraversalOperator::GetAttr(id) => path.push(id.value().to_string()),
                    _ => return None,
                }
            }
            Some(path)
        }
        other => bare_name(other).map(|n| vec![n]),
    }
}

/// A reference for `depends_on`-like lists: a traversal of attribute steps, where trailing
/// instance keys are tolerated and dropped.
pub fn reference(expr: &Expr) -> Option<Reference> {
    let path = match &expr.expr {
        Expression::Traversal(t) => {
            let Expression::Variable(root) = &t.expr else { return None };
            let mut path = vec![root.value().to_string()];
            for op in &t.operators {
                match op.value() {
                    TraversalOperator::GetAttr(id) => path.push(id.value().to_string()),
                    TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_) => break,
                    _ => return None,
                }
            }
            path
        }
        _ => attr_path(expr)?,
    };
    Some(Reference { path, span: expr.span })
}

/// A list of references, each diagnosed separately when malformed.
pub fn reference_list(expr: &Expr, is_json: bool, what: &str, diags: &mut Vec<Diagnostic>) -> Vec<Reference> {
    let Some(items) = tuple_items(expr) else {
        diags.push(
            Diagnostic::error(
                "Invalid expression",
                format!("The {what} argument must be a list of references, like `[null_resource.a]`."),
            )
            .at(expr.span),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let item = unquote_json(&item, is_json);
        match reference(&item) {
            Some(r) => out.push(r),
            None => diags.push(
                Diagnostic::error(
                    "Invalid reference",
                    format!("Each element of {what} must be a reference to a resource, data source, module or variable, like `null_resource.a`; this is an expression."),
                )
                .at(item.span),
            ),
        }
    }
    out
}

/// `provider = NAME` or `provider = NAME.ALIAS`.
pub fn provider_ref(expr: &Expr, is_json: bool) -> Result<ProviderRef, Diagnostic> {
    let expr = unquote_json(expr, is_json);
    match attr_path(&expr) {
        Some(path) if path.len() == 1 || path.len() == 2 => {
            Ok(ProviderRef { name: path[0].clone(), alias: path.get(1).cloned(), span: expr.span })
        }
        _ => Err(Diagnostic::error(
            "Invalid provider reference",
            "A provider reference is the provider's name, optionally followed by its alias: `local` or `local.other`.",
        )
        .at(expr.span)),
    }
}

/// A resource address written as a traversal (`module.m.null_resource.a[0]`) or, in JSON, a string.
pub fn address(expr: &Expr, is_json: bool) -> Result<Address, Diagnostic> {
    let text = match &expr.expr {
        Expression::String(s) if is_json => s.value().to_string(),
        e => {
            let mut e = e.clone();
            hcl::edit::Decorate::decor_mut(&mut e).clear();
            e.to_string()
        }
    };
    let compact: String = text.split_whitespace().collect();
    compact.parse::<Address>().map_err(|e| {
        Diagnostic::error(
            "Invalid address",
            format!(
                "Expected a resource address like `null_resource.a` or `module.m.null_resource.a[0]`: {}.",
                e.reason
            ),
        )
        .at(expr.span)
    })
}

/// The `to` of an `import` block with `for_each`: an address whose instance key may be an
/// expression (`fault_object.m[each.key]`), evaluated per element by the planner. A literal key
/// gives `None` as the expression, like [`address`].
pub fn import_target(expr: &Expr, is_json: bool) -> Result<(Address, Option<Expr>), Diagnostic> {
    if let Ok(a) = address(expr, is_json) {
        return Ok((a, None));
    }
    let text = match &expr.expr {
        Expression::String(s) if is_json => s.value().to_string(),
        e => {
            let mut e = e.clone();
            hcl::edit::Decorate::decor_mut(&mut e).clear();
            e.to_string()
        }
    };
    let text = text.trim();
    let invalid = |why: &str| {
        Diagnostic::error(
            "Invalid import target",
            format!("Expected a resource address like `null_resource.a`, or with for_each `null_resource.a[each.key]`: {why}."),
        )
        .at(expr.span)
    };
    // The final `[...]`, found by matching brackets from the end (the key may index too).
    let Some(body) = text.strip_suffix(']') else { return Err(invalid("the address does not parse")) };
    let mut depth = 0usize;
    let mut open = None;
    for (i, c) in body.char_indices().rev() {
        match c {
            ']' => depth += 1,
            '[' if depth == 0 => {
                open = Some(i);
                break;
            }
            '[' => depth -= 1,
            _ => {}
        }
    }
    let Some(open) = open else { return Err(invalid("unbalanced brackets")) };
    let base: String = body[..open].split_whitespace().collect();
    let base: Address = base.parse().map_err(|e: tarn_sdk::address::AddressParseError| invalid(e.reason))?;
    if base.key.is_some() {
        return Err(invalid("the address has more than one instance key"));
    }
    let key: Expression =
        body[open + 1..].trim().parse().map_err(|_| invalid("the instance key is not an expression"))?;
    Ok((base, Some(Expr { expr: key, span: expr.span })))
}
