//! Root module input variables: merging the values given (`--var`, `--var-file`,
//! `TARN_VAR_*`) with declared defaults, converting to each declared type, running
//! `validation {}` blocks, and reporting missing or undeclared ones. Module-call inputs are
//! evaluated by the scope; this file handles only the root. No IO.

// One problem per variable is a `Diagnostic`, returned as an error.
#![allow(clippy::result_large_err)]

use super::lang;
use crate::config::{Config, Expr, Variable};
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use crate::eval::{EvalContext, Resolved, Resolver, Step};
use indexmap::IndexMap;
use tarn_sdk::{Type, Value};

/// A value given for a root variable.
#[derive(Debug, Clone, PartialEq)]
pub enum VarInput {
    /// Already a value (from a variables file).
    Value(Value),
    /// Text from the command line or environment: taken as a string for `string` (and `any`)
    /// variables, otherwise parsed as an HCL expression (`["a", "b"]`, `{ k = 1 }`, `3`).
    Text(String),
}

/// Root variable values, converted, validated and marked sensitive where declared.
pub type RootVariables = IndexMap<String, Value>;

/// Resolves every root variable; problems are collected.
pub fn resolve_variables(config: &Config, given: &IndexMap<String, VarInput>) -> (RootVariables, Diagnostics) {
    let mut diags = Diagnostics::default();
    let declared = &config.root.module.variables;
    for name in given.keys() {
        if !declared.contains_key(name) {
            let hint = did_you_mean(name, declared.keys().map(String::as_str))
                .map(|s| format!(" Did you mean \"{s}\"?"))
                .unwrap_or_default();
            diags.push(Diagnostic::error(
                "Value for undeclared variable",
                format!(
                    "A value was given for \"{name}\", but the root module declares no variable with that name.{hint}"
                ),
            ));
        }
    }
    let mut out = RootVariables::new();
    for var in declared.values() {
        let value = match resolve_one(var, given.get(&var.name)) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                Value::Unknown
            }
        };
        if value.is_wholly_known() {
            diags.extend(validate(var, &value, &config.root.module.dir));
        }
        out.insert(var.name.clone(), value);
    }
    (out, diags)
}

/// For `tarn validate`: every variable's default (in every module) must convert to the
/// variable's type and satisfy its own `validation` blocks. Problems are at the default.
pub fn check_defaults(config: &Config) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let mut stack = vec![&config.root];
    while let Some(tree) = stack.pop() {
        for var in tree.module.variables.values() {
            let Some(default) = &var.default else { continue };
            let raw = match evaluate_constant(default, &NoNames) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            if raw.is_null() {
                continue;
            }
            match lang::convert_variable(&raw, var) {
                Ok(value) => diags.extend(validate(var, &value, &tree.module.dir)),
                Err(msg) => diags.push(
                    Diagnostic::error(
                        "Invalid default value for variable",
                        format!("The default of \"{}\" is not a valid {}: {msg}.", var.name, var.ty),
                    )
                    .at(default.span),
                ),
            }
        }
        stack.extend(tree.children.values());
    }
    diags
}

fn resolve_one(var: &Variable, given: Option<&VarInput>) -> Result<Value, Diagnostic> {
    let raw = match given {
        Some(VarInput::Value(v)) => v.clone(),
        Some(VarInput::Text(t)) => parse_text(t, &var.ty).map_err(|msg| invalid(var, &msg))?,
        None => match &var.default {
            Some(e) => evaluate_constant(e, &NoNames)?,
            None => {
                return Err(Diagnostic::error(
                    "No value for required variable",
                    format!(
                        "The root variable \"{}\" has no default, so a value must be given: `--var {}=...`, a variables file, or the environment variable TARN_VAR_{}.",
                        var.name, var.name, var.name
                    ),
                )
                .at(var.span));
            }
        },
    };
    if raw.is_null() && !var.nullable {
        return Err(invalid(var, "the variable is not nullable, and null was given"));
    }
    let value = lang::convert_variable(&raw, var).map_err(|msg| invalid(var, &msg))?;
    Ok(if var.sensitive { value.sensitive() } else { value })
}

fn invalid(var: &Variable, msg: &str) -> Diagnostic {
    // The reasons quote the value given; a sensitive variable's must not reach the output.
    let detail = if var.sensitive {
        format!(
            "The value given for \"{}\" is not a valid {}. The variable is sensitive, so the value is not shown.",
            var.name, var.ty
        )
    } else {
        format!("The value given for \"{}\" is not a valid {}: {msg}.", var.name, var.ty)
    };
    Diagnostic::error("Invalid value for input variable", detail).at(var.span)
}

