//! Property tests for the language front end: random and mutated native and JSON sources are
//! loaded, every expression found is evaluated and its references collected, diagnostics are
//! rendered, and the formatter is run — none of which may panic. Formatting must also be
//! idempotent whenever it succeeds. Each property runs `TARN_FUZZ_CASES` cases (default 1500).

use super::tests::scope;
use super::{EvalContext, evaluate, references};
use crate::config::{Body, Config, format_hcl};
use crate::diag::render_all;
use crate::load::load_sources;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "resource",
    "data",
    "variable",
    "locals",
    "output",
    "module",
    "provider",
    "tarn",
    "lifecycle",
    "moved",
    "import",
    "\"null_resource\"",
    "\"a\"",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "=",
    "==",
    "!=",
    "&&",
    "||",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "<",
    ">=",
    "?",
    ":",
    ",",
    ".",
    "...",
    "=>",
    "\n",
    " ",
    "  ",
    "var",
    "local",
    "count",
    "each",
    "self",
    "path",
    "null",
    "true",
    "false",
    "0",
    "1",
    "2.5",
    "1e3",
    "x",
    "id",
    "for",
    "in",
    "if",
    "\"",
    "${",
    "%{",
    "~}",
    "}",
    "endif",
    "endfor",
    "else",
    "<<EOT\n",
    "\nEOT\n",
    "<<-EOT\n",
    "#",
    "//",
    "/*",
    "*/",
    "[*]",
    ".*",
    ".0",
    "try(",
    "can(",
    "upper(",
    "templatefile(",
    "\"s\"",
    "\"${var.x}\"",
    "é",
    "\t",
    "\\",
    "count = ",
    "for_each = ",
    "depends_on = [",
    "type = ",
    "optional(",
    "object({",
    "list(",
    "map(",
    "string",
    "number",
    "any",
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"resource\"",
    "\"variable\"",
    "\"locals\"",
    "\"x\"",
    "\"${var.x}\"",
    "\"${\"",
    "1",
    "true",
    "null",
    "\"//\"",
    "\"lifecycle\"",
    "\"type\"",
    "\"list(string)\"",
    "\"\\u00e9\"",
    "\"\\/\"",
    " ",
    "\n",
];

fn check_all(files: &[(&str, &str)]) {
    let (cfg, diags) = load_sources(files);
    let _ = render_all(diags.iter(), &cfg.sources, true);
    exercise(&cfg);
    for (name, text) in files {
        if name.ends_with(".hcl")
            && let Ok(once) = format_hcl(text)
        {
            assert_eq!(format_hcl(&once).ok().as_deref(), Some(once.as_str()), "format not idempotent for {text:?}");
        }
    }
}

fn exercise(cfg: &Config) {
    let r = scope();
    let ctx = EvalContext { resolver: &r, module_dir: &std::env::temp_dir() };
    let m = &cfg.root.module;
    let mut exprs = Vec::new();
    let mut bodies: Vec<&Body> = Vec::new();
    exprs.extend(m.locals.values().map(|l| &l.value));
    exprs.extend(m.outputs.values().map(|o| &o.value));
    exprs.extend(m.variables.values().filter_map(|v| v.default.as_ref()));
    for v in m.variables.values() {
        for val in &v.validations {
            exprs.push(&val.condition);
            exprs.push(&val.error_message);
        }
    }
    for res in m.resources.values() {
        exprs.extend(res.count.iter().chain(res.for_each.iter()));
        bodies.push(&res.body);
    }
    bodies.extend(m.providers.iter().map(|p| &p.body));
    exprs.extend(m.module_calls.values().flat_map(|c| c.inputs.values().map(|a| &a.value)));
    while let Some(b) = bodies.pop() {
        exprs.extend(b.attributes.values().map(|a| &a.value));
        bodies.extend(b.blocks.iter().map(|x| &x.body));
    }
    for e in exprs {
        if let Err(d) = evaluate(e, &ctx) {
            let _ = render_all(d.iter(), &cfg.sources, false);
        }
        let _ = references(e);
    }
}

fn mutate(seed: &str, ops: &[(u8, usize, usize, usize)], tokens: &[&str]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for &(kind, a, b, t) in ops {
        if chars.is_empty() {
            chars.extend(tokens[t % tokens.len()].chars());
            continue;
        }
        let i = a % chars.len();
        let j = (i + b % 16).min(chars.len());
        match kind % 4 {
            0 => {
                chars.drain(i..j);
            }
            1 => {
                let tok: Vec<char> = tokens[t % tokens.len()].chars().collect();
                chars.splice(i..i, tok);
            }
            2 => {
                let dup: Vec<char> = chars[i..j].to_vec();
                chars.splice(i..i, dup);
            }
            _ => {
                let tok: Vec<char> = tokens[t % tokens.len()].chars().collect();
                chars.splice(i..j, tok);
            }
        }
    }
    chars.into_iter().collect()
}

fn token_soup(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(0..tokens.len(), 0..max).prop_map(move |ix| ix.into_iter().map(|i| tokens[i]).collect())
}

fn stdlib_names() -> Vec<&'static str> {
    let mut names = crate::functions::names();
    names.push("templatefile");
    names
}

