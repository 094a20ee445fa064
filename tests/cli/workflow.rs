//! Everyday workflows end to end: the quickstart example, drift (an object edited or deleted
//! behind tarn's back), `--target` / `--exclude` / `--replace`, transient failures retried,
//! a rollback that itself fails (exit 4, state still exact), Ctrl-C (SIGINT) during apply (what
//! finished is kept, exit 130), the `--json` event stream, and configurations written in JSON
//! syntax.

use crate::harness::{FAULT_PROVIDER, Lines, Stack, wait_for};
use std::time::Duration;

fn id_of(s: &Stack, address: &str) -> String {
    let show = s.show();
    let r = show["resources"].as_array().unwrap().iter().find(|r| r["address"] == address);
    r.unwrap_or_else(|| panic!("{address} not in state: {show}"))["values"]["id"].as_str().unwrap().to_string()
}

#[test]
fn the_quickstart_example_applies_converges_and_destroys() {
    let s = Stack::new();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    copy_dir(&example, s.path());
    s.tarn(&["validate"]).ok();
    s.tarn(&["plan", "--detailed-exitcode"]).code(2);
    s.tarn(&["apply", "--auto-approve"]).ok().stdout_has("Apply complete!");
    assert!(s.read("out/motd.txt").contains("DEV ENVIRONMENT"));
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
    assert!(s.tarn(&["output", "greeting"]).ok().stdout.contains("Hello, world!"));

    // Drift: the file is edited behind tarn's back; plan notices and apply puts it back.
    s.write("out/motd.txt", "edited\n");
    s.tarn(&["plan", "--detailed-exitcode"]).code(2).stdout_has("Objects have changed outside of tarn");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert!(s.read("out/motd.txt").contains("DEV ENVIRONMENT"));

    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(!s.path().join("out/motd.txt").exists());
    assert!(s.addresses().is_empty());
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name == ".tarn" || name == "out" {
            continue;
        }
        let target = to.join(&*name);
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn drift_of_a_fault_object_is_found_and_repaired() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name  = \"a\"\n  value = \"v\"\n}}\n\nresource \"fault_object\" \"b\" {{\n  name = \"b\"\n}}\n"
    ));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let a = id_of(&s, "fault_object.a");
    let b = id_of(&s, "fault_object.b");

    let file = format!("objs/{a}.json");
    s.write(&file, &s.read(&file).replace("\"value\": \"v\"", "\"value\": \"edited\""));
    s.remove(&format!("objs/{b}.json"));
    let plan = s.tarn(&["plan", "--detailed-exitcode"]).code(2);
    for needle in [
        "fault_object.a has changed",
        "fault_object.b has been deleted",
        "fault_object.a will be updated in-place",
        "fault_object.b will be created",
    ] {
        assert!(plan.stdout.contains(needle), "{needle:?}\n{}", plan.dump());
    }
    let json = s.tarn(&["plan", "--json"]).ok().json();
    let drift = json["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 2, "{json}");
    // Refresh off: tarn believes its records.
    s.tarn(&["plan", "--detailed-exitcode", "--refresh", "false"]).ok();

    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.objects()[&a]["attributes"]["value"], "v");
    assert_eq!(s.object_ids().len(), 2);
    assert_eq!(s.object_ids(), s.state_ids());
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn target_exclude_and_replace_select_what_is_planned() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"base\" {{\n  name = \"base\"\n}}\n\nresource \"fault_object\" \"top\" {{\n  name  = \"top\"\n  value = fault_object.base.id\n}}\n\nresource \"fault_object\" \"other\" {{\n  name = \"other\"\n}}\n"
    ));
    // --target brings what the target depends on; --exclude drops what depends on it.
    let t = s.tarn(&["plan", "--target", "fault_object.top"]).ok();
    assert!(
        t.stdout.contains("fault_object.base will be created") && !t.stdout.contains("fault_object.other"),
        "{}",
        t.dump()
    );
    let x = s.tarn(&["plan", "--exclude", "fault_object.base"]).ok();
    assert!(
        x.stdout.contains("fault_object.other will be created") && !x.stdout.contains("fault_object.top"),
        "{}",
        x.dump()
    );

    s.tarn(&["apply", "--auto-approve", "--target", "fault_object.other"]).ok();
    assert_eq!(s.addresses(), vec!["fault_object.other"]);
    assert_eq!(s.object_ids().len(), 1);
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = id_of(&s, "fault_object.other");

    s.tarn(&["plan", "--replace", "fault_object.other"]).ok().stdout_has("must be replaced");
    s.tarn(&["apply", "--auto-approve", "--replace", "fault_object.other"]).ok();
    let after = id_of(&s, "fault_object.other");
    assert_ne!(before, after, "--replace must make a new object");
    assert!(!s.object_ids().contains(&before), "the old object must be gone");
    assert_eq!(s.object_ids(), s.state_ids());
}

