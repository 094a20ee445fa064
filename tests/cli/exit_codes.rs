//! The documented exit codes of every command: plan (0, and 2 with `--detailed-exitcode` when
//! there are changes), apply (0), destroy (0), validate (0/1), fmt --check (0/1). The failure
//! codes of apply (3 and 4) are covered with what they leave behind in `rollback.rs`. A reader
//! that goes away early changes no exit code.

use crate::harness::{FAULT_PROVIDER, Stack};

fn two_objects() -> String {
    format!(
        r#"{FAULT_PROVIDER}
resource "fault_object" "a" {{
  name = "a"
}}

resource "fault_object" "b" {{
  name  = "b"
  value = fault_object.a.id
}}
"#
    )
}

#[test]
fn plan_exits_0_and_detailed_exitcode_says_whether_there_are_changes() {
    let s = Stack::with(&two_objects());
    s.tarn(&["plan"]).ok().stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.");
    s.tarn(&["plan", "--detailed-exitcode"]).code(2);
    assert!(s.object_ids().is_empty(), "plan must not create anything");

    s.tarn(&["apply", "--auto-approve"]).ok().stdout_has("Apply complete!");
    assert_eq!(s.object_ids().len(), 2);
    assert_eq!(s.object_ids(), s.state_ids());

    s.tarn(&["plan", "--detailed-exitcode"]).ok().stdout_has("No changes.");
    s.tarn(&["plan"]).ok();
}

#[test]
fn apply_with_nothing_to_do_exits_0() {
    let s = Stack::with(&two_objects());
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.state_fingerprint();
    s.tarn(&["apply", "--auto-approve"]).ok().stdout_has("No changes.");
    assert_eq!(s.state_fingerprint(), before, "a no-op apply must not write the state");
}

#[test]
fn apply_without_approval_and_without_a_terminal_refuses_and_changes_nothing() {
    let s = Stack::with(&two_objects());
    s.tarn(&["apply"]).code(1).stderr_has("--auto-approve");
    assert!(s.object_ids().is_empty());
    assert!(s.state_ids().is_empty());
}

#[test]
fn destroy_exits_0_and_removes_every_object() {
    let s = Stack::with(&two_objects());
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["plan", "--destroy", "--detailed-exitcode"]).code(2).stdout_has("2 to destroy");
    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(s.object_ids().is_empty(), "objects left: {:?}", s.object_ids());
    assert!(s.addresses().is_empty());
    // Destroying nothing is a success too.
    s.tarn(&["destroy", "--auto-approve"]).ok();
}

