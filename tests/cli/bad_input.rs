//! Bad input: every malformed file, unknown name, type mismatch, cycle, invalid variable or
//! forbidden destroy ends with exit 1, a diagnostic naming file, line and column with a source
//! snippet on stderr (snapshot-compared), no panic, and the state and real objects untouched —
//! for `plan` and for `apply` alike.

use crate::harness::{FAULT_PROVIDER, Stack, redact};

/// A stack that already holds one applied fault object and one null resource, so "nothing
/// changed" is a real claim.
fn applied_stack() -> Stack {
    let s = Stack::with(&format!(
        r#"{FAULT_PROVIDER}
resource "fault_object" "keep" {{
  name = "keep"
}}

resource "null_resource" "keep" {{}}
"#
    ));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s
}

/// Replaces the configuration with `bad`, then checks that plan and apply both refuse it with
/// a diagnostic at `location` mentioning every one of `needles`, change nothing, and print
/// the same thing; returns the redacted stderr for a snapshot.
#[track_caller]
fn rejected(bad: &str, extra_args: &[&str], location: &str, needles: &[&str]) -> String {
    let s = applied_stack();
    let before = s.state_fingerprint();
    let objects = s.object_ids();
    s.write("main.tarn.hcl", &format!("{FAULT_PROVIDER}{bad}"));

    let plan = s.tarn(&[&["plan"], extra_args].concat()).code(1);
    let apply = s.tarn(&[&["apply", "--auto-approve"], extra_args].concat()).code(1);
    for run in [&plan, &apply] {
        assert!(run.stderr.contains(&format!("main.tarn.hcl {location}")), "no location {location:?}\n{}", run.dump());
        for n in needles {
            assert!(run.stderr.contains(n), "stderr lacks {n:?}\n{}", run.dump());
        }
        // The snippet: the offending line, numbered, and a caret line under it.
        let line = location.split_whitespace().nth(1).unwrap().trim_end_matches(',');
        assert!(run.stderr.contains(&format!("  {line} | ")), "no source snippet\n{}", run.dump());
        assert!(run.stderr.contains('^'), "no caret under the snippet\n{}", run.dump());
        assert!(!run.stdout.contains("Applying"), "{}", run.dump());
    }
    assert_eq!(plan.stderr, apply.stderr, "plan and apply report the same problems");
    assert_eq!(s.state_fingerprint(), before, "the state changed");
    assert_eq!(s.object_ids(), objects, "real objects changed");
    redact(&plan.stderr)
}