#[test]
fn transient_failures_are_retried_and_the_apply_succeeds() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"flaky\" {{\n  name              = \"flaky\"\n  fail_create_times = 2\n}}\n\nresource \"fault_object\" \"after\" {{\n  name  = \"after\"\n  value = fault_object.flaky.id\n}}\n"
    ));
    let run = s.tarn(&["apply", "--auto-approve", "--json"]).ok();
    let events: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("event line is not JSON ({e}): {l}")))
        .collect();
    assert!(events.iter().all(|e| e["format_version"] == "1.5"), "{}", run.stdout);
    let kinds: Vec<&str> = events.iter().map(|e| e["event"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"apply_started"));
    assert_eq!(kinds.iter().filter(|k| **k == "op_retrying").count(), 2, "{kinds:?}");
    let retry = events.iter().find(|e| e["event"]["type"] == "op_retrying").unwrap();
    // Addresses in the user's syntax, as in plan --json.
    assert_eq!(retry["event"]["address"], "fault_object.flaky", "{retry}");
    assert_eq!(retry["event"]["op"], "create");
    assert_eq!(retry["event"]["attempt"], 2);
    let finished = events.iter().find(|e| e["event"]["type"] == "op_finished").unwrap();
    assert!(finished["event"]["elapsed_ms"].is_u64() && finished["event"]["action"] == "create", "{finished}");
    assert_eq!(events.last().unwrap()["event"], serde_json::json!({"type": "apply_finished", "outcome": "success"}));
    assert_eq!(s.object_ids().len(), 2);
    assert_eq!(s.object_ids(), s.state_ids());
}

#[test]
fn a_rollback_that_fails_exits_4_and_the_state_says_what_exists() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"sticky\" {{\n  name        = \"sticky\"\n  fail_delete = true\n}}\n\nresource \"fault_object\" \"plain\" {{\n  name = \"plain\"\n}}\n\nresource \"fault_object\" \"broken\" {{\n  name        = \"broken\"\n  value       = fault_object.sticky.id\n  fail_create = true\n}}\n"
    ));
    let run = s.tarn(&["apply", "--auto-approve"]).code(4);
    assert!(run.stdout.contains("Rolling back"), "{}", run.dump());
    let names: Vec<String> =
        s.objects().values().map(|o| o["attributes"]["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, vec!["sticky"], "only the object whose delete failed is left");
    assert_eq!(s.object_ids(), s.state_ids());
    assert_eq!(s.addresses(), vec!["fault_object.sticky"]);
}

#[test]
fn ctrl_c_during_apply_drains_then_keeps_what_finished() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"first\" {{\n  count      = 4\n  name       = \"first-${{count.index}}\"\n  latency_ms = 1500\n}}\n\nresource \"fault_object\" \"second\" {{\n  count      = 4\n  name       = \"second-${{count.index}}\"\n  value      = fault_object.first[count.index].id\n  latency_ms = 300\n}}\n"
    ));
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    let errors = Lines::follow(child.stderr.take().unwrap());
    // All four first creates in flight (each takes 1.5 s), none of the second yet: on a loaded
    // machine the first "Creating..." line can come well before the fourth.
    wait_for("the four first creates to start", Duration::from_secs(20), || {
        let text = lines.text();
        (0..4).all(|i| text.contains(&format!("fault_object.first[{i}]: Creating..."))).then_some(())
    });
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    let out = lines.finish();
    let err = errors.finish();
    assert_eq!(status.code(), Some(130), "{out}\n{err}");
    assert!(!out.contains("Rolling back"), "an interrupt keeps what finished unless asked\n{out}");
    assert!(!out.contains("second[0]: Creating"), "nothing new may start after Ctrl-C\n{out}");
    assert!(
        err.contains("Interrupted: 4 created, 0 changed, 0 destroyed, 4 not started. Run `tarn apply` to continue."),
        "{err}"
    );
    assert_eq!(s.object_ids().len(), 4);
    assert_eq!(s.object_ids(), s.state_ids());
    // The lock was released on the way out, and the next apply continues.
    s.tarn(&["apply", "--auto-approve"]).ok().stdout_has("Apply complete! Resources: 4 added");
    assert_eq!(s.object_ids().len(), 8);
}

