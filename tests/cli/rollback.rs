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

/// Issue 12's repros: `count` fault_objects `o[i]` named `o-i`, whose replacement key, failing
/// create, value, failing delete and create_before_destroy come from variables.
fn forty(cbd: bool) -> String {
    let lifecycle = if cbd { "\n  lifecycle {\n    create_before_destroy = true\n  }\n" } else { "" };
    format!(
        r#"{FAULT_PROVIDER}
variable "n" {{
  type    = number
  default = 40
}}

variable "rk" {{
  default = "r1"
}}

variable "fc" {{
  type    = number
  default = -1
}}

variable "v" {{
  default = "v1"
}}

variable "fd" {{
  type    = number
  default = -1
}}

resource "fault_object" "o" {{
  count       = var.n
  name        = "o-${{count.index}}"
  value       = var.v
  replace_key = var.rk
  fail_create = count.index == var.fc
  fail_delete = count.index == var.fd
{lifecycle}}}
"#
    )
}

/// The objects that exist, by name (`o-i`): their attributes.
fn by_name(s: &Stack) -> std::collections::BTreeMap<String, Vec<serde_json::Value>> {
    let mut out: std::collections::BTreeMap<String, Vec<serde_json::Value>> = Default::default();
    for o in s.objects().values() {
        out.entry(o["attributes"]["name"].as_str().unwrap().to_string()).or_default().push(o["attributes"].clone());
    }
    out
}

/// The latest run's outcome in `tarn history --json` (newest first).
fn last_outcome(s: &Stack) -> String {
    let doc = s.tarn(&["history", "--json"]).ok().json();
    doc["runs"][0]["outcome"].as_str().unwrap().to_string()
}

/// Forty delete-then-create replacements, the 39th create failing: every finished replacement
/// keeps its new object (its old one is gone), the run says so per address, and only o[38]
/// — whose create failed after its delete — is lost, and reported. Before issue 12 was fixed
/// the rollback deleted every new object: 0 of 40 remained.
fn delete_then_create_replacements_are_kept(s: &Stack, json: bool) {
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(by_name(s).len(), 40);
    let plan = s.tarn(&["plan", "--var", "rk=r2", "--var", "fc=38"]).ok();
    let mut args = vec!["apply", "--auto-approve", "--var", "rk=r2", "--var", "fc=38"];
    if json {
        args.push("--json");
    }
    let run = s.tarn(&args).code(4);
    let objects = by_name(s);
    for i in (0..40).filter(|&i| i != 38) {
        assert_eq!(objects.get(&format!("o-{i}")).map(Vec::len), Some(1), "o-{i}: {}", run.dump());
    }
    assert!(!objects.contains_key("o-38"));
    assert_eq!(s.object_ids(), s.state_ids(), "state and real objects differ");
    if json {
        let events: Vec<serde_json::Value> = run
            .stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["event"].clone())
            .collect();
        let kept: BTreeSet<&str> =
            events.iter().filter(|e| e["type"] == "rollback_kept").map(|e| e["address"].as_str().unwrap()).collect();
        assert_eq!(kept.len(), 39, "{}", run.dump());
        assert!(kept.contains("fault_object.o[0]") && !kept.contains("fault_object.o[38]"));
        let lost: Vec<&serde_json::Value> = events.iter().filter(|e| e["type"] == "rollback_not_restorable").collect();
        assert_eq!(lost.len(), 1, "{}", run.dump());
        assert_eq!(lost[0]["address"], "fault_object.o[38]");
    } else {
        for i in (0..40).filter(|&i| i != 38) {
            let line = format!("fault_object.o[{i}]: rollback: kept the new object: its previous object was deleted");
            assert!(run.stdout.contains(&line), "{line}\n{}", run.dump());
        }
        assert!(run.stdout.contains("fault_object.o[38]: rollback: cannot be restored"), "{}", run.dump());
    }
    assert_eq!(last_outcome(s), "rollback_incomplete");
    // The plan said so before: every replacement's delete cannot be undone.
    assert!(plan.stdout.contains("# cannot be undone: the old object is deleted first"), "{}", plan.dump());
    assert!(plan.stdout.contains("40 of these changes cannot be undone by a rollback"), "{}", plan.dump());
}

