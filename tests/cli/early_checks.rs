//! Arguments that can be checked without the state are checked before the lock is taken or any
//! provider is called: a mistyped `--target`, `--exclude` or `--replace`, a `--var` of the wrong
//! type, a missing `--var-file` or saved plan are reported at once, even while another tarn
//! holds the lock for a long apply (which a check made after the lock would have reported
//! instead), and without creating a state where none existed.

use crate::harness::{FAULT_PROVIDER, Lines, Stack, wait_for};
use std::time::Duration;

fn config(latency_ms: u64) -> String {
    format!(
        "{FAULT_PROVIDER}\nvariable \"count\" {{\n  type    = number\n  default = 1\n}}\n\
         resource \"fault_object\" \"slow\" {{\n  name       = \"slow-${{var.count}}\"\n  latency_ms = {latency_ms}\n}}\n"
    )
}

/// Each of these is wrong in a way the configuration alone shows.
const BAD: &[(&[&str], &str)] = &[
    (&["plan", "--target", "not an address!"], "--target"),
    (&["apply", "--auto-approve", "--target", "fault_object."], "--target"),
    (&["apply", "--auto-approve", "--exclude", "[0]"], "--exclude"),
    (&["destroy", "--auto-approve", "--target", "fault_object.slow[\"x"], "--target"),
    (&["apply", "--auto-approve", "--replace", "module."], "--replace"),
    (&["plan", "--var", "count=many"], "count"),
    (&["apply", "--auto-approve", "--var-file", "missing.tfvars"], "cannot read variables file missing.tfvars"),
    (&["apply", "missing.tarnplan"], "cannot read the plan missing.tarnplan"),
    (&["import", "fault_object.nope", "f1"], "is not in the configuration"),
];

#[test]
fn bad_arguments_are_reported_before_the_lock_even_while_another_tarn_holds_it() {
    let s = Stack::with(&config(15_000));
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    wait_for("the slow create to start", Duration::from_secs(20), || {
        lines.text().contains("fault_object.slow: Creating...").then_some(())
    });
    // The lock is held now; a check made after taking it would say "locked" instead.
    for (args, says) in BAD {
        let run = s.tarn(args).code(1).no_panic();
        assert!(run.stderr.contains(says), "{args:?} should say {says:?}\n{}", run.dump());
        assert!(!run.stderr.contains("locked"), "{args:?} reached the lock\n{}", run.dump());
    }
    assert!(child.try_wait().unwrap().is_none(), "the apply (and its lock) should outlast the checks");
    assert!(child.wait().unwrap().success());
    assert!(lines.finish().contains("Apply complete!"));
    assert_eq!(s.object_ids().len(), 1);
}

#[test]
fn a_bad_target_creates_no_state_and_calls_no_provider() {
    let s = Stack::with(&config(0));
    for (args, says) in BAD {
        s.tarn(args).code(1).no_panic().stderr_has(says);
    }
    assert!(!s.path().join(".tarn").exists(), "a refused command created the state directory");
    assert!(s.all_files_in_objs().is_empty(), "a provider was called");
    // The same arguments, spelled right, work.
    s.tarn(&["apply", "--auto-approve", "--target", "fault_object.slow", "--var", "count=2"]).ok();
    assert_eq!(s.object_ids().len(), 1);
}

#[test]
fn parallelism_is_taken_by_plan_and_drift_and_a_bad_value_is_refused_before_the_lock() {
    let s = Stack::with(&config(0));
    s.tarn(&["apply", "--auto-approve", "--parallelism", "1"]).ok();
    s.tarn(&["plan", "--parallelism", "3"]).ok().stdout_has("No changes");
    s.tarn(&["plan", "--refresh-only", "--parallelism", "0"]).ok();
    s.tarn(&["drift", "--parallelism", "3"]).ok();
    s.tarn(&["drift", "--json", "--parallelism", "0"]).ok();

    let slow = Stack::with(&config(15_000));
    let mut child = slow.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    wait_for("the slow create to start", Duration::from_secs(20), || {
        lines.text().contains("fault_object.slow: Creating...").then_some(())
    });
    for command in [&["plan"][..], &["drift"], &["apply", "--auto-approve"]] {
        for bad in [&["--parallelism", "many"][..], &["--parallelism=-1"]] {
            let args = [command, bad].concat();
            let run = slow.tarn(&args).code(1).no_panic();
            assert!(run.stderr.contains("--parallelism"), "{args:?} should name the flag\n{}", run.dump());
            assert!(!run.stderr.contains("locked"), "{args:?} reached the lock\n{}", run.dump());
        }
    }
    assert!(child.try_wait().unwrap().is_none(), "the apply (and its lock) should outlast the checks");
    assert!(child.wait().unwrap().success());
    lines.finish();
}
