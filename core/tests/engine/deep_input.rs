//! Deep input must never crash the engine (issue 12): long chains of locals are evaluated in
//! dependency order, not one nested evaluation per reference, so 1,400 and 10,000 links plan
//! on an ordinary test thread's stack; deeply nested expressions are refused by the parser
//! with a diagnostic. The deep values case (a value too deep to record) is the `deep_values`
//! planner fixture.

use std::fmt::Write as _;

fn plan_of(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.tarn.hcl"), config).unwrap();
    crate::plan::run(dir.path())
}

fn chained_locals(n: usize) -> String {
    let mut c = String::from("locals {\n  a_0 = 0\n");
    for i in 1..=n {
        writeln!(c, "  a_{i} = local.a_{} + 1", i - 1).unwrap();
    }
    writeln!(c, "}}\n\noutput \"last\" {{\n  value = local.a_{n}\n}}").unwrap();
    c
}

/// Regression: 1,400 chained locals overflowed the stack (exit 134).
#[test]
fn fourteen_hundred_chained_locals_plan() {
    let out = plan_of(&chained_locals(1_400));
    assert!(!out.contains("error"), "{out}");
    assert!(out.contains("+ last = 1400"), "{out}");
}

#[test]
fn ten_thousand_chained_locals_plan() {
    let out = plan_of(&chained_locals(10_000));
    assert!(!out.contains("error"), "{out}");
    assert!(out.contains("+ last = 10000"), "{out}");
}

/// A chain referenced from its middle first, then from its end, and locals declared in
/// reverse order: each is still evaluated once, after what it refers to.
#[test]
fn chains_entered_anywhere_evaluate_in_dependency_order() {
    let mut c = String::from("locals {\n");
    for i in (1..=3_000).rev() {
        writeln!(c, "  b_{i} = local.b_{} + local.a", i - 1).unwrap();
    }
    c.push_str("  b_0 = 1\n  a   = 2\n}\n\noutput \"mid\" {\n  value = local.b_1500\n}\n\noutput \"end\" {\n  value = local.b_3000\n}\n");
    let out = plan_of(&c);
    assert!(out.contains("+ mid = 3001") && out.contains("+ end = 6001"), "{out}");
}

/// A cycle among locals is still reported, not looped on.
#[test]
fn a_cycle_of_locals_is_reported() {
    let out = plan_of(
        "locals {\n  a = local.b + 1\n  b = local.c + 1\n  c = local.a + 1\n}\n\noutput \"o\" {\n  value = local.a\n}\n",
    );
    assert!(out.contains("error") && out.to_lowercase().contains("cycle"), "{out}");
}

#[test]
fn deeply_nested_expressions_are_refused_by_the_parser() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{ a = ", " }")] {
        let config = format!("output \"o\" {{\n  value = {}1{}\n}}\n", open.repeat(5_000), close.repeat(5_000));
        let out = plan_of(&config);
        assert!(out.contains("error: Invalid syntax") && out.contains("nesting depth"), "{open}: {out}");
    }
}