#[test]
fn malformed_hcl() {
    let out = rejected(
        "resource \"null_resource\" \"a\" {\n  triggers = { x = \"1\"\n}\n",
        &[],
        "line 7, col 2",
        &["Error: Invalid syntax"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn malformed_json_configuration() {
    let s = applied_stack();
    let before = s.state_fingerprint();
    s.write("extra.tarn.json", "{\n  \"resource\": {\n    \"null_resource\": {\"x\": {},}\n  }\n}\n");
    let run = s.tarn(&["plan"]).code(1);
    assert!(run.stderr.contains("extra.tarn.json line 3"), "{}", run.dump());
    assert_eq!(s.state_fingerprint(), before);
}

#[test]
fn unknown_block_type_suggests_the_right_one() {
    let out = rejected("resourse \"null_resource\" \"a\" {}\n", &[], "line 5, col 1", &["Did you mean \"resource\"?"]);
    insta::assert_snapshot!(out);
}

#[test]
fn unknown_attribute_suggests_the_right_one() {
    let out = rejected(
        "resource \"null_resource\" \"a\" {\n  trigers = {}\n}\n",
        &[],
        "line 6, col 3",
        &["Unsupported argument", "Did you mean \"triggers\"?", "null_resource.a"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn undefined_reference_suggests_the_declared_name() {
    let out = rejected(
        "resource \"null_resource\" \"alpha\" {}\n\nresource \"null_resource\" \"b\" {\n  triggers = { x = null_resource.alpah.id }\n}\n",
        &[],
        "line 8, col 20",
        &["null_resource.alpah", "Did you mean null_resource.alpha?"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn undefined_variable_suggests_the_declared_one() {
    rejected(
        "variable \"region\" {\n  default = \"x\"\n}\n\nresource \"null_resource\" \"b\" {\n  triggers = { r = var.regoin }\n}\n",
        &[],
        "line 10",
        &["regoin", "region"],
    );
}

#[test]
fn wrong_type_for_an_attribute() {
    let out = rejected(
        "resource \"fault_object\" \"a\" {\n  latency_ms = \"fast\"\n}\n",
        &[],
        "line 6, col 3",
        &["must be number", "\"fast\""],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn failed_variable_validation() {
    let out = rejected(
        "variable \"env\" {\n  type = string\n  validation {\n    condition     = contains([\"dev\", \"prod\"], var.env)\n    error_message = \"env must be dev or prod.\"\n  }\n}\n",
        &["--var", "env=qa"],
        "line 8, col 21",
        &["env must be dev or prod.", "Invalid value for variable"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn variable_of_the_wrong_type_from_the_command_line() {
    rejected(
        "variable \"count_of\" {\n  type = number\n}\n\nresource \"null_resource\" \"a\" {\n  triggers = { n = var.count_of }\n}\n",
        &["--var", "count_of=many"],
        "line 5",
        &["count_of", "number"],
    );
}

#[test]
fn dependency_cycle_is_named_whole() {
    let out = rejected(
        "resource \"null_resource\" \"a\" {\n  triggers = { x = null_resource.b.id }\n}\n\nresource \"null_resource\" \"b\" {\n  triggers = { x = null_resource.a.id }\n}\n",
        &[],
        "line 5, col 1",
        &["null_resource.a -> null_resource.b -> null_resource.a", "main.tarn.hcl:6:20", "main.tarn.hcl:10:20"],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn resource_of_a_provider_tarn_does_not_have() {
    let out = rejected(
        "resource \"nosuch_thing\" \"a\" {}\n",
        &[],
        "line 5, col 1",
        &[
            "Missing provider",
            "\"nosuch\"",
            "Known providers: cloudflare, digitalocean, fault, local, null, opennebula, openstack, pagw, pond, scaleway, vsn.",
        ],
    );
    insta::assert_snapshot!(out);
}

#[test]
fn several_errors_are_reported_together() {
    let out = rejected(
        "resource \"null_resource\" \"a\" {\n  trigers = {}\n}\n\nresource \"fault_object\" \"c\" {\n  latency_ms = \"fast\"\n  nam        = \"x\"\n}\n",
        &[],
        "line 6, col 3",
        &["main.tarn.hcl line 10, col 3", "main.tarn.hcl line 11, col 3", "Did you mean \"triggers\"?"],
    );
    assert_eq!(out.matches("Error: ").count(), 3, "{out}");
    // In reading order, whatever phase found each one.
    let at = |needle: &str| out.find(needle).unwrap_or_else(|| panic!("{needle} missing"));
    assert!(at("line 6, col 3") < at("line 10, col 3") && at("line 10, col 3") < at("line 11, col 3"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn prevent_destroy_blocks_removal_and_destroy() {
    let guarded = format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"precious\" {{\n  name = \"precious\"\n\n  lifecycle {{\n    prevent_destroy = true\n  }}\n}}\n"
    );
    let s = Stack::with(&guarded);
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.state_fingerprint();
    let objects = s.object_ids();

    let run = s.tarn(&["destroy", "--auto-approve"]).code(1);
    assert!(run.stderr.contains("main.tarn.hcl line 6, col 1"), "{}", run.dump());
    assert!(run.stderr.contains("prevent_destroy"), "{}", run.dump());
    insta::assert_snapshot!(redact(&run.stderr));

    // Replacing it is a destroy too.
    s.write("main.tarn.hcl", &guarded.replace("name = \"precious\"", "name = \"precious\"\n  replace_key = \"2\""));
    s.tarn(&["apply", "--auto-approve"]).code(1).stderr_has("prevent_destroy");
    s.tarn(&["plan", "--destroy"]).code(1).stderr_has("prevent_destroy");
    assert_eq!(s.state_fingerprint(), before);
    assert_eq!(s.object_ids(), objects);
}

#[test]
fn a_malformed_var_flag_is_refused_before_anything_happens() {
    let s = applied_stack();
    let before = s.state_fingerprint();
    s.tarn(&["plan", "--var", "novalue"]).code(1).stderr_has("NAME=VALUE");
    s.tarn(&["apply", "--auto-approve", "--var-file", "missing.tfvars"]).code(1).stderr_has("missing.tfvars");
    s.tarn(&["plan", "--target", "not an address!"]).code(1).stderr_has("--target");
    assert_eq!(s.state_fingerprint(), before);
}

/// `n` locals, each the one before plus one, and an output of the last.
fn chained_locals(n: usize) -> String {
    use std::fmt::Write as _;
    let mut c = String::from("locals {\n  a_0 = 0\n");
    for i in 1..=n {
        writeln!(c, "  a_{i} = local.a_{} + 1", i - 1).unwrap();
    }
    writeln!(c, "}}\n\noutput \"last\" {{\n  value = local.a_{n}\n}}").unwrap();
    c
}

/// Regression (issue 12): 1,400 chained locals aborted plan and apply with a stack overflow
/// (exit 134). Locals are now evaluated in dependency order, so the chain's length does not
/// matter: 10,000 plan too.
#[test]
fn long_chains_of_locals_plan_and_apply() {
    let s = Stack::with(&chained_locals(1_400));
    s.tarn(&["plan"]).ok().stdout_has("+ last = 1400");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.tarn(&["output", "last"]).ok().stdout.trim(), "1400");

    let s = Stack::with(&chained_locals(10_000));
    s.tarn(&["plan"]).ok().stdout_has("+ last = 10000");
}

/// Deeply nested expressions are refused by the parser (64 levels, docs/language.md) with a
/// diagnostic at the place, never a crash.
#[test]
fn deeply_nested_expressions_are_a_diagnostic() {
    for (open, close) in [("(", ")"), ("[", "]"), ("{ a = ", " }")] {
        let s =
            Stack::with(&format!("output \"o\" {{\n  value = {}1{}\n}}\n", open.repeat(5_000), close.repeat(5_000)));
        let run = s.tarn(&["plan"]).code(1);
        assert!(run.stderr.contains("main.tarn.hcl line 2") && run.stderr.contains("nest"), "{open}: {}", run.dump());
    }
}

/// Regression (issue 12): an output nested 128 levels deep applied with exit 0, and from then
/// on every command failed reading the state ("recursion limit"). Now refused at plan, at the
/// expression, before anything is written; the state stays readable.
#[test]
fn a_value_too_deep_to_read_back_is_refused_before_anything_is_written() {
    let deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
    rejected(
        &format!("output \"o\" {{\n  value = [jsondecode(\"{deep}\")]\n}}\n"),
        &[],
        "line 6, col 11",
        &["Value nested too deeply", "output \"o\"", "128 levels"],
    );
}
