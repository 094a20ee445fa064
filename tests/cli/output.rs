//! What the read-only commands print, in human and `--json` form: `show`, `output`,
//! `state list` (JSON documents carry `format_version` and the documented fields), `plan`'s
//! human rendering (snapshot), `graph`, `completions`, `-C DIR`, and `--help` of every
//! subcommand (each has "Examples").

use crate::harness::{FAULT_PROVIDER, Stack, TARN, redact, run_on_terminal};
use std::process::Command;

fn config() -> String {
    format!(
        r#"{FAULT_PROVIDER}
variable "greeting" {{
  type    = string
  default = "hello"
}}

resource "fault_object" "base" {{
  name  = "base"
  value = var.greeting
}}

resource "fault_object" "child" {{
  count = 2
  name  = "child-${{count.index}}"
  value = fault_object.base.id
}}

output "base_value" {{
  value = fault_object.base.value
}}

output "children" {{
  value = [for c in fault_object.child : c.name]
}}
"#
    )
}

#[test]
fn plan_renders_creates_with_unknowns_and_a_summary() {
    let s = Stack::with(&config());
    let plan = s.tarn(&["plan"]).ok();
    insta::assert_snapshot!(redact(&plan.stdout));
    let json = s.tarn(&["plan", "--json"]).ok().json();
    assert_eq!(json["format_version"], "1.5");
    assert_eq!(json["mode"], "normal");
    assert_eq!(json["summary"]["add"], 3);
    let changes = json["changes"].as_array().unwrap();
    let child1 = changes.iter().find(|c| c["address"] == "fault_object.child[1]").expect("child[1] planned");
    assert_eq!(child1["action"], "create");
    assert_eq!(child1["index"], 1);
    assert_eq!(child1["after"]["name"], "child-1");
    assert!(child1["after_unknown"].as_array().unwrap().iter().any(|p| p == "/value"), "{child1}");
    assert_eq!(child1["dependencies"], serde_json::json!(["fault_object.base"]));
    for key in ["binding", "outputs", "drift", "graph", "tarn_version", "created_at"] {
        assert!(json.get(key).is_some(), "plan --json lacks {key}");
    }
    // Every field docs/json-output.md documents for a change.
    for key in [
        "address",
        "mode",
        "type",
        "name",
        "index",
        "provider",
        "action",
        "reasons",
        "irreversible",
        "irreversible_delete",
        "before",
        "before_sensitive",
        "after",
        "after_unknown",
        "after_sensitive",
        "dependencies",
    ] {
        assert!(child1.get(key).is_some(), "a change lacks {key}: {child1}");
    }
    for key in ["lineage", "serial", "config_hash", "workspace"] {
        assert!(json["binding"].get(key).is_some(), "binding lacks {key}");
    }
    let ops = json["graph"]["operations"].as_array().unwrap();
    assert_eq!(ops.len(), 3);
    assert!(ops.iter().all(|o| o["kind"] == "create" && o["phase"] == "main"), "{ops:?}");
    assert_eq!(json["graph"]["edges"].as_array().unwrap().len(), 2, "base before each child");
}

#[test]
fn show_output_and_state_list_in_both_forms() {
    let s = Stack::with(&config());
    // Before anything was applied.
    s.tarn(&["show"]).ok().stdout_has("The state is empty");
    assert_eq!(s.show()["resources"], serde_json::json!([]));
    assert_eq!(s.tarn(&["state", "list"]).ok().stdout, "");
    s.tarn(&["apply", "--auto-approve"]).ok();

    let list = s.tarn(&["state", "list"]).ok();
    assert_eq!(list.stdout, "fault_object.base\nfault_object.child[0]\nfault_object.child[1]\n");
    let list = s.tarn(&["state", "list", "--json"]).ok().json();
    assert_eq!(list["format_version"], "1.5");
    let r = &list["resources"][1];
    assert_eq!(r["address"], "fault_object.child[0]");
    assert_eq!(r["mode"], "managed");
    assert_eq!(r["type"], "fault_object");
    assert_eq!(r["provider"], "fault");

    let show = s.show();
    assert_eq!(show["format_version"], "1.5");
    assert!(show["lineage"].as_str().is_some_and(|l| l.len() >= 32), "{show}");
    assert_eq!(show["serial"], 1);
    let base = &show["resources"][0];
    assert_eq!(base["address"], "fault_object.base");
    assert_eq!(base["values"]["value"], "hello");
    assert_eq!(base["sensitive_values"], serde_json::json!([]));
    assert_eq!(show["resources"][2]["dependencies"], serde_json::json!(["fault_object.base"]));
    assert_eq!(show["outputs"]["base_value"], serde_json::json!({"sensitive": false, "value": "hello"}));
    assert_eq!(show["outputs"]["children"]["value"], serde_json::json!(["child-0", "child-1"]));
    let human = s.tarn(&["show"]).ok();
    assert!(
        human.stdout.contains("# fault_object.child[1]:") && human.stdout.contains("\"child-1\""),
        "{}",
        human.dump()
    );
    assert!(human.stdout.contains("Outputs:"), "{}", human.dump());

    let out = s.tarn(&["output"]).ok();
    assert!(out.stdout.contains("base_value = \"hello\""), "{}", out.dump());
    let out = s.tarn(&["output", "--json"]).ok().json();
    assert_eq!(out["base_value"], serde_json::json!({"sensitive": false, "value": "hello"}));
    assert_eq!(s.tarn(&["output", "base_value"]).ok().stdout, "hello\n");
    assert_eq!(s.tarn(&["output", "base_value", "--json"]).ok().stdout, "\"hello\"\n");
    s.tarn(&["output", "base_valu"]).code(1).stderr_has("Did you mean \"base_value\"?");

    // Outputs follow the configuration on the next apply.
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_VAR_greeting", "bonjour")]).ok();
    assert_eq!(s.tarn(&["output", "base_value"]).ok().stdout, "bonjour\n");
    assert_eq!(s.show()["serial"], 2);
}

