//! Function calls. Arguments are evaluated (with `...` expansion of the last one) and passed
//! to the standard library (`crate::functions`). Three functions are the evaluator's own,
//! because they need it: `try` and `can` evaluate their arguments lazily, and `templatefile`
//! renders a file as a template with only the given variables in scope.

use super::expr::{EvalResult, Evaluator, error};
use super::ops::mark;
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::functions::{self, FuncContext};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, FuncCall};
use indexmap::IndexMap;
use tarn_sdk::Value;

/// Files rendered by templatefile may call templatefile themselves; cap the nesting.
const MAX_TEMPLATE_NESTING: usize = 8;

impl Evaluator<'_> {
    pub fn call(&mut self, call: &FuncCall, whole: &Expression) -> EvalResult {
        let mut name = String::new();
        for ns in &call.name.namespace {
            name.push_str(ns.value().as_str());
            name.push_str("::");
        }
        name.push_str(call.name.name.value().as_str());
        let call_span = self.span_of(whole);
        // Terraform (HCL) blames a call as a whole at `name(`, and an argument at its start.
        let head_span = self.call_head(call, call_span);
        let arg_exprs: Vec<&Expression> = call.args.iter().collect();
        match name.as_str() {
            "try" => return self.try_call(&arg_exprs, head_span),
            "can" => return self.can_call(&arg_exprs, call_span),
            _ => {}
        }
        // Evaluate arguments, collecting every error.
        let mut args = Vec::with_capacity(arg_exprs.len());
        let mut diags = Diagnostics::default();
        for a in &arg_exprs {
            match self.eval(a) {
                Ok(v) => args.push(v),
                Err(d) => diags.extend(d),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        if call.args.expand_final() {
            let Some(last) = args.pop() else {
                return Err(error(
                    "Invalid expanding argument",
                    "The `...` expansion needs an argument to expand.",
                    call_span,
                ));
            };
            let (inner, sensitive) = last.unmark();
            match inner {
                Value::Unknown => return Ok(mark(Value::Unknown, sensitive)),
                Value::List(items) | Value::Set(items) => {
                    args.extend(items.iter().cloned().map(|v| mark(v, sensitive)))
                }
                other => {
                    let span = arg_exprs.last().map(|e| self.span_of(e)).unwrap_or(call_span);
                    return Err(error(
                        "Invalid expanding argument value",
                        format!(
                            "The expanding argument (indicated by ...) must be a list or tuple, but this is {}.",
                            crate::text::article(other.type_name())
                        ),
                        span,
                    ));
                }
            }
        }
        if name == "templatefile" {
            return self.templatefile(args, &arg_exprs, head_span);
        }
        let resolver = self.ctx.resolver;
        let fctx = FuncContext { module_dir: self.ctx.module_dir, cwd: resolver.cwd(), home: resolver.home() };
        // Function errors quote their arguments; a sensitive one must not reach the message.
        let secret = args.iter().any(Value::contains_sensitive);
        match functions::call(&name, args, &fctx) {
            // Terraform 1.0.3 still knows these names, as functions that always fail: the
            // error is the call's, at `list(`.
            None if name == "list" || name == "map" => {
                let literal = if name == "list" { "tolist([ ... ])" } else { "tomap({ ... })" };
                let what = if name == "list" { "list" } else { "map" };
                Err(error(
                    "Error in function call",
                    format!(
                        "Call to function \"{name}\" failed: the \"{name}\" function was deprecated in Terraform v0.12 and is no longer available; use {literal} syntax to write a literal {what}."
                    ),
                    head_span,
                ))
            }
            None => {
                let mut names: Vec<&str> = functions::names();
                names.extend(["try", "can", "templatefile"]);
                let hint = did_you_mean(&name, names.iter().copied())
                    .map(|s| format!(" Did you mean \"{s}\"?"))
                    .unwrap_or_default();
                let name_span = self.span(call.name.name.span());
                Err(error(
                    "Call to unknown function",
                    format!("There is no function named \"{name}\".{hint}"),
                    name_span,
                ))
            }
            Some(Ok(v)) => Ok(v),
            Some(Err(fe)) => {
                let span = match fe.arg {
                    // Arguments past the written ones came from `...` expansion.
                    Some(i) => arg_exprs.get(i).or(arg_exprs.last()).map(|e| self.start_span(e)).unwrap_or(call_span),
                    None => head_span,
                };
                let why = if secret {
                    "an argument is sensitive, so the details are not shown. Check the value given to it.".to_string()
                } else {
                    sentence(&fe.message)
                };
                Err(error("Error in function call", format!("Call to function \"{name}\" failed: {why}"), span))
            }
        }
    }

    /// `try(a, b, ...)`: the first argument that evaluates without error. An unknown result is
    /// returned as is (it may yet succeed), not skipped.
    fn try_call(&mut self, args: &[&Expression], span: Span) -> EvalResult {
        if args.is_empty() {
            return Err(error(
                "Not enough function arguments",
                "Function \"try\" expects at least one argument.",
                span,
            ));
        }
        let mut last = Diagnostics::default();
        for a in args {
            match self.eval(a) {
                Ok(v) => return Ok(v),
                Err(d) => last = d,
            }
        }
        let mut d = Diagnostic::error(
            "Error in function call",
            "Call to function \"try\" failed: no expression succeeded. The errors of the last argument are listed below.",
        )
        .at(span);
        for x in last.iter() {
            if let Some(s) = x.span {
                d = d.related(s, format!("{}: {}", x.summary, x.detail));
            }
        }
        Err(d.into())
    }

    /// `can(expr)`: whether `expr` evaluates without error; unknown when its value is unknown.
    fn can_call(&mut self, args: &[&Expression], span: Span) -> EvalResult {
        let [a] = args else {
            return Err(error(
                "Wrong number of function arguments",
                "Function \"can\" expects exactly one argument.",
                span,
            ));
        };
        match self.eval(a) {
            Ok(v) if !v.is_wholly_known() => Ok(mark(Value::Unknown, v.contains_sensitive())),
            Ok(_) => Ok(Value::Bool(true)),
            Err(_) => Ok(Value::Bool(false)),
        }
    }

    fn templatefile(&mut self, args: Vec<Value>, exprs: &[&Expression], span: Span) -> EvalResult {
        let arg_span = |i: usize| exprs.get(i).map(|e| self.start_span(e)).unwrap_or(span);
        if args.len() != 2 {
            return Err(error(
                "Wrong number of function arguments",
                "Function \"templatefile\" expects two arguments: a path and an object of variables.",
                span,
            ));
        }
        if args.iter().any(|a| !a.is_wholly_known()) {
            let s = args.iter().any(Value::contains_sensitive);
            return Ok(mark(Value::Unknown, s));
        }
        let Some(path) = args[0].as_str() else {
            return Err(error(
                "Invalid function argument",
                "The first argument of templatefile must be a file path string.",
                arg_span(0),
            ));
        };
        let vars: IndexMap<String, Value> = match args[1].unmark() {
            (Value::Map(m), s) => m.iter().map(|(k, v)| (k.clone(), mark(v.clone(), s))).collect(),
            (Value::Null, _) => IndexMap::new(),
            _ => {
                return Err(error(
                    "Invalid function argument",
                    "The second argument of templatefile must be an object of variables.",
                    arg_span(1),
                ));
            }
        };
        if self.depth > MAX_TEMPLATE_NESTING * 32 {
            return Err(error("Template nesting too deep", "templatefile calls are nested too deeply.", span));
        }
        let full = self.ctx.module_dir.join(path);
        let text = std::fs::read_to_string(&full).map_err(|e| {
            if args[0].contains_sensitive() {
                return error(
                    "Invalid function argument",
                    format!("Cannot read the template file: {e}. Its path is sensitive, so it is not shown."),
                    arg_span(0),
                );
            }
            error(
                "Invalid function argument",
                format!("Cannot read template file {}: {e}.", full.display()),
                arg_span(0),
            )
        })?;
        let template = hcl::edit::parser::parse_template(&text).map_err(|e| {
            error(
                "Invalid template",
                format!(
                    "{} line {}, col {}: {}",
                    full.display(),
                    e.location().line(),
                    e.location().column(),
                    e.message()
                ),
                arg_span(0),
            )
        })?;
        let mut sub = Evaluator {
            ctx: self.ctx,
            file: span.file,
            base: 0,
            fallback: span,
            scopes: vec![vars],
            isolated: true,
            depth: self.depth + 32,
        };
        let template = super::lines::normalize(&template, None, false);
        let vars_span = arg_span(1);
        sub.render(&template).map_err(|ds| {
            // Spans inside the template file are not in the source map: report them at the
            // call, naming the place in the template; a variable the map lacks at the map, as
            // Terraform does ("vars map does not contain key").
            Diagnostics(
                ds.0.into_iter()
                    .map(|mut d| {
                        if let Some(s) = d.span {
                            let (l, c) = line_col(&text, s.start);
                            d.detail = format!("In {} line {l}, col {c}: {}", full.display(), d.detail);
                        }
                        let missing = d.summary == "Reference to undeclared name";
                        d.span = Some(if missing { vars_span } else { span });
                        d
                    })
                    .collect(),
            )
        })
    }
}

impl Evaluator<'_> {
    /// `name(` of a call: where Terraform points an error of the call as a whole.
    pub fn call_head(&self, call: &FuncCall, whole: Span) -> Span {
        let name_len: usize = call.name.namespace.iter().map(|n| n.value().as_str().len() + 2).sum::<usize>()
            + call.name.name.value().as_str().len();
        Span { file: whole.file, start: whole.start, end: (whole.start + name_len + 1).min(whole.end) }
    }

    /// The start of an expression, as HCL's `StartRange`: where Terraform points an error that
    /// blames a function argument. A quoted string's start is its text without the quotes; a
    /// collection's or `for`'s its opening bracket; an operation's its left operand's start.
    pub fn start_span(&self, e: &Expression) -> Span {
        let whole = self.span_of(e);
        let first = |w: Span| Span { file: w.file, start: w.start, end: (w.start + 1).min(w.end) };
        match e {
            Expression::String(_) => {
                Span { file: whole.file, start: whole.start + 1, end: whole.end.saturating_sub(1).max(whole.start + 1) }
            }
            Expression::StringTemplate(t) => match t.iter().next() {
                Some(hcl::edit::template::Element::Literal(l)) => match l.span() {
                    Some(_) => self.span(l.span()),
                    None => Span { file: whole.file, start: whole.start + 1, end: whole.start + 1 + l.value().len() },
                },
                _ => whole,
            },
            Expression::Array(_) | Expression::Object(_) | Expression::ForExpr(_) => first(whole),
            Expression::FuncCall(c) => self.call_head(c, whole),
            Expression::Parenthesis(p) => self.start_span(p.inner()),
            Expression::BinaryOp(op) => self.start_span(&op.lhs_expr),
            Expression::Conditional(c) => self.start_span(&c.cond_expr),
            Expression::UnaryOp(_) => first(whole),
            Expression::Traversal(t) if !matches!(t.expr, Expression::Variable(_)) => self.start_span(&t.expr),
            _ => whole,
        }
    }
}

fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with('.') || s.ends_with('?') || s.ends_with('!') { s.to_string() } else { format!("{s}.") }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = crate::config::hcl::floor_boundary(text, offset);
    let before = text.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}
