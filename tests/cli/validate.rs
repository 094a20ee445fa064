//! Issue 14, "nothing passes silently": `tarn validate` finds what `terraform validate` finds,
//! all at once and each at its file, line and column; lifecycle preconditions stop a plan,
//! postconditions fail their operation under each failure policy; `check {}` blocks warn at
//! plan and apply and are findings of `tarn drift`; `required_version` and provider `version`
//! constraints refuse to run; `removed {}` blocks forget or destroy; `--refresh-only` plans and
//! applies what refresh found without changing any object.

use crate::harness::{FAULT_PROVIDER, Stack};

/// Each of the cases the issue lists, in one configuration.
const INVALID: &str = r#"variable "n" {
  type = number
}

variable "three" {
  type    = number
  default = "three"
}

variable "size" {
  type    = number
  default = 1
  validation {
    condition     = var.size > 2
    error_message = "size must be more than 2."
  }
}

resource "null_resource" "a" {
  count = var.n + "x"
}

resource "null_resource" "b" {
  triggers = {
    up   = upper("x", 2)
    id   = null_resource.c.idd
    what = nosuchfunction(1)
  }
}

resource "null_resource" "c" {
  triggers = "notamap"
}

locals {
  unused = max("a", 1)
}
"#;

#[test]
fn validate_reports_every_case_in_one_run_each_at_its_location() {
    let s = Stack::with(INVALID);
    let run = s.tarn(&["validate"]).code(1);
    for needle in [
        // count = var.n + "x", var.n a number: "x" is not one.
        "main.tarn.hcl line 20, col 19",
        // default = "three" for a number.
        "main.tarn.hcl line 7, col 13",
        "Invalid default value for variable",
        // A default failing its own validation.
        "main.tarn.hcl line 14, col 21",
        "size must be more than 2.",
        // upper("x", 2): wrong number of arguments.
        "main.tarn.hcl line 25, col",
        // null_resource.c.idd: no such attribute.
        "main.tarn.hcl line 26, col",
        "idd",
        // A function that does not exist.
        "main.tarn.hcl line 27, col",
        "nosuchfunction",
        // triggers = "notamap".
        "main.tarn.hcl line 32, col 3",
        // A local nothing refers to is evaluated too.
        "main.tarn.hcl line 36, col",
    ] {
        assert!(run.stderr.contains(needle), "validate lacks {needle:?}\n{}", run.dump());
    }
    assert!(run.stderr.matches("Error: ").count() >= 8, "{}", run.dump());

    let json = s.tarn(&["validate", "--json"]).code(1).json();
    assert_eq!(json["valid"], false);
    let lines: Vec<u64> =
        json["diagnostics"].as_array().unwrap().iter().filter_map(|d| d["range"]["line"].as_u64()).collect();
    for line in [7, 14, 20, 25, 26, 27, 32, 36] {
        assert!(lines.contains(&line), "no diagnostic on line {line}: {json:#}");
    }
}

#[test]
fn validate_accepts_unknowns_it_cannot_know_yet() {
    // Variables without values, count and for_each from them, and a computed id: nothing
    // here is an error until values are known.
    let s = Stack::with(
        r#"variable "n" {
  type = number
}

variable "names" {
  type = set(string)
}

resource "null_resource" "a" {
  count    = var.n
  triggers = { i = tostring(count.index) }
}

resource "null_resource" "b" {
  for_each = var.names
  triggers = { name = each.key, a = null_resource.a[0].id }
}

output "b" {
  value = [for b in null_resource.b : b.id]
}

output "by_key" {
  value = [null_resource.b["web"].id, null_resource.a[3].id]
}
"#,
    );
    s.tarn(&["validate"]).ok().stdout_has("The configuration is valid.");
}

fn precondition(n: u32) -> String {
    format!(
        r#"variable "n" {{
  type    = number
  default = {n}
}}

resource "null_resource" "a" {{
  triggers = {{ n = tostring(var.n) }}
  lifecycle {{
    precondition {{
      condition     = var.n > 2
      error_message = "n must be more than 2, and it is ${{var.n}}."
    }}
  }}
}}
"#
    )
}

