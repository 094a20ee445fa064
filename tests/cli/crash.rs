//! Crash safety, the key promise: `kill -9` of tarn at any point of an apply (and of a destroy,
//! a rollback, or the run recovering from an earlier kill) leaves no object tarn does not know
//! about. After each kill the next `tarn plan` or `tarn apply` must find every object that
//! really exists (`objs/*.json`) in the state and claim none that does not, the apply after it
//! must converge (a further plan has no changes), and `tarn destroy` must leave `objs/` empty.
//!
//! Kill points are times after spawning tarn (start-up, lock, recovery, planning) or after it
//! printed "Applying" (the creates: one apply of the 30 objects takes about 200 ms), so they
//! land before, during and after the provider calls. Each point reports how many objects
//! existed when it struck (visible with `--nocapture`).

use crate::harness::{FAULT_PROVIDER, Lines, Stack, wait_for};
use std::time::Duration;

const OBJECTS: usize = 30;

/// Thirty objects: every third one independent, the others chained onto an earlier one (chains
/// ten deep), each with its own latency between 20 and 50 ms. `extra` is appended to the
/// body of object 13 (the middle of a chain).
fn thirty(extra: &str) -> String {
    let mut c = FAULT_PROVIDER.to_string();
    for i in 0..OBJECTS {
        let latency = 20 + (i * 7) % 31;
        let dep = if i % 3 == 0 { String::new() } else { format!("  value      = fault_object.o{}.id\n", i - 1) };
        let more = if i == 13 { extra } else { "" };
        c.push_str(&format!(
            "\nresource \"fault_object\" \"o{i}\" {{\n  name       = \"o{i}\"\n  latency_ms = {latency}\n{dep}{more}}}\n"
        ));
    }
    c
}

/// `thirty` after a change: objects 0–9 get a new `name` (update in place), 10–19 a new
/// `replace_key` (replaced, delete then create), 20–29 stay as they are (some are updated
/// anyway, because they refer to a replaced object's id).
fn thirty_changed() -> String {
    let mut c = thirty("");
    for i in 0..20 {
        let from = format!("  name       = \"o{i}\"\n");
        let to = match i {
            0..=9 => format!("  name       = \"o{i}-renamed\"\n"),
            _ => format!("{from}  replace_key = \"2\"\n"),
        };
        c = c.replace(&from, &to);
    }
    c
}

/// `thirty` with objects 10–19 replaced create-before-destroy (`replace_key` "1", or "2" once
/// `changed`): each of their applies creates the new object, deposes the old one in the state,
/// then deletes it — the window where a kill could leave an orphan.
fn thirty_cbd(changed: bool) -> String {
    let mut c = thirty("");
    for i in 10..20 {
        let from = format!("  name       = \"o{i}\"\n");
        let key = if changed { "2" } else { "1" };
        let to = format!("{from}  replace_key = \"{key}\"\n  lifecycle {{\n    create_before_destroy = true\n  }}\n");
        c = c.replace(&from, &to);
    }
    c
}

/// What the kill left, checked after the next command: the state knows exactly the objects
/// that exist.
#[track_caller]
fn assert_state_matches_objects(s: &Stack, when: &str) {
    let real = s.object_ids();
    let known = s.state_ids();
    let unknown: Vec<_> = real.difference(&known).collect();
    let phantom: Vec<_> = known.difference(&real).collect();
    assert!(unknown.is_empty(), "{when}: objects tarn does not know about: {unknown:?}");
    assert!(phantom.is_empty(), "{when}: state records objects that do not exist: {phantom:?}");
}

/// Runs `args` and kills it with SIGKILL `after` its start (or lets it finish first).
fn kill_after(s: &Stack, args: &[&str], after: Duration) -> bool {
    let mut child = s.spawn(args);
    std::thread::sleep(after);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill(); // SIGKILL on Unix.
    child.wait().unwrap();
    !finished
}

/// After a kill: recover through `plan` (or straight through `apply`), converge, destroy.
#[track_caller]
fn recover_and_converge(s: &Stack, via_plan: bool, label: &str) {
    if via_plan {
        s.tarn(&["plan"]).ok();
        assert_state_matches_objects(s, &format!("{label}, after plan"));
    }
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_state_matches_objects(s, &format!("{label}, after apply"));
    assert_eq!(s.object_ids().len(), OBJECTS, "{label}: not every object exists after the second apply");
    let again = s.tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(again.code, 0, "{label}: the second apply did not converge\n{}", again.dump());
    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(s.object_ids().is_empty(), "{label}: objects left after destroy: {:?}", s.object_ids());
    assert!(s.addresses().is_empty(), "{label}: state not empty after destroy: {:?}", s.addresses());
}

/// When a kill point's clock starts.
#[derive(Clone, Copy, Debug)]
enum From {
    /// Spawning tarn: early points land in start-up, locking, recovery and planning.
    Spawn,
    /// tarn printing "Applying N operation(s).": points land among the provider calls.
    Applying,
}

