//! Failure policies of `tarn apply` seen from outside: rollback (exit 3, everything this apply
//! created is gone from the provider and from the state), halt (exit 4, nothing new scheduled,
//! the state records exactly what exists) and continue (exit 4, independent work still done),
//! plus the undo of an in-place update and a partially created object.

use crate::harness::{FAULT_PROVIDER, Stack};
use std::collections::BTreeSet;

/// `a -> b -> c` where c's create fails, and an independent chain `i1 -> i2 -> i3` whose first
/// link is slow, so i2 and i3 are scheduled only after c has failed.
fn failing_chain() -> String {
    format!(
        r#"{FAULT_PROVIDER}
resource "fault_object" "a" {{
  name = "a"
}}

resource "fault_object" "b" {{
  name  = "b"
  value = fault_object.a.id
}}

resource "fault_object" "c" {{
  name        = "c"
  value       = fault_object.b.id
  fail_create = true
}}

resource "fault_object" "after_c" {{
  name  = "after_c"
  value = fault_object.c.id
}}

resource "fault_object" "i1" {{
  name       = "i1"
  latency_ms = 700
}}

resource "fault_object" "i2" {{
  name  = "i2"
  value = fault_object.i1.id
}}

resource "fault_object" "i3" {{
  name  = "i3"
  value = fault_object.i2.id
}}
"#
    )
}

/// Names (the `name` attribute) of the objects that really exist.
fn names(s: &Stack) -> BTreeSet<String> {
    s.objects().values().map(|o| o["attributes"]["name"].as_str().unwrap().to_string()).collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn rollback_exits_3_and_leaves_nothing_behind() {
    let s = Stack::with(&failing_chain());
    let run = s.tarn(&["apply", "--auto-approve"]).code(3);
    assert!(run.stdout.contains("fail_create = true") || run.stderr.contains("fail_create = true"), "{}", run.dump());
    assert!(run.stdout.contains("Rolling back"), "{}", run.dump());
    assert!(s.object_ids().is_empty(), "objects left after rollback: {:?}", names(&s));
    assert!(s.addresses().is_empty(), "state after rollback: {:?}", s.addresses());
    // Nothing is half-recorded: the next plan wants all seven objects again.
    s.tarn(&["plan"]).ok().stdout_has("Plan: 7 to add, 0 to change, 0 to destroy.");
}

#[test]
fn halt_exits_4_schedules_nothing_new_and_state_matches_what_exists() {
    let s = Stack::with(&failing_chain());
    s.tarn(&["apply", "--auto-approve", "--on-failure", "halt"]).code(4);
    // a, b and the in-flight i1 finished; nothing was started after c failed.
    assert_eq!(names(&s), set(&["a", "b", "i1"]));
    assert_eq!(s.object_ids(), s.state_ids(), "state and real objects differ");
    s.tarn(&["plan", "--detailed-exitcode"]).code(2).stdout_has("Plan: 4 to add, 0 to change, 0 to destroy.");
}

#[test]
fn continue_exits_4_and_still_creates_everything_independent_of_the_failure() {
    let s = Stack::with(&failing_chain());
    s.tarn(&["apply", "--auto-approve", "--on-failure", "continue"]).code(4);
    assert_eq!(names(&s), set(&["a", "b", "i1", "i2", "i3"]), "after_c depends on c and must be skipped");
    assert_eq!(s.object_ids(), s.state_ids());
    let addrs = s.addresses();
    assert!(!addrs.iter().any(|a| a.ends_with(".c") || a.ends_with("after_c")), "{addrs:?}");
}

#[test]
fn rollback_of_an_update_restores_the_prior_values() {
    let config = |value: &str, fail: bool| {
        format!(
            r#"{FAULT_PROVIDER}
resource "fault_object" "first" {{
  name  = "first"
  value = "{value}"
}}

resource "fault_object" "second" {{
  name        = "second"
  value       = "{value}-${{fault_object.first.value}}"
  fail_update = {fail}
}}
"#
        )
    };
    let s = Stack::with(&config("v1", false));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let ids = s.object_ids();

    s.write("main.tarn.hcl", &config("v2", true));
    s.tarn(&["plan"]).ok().stdout_has("2 to change");
    s.tarn(&["apply", "--auto-approve"]).code(3);
    assert_eq!(s.object_ids(), ids, "an update must not replace objects");
    for (id, o) in s.objects() {
        let value = o["attributes"]["value"].as_str().unwrap();
        assert!(value.starts_with("v1"), "{id} was left at {value}");
    }
    let show = s.show();
    for r in show["resources"].as_array().unwrap() {
        assert!(r["values"]["value"].as_str().unwrap().starts_with("v1"), "state says {r}");
    }
}

#[test]
fn a_partially_created_object_is_recorded_then_rolled_back() {
    let s = Stack::with(&format!(
        r#"{FAULT_PROVIDER}
resource "fault_object" "ok" {{
  name = "ok"
}}

resource "fault_object" "partial" {{
  name           = "partial"
  value          = fault_object.ok.id
  partial_create = true
}}
"#
    ));
    let run = s.tarn(&["apply", "--auto-approve", "--on-failure", "halt"]).code(4);
    assert_eq!(names(&s), set(&["ok", "partial"]), "{}", run.dump());
    assert_eq!(s.object_ids(), s.state_ids(), "a partially created object must be recorded");

    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(s.object_ids().is_empty());

    s.tarn(&["apply", "--auto-approve"]).code(3);
    assert!(s.object_ids().is_empty(), "rollback left {:?}", names(&s));
    assert!(s.addresses().is_empty());
}

#[test]
fn destroys_wait_for_the_final_phase_so_a_rollback_never_needs_to_resurrect() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"old\" {{\n  name = \"old\"\n}}\n\nresource \"fault_object\" \"keep\" {{\n  name  = \"keep\"\n  value = \"1\"\n}}\n"
    ));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.object_ids();
    // Remove `old`, update `keep`, add `new`, which fails (slowly, so `keep` is done first).
    s.write(
        "main.tarn.hcl",
        &format!(
            "{FAULT_PROVIDER}\nresource \"fault_object\" \"keep\" {{\n  name  = \"keep\"\n  value = \"2\"\n}}\n\nresource \"fault_object\" \"new\" {{\n  name        = \"new\"\n  latency_ms  = 200\n  fail_create = true\n}}\n"
        ),
    );
    s.tarn(&["plan"]).ok().stdout_has("Plan: 1 to add, 1 to change, 1 to destroy.");
    s.tarn(&["apply", "--auto-approve"]).code(3);
    assert_eq!(s.object_ids(), before, "`old` must never have been destroyed; `new` must be gone");
    assert_eq!(names(&s), set(&["keep", "old"]));
    for o in s.objects().values() {
        if o["attributes"]["name"] == "keep" {
            assert_eq!(o["attributes"]["value"], "1", "the update of keep must be undone");
        }
    }
    assert_eq!(s.object_ids(), s.state_ids());
}