#[test]
fn a_false_precondition_stops_the_plan_at_its_condition() {
    let s = Stack::with(&precondition(1));
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        s.tarn(args)
            .code(1)
            .stderr_has("Resource precondition failed")
            .stderr_has("main.tarn.hcl line 10, col 23")
            .stderr_has("null_resource.a: n must be more than 2, and it is 1.");
    }
    assert!(s.addresses().is_empty());
    s.write("main.tarn.hcl", &precondition(3));
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.addresses(), ["null_resource.a"]);
}

#[test]
fn a_precondition_known_only_at_apply_fails_the_operation_before_its_call() {
    let s = Stack::with(&format!(
        r#"{FAULT_PROVIDER}
resource "fault_object" "a" {{
  name = "a"
}}

resource "fault_object" "b" {{
  name = "b"
  lifecycle {{
    precondition {{
      condition     = fault_object.a.id == "never"
      error_message = "a must have the id never."
    }}
  }}
}}
"#
    ));
    s.tarn(&["plan"]).ok().stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.");
    s.tarn(&["apply", "--auto-approve"])
        .code(3)
        .stdout_has("fault_object.b: Resource precondition failed: a must have the id never.");
    assert!(s.object_ids().is_empty(), "left behind: {:?}", names(&s));
    assert!(s.addresses().is_empty());
}

#[test]
fn a_data_source_postcondition_is_judged_on_what_plan_read() {
    let s = Stack::with(
        r#"data "local_file" "health" {
  filename = "${path.module}/health.txt"
  lifecycle {
    postcondition {
      condition     = trimspace(self.content) == "ok"
      error_message = "health.txt must say ok."
    }
  }
}
"#,
    );
    s.write(
        "health.txt",
        "down
",
    );
    s.tarn(&["plan"])
        .code(1)
        .stderr_has("Resource postcondition failed")
        .stderr_has("data.local_file.health: health.txt must say ok.")
        .stderr_has("main.tarn.hcl line 5, col 23");
    s.write(
        "health.txt",
        "ok
",
    );
    s.tarn(&["plan"]).ok();
}

/// `a`, then `b` (depends on a) whose postcondition is false once its id is known, then `c`
/// (depends on b); `solo` depends on nothing.
fn postcondition() -> String {
    format!(
        r#"{FAULT_PROVIDER}
resource "fault_object" "a" {{
  name = "a"
}}

resource "fault_object" "b" {{
  name  = "b"
  value = fault_object.a.id
  lifecycle {{
    postcondition {{
      condition     = self.id == "never"
      error_message = "b got id ${{self.id}}, not the one it needs."
    }}
  }}
}}

resource "fault_object" "c" {{
  name  = "c"
  value = fault_object.b.id
}}

resource "fault_object" "solo" {{
  name = "solo"
}}
"#
    )
}