fn kill_apply_at(from: From, points_ms: &[u64]) {
    for (n, &ms) in points_ms.iter().enumerate() {
        let s = Stack::with(&thirty(""));
        let mut child = s.spawn(&["apply", "--auto-approve"]);
        let lines = Lines::follow(child.stdout.take().unwrap());
        if let From::Applying = from {
            wait_for("apply to start", Duration::from_secs(20), || lines.text().contains("Applying ").then_some(()));
        }
        std::thread::sleep(Duration::from_millis(ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL on Unix.
        child.wait().unwrap();
        let label = format!("apply killed {ms} ms after {from:?}");
        eprintln!(
            "{label}: {} object(s) existed, {} recorded, tarn {}",
            s.object_ids().len(),
            s.addresses().len(),
            if finished { "had finished" } else { "killed" }
        );
        recover_and_converge(&s, n % 2 == 0, &label);
        let leftovers: Vec<_> = s.all_files_in_objs();
        assert!(leftovers.iter().all(|f| f.ends_with(".tmp")), "{label}: files left: {leftovers:?}");
    }
}

#[test]
fn kill_9_during_start_up_and_planning() {
    kill_apply_at(From::Spawn, &[0, 10, 25, 50]);
}

#[test]
fn kill_9_during_the_first_creates() {
    kill_apply_at(From::Applying, &[0, 5, 15, 30, 45, 60]);
}

#[test]
fn kill_9_during_the_later_creates() {
    kill_apply_at(From::Applying, &[80, 100, 115, 130, 150, 175, 250]);
}

#[test]
fn kill_9_while_a_create_hangs() {
    let s = Stack::with(&thirty("  hang_create = true\n"));
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    // The hanging create has stored its object (only its correlation tag can find it now),
    // and everything independent of it has finished.
    wait_for("the hung object to exist", Duration::from_secs(20), || {
        s.objects().values().any(|o| o["attributes"]["hang_create"] == true).then_some(())
    });
    wait_for("the independent creates to finish", Duration::from_secs(20), || {
        (s.object_ids().len() >= 20).then_some(())
    });
    assert!(child.try_wait().unwrap().is_none(), "apply returned although a create hangs\n{}", lines.text());
    child.kill().unwrap();
    child.wait().unwrap();
    let hung: Vec<String> =
        s.objects().into_iter().filter(|(_, o)| o["attributes"]["hang_create"] == true).map(|(id, _)| id).collect();
    assert_eq!(hung.len(), 1);

    // The next run adopts the hung object; switching the knob off updates it in place.
    s.write("main.tarn.hcl", &thirty(""));
    let plan = s.tarn(&["plan"]).ok();
    assert_state_matches_objects(&s, "after the hung create");
    assert!(s.state_ids().contains(&hung[0]), "the hung object was not adopted");
    assert!(plan.stdout.contains("fault_object.o13 will be updated in-place"), "{}", plan.dump());
    recover_and_converge(&s, false, "hang");
    assert!(!s.object_ids().contains(&hung[0]));
}

#[test]
fn kill_9_during_destroy_rollback_and_recovery() {
    // A destroy killed half-way.
    let s = Stack::with(&thirty(""));
    s.tarn(&["apply", "--auto-approve"]).ok();
    kill_after(&s, &["destroy", "--auto-approve"], Duration::from_millis(120));
    eprintln!("destroy killed at 120 ms: {} object(s) left", s.object_ids().len());
    s.tarn(&["plan"]).ok();
    assert_state_matches_objects(&s, "destroy killed");
    recover_and_converge(&s, false, "destroy killed");

    // A rollback killed half-way: object 13 fails, so everything created is being deleted.
    let s = Stack::with(&thirty("  fail_create = true\n"));
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    wait_for("the rollback to start", Duration::from_secs(20), || lines.text().contains("Rolling back").then_some(()));
    std::thread::sleep(Duration::from_millis(30));
    let _ = child.kill();
    child.wait().unwrap();
    eprintln!("rollback killed: {} object(s) left", s.object_ids().len());
    s.tarn(&["plan"]).ok();
    assert_state_matches_objects(&s, "rollback killed");
    s.write("main.tarn.hcl", &thirty(""));
    recover_and_converge(&s, true, "rollback killed");

    // A run killed, then the run recovering from it killed too.
    let s = Stack::with(&thirty(""));
    kill_after(&s, &["apply", "--auto-approve"], Duration::from_millis(150));
    kill_after(&s, &["apply", "--auto-approve"], Duration::from_millis(120));
    eprintln!("apply and its recovery killed: {} object(s)", s.object_ids().len());
    recover_and_converge(&s, true, "double kill");
}

/// Regression: the note "found an object an interrupted run created" went to stdout, so the
/// first `plan --json` (or `apply --json`) after a crash printed something that is not JSON.
#[test]
fn recovery_notes_do_not_corrupt_json_output() {
    let hung = format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name        = \"a\"\n  hang_create = true\n}}\n"
    );
    for args in [&["plan", "--json"][..], &["apply", "--auto-approve", "--json"]] {
        let s = Stack::with(&hung);
        let mut child = s.spawn(&["apply", "--auto-approve"]);
        wait_for("the hung object to exist", Duration::from_secs(20), || (!s.object_ids().is_empty()).then_some(()));
        child.kill().unwrap();
        child.wait().unwrap();
        s.write("main.tarn.hcl", &hung.replace("hang_create = true", "hang_create = false"));
        let run = s.tarn(args).ok();
        assert!(run.stderr.contains("found an object an interrupted run created"), "{}", run.dump());
        for line in run.stdout.lines().filter(|l| !l.is_empty()) {
            assert!(
                serde_json::from_str::<serde_json::Value>(line).is_ok(),
                "tarn {args:?}: not JSON: {line}\n{}",
                run.dump()
            );
        }
        assert_eq!(s.object_ids(), s.state_ids());
    }
}

/// `--provider-timeout`: a create that never answers fails at the limit as that operation,
/// naming the address, the call and the limit; its outcome is unknown, so the rollback is
/// incomplete (exit 4) and the next run's recovery records the object it made.
#[test]
fn a_create_that_never_answers_fails_at_the_provider_timeout() {
    let hung = format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name        = \"a\"\n  hang_create = true\n}}\n"
    );
    let s = Stack::with(&hung);
    let run = s.tarn(&["apply", "--auto-approve", "--provider-timeout", "1s"]).code(4);
    assert!(
        run.stderr.contains("fault_object.a: the provider did not answer `create` within 1s")
            || run.stdout.contains("fault_object.a: the provider did not answer `create` within 1s"),
        "{}",
        run.dump()
    );
    assert_eq!(s.object_ids().len(), 1, "the hung create made its object");
    s.write("main.tarn.hcl", &hung.replace("hang_create = true", "hang_create = false"));
    let next = s.tarn(&["apply", "--auto-approve"]).ok();
    assert!(next.stderr.contains("found an object an interrupted run created"), "{}", next.dump());
    assert_eq!(s.object_ids(), s.state_ids());
}

