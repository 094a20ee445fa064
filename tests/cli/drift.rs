//! `tarn drift` end to end, with the `local` provider (real files edited or deleted behind
//! tarn's back): exit codes 0 / 2 / 1, the human, JSON and Markdown reports, secrets never
//! shown, ignore rules, a running apply waited for, and that drift changes nothing — the state
//! database is byte-identical afterwards and drifted files stay as they were.
//! The scheduled mode (`--every`, `--report`, `--notify`, `--metrics-addr`) is in `drift_schedule`.

use crate::harness::{FAULT_PROVIDER, Lines, Stack, redact, wait_for};
use std::time::{Duration, Instant};

pub const FILES: &str = r#"
resource "local_file" "a" {
  filename = "${path.module}/out/a.txt"
  content  = "alpha\n"
}

resource "local_file" "b" {
  filename = "${path.module}/out/b.txt"
  content  = "bravo\n"
}

resource "local_sensitive_file" "key" {
  filename = "${path.module}/out/key.pem"
  content  = "TOP-SECRET-KEY-MATERIAL"
}
"#;

/// Three applied files (one sensitive), with a state key.
pub fn applied() -> Stack {
    let s = Stack::with(FILES);
    s.tarn(&["state", "keygen"]).ok();
    s.tarn(&["apply", "--auto-approve"]).ok();
    s
}

/// Everything the state records: lineage, serial, every row and output, and the lock list.
/// (Not the database file's bytes: SQLite may checkpoint its write-ahead log into the file when
/// a reader closes, a physical change of the same content.)
fn state_bytes(s: &Stack) -> String {
    s.state_fingerprint()
}

#[test]
fn no_drift_exits_0_drift_exits_2_and_nothing_is_changed() {
    let s = applied();
    let before = state_bytes(&s);
    let serial = s.show()["serial"].clone();
    s.tarn(&["drift"]).ok().stdout_has("No drift. 3 recorded object(s) match the state.");
    let json = s.tarn(&["drift", "--json"]).ok().json();
    assert_eq!(json["status"], "no_drift");
    assert_eq!(json["summary"]["checked"], 3);

    s.write("out/a.txt", "edited by hand\n");
    s.remove("out/b.txt");
    let run = s.tarn(&["drift"]).code(2);
    for needle in [
        "local_file.a has changed",
        "~ content",
        "- alpha",
        "+ edited by hand",
        "local_file.b has been deleted",
        "2 of 3 object(s) drifted: 1 changed, 1 deleted.",
    ] {
        assert!(run.stdout.contains(needle), "{needle:?}\n{}", run.dump());
    }
    // Read-only: the drifted files are left as they are, and the state records exactly the same.
    assert_eq!(s.read("out/a.txt"), "edited by hand\n");
    assert!(!s.path().join("out/b.txt").exists());
    assert_eq!(state_bytes(&s), before, "tarn drift wrote the state database");
    assert_eq!(s.show()["serial"], serial);

    let json = s.tarn(&["drift", "--json"]).code(2).json();
    assert_eq!(json["format_version"], "1.5");
    assert_eq!(json["type"], "drift_report");
    assert_eq!(json["status"], "drift");
    assert_eq!(json["state"]["serial"], serial);
    assert_eq!(json["summary"]["drifted"], 2);
    assert_eq!(json["summary"]["changed"], 1);
    assert_eq!(json["summary"]["deleted"], 1);
    let a = &json["resources"][0];
    assert_eq!(a["address"], "local_file.a");
    assert_eq!(a["drift"], "changed");
    let content = a["changes"].as_array().unwrap().iter().find(|c| c["path"] == "content").expect("content change");
    assert_eq!(content["recorded"], "alpha\n");
    assert_eq!(content["actual"], "edited by hand\n");
    assert_eq!(content["sensitive"], false);
    assert_eq!(json["resources"][1]["drift"], "deleted");
    assert_eq!(state_bytes(&s), before);

    // Plan and apply still see the same drift and repair it; drift then reports none.
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["drift"]).ok();
}

#[test]
fn a_drifted_secret_is_located_but_never_shown() {
    let s = applied();
    s.write("out/key.pem", "ANOTHER-SECRET-WRITTEN-BY-HAND");
    for args in [&["drift"][..], &["drift", "--json"], &["drift", "--markdown"]] {
        let run = s.tarn(args).code(2);
        for secret in ["TOP-SECRET-KEY-MATERIAL", "ANOTHER-SECRET-WRITTEN-BY-HAND"] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{secret} shown by {args:?}\n{}",
                run.dump()
            );
        }
    }
    s.tarn(&["drift"]).code(2).stdout_has("~ content              = (sensitive value) -> (sensitive value)");
    let json = s.tarn(&["drift", "--json"]).code(2).json();
    let change =
        json["resources"][0]["changes"].as_array().unwrap().iter().find(|c| c["path"] == "content").cloned().unwrap();
    assert_eq!(change["sensitive"], true);
    assert_eq!(change["recorded"], serde_json::Value::Null);
    assert_eq!(change["actual"], serde_json::Value::Null);
}