fn names(s: &Stack) -> std::collections::BTreeSet<String> {
    s.objects().values().map(|o| o["attributes"]["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_failing_postcondition_is_rolled_back_under_rollback() {
    let s = Stack::with(&postcondition());
    s.tarn(&["apply", "--auto-approve"])
        .code(3)
        .stdout_has("Resource postcondition failed: b got id f")
        .stdout_has("Rolling back");
    assert!(s.object_ids().is_empty(), "left behind: {:?}", names(&s));
    assert!(s.addresses().is_empty(), "{:?}", s.addresses());
}

#[test]
fn a_failing_postcondition_stops_under_halt_and_keeps_the_object_recorded() {
    let s = Stack::with(&postcondition());
    s.tarn(&["apply", "--auto-approve", "--on-failure", "halt"]).code(4).stdout_has("Resource postcondition failed");
    assert!(names(&s).contains("b") && !names(&s).contains("c"), "{:?}", names(&s));
    assert_eq!(s.object_ids(), s.state_ids(), "state and real objects differ");
}

#[test]
fn a_failing_postcondition_skips_only_dependants_under_continue() {
    let s = Stack::with(&postcondition());
    s.tarn(&["apply", "--auto-approve", "--on-failure", "continue", "--parallelism", "1"])
        .code(4)
        .stdout_has("Resource postcondition failed")
        .stdout_has("fault_object.c: skipped");
    let made = names(&s);
    assert!(made.contains("a") && made.contains("b") && made.contains("solo") && !made.contains("c"), "{made:?}");
    assert_eq!(s.object_ids(), s.state_ids(), "state and real objects differ");
}

const HEALTH: &str = r#"
data "local_file" "health" {
  filename = "${path.module}/health.txt"
}

resource "null_resource" "a" {
}

check "healthy" {
  assert {
    condition     = trimspace(data.local_file.health.content) == "ok"
    error_message = "health.txt says ${trimspace(data.local_file.health.content)}, not ok."
  }
}
"#;

#[test]
fn check_blocks_warn_at_plan_and_apply_and_are_findings_of_drift() {
    let s = Stack::with(HEALTH);
    s.write("health.txt", "ok\n");
    let run = s.tarn(&["apply", "--auto-approve"]).ok();
    assert!(!run.stderr.contains("Check block assertion failed"), "{}", run.dump());
    s.tarn(&["drift"]).ok().stdout_has("No drift.");

    s.write("health.txt", "down\n");
    s.tarn(&["plan"])
        .ok()
        .stderr_has("Warning: Check block assertion failed")
        .stderr_has("check.healthy: health.txt says down, not ok.")
        .stderr_has("main.tarn.hcl line 11, col 21");
    s.write("main.tarn.hcl", &format!("{HEALTH}\nresource \"null_resource\" \"b\" {{\n}}\n"));
    s.tarn(&["apply", "--auto-approve"])
        .ok()
        .stderr_has("Warning: Check block assertion failed")
        .stderr_has("health.txt says down, not ok.");
    assert_eq!(s.addresses(), ["null_resource.a", "null_resource.b"], "a failed check stops nothing");

    let drift = s.tarn(&["drift"]).ok().stdout_has("check failed: check.healthy: health.txt says down, not ok.");
    assert!(drift.stdout.contains("No drift."), "{}", drift.dump());
    let json = s.tarn(&["drift", "--json"]).ok().json();
    let warnings = json["warnings"].to_string();
    assert!(warnings.contains("check.healthy"), "{json:#}");
}

#[test]
fn required_version_refuses_to_run_naming_the_constraint_and_this_version() {
    let s = Stack::with("tarn {\n  required_version = \">= 99.0\"\n}\n\nresource \"null_resource\" \"a\" {\n}\n");
    let version = env!("CARGO_PKG_VERSION");
    let wanted = format!("This configuration requires tarn >= 99.0, and this is tarn {version}.");
    for args in [&["validate"][..], &["plan"], &["apply", "--auto-approve"]] {
        s.tarn(args).code(1).stderr_has("Unsupported tarn version").stderr_has(&wanted).stderr_has("line 2, col 22");
    }
    assert!(s.addresses().is_empty());
    s.write("main.tarn.hcl", &format!("tarn {{\n  required_version = \"~> {version}\"\n}}\n"));
    s.tarn(&["validate"]).ok();
}

#[test]
fn a_provider_version_constraint_refuses_to_run_naming_both_versions() {
    let version = env!("CARGO_PKG_VERSION");
    let s = Stack::with(
        "tarn {\n  required_providers {\n    null = { version = \">= 99.0, < 100\" }\n  }\n}\n\nresource \"null_resource\" \"a\" {\n}\n",
    );
    let wanted =
        format!("Provider \"null\" must satisfy version >= 99.0, < 100, and the one available is version {version}.");
    for args in [&["validate"][..], &["plan"]] {
        s.tarn(args)
            .code(1)
            .stderr_has("Unsupported provider version")
            .stderr_has(&wanted)
            .stderr_has("line 3, col 12");
    }
    s.write("main.tarn.hcl", "tarn {\n  required_providers {\n    null = { version = \"= 9.x\" }\n  }\n}\n");
    s.tarn(&["validate"]).code(1).stderr_has("Invalid version constraint");
    s.write(
        "main.tarn.hcl",
        &format!("tarn {{\n  required_providers {{\n    null = {{ version = \">= {version}\" }}\n  }}\n}}\n"),
    );
    s.tarn(&["plan"]).ok();
}

fn two_objects(extra: &str) -> String {
    format!("{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name = \"a\"\n}}\n{extra}")
}

#[test]
fn a_removed_block_with_destroy_false_forgets_without_destroying() {
    let s = Stack::with(&two_objects("\nresource \"fault_object\" \"b\" {\n  name = \"b\"\n}\n"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(names(&s).len(), 2);
    s.write(
        "main.tarn.hcl",
        &two_objects("\nremoved {\n  from = fault_object.b\n  lifecycle {\n    destroy = false\n  }\n}\n"),
    );
    s.tarn(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has(
            "fault_object.b will no longer be managed by tarn (removed block); the object will not be destroyed",
        )
        .stdout_has("Plan: 0 to add, 0 to change, 0 to destroy.");
    s.tarn(&["apply", "--auto-approve"]).ok().stdout_has("fault_object.b: removed from the state");
    assert_eq!(s.addresses(), ["fault_object.a"]);
    assert!(names(&s).contains("b"), "the forgotten object was destroyed: {:?}", names(&s));
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn a_removed_block_destroys_by_default_and_refuses_a_resource_still_declared() {
    let s = Stack::with(&two_objects("\nresource \"fault_object\" \"b\" {\n  name = \"b\"\n}\n"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.write(
        "main.tarn.hcl",
        &two_objects(
            "\nresource \"fault_object\" \"b\" {\n  name = \"b\"\n}\n\nremoved {\n  from = fault_object.b\n}\n",
        ),
    );
    s.tarn(&["plan"]).code(1).stderr_has("Removed resource still in configuration");
    s.write(
        "main.tarn.hcl",
        &two_objects("\nremoved {\n  from = fault_object.b\n  lifecycle {\n    destroy = true\n  }\n}\n"),
    );
    s.tarn(&["plan"]).ok().stdout_has("Plan: 0 to add, 0 to change, 1 to destroy.");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(names(&s), ["a".to_string()].into_iter().collect());
    assert_eq!(s.addresses(), ["fault_object.a"]);
}

const FILE: &str = r#"
resource "local_file" "a" {
  filename = "${path.module}/out/a.txt"
  content  = "alpha\n"
}
"#;

#[test]
fn refresh_only_plan_and_apply_record_drift_without_changing_objects() {
    let s = Stack::with(FILE);
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["plan", "--refresh-only", "--detailed-exitcode"])
        .ok()
        .stdout_has("No objects have changed outside of tarn.");

    s.write("out/a.txt", "edited by hand\n");
    s.tarn(&["plan", "--refresh-only", "--detailed-exitcode"])
        .code(2)
        .stdout_has("local_file.a has changed")
        .stdout_has("This is a refresh-only plan");
    s.tarn(&["plan", "--refresh-only", "--destroy"]).code(1);
    assert_eq!(s.read("out/a.txt"), "edited by hand\n", "a refresh-only plan changed the file");

    s.tarn(&["apply", "--refresh-only", "--auto-approve"]).ok().stdout_has("1 object(s) updated, 0 removed");
    assert_eq!(s.read("out/a.txt"), "edited by hand\n", "a refresh-only apply changed the file");
    let recorded = s.show()["resources"][0]["values"]["content"].clone();
    assert_eq!(recorded, "edited by hand\n");
    s.tarn(&["plan", "--refresh-only", "--detailed-exitcode"]).ok();
    // A normal plan now wants the configured content back.
    s.tarn(&["plan", "--detailed-exitcode"]).code(2).stdout_has("local_file.a must be replaced");

    // A saved refresh-only plan applies the same way.
    s.write("out/a.txt", "edited again\n");
    s.tarn(&["plan", "--refresh-only", "--out", "refresh.plan"]).ok();
    s.tarn(&["apply", "refresh.plan"]).ok().stdout_has("1 object(s) updated, 0 removed");
    assert_eq!(s.show()["resources"][0]["values"]["content"], "edited again\n");

    // An object deleted outside tarn leaves the state.
    s.remove("out/a.txt");
    let run = s.tarn(&["apply", "--refresh-only", "--auto-approve", "--json"]).ok();
    let line: serde_json::Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(line["event"], serde_json::json!({"type": "refresh_complete", "updated": 0, "removed": 1}));
    assert!(s.addresses().is_empty());
    assert!(s.tarn(&["history", "--json"]).ok().stdout.contains("--refresh-only"));
}
