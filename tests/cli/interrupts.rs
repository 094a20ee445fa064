//! Interrupts do what the user asks (issue 16): SIGINT and SIGTERM alike, at several points of
//! an apply, on SQLite and on PostgreSQL. The first signal starts nothing new, lets running
//! provider calls finish, keeps what finished (recorded, nothing unknown left), says so with
//! counts, records the run as interrupted and exits 130; the next apply continues. Rollback on
//! interrupt only when asked (`--on-interrupt=rollback`, or `on_interrupt` in the `tarn {}`
//! block). A second signal exits at once, and the next run says what it adopted. The same for
//! destroy, drift and import.

use crate::harness::{FAULT_PROVIDER, Lines, Stack, wait_for};
use crate::postgres::pg_stack;
use std::time::Duration;

const OBJECTS: usize = 10;

/// `OBJECTS` fault objects, each create `latency_ms` long.
fn slow(latency_ms: u32) -> String {
    format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"o\" {{\n  count      = {OBJECTS}\n  name       = \"o-${{count.index}}\"\n  latency_ms = {latency_ms}\n}}\n"
    )
}

/// The same objects with a provider-wide latency (every call, reads and deletes included).
fn slow_provider(latency_ms: u32) -> String {
    format!(
        "provider \"fault\" {{\n  dir        = \"${{path.module}}/objs\"\n  latency_ms = {latency_ms}\n}}\n\nresource \"fault_object\" \"o\" {{\n  count = {OBJECTS}\n  name  = \"o-${{count.index}}\"\n}}\n"
    )
}

