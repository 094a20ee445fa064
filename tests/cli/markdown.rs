//! `tarn show PLANFILE --markdown`: a saved plan as a pull-request comment — counts, a table of
//! changes with replacements and irreversible actions called out, output changes, the full
//! diff collapsed — with sensitive values hidden. Snapshot-tested.

use crate::harness::{FAULT_PROVIDER, Stack, redact};

fn config(version: u32) -> String {
    let (swap_key, value, extra, kept) = match version {
        1 => ("one", "v1", "", "resource \"fault_object\" \"gone\" {\n  name = \"gone\"\n}\n"),
        _ => (
            "two",
            "v2",
            "resource \"fault_object\" \"new\" {\n  name = \"new\"\n}\n\noutput \"new_id\" {\n  value = fault_object.new.id\n}\n",
            "",
        ),
    };
    format!(
        r#"{FAULT_PROVIDER}
variable "pw" {{
  type      = string
  sensitive = true
}}

resource "fault_object" "keep" {{
  name  = "keep"
  value = "{value}"
}}

resource "fault_object" "secret" {{
  name  = "secret"
  value = var.pw
}}

resource "fault_object" "swap" {{
  name        = "swap"
  replace_key = "{swap_key}"
}}

{extra}{kept}"#
    )
}

#[test]
fn a_saved_plan_as_a_pull_request_comment() {
    let s = Stack::with(&config(1));
    s.tarn(&["state", "keygen"]).ok();
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_VAR_pw", "first-hidden-value")]).ok();
    s.write("main.tarn.hcl", &config(2));
    s.tarn_with(&["plan", "--out", "change.tarnplan"], &[("TARN_VAR_pw", "second-hidden-value")]).ok();
    let md = s.tarn(&["show", "change.tarnplan", "--markdown"]).ok().stdout;
    for secret in ["first-hidden-value", "second-hidden-value"] {
        assert!(!md.contains(secret), "{secret} in\n{md}");
    }
    for needle in [
        "### tarn plan: 2 to add, 2 to change, 2 to destroy",
        "> [!WARNING]",
        "| **replace** | `fault_object.swap` |",
        "```diff",
    ] {
        assert!(md.contains(needle), "{needle:?} missing from\n{md}");
    }
    insta::assert_snapshot!("plan_markdown", redact(&md));

    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_VAR_pw", "second-hidden-value")]).ok();
    s.tarn_with(&["plan", "--out", "none.tarnplan"], &[("TARN_VAR_pw", "second-hidden-value")]).ok();
    let md = s.tarn(&["show", "none.tarnplan", "--markdown"]).ok().stdout;
    assert!(md.starts_with("### tarn plan: no changes\n"), "{md}");
    // --markdown is for saved plans, and not with --json.
    s.tarn(&["show", "--markdown"]).code(1);
    s.tarn(&["show", "none.tarnplan", "--markdown", "--json"]).code(1);
}
