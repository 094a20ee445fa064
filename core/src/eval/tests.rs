//! Evaluator tests, data-driven: each case is an expression, the scope it runs in (a small
//! test resolver with `var`, `local`, `count`, `each` and a resource), and the expected value
//! or error (summary, and the exact source text the error span covers).

use super::*;
use crate::config::Expr;
use crate::diag::Span;
use indexmap::IndexMap;

/// Resolves roots from a map. `null_resource` consumes its first two steps itself, to
/// exercise the consumed-steps protocol the planner uses.
pub(crate) struct TestResolver {
    pub roots: IndexMap<String, Value>,
}

impl Resolver for TestResolver {
    fn resolve(&self, root: &str, steps: &[Step], _span: Span) -> Result<Option<Resolved>, Diagnostic> {
        if root == "null_resource" {
            let Some(Step::Attr(name)) = steps.first() else {
                return Err(Diagnostic::error("Invalid reference", "A resource type must be followed by a name."));
            };
            let Some(all) = self.roots.get("null_resource").and_then(|v| v.get(name)).cloned() else {
                return Err(Diagnostic::error(
                    "Reference to undeclared resource",
                    format!("No null_resource named {name}."),
                ));
            };
            return Ok(Some(Resolved { value: all, consumed: 1 }));
        }
        Ok(self.roots.get(root).map(|v| Resolved { value: v.clone(), consumed: 0 }))
    }
    fn root_names(&self) -> Vec<String> {
        self.roots.keys().cloned().collect()
    }
}

fn obj(pairs: Vec<(&str, Value)>) -> Value {
    Value::map(pairs)
}

fn s(x: &str) -> Value {
    Value::string(x)
}

fn n(x: f64) -> Value {
    Value::number(x)
}

pub(crate) fn scope() -> TestResolver {
    let mut roots = IndexMap::new();
    roots.insert(
        "var".to_string(),
        obj(vec![
            ("name", s("web")),
            ("port", n(8080.0)),
            ("list", Value::List(vec![s("a"), s("b"), s("c")])),
            ("nums", Value::List(vec![n(3.0), n(1.0), n(2.0)])),
            ("map", obj(vec![("z", n(1.0)), ("a", n(2.0))])),
            ("secret", s("hunter2").sensitive()),
            ("unknown", Value::Unknown),
            ("flag", Value::Bool(true)),
            ("nothing", Value::Null),
            (
                "objs",
                Value::List(vec![
                    obj(vec![("id", s("i1")), ("tags", Value::List(vec![s("x")]))]),
                    obj(vec![("id", s("i2")), ("tags", Value::List(vec![]))]),
                ]),
            ),
        ]),
    );
    roots.insert("local".to_string(), obj(vec![("env", s("prod")), ("n", n(2.0))]));
    roots.insert("count".to_string(), obj(vec![("index", n(1.0))]));
    roots.insert("each".to_string(), obj(vec![("key", s("k")), ("value", s("v"))]));
    roots.insert("path".to_string(), obj(vec![("module", s("."))]));
    roots.insert(
        "null_resource".to_string(),
        obj(vec![
            ("a", Value::List(vec![obj(vec![("id", s("r0"))]), obj(vec![("id", s("r1"))])])),
            ("u", obj(vec![("id", Value::Unknown)])),
        ]),
    );
    TestResolver { roots }
}

pub(crate) fn eval_src(src: &str) -> Result<Value, Diagnostics> {
    let expr = hcl::edit::parser::parse_expr(src).expect("test expression parses");
    let e = Expr {
        span: Expr { expr: expr.clone(), span: Span { file: 0, start: 0, end: src.len() } }
            .sub_span(hcl::edit::Span::span(&expr)),
        expr,
    };
    let r = scope();
    let ctx = EvalContext { resolver: &r, module_dir: std::path::Path::new(".") };
    evaluate(&e, &ctx)
}

fn ok(src: &str) -> Value {
    match eval_src(src) {
        Ok(v) => v,
        Err(d) => panic!("{src}: {d:?}"),
    }
}

/// Asserts an error whose span covers exactly `at` in `src`.
fn fails(src: &str, summary: &str, at: &str, detail_has: &str) {
    let d = eval_src(src).expect_err(src);
    let first = &d.0[0];
    assert_eq!(first.summary, summary, "{src}: {first:?}");
    let span = first.span.expect("span");
    assert_eq!(&src[span.start..span.end], at, "{src}: span");
    assert!(first.detail.contains(detail_has), "{src}: {}", first.detail);
}

