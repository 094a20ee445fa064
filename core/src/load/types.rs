//! Type constraints parsed with their `optional(...)` defaults evaluated (`config::parse_type`
//! with the evaluator's constants).

use crate::config::{Expr, TypeDefaults, parse_type};
use crate::diag::{Diagnostic, Span};
use crate::eval::LoadingConstants;
use tarn_sdk::Type;

fn ty(src: &str) -> Result<(Type, Option<TypeDefaults>), Diagnostic> {
    let expr = hcl::edit::parser::parse_expr(src).unwrap();
    let span = Span { file: 0, start: 0, end: src.len() };
    parse_type(&Expr { expr, span }, &LoadingConstants)
}

#[test]
fn parses_every_constructor() {
    for (src, shown) in [
        ("string", "string"),
        ("list(number)", "list(number)"),
        ("set(bool)", "set(bool)"),
        ("map(any)", "map(any)"),
        ("tuple([string, number])", "tuple([string, number])"),
        ("object({ a = string, b = optional(number) })", "object({a = string, b = optional(number)})"),
        ("list", "list(any)"),
        ("\"string\"", "string"),
    ] {
        assert_eq!(ty(src).unwrap().0.to_string(), shown, "{src}");
    }
}

#[test]
fn keeps_optional_defaults_at_depth() {
    let (_, d) =
        ty("list(object({ port = optional(number, 80), tls = optional(object({ on = optional(bool, true) }), {}) }))")
            .unwrap();
    let d = d.unwrap();
    let el = &d.children["*"];
    assert_eq!(el.values["port"], tarn_sdk::Value::number(80.0));
    assert_eq!(el.children["tls"].values["on"], tarn_sdk::Value::Bool(true));
}

#[test]
fn malformed_types_are_diagnosed_with_suggestions() {
    let e = ty("strin").unwrap_err();
    assert!(e.detail.contains("Did you mean \"string\"?"), "{}", e.detail);
    assert!(ty("list(string, number)").is_err());
    assert!(ty("optional(string)").is_err());
    assert!(ty("tuple(string)").is_err());
    assert!(ty("1 + 2").is_err());
}
