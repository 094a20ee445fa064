//! Templates: quoted strings with `${...}` interpolation, heredocs, and the `%{if}` / `%{for}`
//! directives with `~` strip markers. A template that is a single interpolation and nothing
//! else yields the interpolated value unchanged (HCL's rule), so `"${var.list}"` is a list.
//!
//! Marks: an unknown part makes the whole string unknown; a sensitive part makes it sensitive.

use super::expr::{EvalResult, Evaluator, error};
use super::ops::{self, mark};
use crate::diag::Diagnostics;
use hcl::edit::expr::Expression;
use hcl::edit::template::{Directive, Element, Template};
use tarn_sdk::Value;

/// The rendered text so far, or a note that some part was unknown.
#[derive(Default)]
struct Out {
    text: String,
    unknown: bool,
    sensitive: bool,
}

fn strip_start_of(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(i) => i.if_expr.strip.strip_start(),
            Directive::For(f) => f.for_expr.strip.strip_start(),
        },
    }
}

fn strip_end_of(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(i) => i.endif_expr.strip.strip_end(),
            Directive::For(f) => f.endfor_expr.strip.strip_end(),
        },
    }
}

impl Evaluator<'_> {
    /// Evaluates a template expression. `quoted` enables the single-interpolation rule.
    pub fn template_expr(&mut self, t: &Template, quoted: bool) -> EvalResult {
        let elements: Vec<&Element> = t.iter().collect();
        if quoted && let [Element::Interpolation(i)] = elements.as_slice() {
            return self.eval(&i.expr);
        }
        self.render(t)
    }

    /// Renders a template to a string value (no single-interpolation shortcut).
    pub fn render(&mut self, t: &Template) -> EvalResult {
        let mut out = Out::default();
        self.template(t, false, false, &mut out)?;
        if out.unknown {
            return Ok(mark(Value::Unknown, out.sensitive));
        }
        Ok(mark(Value::String(out.text), out.sensitive))
    }

    fn template(&mut self, t: &Template, lead: bool, trail: bool, out: &mut Out) -> Result<(), Diagnostics> {
        let elements: Vec<&Element> = t.iter().collect();
        let mut diags = Diagnostics::default();
        for (i, el) in elements.iter().enumerate() {
            let r = match el {
                Element::Literal(lit) => {
                    let mut s: &str = lit.value();
                    let strip_before = if i == 0 { lead } else { elements.get(i - 1).is_some_and(|p| strip_end_of(p)) };
                    let strip_after = if i + 1 == elements.len() {
                        trail
                    } else {
                        elements.get(i + 1).is_some_and(|n| strip_start_of(n))
                    };
                    if strip_before {
                        s = s.trim_start();
                    }
                    if strip_after {
                        s = s.trim_end();
                    }
                    out.text.push_str(s);
                    Ok(())
                }
                Element::Interpolation(interp) => self.interpolate(&interp.expr, out),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(dir) => {
                        let cond = self.eval(&dir.if_expr.cond_expr);
                        match cond {
                            Err(d) => Err(d),
                            Ok(c) if c.is_unknown() => {
                                out.unknown = true;
                                out.sensitive |= c.contains_sensitive();
                                Ok(())
                            }
                            Ok(c) => match ops::to_bool(&c) {
                                None => Err(error(
                                    "Invalid template directive",
                                    "The condition of an %{if} directive must be a bool.",
                                    self.span_of(&dir.if_expr.cond_expr),
                                )),
                                Some(b) => {
                                    out.sensitive |= c.contains_sensitive();
                                    let else_strip_start = dir.else_expr.as_ref().map(|e| e.strip.strip_start());
                                    if b {
                                        let trail = else_strip_start.unwrap_or(dir.endif_expr.strip.strip_start());
                                        self.template(&dir.if_expr.template, dir.if_expr.strip.strip_end(), trail, out)
                                    } else if let Some(e) = &dir.else_expr {
                                        self.template(
                                            &e.template,
                                            e.strip.strip_end(),
                                            dir.endif_expr.strip.strip_start(),
                                            out,
                                        )
                                    } else {
                                        Ok(())
                                    }
                                }
                            },
                        }
                    }
                    Directive::For(dir) => self.template_for(dir, out),
                },
            };
            if let Err(d) = r {
                diags.extend(d);
            }
        }
        if diags.is_empty() { Ok(()) } else { Err(diags) }
    }

    fn interpolate(&mut self, e: &Expression, out: &mut Out) -> Result<(), Diagnostics> {
        let v = self.eval(e)?;
        out.sensitive |= v.contains_sensitive();
        if v.is_unknown() {
            out.unknown = true;
            return Ok(());
        }
        match v.unmark().0 {
            Value::Null => Err(error(
                "Invalid template interpolation value",
                "The expression result is null, which cannot be included in a string. Use a conditional or coalesce() to supply a default.",
                self.span_of(e),
            )),
            Value::List(_) | Value::Set(_) | Value::Map(_) => Err(error(
                "Invalid template interpolation value",
                format!(
                    "Cannot include {} in a string template: a string, number or bool is required. Use jsonencode() or join() to turn it into a string.",
                    crate::text::article(v.type_name())
                ),
                self.span_of(e),
            )),
            _ => {
                if !v.is_wholly_known() {
                    out.unknown = true;
                } else if let Some(s) = ops::to_string(&v) {
                    out.text.push_str(&s);
                }
                Ok(())
            }
        }
    }

    fn template_for(&mut self, dir: &hcl::edit::template::ForDirective, out: &mut Out) -> Result<(), Diagnostics> {
        let f = &dir.for_expr;
        let coll = self.eval(&f.collection_expr)?;
        out.sensitive |= coll.contains_sensitive();
        let sensitive = coll.is_sensitive();
        let pairs: Vec<(Value, Value)> = match coll.unmark().0 {
            Value::Unknown => {
                out.unknown = true;
                return Ok(());
            }
            Value::List(items) => items.iter().enumerate().map(|(i, v)| (Value::number(i), v.clone())).collect(),
            // A set has no indices: each element is its own key, as in Terraform.
            Value::Set(items) => items.iter().map(|v| (v.clone(), v.clone())).collect(),
            Value::Map(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                keys.into_iter().filter_map(|k| m.get(k).map(|v| (Value::String(k.clone()), v.clone()))).collect()
            }
            other => {
                return Err(error(
                    "Iteration over non-iterable value",
                    format!(
                        "A value of type {} cannot be used as the collection in a %{{for}} directive.",
                        other.type_name()
                    ),
                    self.span_of(&f.collection_expr),
                ));
            }
        };
        let key_var = f.key_var.as_ref().map(|k| k.value().to_string());
        let value_var = f.value_var.value().to_string();
        for (k, v) in pairs {
            let v = mark(v, sensitive);
            self.in_for_scope(key_var.as_deref(), &value_var, k, v, |ev| {
                ev.template(&f.template, f.strip.strip_end(), dir.endfor_expr.strip.strip_start(), out)
            })?;
        }
        Ok(())
    }
}