fn parse_text(text: &str, ty: &Type) -> Result<Value, String> {
    if matches!(ty, Type::String | Type::Any) {
        return Ok(Value::string(text));
    }
    let expr: hcl::edit::expr::Expression = text.trim().parse().map_err(|e| format!("cannot parse {text:?}: {e}"))?;
    let e = Expr { expr, span: Span { file: 0, start: 0, end: 0 } };
    evaluate_constant(&e, &NoNames).map_err(|d| d.detail)
}

fn evaluate_constant(e: &Expr, resolver: &dyn Resolver) -> Result<Value, Diagnostic> {
    let ctx = EvalContext { resolver, module_dir: std::path::Path::new("") };
    lang::evaluate(e, &ctx).map_err(|d| {
        d.0.into_iter()
            .next()
            .unwrap_or_else(|| Diagnostic::error("Invalid expression", "The expression could not be evaluated."))
    })
}

/// Runs the variable's validation blocks against its value.
fn validate(var: &Variable, value: &Value, dir: &std::path::Path) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let resolver = OneVar { name: &var.name, value };
    for v in &var.validations {
        let ctx = EvalContext { resolver: &resolver, module_dir: dir };
        let ok = match lang::evaluate(&v.condition, &ctx) {
            Ok(c) => c,
            Err(d) => {
                diags.extend(d);
                continue;
            }
        };
        if ok.as_bool() == Some(false) {
            let message = match lang::evaluate(&v.error_message, &ctx) {
                Ok(m) if m.contains_sensitive() => {
                    "The value does not satisfy the validation condition. The error message refers to a sensitive value, so it is not shown.".into()
                }
                Ok(m) => m.as_str().map(str::to_string).unwrap_or_else(|| "The value does not satisfy the validation condition.".into()),
                Err(_) => "The value does not satisfy the validation condition.".into(),
            };
            diags.push(
                Diagnostic::error(
                    "Invalid value for variable",
                    format!("Validation of var.{} failed: {message}", var.name),
                )
                .at(v.condition.span)
                .related(var.span, format!("variable \"{}\" declared here", var.name)),
            );
        }
    }
    diags
}

struct NoNames;

impl Resolver for NoNames {
    fn resolve(&self, _root: &str, _steps: &[Step], _span: Span) -> Result<Option<Resolved>, Diagnostic> {
        Ok(None)
    }
}

/// Only `var.<name>`: validation conditions may refer to nothing else.
struct OneVar<'a> {
    name: &'a str,
    value: &'a Value,
}

impl Resolver for OneVar<'_> {
    fn resolve(&self, root: &str, steps: &[Step], span: Span) -> Result<Option<Resolved>, Diagnostic> {
        match (root, steps.first()) {
            ("var", Some(Step::Attr(n))) if n == self.name => {
                Ok(Some(Resolved { value: self.value.clone(), consumed: 1 }))
            }
            ("var", _) => Err(Diagnostic::error(
                "Invalid reference in variable validation",
                format!("A validation rule of \"{}\" may refer only to var.{}.", self.name, self.name),
            )
            .at(span)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(src: &str) -> Config {
        let (c, d) = crate::load::load_sources(&[("main.tarn.hcl", src)]);
        assert!(!d.has_errors(), "{d:?}");
        c
    }

    #[test]
    fn text_values_are_parsed_for_their_declared_type() {
        let c = config(
            "variable \"l\" {\n  type = list(string)\n}\nvariable \"s\" {\n  type = string\n}\nvariable \"n\" {\n  type = number\n}\n",
        );
        let given: IndexMap<String, VarInput> = [
            ("l".to_string(), VarInput::Text("[\"a\", \"b\"]".into())),
            ("s".to_string(), VarInput::Text("[not parsed]".into())),
            ("n".to_string(), VarInput::Text("3".into())),
        ]
        .into_iter()
        .collect();
        let (vars, d) = resolve_variables(&c, &given);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(vars["l"], Value::List(vec![Value::string("a"), Value::string("b")]));
        assert_eq!(vars["s"], Value::string("[not parsed]"));
        assert_eq!(vars["n"], Value::number(3.0));
    }

    #[test]
    fn undeclared_and_invalid_values_are_reported() {
        let c = config("variable \"count\" {\n  type = number\n  sensitive = true\n}\n");
        let given: IndexMap<String, VarInput> =
            [("count".to_string(), VarInput::Text("many".into())), ("cuont".to_string(), VarInput::Text("1".into()))]
                .into_iter()
                .collect();
        let (_, d) = resolve_variables(&c, &given);
        let summaries: Vec<&str> = d.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(summaries, ["Value for undeclared variable", "Invalid value for input variable"]);
        assert!(d.0[0].detail.contains("Did you mean \"count\"?"));
        assert!(!d.0[1].detail.contains("many"), "a sensitive value must not be shown: {}", d.0[1].detail);
    }
}