#[test]
fn validate_exits_0_for_a_valid_configuration_and_1_for_an_invalid_one() {
    let s = Stack::with(&two_objects());
    s.tarn(&["validate"]).ok().stdout_has("The configuration is valid.");
    let json = s.tarn(&["validate", "--json"]).ok().json();
    assert_eq!(json["format_version"], "1.5");
    assert_eq!(json["valid"], true);

    s.write("broken.tarn.hcl", "resource \"fault_object\" \"c\" {\n  value = fault_object.nope.id\n}\n");
    s.tarn(&["validate"]).code(1).stderr_has("broken.tarn.hcl line 2, col 11");
    let json = s.tarn(&["validate", "--json"]).code(1).json();
    assert_eq!(json["valid"], false);
    let d = &json["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["range"]["line"], 2);
    assert_eq!(d["range"]["column"], 11);
    assert!(d["range"]["file"].as_str().unwrap().ends_with("broken.tarn.hcl"), "{d}");
    assert!(!s.state_db().exists(), "validate must not create a state");
}

#[test]
fn fmt_check_exits_1_for_unformatted_files_and_fmt_fixes_them() {
    let s = Stack::new();
    s.write("main.tarn.hcl", "resource \"null_resource\" \"a\" {\ntriggers = { x = \"1\" }\n}\n");
    s.write("ok.tarn.hcl", "resource \"null_resource\" \"b\" {}\n");
    s.tarn(&["fmt", "--check"]).code(1).stdout_has("main.tarn.hcl");
    let untouched = s.read("main.tarn.hcl");
    assert!(untouched.contains("\ntriggers"), "--check must not write");

    let run = s.tarn(&["fmt"]).ok();
    assert!(run.stdout.contains("main.tarn.hcl") && !run.stdout.contains("ok.tarn.hcl"), "{}", run.dump());
    assert!(s.read("main.tarn.hcl").contains("\n  triggers"), "{}", s.read("main.tarn.hcl"));
    s.tarn(&["fmt", "--check"]).ok();
    s.tarn(&["validate"]).ok();
}

/// Regression: validate said "The configuration is valid." for a misspelt argument that
/// `plan` then rejected, because it never looked at the providers' schemas.
#[test]
fn validate_checks_argument_names_against_the_providers_schemas() {
    let s = Stack::new();
    s.write(
        "main.tarn.hcl",
        "resource \"null_resource\" \"a\" {\n  trigers = {}\n}\n\nresource \"null_resourc\" \"b\" {}\n\nresource \"nosuch_thing\" \"c\" {}\n",
    );
    let run = s.tarn(&["validate"]).code(1);
    for needle in [
        "main.tarn.hcl line 2, col 3",
        "Did you mean \"triggers\"?",
        "main.tarn.hcl line 5, col 1",
        "Did you mean \"null_resource\"?",
        "main.tarn.hcl line 7, col 1",
        "Missing provider",
    ] {
        assert!(run.stderr.contains(needle), "validate missed {needle:?}\n{}", run.dump());
    }
    // A module's resources are checked too, and dynamic blocks by their label.
    let s = Stack::new();
    s.write("main.tarn.hcl", "module \"m\" {\n  source = \"./m\"\n}\n");
    s.write("m/main.tarn.hcl", "resource \"local_file\" \"f\" {\n  filename = \"x\"\n  contnet  = \"y\"\n}\n");
    s.tarn(&["validate"]).code(1).stderr_has("module.m.local_file.f").stderr_has("Did you mean \"content\"?");
    s.write("m/main.tarn.hcl", "resource \"local_file\" \"f\" {\n  filename = \"x\"\n  content  = \"y\"\n}\n");
    s.tarn(&["validate"]).ok();
}

/// Regression: in a directory without configuration files, `plan` said "No changes" (and
/// created a state there), and `destroy` of a stack whose files were renamed away dropped every
/// object from the state while the objects still existed (without its provider block the fault
/// provider could not see them and reported them deleted).
#[test]
fn a_directory_without_configuration_files_is_an_error() {
    let s = Stack::new();
    s.tarn(&["plan"]).code(1).stderr_has("no configuration files");
    assert!(!s.state_db().exists(), "plan must not create a state in a directory without configuration");

    let s = Stack::with(&two_objects());
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.state_fingerprint();
    let objects = s.object_ids();
    std::fs::rename(s.path().join("main.tarn.hcl"), s.path().join("main.tf")).unwrap();
    for args in [&["plan"][..], &["apply", "--auto-approve"], &["destroy", "--auto-approve"]] {
        s.tarn(args).code(1).stderr_has("no configuration files");
    }
    assert_eq!(s.state_fingerprint(), before);
    assert_eq!(s.object_ids(), objects);
}

/// A reader that goes away early (`tarn plan | head`, a pager quit at once) ends nothing badly:
/// a plan finishes without a panic and exits 0, and an apply whose output nobody reads still
/// applies everything and records it.
#[test]
fn a_reader_that_goes_away_early_neither_panics_nor_stops_an_apply() {
    use std::io::Read;
    let s = Stack::with("resource \"null_resource\" \"n\" {\n  count    = 3000\n  triggers = { i = count.index }\n}\n");
    let mut plan = s.spawn(&["plan"]);
    let mut first = [0u8; 64];
    plan.stdout.take().expect("stdout").read_exact(&mut first).expect("the plan starts");
    let status = plan.wait().expect("plan ends");
    let mut stderr = String::new();
    plan.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let mut apply = s.spawn(&["apply", "--auto-approve"]);
    drop(apply.stdout.take());
    let status = apply.wait().expect("apply ends");
    let mut stderr = String::new();
    apply.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(s.addresses().len(), 3000);

    // The same for stderr: a refused plan whose diagnostics nobody reads still exits 1, not
    // with a panic's 101.
    s.write("main.tarn.hcl", "resource \"null_resource\" \"n\" {\n  count = nope\n}\n");
    let mut refused = s.spawn(&["plan"]);
    drop(refused.stderr.take());
    assert_eq!(refused.wait().expect("plan ends").code(), Some(1));
}
