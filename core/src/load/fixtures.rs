//! Data-driven language tests: each directory under `core/tests/fixtures/lang/` is a module.
//! `check(case)` loads it, evaluates every local, output, `count` and `for_each` with the test
//! resolver, renders every diagnostic, and compares the text with `expected.txt` in the same
//! directory. Run with `TARN_BLESS=1` to rewrite the expectations after an intended change.

use super::load;
use crate::diag::{Diagnostics, render_all};
use crate::eval::{EvalContext, evaluate};
use std::path::Path;

fn check(case: &str) {
    // Relative to the crate root (cargo's working directory for tests), so paths are stable.
    let dir = Path::new("tests/fixtures/lang").join(case);
    let (cfg, mut diags) = load(&dir);
    let cfg = cfg.expect("fixture directory loads");
    let r = crate::eval::tests::scope();
    let ctx = EvalContext { resolver: &r, module_dir: &dir };
    let m = &cfg.root.module;
    let mut eval_diags = Diagnostics::default();
    let exprs = m
        .locals
        .values()
        .map(|l| &l.value)
        .chain(m.outputs.values().map(|o| &o.value))
        .chain(m.resources.values().flat_map(|r| r.count.iter().chain(r.for_each.iter())));
    for e in exprs {
        if let Err(d) = evaluate(e, &ctx) {
            eval_diags.extend(d);
        }
    }
    diags.extend(eval_diags);
    let got = render_all(diags.iter(), &cfg.sources, false);
    let expected_path = dir.join("expected.txt");
    if std::env::var_os("TARN_BLESS").is_some() {
        std::fs::write(&expected_path, &got).expect("write expected.txt");
        return;
    }
    let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert_eq!(got, want, "\n--- rendered for {case} ---\n{got}\n(set TARN_BLESS=1 to accept)");
}

#[test]
fn structure() {
    check("structure");
}

#[test]
fn evaluation() {
    check("evaluation");
}

#[test]
fn duplicates() {
    check("duplicates");
}

#[test]
fn json_syntax() {
    check("json_syntax");
}