#[test]
fn kill_9_during_updates_and_delete_then_create_replacements() {
    for ms in [0, 20, 50, 90, 140] {
        let s = Stack::with(&thirty(""));
        s.tarn(&["apply", "--auto-approve"]).ok();
        s.write("main.tarn.hcl", &thirty_changed());
        let plan = s.tarn(&["plan"]).ok();
        assert!(plan.stdout.contains("Plan: 10 to add, ") && plan.stdout.contains("10 to destroy."), "{}", plan.dump());
        let mut child = s.spawn(&["apply", "--auto-approve"]);
        let lines = Lines::follow(child.stdout.take().unwrap());
        wait_for("apply to start", Duration::from_secs(20), || lines.text().contains("Applying ").then_some(()));
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        child.wait().unwrap();
        let label = format!("update/replace apply killed {ms} ms after Applying");
        eprintln!("{label}: {} object(s) existed", s.object_ids().len());
        recover_and_converge(&s, ms % 20 == 0, &label);
    }
}

/// The create_before_destroy window: `kill -9` while new objects are created, old ones deposed
/// and deleted. The next plan (or apply) must know every object — deposed ones included — and
/// the apply after it must delete every deposed object: no orphan survives.
#[test]
fn kill_9_during_create_before_destroy_replacements() {
    for ms in [0, 10, 30, 60, 100, 150, 220] {
        let s = Stack::with(&thirty_cbd(false));
        s.tarn(&["apply", "--auto-approve"]).ok();
        s.write("main.tarn.hcl", &thirty_cbd(true));
        let plan = s.tarn(&["plan"]).ok();
        assert!(plan.stdout.contains("Plan: 10 to add, ") && plan.stdout.contains("10 to destroy."), "{}", plan.dump());
        assert!(plan.stdout.contains("must be replaced (create before destroy)"), "{}", plan.dump());
        let mut child = s.spawn(&["apply", "--auto-approve"]);
        let lines = Lines::follow(child.stdout.take().unwrap());
        wait_for("apply to start", Duration::from_secs(20), || lines.text().contains("Applying ").then_some(()));
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        child.wait().unwrap();
        let label = format!("create_before_destroy apply killed {ms} ms after Applying");
        let deposed = s.addresses().iter().filter(|a| a.contains("(deposed object ")).count();
        eprintln!("{label}: {} object(s) existed, {deposed} deposed row(s)", s.object_ids().len());
        recover_and_converge(&s, ms % 20 == 0, &label);
    }
}
