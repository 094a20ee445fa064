//! Workspaces and pipeline habits: `tarn workspace new/select/list/show/delete`,
//! `--workspace` and `TARN_WORKSPACE` keeping separate states (and `tarn.workspace` in the
//! language); `--input=false` and `CI=true` never prompting; a lock left by a killed tarn taken
//! over by a state command.

use crate::harness::{FAULT_PROVIDER, Lines, Stack, wait_for};
use std::time::Duration;

const CONFIG: &str = r#"
resource "fault_object" "o" {
  name = "obj-${tarn.workspace}"
}
"#;

fn stack() -> Stack {
    Stack::with(&format!("{FAULT_PROVIDER}{CONFIG}"))
}

fn names(s: &Stack) -> Vec<String> {
    let mut n: Vec<String> =
        s.objects().values().map(|o| o["attributes"]["name"].as_str().unwrap_or("?").to_string()).collect();
    n.sort();
    n
}

#[test]
fn workspaces_keep_separate_states_of_one_configuration() {
    let s = stack();
    s.tarn(&["workspace", "show"]).ok().stdout_has("default");
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["workspace", "new", "staging"]).ok().stdout_has("Created and selected");
    s.tarn(&["workspace", "new", "staging"]).code(1).stderr_has("already exists");
    s.tarn(&["workspace", "show"]).ok().stdout_has("staging");
    assert!(s.addresses().is_empty(), "a new workspace starts empty");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(names(&s), vec!["obj-default", "obj-staging"]);

    let list = s.tarn(&["workspace", "list"]).ok();
    assert!(list.stdout.contains("  default") && list.stdout.contains("* staging"), "{}", list.dump());
    let json = s.tarn(&["workspace", "list", "--json"]).ok().json();
    assert_eq!(json["current"], "staging");
    assert_eq!(json["workspaces"], serde_json::json!(["default", "staging"]));

    // The flag and the environment override the selection, one command at a time.
    let lineage = |args: &[&str], env: &[(&str, &str)]| {
        let mut a = args.to_vec();
        a.extend(["show", "--json"]);
        s.tarn_with(&a, env).ok().json()["lineage"].as_str().unwrap().to_string()
    };
    let staging = lineage(&[], &[]);
    let default = lineage(&["--workspace", "default"], &[]);
    assert_ne!(staging, default);
    assert_eq!(lineage(&[], &[("TARN_WORKSPACE", "default")]), default);
    s.tarn(&["--workspace", "bad name!", "plan"]).code(1).stderr_has("invalid workspace name");
    s.tarn(&["workspace", "select", "nope"]).code(1).stderr_has("tarn workspace new nope");

    // A saved plan belongs to its workspace.
    s.tarn(&["plan", "--out", "p.tarnplan"]).ok();
    s.tarn(&["--workspace", "default", "apply", "p.tarnplan"]).code(1).stderr_has("made for workspace \"staging\"");

    // Delete: not the current one, not one with objects unless --force (which forgets them).
    s.tarn(&["workspace", "delete", "staging"]).code(1).stderr_has("current one");
    s.tarn(&["workspace", "select", "default"]).ok();
    s.tarn(&["workspace", "delete", "staging"]).code(1).stderr_has("still records 1 object");
    s.tarn(&["--workspace", "staging", "destroy", "--auto-approve"]).ok();
    s.tarn(&["workspace", "delete", "staging"]).ok().stdout_has("Deleted workspace");
    assert_eq!(s.tarn(&["workspace", "list", "--json"]).ok().json()["workspaces"], serde_json::json!(["default"]));
    s.tarn(&["workspace", "delete", "default"]).code(1).stderr_has("cannot be deleted");
    assert_eq!(names(&s), vec!["obj-default"]);
}

#[test]
fn input_false_and_ci_never_prompt_and_change_nothing() {
    let s = stack();
    for (args, env, why) in [
        (vec!["--input=false", "apply"], vec![], "input is disabled"),
        (vec!["apply"], vec![("CI", "true")], "CI run"),
        (vec!["apply"], vec![("TARN_INPUT", "false")], "input is disabled"),
    ] {
        let run = s.tarn_with(&args, &env).code(1);
        assert!(run.stderr.contains(why) && run.stderr.contains("--auto-approve"), "{}", run.dump());
        assert!(run.stdout.contains("will be created"), "the plan is shown first\n{}", run.dump());
        assert!(s.object_ids().is_empty(), "nothing created: {}", run.dump());
    }
    // Approval given by flag: --input=false is no obstacle.
    s.tarn(&["--input=false", "apply", "--auto-approve"]).ok();
    assert_eq!(s.object_ids().len(), 1);
    s.tarn(&["--input=false", "destroy"]).code(1).stderr_has("input is disabled");
    assert_eq!(s.object_ids().len(), 1, "nothing destroyed");
}

#[test]
fn ci_true_means_no_colour_even_on_a_terminal() {
    let s = stack();
    let mut cmd = std::process::Command::new(crate::harness::TARN);
    cmd.arg("-C")
        .arg(s.path())
        .args(["plan"])
        .env_remove("NO_COLOR")
        .env("CI", "true")
        .stdin(std::process::Stdio::null());
    let (code, out) = crate::harness::run_on_terminal(cmd);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("\x1b["), "colour under CI=true:\n{out}");
}

#[test]
fn a_lock_left_by_a_killed_tarn_is_taken_over_by_state_commands() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"slow\" {{\n  name       = \"slow\"\n  latency_ms = 5000\n}}\n"
    ));
    let mut child = s.spawn(&["apply", "--auto-approve"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    wait_for("the slow create to start", Duration::from_secs(20), || {
        lines.text().contains("fault_object.slow: Creating...").then_some(())
    });
    s.tarn(&["state", "rm", "fault_object.slow"]).code(1).stderr_has("locked");
    child.kill().unwrap();
    child.wait().unwrap();
    // The holder is dead on this host: its lease is taken over at once.
    s.tarn(&["state", "pull"]).ok();
    s.tarn(&["state", "rm", "--dry-run", "fault_object.nothing"]).code(1).stderr_has("records nothing");
    let runs = s.tarn(&["history", "--json"]).ok().json();
    assert_eq!(runs["runs"][0]["outcome"], "interrupted", "{runs}");
}