#[test]
fn literals_collections_and_operators() {
    let cases: Vec<(&str, Value)> = vec![
        ("null", Value::Null),
        ("true", Value::Bool(true)),
        ("1.5", n(1.5)),
        ("\"hi\"", s("hi")),
        ("[1, \"a\"]", Value::List(vec![n(1.0), s("a")])),
        ("{ a = 1, \"b\" = 2, (local.env) = 3 }", obj(vec![("a", n(1.0)), ("b", n(2.0)), ("prod", n(3.0))])),
        ("1 + 2 * 3", n(7.0)),
        ("(1 + 2) * 3", n(9.0)),
        ("7 % 4", n(3.0)),
        ("-local.n", n(-2.0)),
        ("!var.flag", Value::Bool(false)),
        ("1 < 2 && 2 >= 2", Value::Bool(true)),
        ("var.name == \"web\" || false", Value::Bool(true)),
        ("[1, 2] == [1, 2]", Value::Bool(true)),
        ("{a = 1} != {a = 1}", Value::Bool(false)),
        ("var.flag ? \"y\" : \"n\"", s("y")),
        ("var.flag ? 1 : \"n\"", s("1")),
        ("var.flag ? 1 : null", n(1.0)),
        ("var.nothing == null ? \"none\" : var.nothing.name", s("none")),
        ("var.nothing == null", Value::Bool(true)),
        ("{ null = 1, true = 2 }", obj(vec![("null", n(1.0)), ("true", n(2.0))])),
    ];
    for (src, want) in cases {
        assert_eq!(ok(src), want, "{src}");
    }
}

#[test]
fn traversals_splats_and_resolver_steps() {
    let cases: Vec<(&str, Value)> = vec![
        ("var.list[1]", s("b")),
        ("var.list.0", s("a")),
        ("var.map[\"a\"]", n(2.0)),
        ("var.list[count.index]", s("b")),
        ("each.key", s("k")),
        ("path.module", s(".")),
        ("null_resource.a[1].id", s("r1")),
        ("null_resource.a[*].id", Value::List(vec![s("r0"), s("r1")])),
        ("null_resource.a.*.id", Value::List(vec![s("r0"), s("r1")])),
        ("var.nothing[*]", Value::List(vec![])),
        ("var.name[*]", Value::List(vec![s("web")])),
        ("null_resource.u.id", Value::Unknown),
        ("var.unknown.anything[3]", Value::Unknown),
    ];
    for (src, want) in cases {
        assert_eq!(ok(src), want, "{src}");
    }
    // A full splat applies a following index to each element: var.objs[1].tags is empty.
    assert!(eval_src("var.objs[*].tags[0]").is_err());
    assert_eq!(ok("var.objs.*.tags[0]"), Value::List(vec![s("x")]));
}

#[test]
fn for_expressions() {
    assert_eq!(ok("[for x in var.list : x if x != \"b\"]"), Value::List(vec![s("a"), s("c")]));
    assert_eq!(ok("[for i, x in var.list : i]"), Value::List(vec![n(0.0), n(1.0), n(2.0)]));
    // Maps iterate in sorted key order.
    assert_eq!(ok("[for k, v in var.map : k]"), Value::List(vec![s("a"), s("z")]));
    assert_eq!(ok("{for x in var.list : x => x}"), obj(vec![("a", s("a")), ("b", s("b")), ("c", s("c"))]));
    assert_eq!(
        ok("{for x in [\"a\", \"b\", \"a\"] : x => x...}"),
        obj(vec![("a", Value::List(vec![s("a"), s("a")])), ("b", Value::List(vec![s("b")]))])
    );
    assert_eq!(ok("[for x in var.unknown : x]"), Value::Unknown);
    fails("{for x in [\"a\", \"a\"] : x => 1}", "Duplicate object key", "x", "grouping");
    fails("[for x in 5 : x]", "Iteration over non-iterable value", "5", "number");
}

