//! The expression evaluator proper: walks an hcl-edit expression tree and produces a
//! [`Value`], consulting the [`Resolver`] for root names and local scopes for variables bound by
//! `for` expressions and `templatefile`. Traversal steps, templates and function calls live in
//! sibling modules; this file dispatches, builds collections and runs `for` and conditionals.
//!
//! Every error is a diagnostic at the exact sub-expression, with spans mapped into the file
//! through the expression's base offset. Must not panic on any input.

use super::EvalContext;
use super::ops::{self, mark};
use crate::diag::{Diagnostic, Diagnostics, FileId, Span, did_you_mean};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ForExpr, ObjectKey};
use indexmap::IndexMap;
use tarn_sdk::Value;

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 256;

pub type EvalResult = Result<Value, Diagnostics>;

/// One evaluation: the context, where spans land, and the variables in scope.
pub struct Evaluator<'a> {
    pub ctx: &'a EvalContext<'a>,
    pub file: FileId,
    /// Added to every hcl-edit byte offset to get a file offset.
    pub base: usize,
    /// Used when an hcl-edit node carries no span.
    pub fallback: Span,
    /// Variables bound by `for` expressions and template `for` directives, innermost last.
    pub scopes: Vec<IndexMap<String, Value>>,
    /// When set, root names resolve only from `scopes` (templatefile's rule), never the resolver.
    pub isolated: bool,
    pub depth: usize,
}

/// `chosen` brought to the type it shares with `other` (HCL's rule for the result type of a
/// conditional): a number or bool meeting a string becomes a string, a list meeting a set a set.
fn unify_branches(chosen: Value, other: &Value) -> Value {
    let (inner, sensitive) = chosen.unmark();
    match (inner, other.unmark().0) {
        (Value::Number(_) | Value::Bool(_), Value::String(_)) => {
            ops::to_string(inner).map(|s| mark(Value::String(s), sensitive)).unwrap_or(chosen)
        }
        // A list or tuple meeting a set becomes a set (`false ? toset(["a"]) : ["b", "b"]` is
        // `toset(["b"])`), so a set-refusing use fails whichever branch is taken.
        (Value::List(items), Value::Set(_)) => mark(crate::functions::set_of(items.clone()), sensitive),
        _ => chosen,
    }
}

pub fn error(summary: impl Into<String>, detail: impl Into<String>, span: Span) -> Diagnostics {
    Diagnostic::error(summary, detail).at(span).into()
}

impl<'a> Evaluator<'a> {
    pub fn span(&self, range: Option<std::ops::Range<usize>>) -> Span {
        match range {
            Some(r) => Span { file: self.file, start: self.base + r.start, end: self.base + r.end.max(r.start) },
            None => self.fallback,
        }
    }

    pub fn span_of(&self, e: &Expression) -> Span {
        self.span(e.span())
    }

    pub fn lookup_local(&self, name: &str) -> Option<&Value> {
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    pub fn eval(&mut self, e: &Expression) -> EvalResult {
        if self.depth >= MAX_DEPTH {
            return Err(error(
                "Expression too complex",
                "This expression is nested too deeply to evaluate.",
                self.span_of(e),
            ));
        }
        self.depth += 1;
        let out = self.eval_inner(e);
        self.depth -= 1;
        out
    }

    fn eval_inner(&mut self, e: &Expression) -> EvalResult {
        match e {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => match literal_number(n) {
                Some(v) if v.is_finite() => Ok(Value::Number(v)),
                _ => Err(error("Invalid number", "This number cannot be represented.", self.span_of(e))),
            },
            Expression::String(s) => Ok(Value::String(s.value().to_string())),
            Expression::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut diags = Diagnostics::default();
                for item in items.iter() {
                    match self.eval(item) {
                        Ok(v) => out.push(v),
                        Err(d) => diags.extend(d),
                    }
                }
                if diags.is_empty() { Ok(Value::List(out)) } else { Err(diags) }
            }
            Expression::Object(obj) => self.object(obj),
            Expression::StringTemplate(t) => self.template_expr(t, true),
            Expression::HeredocTemplate(h) => {
                let t = super::lines::normalize(&h.template, h.indent(), h.indent().is_some());
                self.template_expr(&t, false)
            }
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(v) => self.root(v.value().as_str(), &[], self.span(v.span()), self.span_of(e)),
            Expression::Traversal(t) => self.traversal(t),
            Expression::Conditional(c) => {
                let cond = self.eval(&c.cond_expr)?;
                let sensitive = cond.contains_sensitive();
                if cond.is_unknown() {
                    // Both branches must still be valid expressions.
                    let (a, b) = (self.eval(&c.true_expr), self.eval(&c.false_expr));
                    a?;
                    b?;
                    return Ok(mark(Value::Unknown, sensitive));
                }
                let Some(b) = ops::to_bool(&cond) else {
                    return Err(error(
                        "Incorrect condition type",
                        format!(
                            "The condition expression must be a bool, but this is {}.",
                            crate::text::article(cond.type_name())
                        ),
                        self.span_of(&c.cond_expr),
                    ));
                };
                let (chosen, other) = if b { (&c.true_expr, &c.false_expr) } else { (&c.false_expr, &c.true_expr) };
                let v = self.eval(chosen)?;
                // Like HCL, the result has the branches' common type: a number or bool meeting a
                // string becomes a string. Errors in the branch not taken are not reported.
                let v = match self.eval(other) {
                    Ok(o) => unify_branches(v, &o),
                    Err(_) => v,
                };
                Ok(mark(v, sensitive))
            }
            Expression::FuncCall(call) => self.call(call, e),
            Expression::UnaryOp(u) => {
                let v = self.eval(&u.expr)?;
                ops::unary(*u.operator.value(), &v).map_err(|er| error(er.summary, er.detail, self.span_of(&u.expr)))
            }
            Expression::BinaryOp(b) => {
                let op = *b.operator.value();
                let lhs = self.eval(&b.lhs_expr)?;
                if let Some(decided) = ops::short_circuit(op, &lhs) {
                    return Ok(decided);
                }
                let rhs = self.eval(&b.rhs_expr)?;
                ops::binary(op, &lhs, &rhs).map_err(|er| {
                    let span = match er.side {
                        ops::Side::Left => self.span_of(&b.lhs_expr),
                        ops::Side::Right => self.span_of(&b.rhs_expr),
                        ops::Side::Whole => self.span_of(e),
                    };
                    error(er.summary, er.detail, span)
                })
            }
            Expression::ForExpr(f) => self.for_expr(f),
        }
    }