struct Stopped {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Stopped {
    fn dump(&self) -> String {
        format!("exit {:?}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }

    /// Operations that finished, as the progress lines say.
    fn finished(&self, verb: &str) -> usize {
        self.stdout.matches(&format!("{verb} complete after")).count()
    }
}

fn signal(child: &std::process::Child, sig: i32) {
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// Starts `tarn ARGS`, waits until operations run and `finished` of them completed, sends
/// `sig`, and waits for tarn to exit.
fn interrupt(s: &Stack, args: &[&str], finished: usize, sig: i32) -> Stopped {
    let mut child = s.spawn(args);
    let out = Lines::follow(child.stdout.take().unwrap());
    let err = Lines::follow(child.stderr.take().unwrap());
    wait_for("operations to run", Duration::from_secs(60), || {
        let text = out.text();
        let started = text.contains(": Creating...") || text.contains(": Destroying...");
        (started && text.matches(" complete after ").count() >= finished).then_some(())
    });
    signal(&child, sig);
    let status = child.wait().unwrap();
    Stopped { code: status.code(), stdout: out.finish(), stderr: err.finish() }
}

fn last_outcome(s: &Stack) -> String {
    let doc = s.tarn(&["history", "--json"]).ok().json();
    doc["runs"][0]["outcome"].as_str().unwrap_or_default().to_string()
}

/// An apply interrupted after `finished` creates: what finished is kept and recorded, the
/// message counts it, history says interrupted, and the next apply does the rest.
fn apply_interrupted_keeps_what_finished(s: &Stack, finished: usize, sig: i32) {
    let run = interrupt(s, &["apply", "--auto-approve", "--parallelism", "2"], finished, sig);
    assert_eq!(run.code, Some(130), "{}", run.dump());
    let created = run.finished("Creation");
    assert!(created >= finished && created < OBJECTS, "{}", run.dump());
    let expected = format!(
        "Interrupted: {created} created, 0 changed, 0 destroyed, {} not started. Run `tarn apply` to continue.",
        OBJECTS - created
    );
    assert!(run.stderr.contains(&expected), "expected {expected:?}\n{}", run.dump());
    assert!(run.stderr.contains("Interrupt received"), "{}", run.dump());
    assert!(run.stdout.contains("Apply interrupted; the changes that finished are kept"), "{}", run.dump());
    assert!(!run.stdout.contains("Rolling back"), "no rollback unless asked\n{}", run.dump());
    // Nothing unknown: every object that exists is recorded, and nothing else.
    assert_eq!(s.object_ids().len(), created, "{}", run.dump());
    assert_eq!(s.object_ids(), s.state_ids());
    assert_eq!(last_outcome(s), "interrupted");
    // The next apply continues where this one stopped.
    let next = s.tarn(&["apply", "--auto-approve"]).ok();
    let summary = format!("Apply complete! Resources: {} added, 0 changed, 0 destroyed.", OBJECTS - created);
    assert!(next.stdout.contains(&summary), "expected {summary:?}\n{}", next.dump());
    assert!(!next.stderr.contains("interrupted run"), "a first interrupt leaves nothing to recover\n{}", next.dump());
    assert_eq!(s.object_ids().len(), OBJECTS);
    assert_eq!(s.object_ids(), s.state_ids());
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn sigint_at_several_points_of_an_apply_keeps_what_finished() {
    for finished in [0, 2, 5] {
        let s = Stack::with(&slow(300));
        apply_interrupted_keeps_what_finished(&s, finished, libc::SIGINT);
    }
}

#[test]
fn sigterm_at_several_points_of_an_apply_keeps_what_finished() {
    for finished in [0, 3, 5] {
        let s = Stack::with(&slow(300));
        apply_interrupted_keeps_what_finished(&s, finished, libc::SIGTERM);
    }
}

#[test]
fn sigint_and_sigterm_keep_what_finished_on_postgres() {
    for (finished, sig) in [(0, libc::SIGTERM), (2, libc::SIGINT), (4, libc::SIGTERM)] {
        let (s, _schema) = pg_stack(&slow(300));
        apply_interrupted_keeps_what_finished(&s, finished, sig);
    }
}

#[test]
fn on_interrupt_rollback_undoes_what_finished() {
    let s = Stack::with(&slow(300));
    let run =
        interrupt(&s, &["apply", "--auto-approve", "--parallelism", "2", "--on-interrupt=rollback"], 2, libc::SIGTERM);
    assert_eq!(run.code, Some(3), "{}", run.dump());
    assert!(run.stdout.contains("Rolling back"), "{}", run.dump());
    assert!(run.stderr.contains("then rolling back what finished"), "{}", run.dump());
    assert!(s.object_ids().is_empty(), "left: {:?}", s.object_ids());
    assert!(s.addresses().is_empty());
    assert_eq!(last_outcome(&s), "rolled_back");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.object_ids().len(), OBJECTS);
}

#[test]
fn on_interrupt_rollback_in_the_tarn_block_and_the_flag_overrides_it() {
    let s = Stack::with(&slow(300));
    s.write("settings.tarn.hcl", "tarn {\n  on_interrupt = \"rollback\"\n}\n");
    let run = interrupt(&s, &["apply", "--auto-approve", "--parallelism", "2"], 1, libc::SIGINT);
    assert_eq!(run.code, Some(3), "{}", run.dump());
    assert!(run.stdout.contains("Rolling back"), "{}", run.dump());
    assert!(s.object_ids().is_empty() && s.addresses().is_empty(), "left: {:?}", s.object_ids());

    // --on-interrupt=keep wins over the block.
    let run =
        interrupt(&s, &["apply", "--auto-approve", "--parallelism", "2", "--on-interrupt", "keep"], 1, libc::SIGINT);
    assert_eq!(run.code, Some(130), "{}", run.dump());
    assert!(!run.stdout.contains("Rolling back"), "{}", run.dump());
    assert_eq!(s.object_ids().len(), run.finished("Creation"));
    assert_eq!(s.object_ids(), s.state_ids());

    // A value that is no policy is refused with the choices.
    s.write("settings.tarn.hcl", "tarn {\n  on_interrupt = \"undo\"\n}\n");
    let bad = s.tarn(&["validate"]).code(1);
    assert!(bad.stderr.contains("Invalid on_interrupt") && bad.stderr.contains("\"rollback\""), "{}", bad.dump());
}

/// Starts an apply whose `stuck` create stores its object and never returns; the first signal
/// waits for it, the second (`second`) exits at once.
fn second_signal_exits_at_once_and_the_next_run_adopts(s: &Stack, first: i32, second: i32) {
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let out = Lines::follow(child.stdout.take().unwrap());
    let err = Lines::follow(child.stderr.take().unwrap());
    wait_for("the stuck object to be stored", Duration::from_secs(60), || {
        s.objects().values().any(|o| o["attributes"]["name"] == "stuck").then_some(())
    });
    // Both quick creates are running too (on a loaded machine they may start after the stuck
    // one stored its object), so the first signal lets exactly two calls finish.
    wait_for("the quick creates to start", Duration::from_secs(60), || {
        let text = out.text();
        (text.contains("fault_object.quick[0]: Creating...") && text.contains("fault_object.quick[1]: Creating..."))
            .then_some(())
    });
    signal(&child, first);
    wait_for("the first interrupt to be seen", Duration::from_secs(10), || {
        err.text().contains("Interrupt received").then_some(())
    });
    // The others finish; the stuck create never does, so tarn waits for it...
    wait_for("the running creates to finish", Duration::from_secs(30), || {
        (out.text().matches("Creation complete").count() == 2).then_some(())
    });
    assert!(child.try_wait().unwrap().is_none(), "tarn waits for the running call\n{}", err.text());
    // ... until a second signal, which exits at once.
    signal(&child, second);
    let status = wait_for("tarn to exit", Duration::from_secs(5), || child.try_wait().unwrap());
    let stderr = err.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Second interrupt"), "{stderr}");

    // The next run adopts the object the cut-off create made, and says so.
    let plan = s.tarn(&["plan"]).ok();
    assert!(plan.stderr.contains("fault_object.stuck: found an object an interrupted run created"), "{}", plan.dump());
    assert_eq!(s.object_ids().len(), 3);
    assert_eq!(s.object_ids(), s.state_ids(), "nothing unknown is left");
    assert_eq!(last_outcome(s), "interrupted");
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(s.object_ids().is_empty());
}

const STUCK: &str = r#"
resource "fault_object" "quick" {
  count      = 2
  name       = "quick-${count.index}"
  latency_ms = 500
}

resource "fault_object" "stuck" {
  name        = "stuck"
  hang_create = true
}
"#;

#[test]
fn a_second_signal_exits_at_once_and_the_next_run_adopts() {
    let s = Stack::with(&format!("{FAULT_PROVIDER}{STUCK}"));
    second_signal_exits_at_once_and_the_next_run_adopts(&s, libc::SIGINT, libc::SIGTERM);
}

#[test]
fn a_second_signal_exits_at_once_and_the_next_run_adopts_on_postgres() {
    let (s, _schema) = pg_stack(&format!("{FAULT_PROVIDER}{STUCK}"));
    second_signal_exits_at_once_and_the_next_run_adopts(&s, libc::SIGTERM, libc::SIGINT);
}

#[test]
fn an_interrupted_destroy_keeps_what_was_destroyed() {
    let s = Stack::with(&slow_provider(0));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.write("main.tarn.hcl", &slow_provider(300));
    let run = interrupt(&s, &["destroy", "--auto-approve", "--parallelism", "2"], 2, libc::SIGTERM);
    assert_eq!(run.code, Some(130), "{}", run.dump());
    let destroyed = run.finished("Destruction");
    let expected = format!(
        "Interrupted: 0 created, 0 changed, {destroyed} destroyed, {} not started. Run `tarn destroy` to continue.",
        OBJECTS - destroyed
    );
    assert!(run.stderr.contains(&expected), "expected {expected:?}\n{}", run.dump());
    assert!(!run.stdout.contains("Rolling back"), "{}", run.dump());
    assert_eq!(s.object_ids().len(), OBJECTS - destroyed);
    assert_eq!(s.object_ids(), s.state_ids());
    assert_eq!(last_outcome(&s), "interrupted");
    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(s.object_ids().is_empty() && s.addresses().is_empty());
}

#[test]
fn an_interrupted_drift_check_stops_and_changes_nothing() {
    let s = Stack::with(&slow_provider(0));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.state_fingerprint();
    s.write("main.tarn.hcl", &slow_provider(5000));
    let mut child = s.spawn(&["drift"]);
    let err = Lines::follow(child.stderr.take().unwrap());
    // The check reads for 5 s; SIGTERM in the middle stops it at once.
    std::thread::sleep(Duration::from_millis(1500));
    signal(&child, libc::SIGTERM);
    let status = wait_for("drift to exit", Duration::from_secs(3), || child.try_wait().unwrap());
    let stderr = err.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Interrupted: the drift check stopped"), "{stderr}");
    s.write("main.tarn.hcl", &slow_provider(0));
    assert_eq!(s.state_fingerprint(), before);
    s.tarn(&["drift"]).ok();
}

#[test]
fn an_interrupted_import_imports_nothing() {
    let s = Stack::with(&slow_provider(0));
    s.tarn(&["apply", "--auto-approve", "--target", "fault_object.o[0]"]).ok();
    let id = s.state_ids().into_iter().next().unwrap();
    s.tarn(&["state", "rm", "fault_object.o[0]"]).ok();
    s.write("main.tarn.hcl", &slow_provider(2000));
    let mut child = s.spawn(&["import", "fault_object.o[0]", &id]);
    let err = Lines::follow(child.stderr.take().unwrap());
    std::thread::sleep(Duration::from_millis(1000));
    signal(&child, libc::SIGINT);
    let status = wait_for("import to exit", Duration::from_secs(15), || child.try_wait().unwrap());
    let stderr = err.finish();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Interrupted: fault_object.o[0] was not imported; nothing was changed."), "{stderr}");
    s.write("main.tarn.hcl", &slow_provider(0));
    assert!(s.addresses().is_empty());
    s.tarn(&["import", "fault_object.o[0]", &id]).ok();
    assert_eq!(s.addresses(), vec!["fault_object.o[0]"]);
}