#[test]
fn errors_exit_1_with_a_json_document_when_asked() {
    // No state: nothing to check is an error, not "no drift" (a cron job in the wrong directory).
    let s = Stack::with(FILES);
    s.tarn(&["drift"]).code(1).stderr_has("there is no state here");
    assert!(!s.state_db().exists(), "drift created a state");
    let json = s.tarn(&["drift", "--json"]).code(1).json();
    assert_eq!(json["status"], "error");
    assert!(json["error"].as_str().unwrap().contains("no state"), "{json}");

    let s = applied();
    let before = state_bytes(&s);
    // A configuration error.
    s.write("broken.tarn.hcl", "resource \"local_file\" {\n");
    s.tarn(&["drift"]).code(1).stderr_has("broken.tarn.hcl");
    s.remove("broken.tarn.hcl");
    // An object that cannot be read: a directory where the file was.
    let mode = std::fs::metadata(s.path().join("out/a.txt")).unwrap().permissions();
    s.remove("out/a.txt");
    std::fs::create_dir(s.path().join("out/a.txt")).unwrap();
    let unreadable = s.tarn(&["drift", "--json"]).code(1);
    assert_eq!(unreadable.json()["status"], "error");
    assert!(unreadable.stderr.contains("local_file.a"), "{}", unreadable.dump());
    std::fs::remove_dir(s.path().join("out/a.txt")).unwrap();
    s.write("out/a.txt", "alpha\n");
    std::fs::set_permissions(s.path().join("out/a.txt"), mode).unwrap();
    // Bad flags: usage errors exit 1, never 2 (which would read as "drift found").
    s.tarn(&["drift", "--every", "0s"]).code(1).stderr_has("at least 1s");
    s.tarn(&["drift", "--every", "soon"]).code(1).stderr_has("invalid duration");
    s.tarn(&["drift", "--ignore", "nonsense"]).code(1).stderr_has("not an address");
    s.tarn(&["drift", "--json", "--markdown"]).code(1);
    s.tarn(&["drift", "--no-such-flag"]).code(1);
    s.tarn(&["drift", "--notify", "ftp://example.com/x"]).code(1).stderr_has("--notify");
    assert_eq!(state_bytes(&s), before);
    s.tarn(&["drift"]).ok();
}

#[test]
fn ignore_rules_from_the_command_line_and_the_configuration() {
    let s = applied();
    s.write("out/a.txt", "edited\n");
    s.remove("out/b.txt");
    // Per run: the attributes of a, and b altogether.
    let json = s
        .tarn(&[
            "drift",
            "--json",
            "--ignore",
            "local_file.a.content",
            "--ignore",
            "local_file.a.id",
            "--ignore",
            "local_file.b",
        ])
        .code(2)
        .json();
    let paths: Vec<&str> =
        json["resources"][0]["changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
    assert!(!paths.contains(&"content") && !paths.contains(&"id") && paths.contains(&"content_md5"), "{paths:?}");
    assert_eq!(json["summary"]["drifted"], 1);
    assert!(json["summary"]["ignored"].as_u64().unwrap() >= 3, "{json}");
    s.tarn(&["drift", "--ignore", "local_file.a", "--ignore", "local_file.b"]).ok().stdout_has("ignored");

    // In the configuration: ignore_changes = all hides changes, never a deletion.
    s.write(
        "main.tarn.hcl",
        &FILES.replace(
            "content  = \"alpha\\n\"",
            "content  = \"alpha\\n\"\n  lifecycle {\n    ignore_changes = all\n  }",
        ),
    );
    let json = s.tarn(&["drift", "--json"]).code(2).json();
    let drifted: Vec<&str> =
        json["resources"].as_array().unwrap().iter().map(|r| r["address"].as_str().unwrap()).collect();
    assert_eq!(drifted, ["local_file.b"], "{json}");
}

#[test]
fn drift_waits_for_a_running_apply_instead_of_reporting_it() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"o\" {{\n  name = \"o\"\n  value = \"1\"\n}}\n"
    ));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.write(
        "main.tarn.hcl",
        &format!("{FAULT_PROVIDER}\nresource \"fault_object\" \"o\" {{\n  name = \"o\"\n  value = \"2\"\n  latency_ms = 2000\n}}\n"),
    );
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    wait_for("the slow update to start", Duration::from_secs(20), || {
        lines.text().contains("fault_object.o: ").then_some(())
    });
    let run = s.tarn(&["drift"]).code(1);
    assert!(run.stderr.contains("the state is locked by") && run.stderr.contains("tarn apply"), "{}", run.dump());
    let start = Instant::now();
    s.tarn(&["drift", "--lock-timeout", "20s"]).ok().stdout_has("No drift.");
    assert!(start.elapsed() > Duration::from_millis(300), "drift did not wait for the apply");
    assert!(child.wait().unwrap().success());
}

#[test]
fn drift_report_formats() {
    let s = applied();
    s.write("out/a.txt", "alpha\nand a line added by hand\n");
    s.remove("out/b.txt");
    let human = s.tarn(&["drift"]).code(2).stdout;
    insta::assert_snapshot!("drift_human", redact(&human));
    let markdown = s.tarn(&["drift", "--markdown"]).code(2).stdout;
    insta::assert_snapshot!("drift_markdown", redact(&markdown));
}
