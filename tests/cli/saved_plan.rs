//! Saved plans: `plan --out F` then `apply F` applies exactly that plan (even if the
//! configuration would now plan something else, it refuses rather than re-deciding); a plan
//! goes stale when the state's serial or the configuration changed, and the refusal says which;
//! `show F` renders it; a damaged or foreign file is refused with exit 1.

use crate::harness::{FAULT_PROVIDER, Stack};

fn config(names: &[&str]) -> String {
    let mut c = FAULT_PROVIDER.to_string();
    for n in names {
        c.push_str(&format!("\nresource \"fault_object\" \"{n}\" {{\n  name = \"{n}\"\n}}\n"));
    }
    c
}

#[test]
fn apply_of_a_saved_plan_applies_exactly_that_plan() {
    let s = Stack::with(&config(&["a", "b"]));
    s.tarn(&["plan", "--out", "p.tarnplan"]).ok().stdout_has("tarn apply p.tarnplan");
    assert!(s.object_ids().is_empty());

    let shown = s.tarn(&["show", "p.tarnplan"]).ok();
    assert!(
        shown.stdout.contains("fault_object.a will be created") && shown.stdout.contains("fault_object.b"),
        "{}",
        shown.dump()
    );
    let json = s.tarn(&["show", "--json", "p.tarnplan"]).ok().json();
    assert_eq!(json["format_version"], "1.5");
    assert_eq!(json["summary"]["add"], 2);

    let run = s.tarn(&["apply", "p.tarnplan"]).ok();
    assert!(run.stdout.contains("Apply complete!"), "{}", run.dump());
    let mut addrs = s.addresses();
    addrs.sort();
    assert_eq!(addrs, vec!["fault_object.a", "fault_object.b"]);
    assert_eq!(s.object_ids(), s.state_ids());
    s.tarn(&["plan", "--detailed-exitcode"]).ok();

    // Applied once, the plan is spent: the state moved on.
    s.tarn(&["apply", "p.tarnplan"]).code(1).stderr_has("stale");
    assert_eq!(s.object_ids().len(), 2);
}

/// Where no state exists, a plan is made against an empty one and writes nothing; saved, it
/// applies to the state its apply creates, and to any other state that is still empty.
#[test]
fn a_plan_where_no_state_exists_creates_none_and_applies_to_an_empty_state() {
    let s = Stack::with(&config(&["a"]));
    s.tarn(&["plan", "--out", "p.tarnplan"]).ok().stdout_has("1 to add");
    s.tarn(&["plan", "--json"]).ok();
    assert!(!s.path().join(".tarn").exists(), "a plan created state files");

    // An empty state created since (another workspace command, an emptied stack) is no obstacle.
    s.tarn(&["workspace", "new", "default"]).ok();
    let run = s.tarn(&["apply", "p.tarnplan"]).ok();
    assert!(run.stdout.contains("Apply complete!"), "{}", run.dump());
    assert_eq!(s.addresses(), vec!["fault_object.a"]);
    assert_eq!(s.object_ids(), s.state_ids());
}

#[test]
fn a_saved_plan_is_stale_once_the_state_changed_and_says_serial() {
    let s = Stack::with(&config(&["a"]));
    s.tarn(&["plan", "--out", "p.tarnplan"]).ok();
    // Someone else applies a different configuration, then the file is put back as it was.
    s.write("main.tarn.hcl", &config(&["a", "other"]));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.write("main.tarn.hcl", &config(&["a"]));
    let before = s.state_fingerprint();
    let objects = s.object_ids();

    let run = s.tarn(&["apply", "p.tarnplan"]).code(1);
    assert!(run.stderr.contains("stale") && run.stderr.contains("serial 0 then, 1 now"), "{}", run.dump());
    assert_eq!(s.state_fingerprint(), before);
    assert_eq!(s.object_ids(), objects);
}

