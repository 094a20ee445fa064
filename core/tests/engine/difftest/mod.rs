//! The hand-written differential corpus (tests/fixtures/lang/difftest/corpus.txt) run through
//! tarn and through Terraform 1.0.3 (see harness.rs). Every case must agree, except those marked
//! `# differs: why` (each listed in docs/language.md), which must still differ.

mod harness;

use std::path::Path;

#[test]
fn corpus_agrees_with_terraform_1_0_3() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lang/difftest");
    let text = std::fs::read_to_string(fixtures.join("corpus.txt")).expect("corpus");
    let cases = harness::parse_corpus(&text);
    let peer = harness::Peer::new(Some(&fixtures.join("files")));
    let srcs: Vec<String> = cases.iter().map(|c| c.src.clone()).collect();
    let tf = peer.eval_all(&srcs);
    let r = harness::compare(&cases, peer.dir.path(), &tf);
    eprintln!(
        "difftest: {}/{} cases agree with Terraform 1.0.3 ({:.1}%), {} deliberate differences",
        r.agree,
        r.total,
        100.0 * r.agree as f64 / r.total as f64,
        r.known
    );
    assert!(
        r.unexpected.is_empty() && r.stale.is_empty(),
        "{} disagreements:\n{}\n{} stale `# differs` marks:\n{}",
        r.unexpected.len(),
        r.unexpected.join("\n"),
        r.stale.len(),
        r.stale.join("\n")
    );
}