    fn object(&mut self, obj: &hcl::edit::expr::Object) -> EvalResult {
        let mut out = IndexMap::new();
        let mut diags = Diagnostics::default();
        let mut unknown_key = false;
        let mut sensitive_key = false;
        for (key, value) in obj.iter() {
            let k = match key {
                ObjectKey::Ident(id) => id.value().to_string(),
                // A bare name (keywords included) is a literal key; `(name)` evaluates it.
                ObjectKey::Expression(ke @ (Expression::Variable(_) | Expression::Null(_) | Expression::Bool(_))) => {
                    crate::text::bare_name(ke).unwrap_or_default()
                }
                ObjectKey::Expression(ke) => match self.eval(ke) {
                    Ok(kv) if kv.is_unknown() => {
                        unknown_key = true;
                        continue;
                    }
                    Ok(kv) => {
                        sensitive_key |= kv.contains_sensitive();
                        match ops::to_string(&kv) {
                            Some(s) => s,
                            None => {
                                diags.push(
                                    Diagnostic::error(
                                        "Incorrect key type",
                                        format!(
                                            "An object key must be a string, but this is {}.",
                                            crate::text::article(kv.type_name())
                                        ),
                                    )
                                    .at(self.span_of(ke)),
                                );
                                continue;
                            }
                        }
                    }
                    Err(d) => {
                        diags.extend(d);
                        continue;
                    }
                },
            };
            match self.eval(value.expr()) {
                Ok(v) => {
                    out.insert(k, v);
                }
                Err(d) => diags.extend(d),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        if unknown_key {
            return Ok(mark(Value::Unknown, sensitive_key));
        }
        Ok(mark(Value::Map(out), sensitive_key))
    }

    /// Runs `body` with the iteration variables of a `for` (expression or template directive)
    /// bound: the key variable, if named, to `k`, the value variable to `v`.
    pub(crate) fn in_for_scope<R>(
        &mut self,
        key_var: Option<&str>,
        value_var: &str,
        k: Value,
        v: Value,
        body: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let mut scope = IndexMap::new();
        if let Some(kv) = key_var {
            scope.insert(kv.to_string(), k);
        }
        scope.insert(value_var.to_string(), v);
        self.scopes.push(scope);
        let r = body(self);
        self.scopes.pop();
        r
    }

    /// Resolves a root name: local scopes first, then (unless isolated) the resolver.
    pub fn resolve_root(
        &mut self,
        name: &str,
        steps: &[super::Step],
        root_span: Span,
        whole: Span,
    ) -> Result<super::Resolved, Diagnostics> {
        if let Some(v) = self.lookup_local(name) {
            return Ok(super::Resolved { value: v.clone(), consumed: 0 });
        }
        if !self.isolated {
            match self.ctx.resolver.resolve(name, steps, whole) {
                Ok(Some(r)) => return Ok(super::Resolved { consumed: r.consumed.min(steps.len()), value: r.value }),
                Ok(None) => {}
                // A resolver's diagnostic without a place is placed at the reference.
                Err(d) => return Err(if d.span.is_none() { d.at(whole) } else { d }.into()),
            }
        }
        let mut names: Vec<String> = self.scopes.iter().flat_map(|s| s.keys().cloned()).collect();
        if !self.isolated {
            names.extend(self.ctx.resolver.root_names());
        }
        let hint = did_you_mean(name, names.iter().map(String::as_str))
            .map(|s| format!(" Did you mean \"{s}\"?"))
            .unwrap_or_default();
        let detail = if self.isolated {
            format!(
                "There is no variable named \"{name}\" in this template: only the variables passed to templatefile are in scope.{hint}"
            )
        } else {
            format!("There is no variable or object named \"{name}\" in this scope.{hint}")
        };
        Err(error("Reference to undeclared name", detail, root_span))
    }

    fn for_expr(&mut self, f: &ForExpr) -> EvalResult {
        let coll = self.eval(&f.intro.collection_expr)?;
        let sensitive = coll.is_sensitive();
        let inner = coll.unmark().0;
        let pairs: Vec<(Value, Value)> = match inner {
            Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
            Value::List(items) => items.iter().enumerate().map(|(i, v)| (Value::number(i), v.clone())).collect(),
            // A set has no indices: each element is its own key, as in Terraform.
            Value::Set(items) => items.iter().map(|v| (v.clone(), v.clone())).collect(),
            Value::Map(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                keys.into_iter().filter_map(|k| m.get(k).map(|v| (Value::String(k.clone()), v.clone()))).collect()
            }
            Value::Null => {
                return Err(error(
                    "Iteration over null value",
                    "A null value cannot be used as the collection in a 'for' expression.",
                    self.span_of(&f.intro.collection_expr),
                ));
            }
            other => {
                return Err(error(
                    "Iteration over non-iterable value",
                    format!(
                        "A value of type {} cannot be used as the collection in a 'for' expression.",
                        other.type_name()
                    ),
                    self.span_of(&f.intro.collection_expr),
                ));
            }
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.value().to_string());
        let value_var = f.intro.value_var.value().to_string();
        let mut list = Vec::new();
        let mut map: IndexMap<String, Value> = IndexMap::new();
        let mut any_unknown = false;
        let mut any_sensitive = sensitive;
        for (k, v) in pairs {
            let v = mark(v, sensitive);
            self.in_for_scope(key_var.as_deref(), &value_var, k, v, |ev| {
                ev.for_step(f, &mut list, &mut map, &mut any_unknown, &mut any_sensitive)
            })?;
        }
        if any_unknown {
            return Ok(mark(Value::Unknown, any_sensitive));
        }
        let out = if f.key_expr.is_some() { Value::Map(map) } else { Value::List(list) };
        Ok(mark(out, any_sensitive))
    }

    fn for_step(
        &mut self,
        f: &ForExpr,
        list: &mut Vec<Value>,
        map: &mut IndexMap<String, Value>,
        any_unknown: &mut bool,
        any_sensitive: &mut bool,
    ) -> Result<(), Diagnostics> {
        if let Some(cond) = &f.cond {
            let c = self.eval(&cond.expr)?;
            if c.is_unknown() {
                *any_unknown = true;
                return Ok(());
            }
            *any_sensitive |= c.contains_sensitive();
            match ops::to_bool(&c) {
                Some(true) => {}
                Some(false) => return Ok(()),
                None => {
                    return Err(error(
                        "Invalid 'for' condition",
                        "The 'if' clause of a 'for' expression must produce a bool.",
                        self.span_of(&cond.expr),
                    ));
                }
            }
        }
        let value = self.eval(&f.value_expr)?;
        let Some(key_expr) = &f.key_expr else {
            list.push(value);
            return Ok(());
        };
        let k = self.eval(key_expr)?;
        if k.is_unknown() {
            *any_unknown = true;
            return Ok(());
        }
        *any_sensitive |= k.contains_sensitive();
        let Some(key) = ops::to_string(&k) else {
            return Err(error(
                "Invalid object key",
                "The key expression of a 'for' expression must produce a string.",
                self.span_of(key_expr),
            ));
        };
        if f.grouping {
            if let Value::List(group) = map.entry(key).or_insert_with(|| Value::List(Vec::new())) {
                group.push(value)
            }
        } else if map.contains_key(&key) {
            return Err(error(
                "Duplicate object key",
                format!(
                    "Two elements produce the key \"{key}\". Use the grouping mode (`...` after the value) to collect values with the same key into lists."
                ),
                self.span_of(key_expr),
            ));
        } else {
            map.insert(key, value);
        }
        Ok(())
    }
}

/// A number literal as Terraform reads it: its source text at 512 bits (`0.1` is not the f64
/// 0.1); the parsed value when the text is not at hand (a tree built in code).
fn literal_number(n: &hcl::edit::Formatted<hcl::Number>) -> Option<tarn_sdk::Number> {
    if let Some(raw) = n.as_repr() {
        let raw: &str = raw;
        // `- 1` (a negative literal with a space) is read without the space.
        let parsed = if raw.contains(char::is_whitespace) {
            tarn_sdk::Number::parse(&raw.chars().filter(|c| !c.is_whitespace()).collect::<String>())
        } else {
            tarn_sdk::Number::parse(raw)
        };
        if parsed.is_some() {
            return parsed;
        }
    }
    let v = n.value();
    if let Some(i) = v.as_i64() {
        return Some(tarn_sdk::Number::from_i64(i).with_prec(tarn_sdk::number::PARSE_PREC));
    }
    if let Some(u) = v.as_u64() {
        return Some(tarn_sdk::Number::from_u64(u).with_prec(tarn_sdk::number::PARSE_PREC));
    }
    tarn_sdk::Number::parse(&v.to_string())
}