#[test]
fn a_saved_plan_is_stale_once_the_configuration_changed_and_says_so() {
    let s = Stack::with(&config(&["a"]));
    s.tarn(&["plan", "--out", "p.tarnplan"]).ok();
    s.write("more.tarn.hcl", "resource \"null_resource\" \"x\" {}\n");
    let run = s.tarn(&["apply", "p.tarnplan"]).code(1);
    assert!(run.stderr.contains("stale") && run.stderr.contains("configuration"), "{}", run.dump());
    assert!(s.object_ids().is_empty());
    assert!(s.addresses().is_empty());
}

#[test]
fn a_destroy_plan_can_be_saved_and_applied() {
    let s = Stack::with(&config(&["a", "b"]));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["plan", "--destroy", "--out", "d.tarnplan"]).ok().stdout_has("2 to destroy");
    s.tarn(&["apply", "d.tarnplan"]).ok();
    assert!(s.object_ids().is_empty());
    assert!(s.addresses().is_empty());
    s.tarn(&["destroy", "--auto-approve", "d.tarnplan"]).code(1).stderr_has("plan --destroy --out");
}

#[test]
fn garbage_and_missing_plan_files_are_refused() {
    let s = Stack::with(&config(&["a"]));
    s.write("junk.tarnplan", "this is not a plan");
    s.tarn(&["apply", "junk.tarnplan"]).code(1).stderr_has("not a saved tarn plan");
    s.write("old.tarnplan", "{\"format_version\": 999}");
    s.tarn(&["apply", "old.tarnplan"]).code(1).stderr_has("format version 999");
    s.tarn(&["show", "nope.tarnplan"]).code(1).stderr_has("nope.tarnplan");
    assert!(s.object_ids().is_empty());
    assert!(s.addresses().is_empty());
}

#[test]
fn a_saved_plan_made_for_another_stack_is_refused_naming_the_lineage() {
    // Two stacks of one configuration, each applied once: same serial, own lineages.
    let a = Stack::with(&config(&["x"]));
    let b = Stack::with(&config(&["x"]));
    a.tarn(&["apply", "--auto-approve"]).ok();
    b.tarn(&["apply", "--auto-approve"]).ok();
    a.write("main.tarn.hcl", &config(&["x", "y"]));
    b.write("main.tarn.hcl", &config(&["x", "y"]));
    a.tarn(&["plan", "--out", "p.tarnplan"]).ok();
    let objects = b.object_ids();
    std::fs::copy(a.path().join("p.tarnplan"), b.path().join("p.tarnplan")).unwrap();
    let before = b.state_fingerprint();
    let run = b.tarn(&["apply", "p.tarnplan"]).code(1);
    assert!(run.stderr.contains("another stack") && run.stderr.contains("lineage"), "{}", run.dump());
    assert!(run.stderr.contains("tarn plan --out FILE"), "the fix is named\n{}", run.dump());
    assert!(run.stderr.contains("Nothing was changed"), "{}", run.dump());
    assert_eq!(b.object_ids(), objects);
    assert_eq!(b.state_fingerprint(), before, "nothing written");
    assert_eq!(b.tarn(&["history", "--json"]).ok().json()["runs"].as_array().map(Vec::len), Some(1), "no run recorded");
}

#[test]
fn a_saved_plan_that_fails_is_rolled_back_with_exit_3() {
    let s = Stack::with(&format!(
        "{}\nresource \"fault_object\" \"bad\" {{\n  name        = \"bad\"\n  value       = fault_object.a.id\n  fail_create = true\n}}\n",
        config(&["a"])
    ));
    s.tarn(&["plan", "--out", "p.tarnplan"]).ok();
    s.tarn(&["apply", "p.tarnplan", "--on-failure", "halt"]).code(4);
    assert_eq!(s.object_ids(), s.state_ids());
    assert_eq!(s.object_ids().len(), 1);
    s.tarn(&["destroy", "--auto-approve"]).ok();
    s.tarn(&["plan", "--out", "p.tarnplan"]).ok();
    s.tarn(&["apply", "p.tarnplan"]).code(3);
    assert!(s.object_ids().is_empty());
    assert!(s.addresses().is_empty());
}