#[test]
fn templates_and_heredocs() {
    assert_eq!(ok("\"${var.name}-${local.n}\""), s("web-2"));
    assert_eq!(ok("\"${var.list}\""), Value::List(vec![s("a"), s("b"), s("c")]));
    assert_eq!(ok("\"%{ if var.flag }yes%{ else }no%{ endif }\""), s("yes"));
    assert_eq!(ok("\"%{ for x in var.list }${x},%{ endfor }\""), s("a,b,c,"));
    assert_eq!(ok("\"a ${~ \"b\" ~} c\""), s("abc"));
    assert_eq!(ok("\"x%{ for x in var.list ~}\n  ${x}\n%{~ endfor }y\""), s("xabcy"));
    assert_eq!(ok("<<EOT\nhello ${var.name}\nEOT"), s("hello web\n"));
    assert_eq!(ok("<<-EOT\n    a\n      b\n    EOT"), s("a\n  b\n"));
    assert_eq!(ok("\"$${literal}\""), s("${literal}"));
    assert_eq!(ok("\"%{ if true ~} yes %{~ endif }\""), s("yes"));
    assert_eq!(ok("<<EOT\n%{ for x in var.list ~}\n${x}\n%{ endfor ~}\nEOT"), s("a\nb\nc\n"));
    assert_eq!(ok("\"%{ for k, v in var.map }${k}=${v};%{ endfor }\""), s("a=2;z=1;"));
    assert_eq!(ok("\"a-${var.unknown}\""), Value::Unknown);
    let v = ok("\"pw=${var.secret}\"");
    assert_eq!(v, s("pw=hunter2").sensitive());
    fails("\"a${var.nothing}\"", "Invalid template interpolation value", "var.nothing", "null");
    fails("\"a${var.list}\"", "Invalid template interpolation value", "var.list", "list");
}

#[test]
fn marks_propagate_through_every_construct() {
    for src in [
        "var.secret == \"x\"",
        "\"${var.secret}\"",
        "var.flag && var.secret == \"a\"",
        "[for c in [var.secret] : c][0]",
        "{for c in [1] : \"k\" => var.secret}[\"k\"]",
        "var.secret != null ? 1 : 2",
        "{ (var.secret) = 1 }",
    ] {
        let v = ok(src);
        assert!(v.contains_sensitive(), "{src}: {v:?}");
    }
    for src in [
        "var.unknown + 1",
        "-var.unknown",
        "!var.unknown",
        "var.unknown == 1",
        "var.unknown ? 1 : 2",
        "\"${var.unknown}\"",
        "{ (var.unknown) = 1 }",
        "var.list[var.unknown]",
    ] {
        assert!(ok(src).is_unknown(), "{src}");
    }
    assert_eq!(ok("false && var.unknown"), Value::Bool(false));
    assert_eq!(ok("true || var.unknown"), Value::Bool(true));
    // Short-circuit: the right side is not evaluated when the left decides.
    assert_eq!(ok("var.nothing != null && var.nothing.x"), Value::Bool(false));
}

#[test]
fn errors_point_at_the_sub_expression() {
    fails("local.evn", "Unsupported attribute", ".evn", "Did you mean \"env\"?");
    fails("1 + var.name", "Invalid operand", "var.name", "number is required");
    fails("vr.name", "Reference to undeclared name", "vr", "Did you mean \"var\"?");
    fails("var.list[7]", "Invalid index", "[7]", "out of range");
    fails("var.nothing.x", "Attempt to get attribute from null value", ".x", "null");
    fails("null_resource.a.id", "Unsupported attribute", ".id", "splat");
    fails("1 / 0", "Arithmetic overflow", "1 / 0", "too large");
    fails("0 / 0", "Division by zero", "0 / 0", "zero");
    fails("[1, 2, nope]", "Reference to undeclared name", "nope", "no variable");
    fails("local.n ? 1 : 2", "Incorrect condition type", "local.n", "bool");
    fails("uper(\"a\")", "Call to unknown function", "uper", "no function");
    // The resolver's own errors land on the reference when they carry no span.
    fails(
        "[null_resource.zz.id]",
        "Reference to undeclared resource",
        "null_resource.zz.id",
        "No null_resource named zz.",
    );
}

#[test]
fn try_and_can_are_lazy() {
    assert_eq!(ok("try(var.map.nope, \"fallback\")"), s("fallback"));
    assert_eq!(ok("try(var.unknown.x, \"fallback\")"), Value::Unknown);
    assert_eq!(ok("try(nope, var.list[9], 3)"), n(3.0));
    assert_eq!(ok("can(var.map.z)"), Value::Bool(true));
    assert_eq!(ok("can(var.map.nope)"), Value::Bool(false));
    assert_eq!(ok("can(var.unknown)"), Value::Unknown);
    fails("try(nope, also_nope)", "Error in function call", "try(", "no expression");
}