/// Random well-formed-ish expressions, to reach deep into the evaluator.
fn expr_strategy() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(vec![
        "1",
        "0",
        "-2.5",
        "\"s\"",
        "true",
        "null",
        "var.name",
        "var.list",
        "var.map",
        "var.secret",
        "var.unknown",
        "var.nothing",
        "local.n",
        "count.index",
        "each.key",
        "null_resource.a",
        "null_resource.u.id",
        "var.objs",
        "nope",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(5, 64, 4, |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(vec!["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (inner.clone(), inner.clone(), inner.clone()).prop_map(|(c, a, b)| format!("({c} ? {a} : {b})")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| format!("{{ ({k}) = {v}, b = {v} }}")),
            (inner.clone(), inner.clone()).prop_map(|(c, v)| format!("[for i, x in {c} : {v} if x != null]")),
            (inner.clone(), inner.clone()).prop_map(|(c, v)| format!("{{for k, x in {c} : k => {v}...}}")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("\"${{{a}}}-%{{ if {b} }}y%{{ else }}n%{{ endif }}\"")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("\"%{{ for x in {a} ~}} ${{x}}${{{b}}} %{{~ endfor }}\"")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("try({a}, {b})")),
            inner.clone().prop_map(|a| format!("can({a})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}[{b}]")),
            inner.clone().prop_map(|a| format!("{a}[*].id")),
            inner.clone().prop_map(|a| format!("{a}.attr")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("upper({a})")),
            inner.clone().prop_map(|a| format!("max({a}...)")),
            // Every stdlib function, with marked, unknown and ill-typed arguments.
            (prop::sample::select(stdlib_names()), prop::collection::vec(inner, 0..4))
                .prop_map(|(f, args)| format!("{f}({})", args.join(", "))),
        ]
    })
}

/// Cases per property: 1500 by default, `TARN_FUZZ_CASES` for longer runs.
fn fuzz_cases() -> u32 {
    std::env::var("TARN_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(1500)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: fuzz_cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_native_token_soup_never_panics(src in token_soup(TOKENS, 60)) {
        check_all(&[("main.tarn.hcl", &src)]);
    }

    #[test]
    fn mutated_native_config_never_panics(ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>()), 1..6)) {
        let src = mutate(crate::load::tests::FULL, &ops, TOKENS);
        check_all(&[("main.tarn.hcl", &src)]);
    }

    #[test]
    fn mutated_json_config_never_panics(ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>()), 1..6)) {
        let src = mutate(crate::load::tests::JSON, &ops, JSON_TOKENS);
        check_all(&[("main.tarn.json", &src)]);
    }

    #[test]
    fn random_json_token_soup_never_panics(src in token_soup(JSON_TOKENS, 40)) {
        check_all(&[("main.tarn.json", &src)]);
    }

    #[test]
    fn random_expressions_evaluate_without_panicking(e in expr_strategy()) {
        let src = format!("locals {{\n  v = {e}\n}}\n");
        check_all(&[("main.tarn.hcl", &src)]);
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,200}") {
        check_all(&[("main.tarn.hcl", &src), ("main.tarn.json", &src)]);
    }
}

proptest! {
    // Each case formats a full configuration twice over: a fifth of the cases suffices.
    #![proptest_config(ProptestConfig { cases: fuzz_cases() / 5, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn formatting_ignores_indentation_and_trailing_space(pads in prop::collection::vec((0usize..7, 0usize..3, 0usize..3), 200)) {
        let full = crate::load::tests::FULL;
        let messy: String = full
            .lines()
            .zip(pads.iter().cycle())
            .map(|(l, (lead, trail, eq))| {
                let l = l.trim_start().replacen(" = ", &format!("{}= ", " ".repeat(eq + 1)), 1);
                format!("{}{}{}\n", " ".repeat(*lead), l, " ".repeat(*trail))
            })
            .collect();
        prop_assert_eq!(format_hcl(&messy).ok(), format_hcl(full).ok());
    }
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    // Depths the parser accepts evaluate fully.
    let deep = |open: &str, close: &str| format!("{}1{}", open.repeat(30), close.repeat(30));
    assert_eq!(super::tests::eval_src(&deep("\"${", "}\"")).ok(), Some(tarn_sdk::Value::number(1.0)));
    assert_eq!(super::tests::eval_src(&deep("try(", ")")).ok(), Some(tarn_sdk::Value::number(1.0)));
    assert!(super::tests::eval_src(&deep("[for x in [1] : ", "]")).is_ok());
    for depth in [30, 50, 63, 64, 70, 199, 300, 3000] {
        let src = format!("locals {{\n  v = {}1{}\n}}\n", "[".repeat(depth), "]".repeat(depth));
        check_all(&[("main.tarn.hcl", &src)]);
        let ops = format!("locals {{\n  v = {}\n}}\n", vec!["1"; depth].join(" + "));
        check_all(&[("main.tarn.hcl", &ops)]);
        let templates = format!("locals {{\n  v = {}1{}\n}}\n", "\"${".repeat(depth), "}\"".repeat(depth));
        check_all(&[("main.tarn.hcl", &templates)]);
        let calls = format!("locals {{\n  v = {}1{}\n}}\n", "try(".repeat(depth), ")".repeat(depth));
        check_all(&[("main.tarn.hcl", &calls)]);
        let fors = format!("locals {{\n  v = {}1{}\n}}\n", "[for x in [1] : ".repeat(depth), "]".repeat(depth));
        check_all(&[("main.tarn.hcl", &fors)]);
        let json = format!("{{\"locals\": {{\"v\": {}1{}}}}}", "[".repeat(depth), "]".repeat(depth));
        check_all(&[("main.tarn.json", &json)]);
    }
}
