//! The state lock seen from outside: while one apply holds it, a second tarn exits 1 at once,
//! naming the holder (its pid and command) and changing nothing; with `--lock-timeout` it waits
//! and then succeeds; and a lock left by a `kill -9`'d tarn does not block the next run.

use crate::harness::{FAULT_PROVIDER, Lines, Running, Stack, wait_for};
use std::time::{Duration, Instant};

fn slow_config(ms: u64) -> String {
    format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"slow\" {{\n  name       = \"slow\"\n  latency_ms = {ms}\n}}\n"
    )
}

/// Starts `apply` of one slow object and returns once its create is in flight (the lock is
/// then held).
fn start_slow_apply(s: &Stack) -> (Running, Lines) {
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    wait_for("the slow create to start", Duration::from_secs(20), || {
        lines.text().contains("fault_object.slow: Creating...").then_some(())
    });
    (child, lines)
}

#[test]
fn a_held_lock_refuses_a_second_tarn_and_names_the_holder() {
    let s = Stack::with(&slow_config(3000));
    let (mut child, lines) = start_slow_apply(&s);
    let pid = child.id();

    let run = s.tarn(&["plan"]).code(1);
    assert!(run.stderr.contains("the state is locked by"), "{}", run.dump());
    assert!(run.stderr.contains(&format!("pid {pid}")), "holder's pid {pid} not named\n{}", run.dump());
    assert!(run.stderr.contains("tarn apply"), "holder's command not named\n{}", run.dump());
    assert!(run.stderr.contains("--lock-timeout"), "{}", run.dump());
    s.tarn(&["destroy", "--auto-approve"]).code(1).stderr_has("locked");
    s.tarn(&["apply", "--auto-approve"]).code(1).stderr_has("locked");

    // Reading the state needs no lock.
    s.tarn(&["state", "list"]).ok();

    // Waiting for the lock works, and the waiter sees what the holder did.
    let start = Instant::now();
    let waited = s.tarn(&["plan", "--detailed-exitcode", "--lock-timeout", "10s"]);
    assert_eq!(waited.code, 0, "{}", waited.dump());
    assert!(start.elapsed() > Duration::from_millis(500), "plan did not wait for the lock");
    assert!(child.wait().unwrap().success());
    assert!(lines.finish().contains("Apply complete!"));
    assert_eq!(s.object_ids(), s.state_ids());
    assert_eq!(s.object_ids().len(), 1);
}

#[test]
fn a_lock_timeout_too_short_still_fails_with_exit_1() {
    let s = Stack::with(&slow_config(2500));
    let (mut child, _lines) = start_slow_apply(&s);
    let start = Instant::now();
    s.tarn(&["plan", "--lock-timeout", "300ms"]).code(1).stderr_has("locked");
    assert!(start.elapsed() >= Duration::from_millis(300), "did not wait at all");
    s.tarn(&["plan", "--lock-timeout", "soon"]).code(1).stderr_has("invalid duration");
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_lock_of_a_killed_tarn_does_not_block_the_next_run() {
    let s = Stack::with(&slow_config(5000));
    let (mut child, _lines) = start_slow_apply(&s);
    child.kill().unwrap();
    child.wait().unwrap();
    // The holder's process is gone on this host: the lease is recognised as dead at once.
    s.tarn(&["plan"]).ok();
    s.write("main.tarn.hcl", &slow_config(10));
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.object_ids(), s.state_ids());
    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(s.object_ids().is_empty());
}

/// Regression: the refusal told users to run `tarn state unlock ID`, which did not exist. And a
/// holder whose lock was released under it, and taken by another tarn, records nothing more.
#[test]
fn state_unlock_releases_exactly_the_named_lock() {
    let s = Stack::with(&slow_config(2000));
    s.tarn(&["state", "unlock", "no-such-lock"]).code(1).stderr_has("not locked");
    let (mut child, _lines) = start_slow_apply(&s);
    let refused = s.tarn(&["plan"]).code(1);
    let id = refused
        .stderr
        .split("tarn state unlock ")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .expect("the refusal names the unlock command")
        .to_string();
    s.tarn(&["state", "unlock", "0000-wrong-id"]).code(1).stderr_has(&id);
    s.tarn(&["plan"]).code(1).stderr_has("locked");
    s.tarn(&["state", "unlock", &id]).ok().stdout_has("Released the state lock");
    // Released: a second tarn gets in even though the first is still running ...
    s.tarn(&["state", "list"]).ok();
    s.tarn(&["plan", "--refresh", "false"]).ok();
    // ... and took the lock meanwhile, so the first may not record what it did: it stops with
    // exit 4, naming the create it made after its lease was last confirmed.
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(4), "{stderr}");
    assert!(stderr.contains("this run lost the state lock"), "{stderr}");
    assert!(stderr.contains("create fault_object.slow (correlation tag"), "{stderr}");
    assert!(s.state_ids().is_empty(), "nothing was recorded after the lock was taken");
    assert_eq!(s.object_ids().len(), 1, "the one object the message lists exists");
}
