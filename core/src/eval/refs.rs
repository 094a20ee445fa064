//! Static references of an expression, for the dependency graph: each traversal's root name
//! and the attribute names that follow it, stopping at the first index or splat
//! (`null_resource.a[0].id` → `["null_resource", "a"]`). Variables bound by `for` expressions
//! and template `for` directives are not references; index expressions inside traversals are
//! visited too. Nothing is evaluated.

use crate::config::{Expr, Reference};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::edit::template::{Directive, Element, Template};

/// Every static reference in `expr`, in source order, with the span of the referencing text.
pub fn references(expr: &Expr) -> Vec<Reference> {
    let mut c = Collector { expr, bound: Vec::new(), out: Vec::new(), depth: 0 };
    c.expr(&expr.expr);
    c.out
}

struct Collector<'e> {
    expr: &'e Expr,
    bound: Vec<String>,
    out: Vec<Reference>,
    depth: usize,
}

impl Collector<'_> {
    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|b| b == name)
    }

    fn expr(&mut self, e: &Expression) {
        if self.depth > 256 {
            return;
        }
        self.depth += 1;
        self.expr_inner(e);
        self.depth -= 1;
    }

    fn expr_inner(&mut self, e: &Expression) {
        match e {
            Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
            Expression::Array(items) => items.iter().for_each(|i| self.expr(i)),
            Expression::Object(obj) => {
                for (k, v) in obj.iter() {
                    match k {
                        ObjectKey::Ident(_)
                        | ObjectKey::Expression(Expression::Variable(_) | Expression::Null(_) | Expression::Bool(_)) => {
                        }
                        ObjectKey::Expression(ke) => self.expr(ke),
                    }
                    self.expr(v.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => {
                let name = v.value().to_string();
                if !self.is_bound(&name) {
                    self.out.push(Reference { path: vec![name], span: self.expr.sub_span(v.span()) });
                }
            }
            Expression::Traversal(t) => {
                if let Expression::Variable(root) = &t.expr {
                    let name = root.value().to_string();
                    if !self.is_bound(&name) {
                        let mut path = vec![name];
                        let mut end = root.span().map(|r| r.end);
                        for op in &t.operators {
                            match op.value() {
                                TraversalOperator::GetAttr(id) => {
                                    path.push(id.value().to_string());
                                    end = op.span().map(|r| r.end).or(end);
                                }
                                _ => break,
                            }
                        }
                        let range = match (root.span(), end) {
                            (Some(r), Some(e)) => Some(r.start..e.max(r.start)),
                            (r, _) => r,
                        };
                        self.out.push(Reference { path, span: self.expr.sub_span(range) });
                    }
                } else {
                    self.expr(&t.expr);
                }
                for op in &t.operators {
                    if let TraversalOperator::Index(ix) = op.value() {
                        self.expr(ix);
                    }
                }
            }
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(f) => f.args.iter().for_each(|a| self.expr(a)),
            Expression::UnaryOp(u) => self.expr(&u.expr),
            Expression::BinaryOp(b) => {
                self.expr(&b.lhs_expr);
                self.expr(&b.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let before = self.bound.len();
                if let Some(k) = &f.intro.key_var {
                    self.bound.push(k.value().to_string());
                }
                self.bound.push(f.intro.value_var.value().to_string());
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr);
                }
                self.bound.truncate(before);
            }
        }
    }

    fn template(&mut self, t: &Template) {
        for el in t.iter() {
            match el {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(i) => {
                        self.expr(&i.if_expr.cond_expr);
                        self.template(&i.if_expr.template);
                        if let Some(e) = &i.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(f) => {
                        self.expr(&f.for_expr.collection_expr);
                        let before = self.bound.len();
                        if let Some(k) = &f.for_expr.key_var {
                            self.bound.push(k.value().to_string());
                        }
                        self.bound.push(f.for_expr.value_var.value().to_string());
                        self.template(&f.for_expr.template);
                        self.bound.truncate(before);
                    }
                },
            }
        }
    }
}
