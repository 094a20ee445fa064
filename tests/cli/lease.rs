//! A holder that lost its lease stops: an apply is suspended (SIGSTOP) past its lock lease
//! (shortened with `TARN_LOCK_LEASE`), a second apply takes the lock and finishes, and the first
//! is resumed (SIGCONT). The first must exit 4 saying it lost the lock and listing the provider
//! calls it made after its lease was last confirmed; the second run's rows stay exactly as they
//! were; and the objects that really exist are the state's plus only those the message lists.
//! On SQLite and on PostgreSQL.

use crate::harness::{FAULT_PROVIDER, Lines, Stack, wait_for};
use crate::postgres::pg_stack;
use std::collections::BTreeSet;
use std::time::Duration;

const LEASE: &[(&str, &str)] = &[("TARN_LOCK_LEASE", "2s")];

/// Twelve independent objects, 400 ms each: with `--parallelism 2` an apply takes about 2.4 s.
fn twelve() -> String {
    let mut c = FAULT_PROVIDER.to_string();
    for i in 0..12 {
        c.push_str(&format!(
            "\nresource \"fault_object\" \"o{i}\" {{\n  name       = \"o{i}\"\n  latency_ms = 400\n}}\n"
        ));
    }
    c
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid we started and still own (not yet reaped).
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

/// The correlation tags the lease-lost message lists (`(correlation tag X)`).
fn listed_tags(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("- "))
        .filter_map(|l| l.split("(correlation tag ").nth(1))
        .map(|rest| rest.trim_end_matches(')').to_string())
        .collect()
}

/// Suspends `pid` at a moment it holds no SQLite write transaction. A process frozen inside
/// one keeps SQLite's write lock (a file lock of its own), so no other run could even take the
/// state lock: SQLite's semantics, not what this test is about. A row commit follows every
/// "Creation complete" and the lease renews every few hundred milliseconds, so a stop at a random
/// moment landed inside one now and then. On PostgreSQL (no state.db) any moment will do.
fn suspended_at_rest(s: &Stack, pid: u32) -> bool {
    signal(pid, libc::SIGSTOP);
    let db = s.state_db();
    if !db.exists() {
        return true;
    }
    let conn = rusqlite::Connection::open(&db).expect("open the state database");
    conn.busy_timeout(Duration::ZERO).expect("busy timeout");
    match conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
        Ok(()) => true,
        Err(_) => {
            signal(pid, libc::SIGCONT);
            false
        }
    }
}

fn stop_outside_a_write(s: &Stack, pid: u32) {
    for _ in 0..200 {
        if suspended_at_rest(s, pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the first apply was inside a state write at each of 200 tries");
}

fn suspended_past_its_lease(s: &Stack) {
    let mut first = s.spawn_with(&["apply", "--auto-approve", "--parallelism", "2"], LEASE);
    let lines = Lines::follow(first.stdout.take().unwrap());
    wait_for("three creates of the first apply", Duration::from_secs(30), || {
        (lines.text().matches("Creation complete").count() >= 3).then_some(())
    });
    let pid = first.id();
    stop_outside_a_write(s, pid);
    // Two creates are in flight, frozen; the lease runs out 2 s after its last renewal.
    std::thread::sleep(Duration::from_millis(3000));

    s.tarn_with(&["apply", "--auto-approve"], LEASE).ok().stdout_has("Apply complete");
    let second_state = s.show();
    let recorded = s.state_ids();
    assert_eq!(recorded.len(), 12, "the second apply made the whole configuration");

    signal(pid, libc::SIGCONT);
    let mut stderr = String::new();
    std::io::Read::read_to_string(first.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let status = first.wait().unwrap();
    let stdout = lines.finish();
    let dump = format!("--- stdout\n{stdout}--- stderr\n{stderr}---");
    assert_eq!(status.code(), Some(4), "the resumed apply fails with exit 4\n{dump}");
    assert!(stderr.contains("this run lost the state lock"), "{dump}");
    assert!(stderr.contains("(lock generation 1)"), "the message says which lease was lost\n{dump}");
    assert!(!stderr.contains("panicked"), "{dump}");

    assert_eq!(s.show(), second_state, "the second run's rows are intact");
    let listed = listed_tags(&stderr);
    let objects = s.objects();
    let real: BTreeSet<String> = objects.keys().cloned().collect();
    assert!(real.is_superset(&recorded), "every recorded object exists");
    let orphans: Vec<(&String, &serde_json::Value)> =
        objects.iter().filter(|(id, _)| !recorded.contains(*id)).collect();
    for (id, object) in &orphans {
        let tag = object["correlation"].as_str().unwrap_or_default();
        assert!(listed.contains(tag), "object {id} ({tag}) is neither in the state nor in the message\n{dump}");
    }
    assert!(
        listed.len() <= 6,
        "the first apply stopped at once: only calls around the last renewal are listed\n{dump}"
    );
    // The next run sees a consistent state: nothing to do.
    s.tarn_with(&["plan", "--detailed-exitcode"], LEASE).ok();
}

#[test]
fn a_resumed_holder_that_lost_its_lease_stops_and_lists_what_it_did_on_sqlite() {
    suspended_past_its_lease(&Stack::with(&twelve()));
}

#[test]
fn a_resumed_holder_that_lost_its_lease_stops_and_lists_what_it_did_on_postgres() {
    let (s, _schema) = pg_stack(&twelve());
    suspended_past_its_lease(&s);
}