#[test]
fn a_second_ctrl_c_exits_at_once_and_the_next_run_recovers() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"slow\" {{\n  count      = 3\n  name       = \"slow-${{count.index}}\"\n  latency_ms = 2000\n}}\n"
    ));
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    let errors = Lines::follow(child.stderr.take().unwrap());
    wait_for("the creates to start", Duration::from_secs(20), || lines.text().contains("Creating...").then_some(()));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    wait_for("the first interrupt to be seen", Duration::from_secs(5), || {
        errors.text().contains("Interrupt received").then_some(())
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", errors.finish());
    s.tarn(&["plan"]).ok();
    assert_eq!(s.object_ids(), s.state_ids(), "objects left by the interrupted creates must be adopted");
    s.write("main.tarn.hcl", &s.read("main.tarn.hcl").replace("2000", "10"));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(s.object_ids().is_empty());
}

#[test]
fn configurations_in_json_syntax_work_like_hcl() {
    let s = Stack::new();
    s.write(
        "main.tarn.json",
        r#"{
  "provider": { "fault": { "dir": "${path.module}/objs" } },
  "variable": { "suffix": { "default": "x" } },
  "resource": {
    "fault_object": {
      "a": { "name": "a-${var.suffix}" },
      "b": { "name": "b", "value": "${fault_object.a.id}" }
    }
  },
  "output": { "a_name": { "value": "${fault_object.a.name}" } }
}
"#,
    );
    s.tarn(&["validate"]).ok();
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.tarn(&["output", "a_name"]).ok().stdout, "a-x\n");
    let a = id_of(&s, "fault_object.a");
    assert_eq!(s.objects()[&id_of(&s, "fault_object.b")]["attributes"]["value"], a.as_str());
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

/// Regression: `moved {}` blocks were applied in the planner's memory only. A move alone
/// planned "No changes" and was never recorded; a move with an update recorded the object
/// under both addresses. Either way, once the block was removed, the next plan destroyed the
/// object under its old address.
#[test]
fn moved_blocks_are_recorded_in_the_state() {
    let before = format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name = \"a\"\n}}\n\nresource \"fault_object\" \"c\" {{\n  name = \"c\"\n}}\n"
    );
    let after = format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"b\" {{\n  name = \"a\"\n}}\n\nresource \"fault_object\" \"d\" {{\n  name  = \"c\"\n  value = \"new\"\n}}\n"
    );
    let moves = "\nmoved {\n  from = fault_object.a\n  to   = fault_object.b\n}\n\nmoved {\n  from = fault_object.c\n  to   = fault_object.d\n}\n";
    let s = Stack::with(&before);
    s.tarn(&["apply", "--auto-approve"]).ok();
    let ids = s.object_ids();

    s.write("main.tarn.hcl", &format!("{after}{moves}"));
    let plan = s.tarn(&["plan", "--detailed-exitcode"]).code(2);
    assert!(plan.stdout.contains("fault_object.a has moved to fault_object.b"), "{}", plan.dump());
    assert!(
        plan.stdout.contains("fault_object.d will be updated in-place (moved from fault_object.c)"),
        "{}",
        plan.dump()
    );
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.addresses(), vec!["fault_object.b", "fault_object.d"]);
    assert_eq!(s.object_ids(), ids, "a move must not replace objects");
    assert_eq!(s.object_ids(), s.state_ids());
    s.tarn(&["plan", "--detailed-exitcode"]).ok();

    // The blocks can go once applied: nothing is destroyed.
    s.write("main.tarn.hcl", &after);
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn destroys_run_in_reverse_dependency_order() {
    let chain = |names: &[&str]| {
        let mut c = FAULT_PROVIDER.to_string();
        for (i, n) in names.iter().enumerate() {
            let dep = if i == 0 { String::new() } else { format!("  value      = fault_object.{}.id\n", names[i - 1]) };
            c.push_str(&format!(
                "\nresource \"fault_object\" \"{n}\" {{\n  name       = \"{n}\"\n  latency_ms = 30\n{dep}}}\n"
            ));
        }
        c
    };
    let order = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_suffix(": Destroying..."))
            .map(|a| a.trim_start_matches("fault_object.").to_string())
            .collect()
    };
    let s = Stack::with(&chain(&["a", "b", "c"]));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let run = s.tarn(&["destroy", "--auto-approve"]).ok();
    assert_eq!(order(&run.stdout), vec!["c", "b", "a"], "{}", run.dump());

    // Objects removed from the configuration go in the order their recorded dependencies say.
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.write("main.tarn.hcl", &chain(&["a"]));
    let run = s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(order(&run.stdout), vec!["c", "b"], "{}", run.dump());
    assert_eq!(s.object_ids(), s.state_ids());
}