#[test]
fn a_rollback_keeps_finished_delete_then_create_replacements() {
    delete_then_create_replacements_are_kept(&Stack::with(&forty(false)), false);
}

#[test]
fn a_rollback_reports_kept_replacements_in_the_json_events() {
    delete_then_create_replacements_are_kept(&Stack::with(&forty(false)), true);
}

#[test]
fn a_rollback_keeps_finished_delete_then_create_replacements_on_postgres() {
    delete_then_create_replacements_are_kept(&crate::postgres::pg_stack(&forty(false)).0, false);
}

/// Forty create_before_destroy replacements, the 39th create failing: the old objects are
/// deleted only in the final phase, which never starts, so the rollback restores all forty.
/// Before issue 12 was fixed, 2–13 of them were lost.
fn create_before_destroy_replacements_are_restored(s: &Stack) {
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.object_ids();
    assert_eq!(before.len(), 40);
    let run = s.tarn(&["apply", "--auto-approve", "--var", "rk=r2", "--var", "fc=38"]).code(3);
    assert_eq!(s.object_ids(), before, "every old object survives, every new one is gone: {}", run.dump());
    assert_eq!(s.object_ids(), s.state_ids());
    assert!(s.addresses().iter().all(|a| !a.contains("deposed")), "{:?}", s.addresses());
    assert_eq!(last_outcome(s), "rolled_back");
    s.tarn(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_rollback_restores_every_create_before_destroy_replacement() {
    create_before_destroy_replacements_are_restored(&Stack::with(&forty(true)));
}

#[test]
fn a_rollback_restores_every_create_before_destroy_replacement_on_postgres() {
    create_before_destroy_replacements_are_restored(&crate::postgres::pg_stack(&forty(true)).0);
}

/// n=40 with a failing delete on o[35] (fd=35), then n=30 and v=v2: the ten deletes run only after the
/// thirty updates; when one fails, the updates are undone, the deletes that ran are reported
/// and history says `rollback_incomplete`. Before issue 12 was fixed the thirty updates were
/// kept and history said `failed`.
fn a_failed_final_delete_is_rolled_back(s: &Stack) {
    s.tarn(&["apply", "--auto-approve", "--var", "fd=35"]).ok();
    let json = s.tarn(&["plan", "--json", "--var", "fd=35", "--var", "n=30", "--var", "v=v2"]).ok().json();
    let run = s.tarn(&["apply", "--auto-approve", "--var", "fd=35", "--var", "n=30", "--var", "v=v2"]).code(4);
    let objects = by_name(s);
    for (name, found) in &objects {
        assert_eq!(found.len(), 1, "{name}");
        assert_eq!(found[0]["value"], "v1", "{name}: the update must be undone: {}", run.dump());
    }
    assert!((0..30).all(|i| objects.contains_key(&format!("o-{i}"))));
    assert!(objects.contains_key("o-35"), "its delete failed");
    for i in (30..40).filter(|i| !objects.contains_key(&format!("o-{i}"))) {
        let line = format!("fault_object.o[{i}]: rollback: cannot be restored");
        assert!(run.stdout.contains(&line), "{line}\n{}", run.dump());
    }
    assert_eq!(s.object_ids(), s.state_ids());
    assert_eq!(last_outcome(s), "rollback_incomplete");
    let flagged = json["changes"].as_array().unwrap().iter().filter(|c| c["irreversible_delete"] == true).count();
    assert_eq!(flagged, 10, "the plan said the ten deletes cannot be undone");
}

#[test]
fn a_failed_final_delete_undoes_the_updates_and_records_rollback_incomplete() {
    a_failed_final_delete_is_rolled_back(&Stack::with(&forty(false)));
}

#[test]
fn a_failed_final_delete_undoes_the_updates_and_records_rollback_incomplete_on_postgres() {
    a_failed_final_delete_is_rolled_back(&crate::postgres::pg_stack(&forty(false)).0);
}