#[test]
fn a_provider_call_failing_mid_apply_is_rolled_back_across_independent_objects() {
    let mut config = FAULT_PROVIDER
        .replace("dir = \"${path.module}/objs\"", "dir          = \"${path.module}/objs\"\n  fail_on_call = 4");
    for i in 0..6 {
        config.push_str(&format!("\nresource \"fault_object\" \"o{i}\" {{\n  name = \"o{i}\"\n}}\n"));
    }
    let s = Stack::with(&config);
    s.tarn(&["apply", "--auto-approve", "--parallelism", "2"]).code(3).stdout_has("Rolling back");
    assert!(s.object_ids().is_empty(), "left: {:?}", names(&s));
    assert!(s.addresses().is_empty());
}

/// A create_before_destroy replacement under `--on-failure halt`, stopped by a later failure
/// before the old object's delete: the old object stays recorded as deposed (shown by
/// `state list`, `show` and the plan) and the next apply deletes it. No orphan at any point.
#[test]
fn halt_leaves_a_deposed_object_that_the_next_apply_deletes() {
    let config = |key: &str, fail: bool| {
        format!(
            r#"{FAULT_PROVIDER}
resource "fault_object" "x" {{
  name        = "x"
  replace_key = "{key}"
  lifecycle {{
    create_before_destroy = true
  }}
}}

resource "fault_object" "y" {{
  name        = "y"
  value       = fault_object.x.id
  fail_update = {fail}
}}
"#
        )
    };
    let s = Stack::with(&config("1", false));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.write("main.tarn.hcl", &config("2", true));
    s.tarn(&["apply", "--auto-approve", "--on-failure", "halt"]).code(4);
    assert_eq!(s.object_ids().len(), 3, "old x, new x and y exist");
    assert_eq!(s.object_ids(), s.state_ids(), "every object is recorded, the old x as deposed");
    let list = s.addresses();
    let deposed: Vec<&String> = list.iter().filter(|a| a.starts_with("fault_object.x (deposed object ")).collect();
    assert_eq!(deposed.len(), 1, "{list:?}");
    let key = deposed[0].trim_start_matches("fault_object.x (deposed object ").trim_end_matches(')').to_string();
    assert_eq!(key.len(), 8, "{key}");
    let show = s.show();
    assert_eq!(
        show["resources"].as_array().unwrap().iter().filter(|r| r["deposed"] == key.as_str()).count(),
        1,
        "{show}"
    );

    s.write("main.tarn.hcl", &config("2", false));
    let plan = s.tarn(&["plan"]).ok();
    assert!(
        plan.stdout.contains(&format!("# fault_object.x (deposed object {key}) will be destroyed")),
        "{}",
        plan.dump()
    );
    let json = s.tarn(&["plan", "--json"]).ok().json();
    let changes = json["changes"].as_array().unwrap();
    assert!(changes.iter().any(|c| c["deposed"] == key.as_str() && c["action"] == "delete"), "{json}");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.object_ids().len(), 2);
    assert_eq!(s.object_ids(), s.state_ids());
    assert!(s.addresses().iter().all(|a| !a.contains("deposed")));
    assert_eq!(s.tarn(&["plan", "--detailed-exitcode"]).code, 0);
}
