//! Input variable values: takes the value a caller gave (module argument, `-var`, variables
//! file) or the declared default, converts it to the declared type (filling optional attribute
//! defaults), enforces `nullable = false`, applies the `sensitive` mark, and runs the
//! `validation` rules. The planner calls this once per variable per module instance.
//!
//! It must not decide where values come from; the caller passes the given value and its span.

use super::{EvalContext, convert_with_defaults, evaluate, evaluate_with};
use crate::config::Variable;
use crate::diag::{Diagnostic, Diagnostics, Span};
use indexmap::IndexMap;
use tarn_sdk::Value;

/// A value given for a variable, and where it was written (if in a file).
pub struct Given<'v> {
    pub value: &'v Value,
    pub span: Option<Span>,
}

/// The final value of `var`, or every problem with it.
pub fn variable_value(var: &Variable, given: Option<Given>, ctx: &EvalContext) -> Result<Value, Diagnostics> {
    let at = given.as_ref().and_then(|g| g.span).unwrap_or(var.span);
    let raw = match (&given, &var.default) {
        // Terraform's rule: a null given for a non-nullable variable takes the default; for a
        // nullable one, null is the value.
        (Some(g), _) if !(g.value.is_null() && !var.nullable && var.default.is_some()) => g.value.clone(),
        (_, Some(default)) => evaluate(default, ctx)?,
        (Some(g), None) => g.value.clone(),
        (None, None) => {
            return Err(Diagnostic::error(
                "No value for required variable",
                format!("The input variable \"{}\" is not set and has no default value. Set it with -var, a variables file, or a module argument.", var.name),
            )
            .at(var.span)
            .into());
        }
    };
    let value = convert_with_defaults(&raw, &var.ty, var.type_defaults.as_ref()).map_err(|msg| {
        Diagnostics::from(
            Diagnostic::error(
                "Invalid value for input variable",
                format!(
                    "The given value is not suitable for var.{}, which is declared as {}: {msg}.",
                    var.name, var.ty
                ),
            )
            .at(at),
        )
    })?;
    if value.is_null() && !var.nullable {
        return Err(Diagnostic::error(
            "Required variable not set",
            format!("The input variable \"{}\" is declared with nullable = false, so it cannot be null.", var.name),
        )
        .at(at)
        .into());
    }
    let value = if var.sensitive { value.sensitive() } else { value };
    validate(var, &value, at, ctx)?;
    Ok(value)
}

fn validate(var: &Variable, value: &Value, at: Span, ctx: &EvalContext) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut scope = IndexMap::new();
    scope.insert("var".to_string(), Value::map([(var.name.clone(), value.clone())]));
    for rule in &var.validations {
        let ok = match evaluate_with(&rule.condition, ctx, scope.clone()) {
            Ok(v) => v,
            Err(d) => {
                diags.extend(d);
                continue;
            }
        };
        if ok.is_unknown() {
            // Not decidable before apply; checked again when the value is known.
            continue;
        }
        match ok.as_bool() {
            Some(true) => {}
            Some(false) => {
                let message = match evaluate_with(&rule.error_message, ctx, scope.clone()) {
                    Ok(m) if m.contains_sensitive() => {
                        "(The error message refers to a sensitive value and is not shown.)".to_string()
                    }
                    Ok(m) => m.as_str().map(str::to_string).unwrap_or_else(|| m.to_string()),
                    Err(d) => {
                        diags.extend(d);
                        continue;
                    }
                };
                diags.push(
                    Diagnostic::error(
                        "Invalid value for variable",
                        format!("{message}\n\nThis was checked by the validation rule of var.{}.", var.name),
                    )
                    .at(at)
                    .related(rule.span, "validation rule"),
                );
            }
            None => diags.push(
                Diagnostic::error("Invalid validation condition", "The condition of a validation rule must be a bool.")
                    .at(rule.condition.span),
            ),
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::load_sources;

    fn run(src: &str, name: &str, given: Option<Value>) -> Result<Value, Diagnostics> {
        let (cfg, diags) = load_sources(&[("v.tarn.hcl", src)]);
        assert!(diags.is_empty(), "{diags:?}");
        let r = super::super::tests::scope();
        let ctx = EvalContext { resolver: &r, module_dir: std::path::Path::new(".") };
        let var = &cfg.root.module.variables[name];
        variable_value(var, given.as_ref().map(|v| Given { value: v, span: None }), &ctx)
    }

    const SRC: &str = r#"
variable "port" {
  type    = number
  default = "8080"
  validation {
    condition     = var.port > 1024
    error_message = "The port must be above 1024, got ${var.port}."
  }
}
variable "req" {
  type     = object({ name = string, size = optional(string, "s") })
  nullable = false
}
variable "nn" {
  default  = "d"
  nullable = false
}
variable "nullok" {
  default = "d"
}
variable "pw" {
  type      = string
  sensitive = true
}
"#;

    #[test]
    fn defaults_conversion_marks_and_validation() {
        assert_eq!(run(SRC, "port", None).unwrap(), Value::number(8080.0));
        let e = run(SRC, "port", Some(Value::number(80.0))).unwrap_err();
        assert_eq!(e.0[0].summary, "Invalid value for variable");
        assert!(e.0[0].detail.starts_with("The port must be above 1024, got 80."), "{}", e.0[0].detail);
        assert_eq!(run(SRC, "port", Some(Value::Unknown)).unwrap(), Value::Unknown);
        let v = run(SRC, "req", Some(Value::map([("name", Value::string("a"))]))).unwrap();
        assert_eq!(v.get("size"), Some(&Value::string("s")));
        assert_eq!(run(SRC, "req", None).unwrap_err().0[0].summary, "No value for required variable");
        assert_eq!(run(SRC, "req", Some(Value::Null)).unwrap_err().0[0].summary, "Required variable not set");
        let bad = run(SRC, "req", Some(Value::map([("size", Value::string("m"))]))).unwrap_err();
        assert!(bad.0[0].detail.contains("attribute \"name\" is required"), "{}", bad.0[0].detail);
        assert!(run(SRC, "pw", Some(Value::string("x"))).unwrap().is_sensitive());
        assert_eq!(run(SRC, "nn", Some(Value::Null)).unwrap(), Value::string("d"));
        assert_eq!(run(SRC, "nullok", Some(Value::Null)).unwrap(), Value::Null);
    }
}
