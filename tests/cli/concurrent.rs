//! Two `tarn apply` processes of one stack started together, on SQLite and on PostgreSQL:
//! exactly one runs; the other fails cleanly with exit 1 naming the holder, or, with
//! `--lock-timeout`, waits and then finds nothing left to do. Afterwards the state names
//! exactly the objects that exist.

use crate::harness::{FAULT_PROVIDER, Lines, Stack};
use crate::postgres::pg_stack;

fn slow_config() -> String {
    format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"slow\" {{\n  name       = \"slow\"\n  latency_ms = 1500\n}}\n"
    )
}

/// Starts two applies at once with `extra` arguments; returns (exit code, stdout, stderr, pid)
/// of each.
fn race(s: &Stack, extra: &[&str]) -> Vec<(i32, String, String, u32)> {
    let args: Vec<&str> = [&["apply", "--auto-approve"][..], extra].concat();
    let mut children: Vec<_> = (0..2).map(|_| s.spawn(&args)).collect();
    let mut out = Vec::new();
    for child in &mut children {
        let pid = child.id();
        let stdout = Lines::follow(child.stdout.take().expect("stdout"));
        let stderr = Lines::follow(child.stderr.take().expect("stderr"));
        let code = child.wait().expect("wait").code().expect("exited normally");
        out.push((code, stdout.finish(), stderr.finish(), pid));
    }
    out
}

fn exactly_one_runs_the_other_fails_naming_it(s: &Stack) {
    let results = race(s, &[]);
    let winners: Vec<_> = results.iter().filter(|r| r.0 == 0).collect();
    let losers: Vec<_> = results.iter().filter(|r| r.0 != 0).collect();
    assert_eq!((winners.len(), losers.len()), (1, 1), "exactly one apply runs: {results:#?}");
    let (winner, loser) = (winners[0], losers[0]);
    assert!(winner.1.contains("Apply complete"), "{winner:#?}");
    assert_eq!(loser.0, 1, "{loser:#?}");
    assert!(
        loser.2.contains("the state is locked by") && loser.2.contains(&format!("pid {}", winner.3)),
        "names the holder: {loser:#?}"
    );
    assert!(loser.2.contains("tarn apply"), "{loser:#?}");
    assert!(!loser.1.contains("Creating"), "the loser changed nothing: {loser:#?}");
    assert_eq!(s.object_ids().len(), 1);
    assert_eq!(s.object_ids(), s.state_ids());

    // With a lock timeout, the second waits for the first and then has nothing to do.
    s.tarn(&["destroy", "--auto-approve"]).ok();
    let results = race(s, &["--lock-timeout", "60s"]);
    assert!(results.iter().all(|r| r.0 == 0), "both succeed: {results:#?}");
    let created = results
        .iter()
        .filter(|r| r.1.contains("Creation complete") || r.1.contains("fault_object.slow: Creat"))
        .count();
    assert_eq!(created, 1, "exactly one created the object: {results:#?}");
    assert_eq!(s.object_ids().len(), 1);
    assert_eq!(s.object_ids(), s.state_ids());
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn two_applies_at_once_on_sqlite() {
    let s = Stack::with(&slow_config());
    exactly_one_runs_the_other_fails_naming_it(&s);
}

#[test]
fn two_applies_at_once_on_postgres() {
    let (s, _schema) = pg_stack(&slow_config());
    exactly_one_runs_the_other_fails_naming_it(&s);
}