#[test]
fn templatefile_sees_only_its_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.tpl"), "Hi ${name}!%{ for p in ports } ${p}%{ endfor }").unwrap();
    std::fs::write(dir.path().join("bad.tpl"), "line1\n${var.name}").unwrap();
    let r = scope();
    let ctx = EvalContext { resolver: &r, module_dir: dir.path() };
    let run = |src: &str| {
        let expr = hcl::edit::parser::parse_expr(src).unwrap();
        evaluate(&Expr { expr, span: Span { file: 0, start: 0, end: src.len() } }, &ctx)
    };
    assert_eq!(run("templatefile(\"t.tpl\", { name = var.name, ports = [1, 2] })").unwrap(), s("Hi web! 1 2"));
    let err = run("templatefile(\"bad.tpl\", {})").unwrap_err();
    assert!(err.0[0].detail.contains("line 2, col 3"), "{:?}", err.0[0]);
    assert!(err.0[0].detail.contains("only the variables passed"), "{:?}", err.0[0]);
    assert!(run("templatefile(\"missing.tpl\", {})").is_err());
    assert_eq!(run("templatefile(\"t.tpl\", var.unknown)").unwrap(), Value::Unknown);
}

#[test]
fn references_are_static_and_skip_bound_names() {
    let src = "[for s in null_resource.a : s.id if s.id != local.skip[var.i]] ++ \"${each.value}%{ for z in var.zs }${z}${data.x.y.z}%{ endfor }\" ++ module.m.out[0].x";
    let src = src.replace(" ++ ", ", ");
    let src = format!("[{src}]");
    let expr = hcl::edit::parser::parse_expr(&src).unwrap();
    let e = Expr { expr, span: Span { file: 0, start: 0, end: src.len() } };
    let refs = references(&e);
    let paths: Vec<String> = refs.iter().map(|r| r.path.join(".")).collect();
    assert_eq!(
        paths,
        vec!["null_resource.a", "local.skip", "var.i", "each.value", "var.zs", "data.x.y.z", "module.m.out"]
    );
    for r in &refs {
        assert_eq!(&src[r.span.start..r.span.end], r.path.join("."));
    }
}

/// Sets as Terraform 1.0.3 treats them (each checked against `terraform console`): no index,
/// no attributes, iteration with each element as its own key, splat and conversions give
/// lists, and a set never equals a list.
#[test]
fn sets_are_not_lists() {
    let set = |items: &[&str]| Value::Set(items.iter().map(|x| s(x)).collect());
    assert_eq!(ok("toset([\"b\", \"a\", \"b\"])"), set(&["a", "b"]));
    fails("toset([\"a\"])[0]", "Invalid index", "[0]", "Elements of a set are identified only by their value");
    fails("toset([\"a\"])[var.unknown]", "Invalid index", "[var.unknown]", "only by their value");
    fails("toset([\"a\"]).foo", "Unsupported attribute", ".foo", "is a set");
    assert_eq!(ok("[for k, v in toset([\"b\", \"a\"]) : \"${k}=${v}\"]"), Value::List(vec![s("a=a"), s("b=b")]));
    assert_eq!(ok("{for x in toset([\"b\", \"a\"]) : x => 1}"), obj(vec![("a", n(1.0)), ("b", n(1.0))]));
    assert_eq!(ok("\"%{for x in toset([\"b\", \"a\"])}${x}%{endfor}\""), s("ab"));
    assert_eq!(ok("toset([{a = 2}, {a = 1}])[*].a"), Value::List(vec![n(1.0), n(2.0)]));
    assert_eq!(ok("max(toset([3, 1])...)"), n(3.0));
    assert_eq!(ok("toset([\"a\"]) == [\"a\"]"), Value::Bool(false));
    assert_eq!(ok("toset([\"a\"]) == tolist([\"a\"])"), Value::Bool(false));
    assert_eq!(ok("toset([\"a\"]) == toset([\"a\", \"a\"])"), Value::Bool(true));
    assert_eq!(ok("toset([\"a\"]) != [\"a\"]"), Value::Bool(true));
    // A list meeting a set in a conditional becomes one, whichever branch is taken.
    assert_eq!(ok("false ? toset([\"a\"]) : [\"b\", \"b\"]"), set(&["b"]));
    assert_eq!(ok("true ? [\"b\", \"a\"] : toset([\"c\"])"), set(&["a", "b"]));
}