#[test]
fn graph_prints_dot() {
    let s = Stack::with(&config());
    let dot = s.tarn(&["graph"]).ok().stdout;
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("fault_object.base") && dot.contains("fault_object.child"), "{dot}");
    assert!(dot.contains("->"), "{dot}");
}

#[test]
fn completions_print_a_script_for_each_shell() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef tarn"), ("fish", "complete -c tarn")] {
        let out = Command::new(TARN).args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell} script lacks {marker:?}");
        assert!(text.contains("apply") && text.contains("detailed-exitcode"), "{shell} script is incomplete");
    }
    let bad = Command::new(TARN).args(["completions", "tcsh"]).output().unwrap();
    // A usage error exits 1 like any error: 2 means "changes present" or "drift found".
    assert_eq!(bad.status.code(), Some(1), "usage error");
}

#[test]
fn dash_c_runs_in_another_directory() {
    let s = Stack::with(&config());
    // The harness always passes -C; here the process starts elsewhere with a relative path.
    let parent = s.path().parent().unwrap();
    let name = s.path().file_name().unwrap();
    let out = Command::new(TARN)
        .current_dir(parent)
        .arg("-C")
        .arg(name)
        .args(["--no-color", "apply", "--auto-approve"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(s.state_db().exists(), "the state belongs in the -C directory");
    assert!(!parent.join(".tarn").exists() || parent.join(".tarn").is_dir(), "state written in the wrong directory");
    assert_eq!(s.object_ids().len(), 3);
    let missing = Command::new(TARN).args(["-C", "/nonexistent/tarn-e2e", "plan"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/tarn-e2e"));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    let subcommands: &[&[&str]] = &[
        &["plan"],
        &["apply"],
        &["destroy"],
        &["show"],
        &["output"],
        &["console"],
        &["state"],
        &["state", "list"],
        &["graph"],
        &["fmt"],
        &["validate"],
        &["completions"],
    ];
    for sub in subcommands {
        let out = Command::new(TARN).args(*sub).arg("--help").output().unwrap();
        assert!(out.status.success(), "{sub:?} --help");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Examples"), "`tarn {} --help` has no examples:\n{text}", sub.join(" "));
    }
    let top = Command::new(TARN).arg("--help").output().unwrap();
    let text = String::from_utf8(top.stdout).unwrap();
    assert!(text.contains("Exit codes"), "{text}");
    let version = Command::new(TARN).arg("--version").output().unwrap();
    assert!(String::from_utf8(version.stdout).unwrap().starts_with("tarn "));
}

/// Regression: `--no-color` was ignored by error messages, diagnostics and warnings, which
/// were coloured whenever stderr was a terminal.
#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let s = Stack::with(&config());
    s.write("bad.tarn.hcl", "resourse \"x\" \"y\" {}\n");
    let on_terminal = |extra: &[&str]| {
        let mut cmd = Command::new(TARN);
        cmd.arg("-C")
            .arg(s.path())
            .args(extra)
            .arg("plan")
            .env_remove("NO_COLOR")
            .env_remove("CI")
            .stdin(std::process::Stdio::null());
        run_on_terminal(cmd)
    };
    let (code, coloured) = on_terminal(&[]);
    assert_eq!(code, 1, "{coloured}");
    assert!(coloured.contains("resourse") && coloured.contains('\u{1b}'), "a terminal gets colour:\n{coloured}");
    let (code, plain) = on_terminal(&["--no-color"]);
    assert_eq!(code, 1, "{plain}");
    assert!(plain.contains("resourse") && !plain.contains('\u{1b}'), "--no-color still coloured:\n{plain:?}");
    s.remove("bad.tarn.hcl");
    let (code, plain) = on_terminal(&["--no-color"]);
    assert_eq!(code, 0, "{plain}");
    assert!(plain.contains("will be created") && !plain.contains('\u{1b}'), "{plain:?}");
    // Piped output is never coloured.
    let run = s.tarn(&["plan"]).ok();
    assert!(!run.stdout.contains('\u{1b}'));
}

/// The planner asks `local_file`'s provider to refine the plan: checksums and `id` of content
/// known at plan time are shown, not "(known after apply)", and a file whose content is
/// another file's checksum is planned in full. Apply produces exactly what was planned.
#[test]
fn local_file_checksums_are_known_at_plan() {
    let s = Stack::with(
        r#"
resource "local_file" "a" {
  filename = "out/a.txt"
  content  = "hello"
}

resource "local_file" "b" {
  filename = "out/b.txt"
  content  = local_file.a.content_md5
}
"#,
    );
    let plan = s.tarn(&["plan"]).ok();
    assert!(plan.stdout.contains("\"5d41402abc4b2a76b9719d911017c592\""), "{}", plan.dump());
    assert!(
        plan.stdout.contains("id                   = \"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\"")
            || plan.stdout.contains("\"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d\""),
        "{}",
        plan.dump()
    );
    let json = s.tarn(&["plan", "--json"]).ok().json();
    let b = json["changes"].as_array().unwrap().iter().find(|c| c["address"] == "local_file.b").unwrap().clone();
    assert_eq!(b["after"]["content"], "5d41402abc4b2a76b9719d911017c592", "{b}");
    assert_eq!(b["after_unknown"], serde_json::json!([]), "nothing of b is left unknown: {b}");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.read("out/b.txt"), "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(s.tarn(&["plan", "--detailed-exitcode"]).code, 0, "apply made what the plan said");
}
