//! External providers end to end: the example Python plugin (examples/plugins/kv) through
//! apply / plan / destroy, a plugin that crashes mid-apply under each failure policy, plugins
//! found through TARN_PLUGIN_PATH, `tarn providers` (list, schema, check), and the freshness of
//! the committed provider docs. The plugins are real processes; python3 is required.

use crate::harness::{Stack, TARN};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

const SECRET: &str = "kv-Secret-v8Q2x";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn kv_plugin() -> PathBuf {
    let ok = Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is needed by the plugin tests: install it with `apt-get install python3` (scripts/test.sh does)"
    );
    repo().join("examples/plugins/kv/tarn-provider-kv")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("providers/plugin/tests/fixtures").join(name)
}

/// A chain environment → url → boom (boom depends on both others), with the plugin by path.
fn config(plugin: &Path) -> String {
    format!(
        r#"
tarn {{
  required_providers {{
    kv = {{ source = "exec:{}" }}
  }}
}}

provider "kv" {{
  path = "${{path.module}}/store.json"
}}

resource "kv_entry" "environment" {{
  key   = "environment"
  value = "dev"
}}

resource "kv_entry" "url" {{
  key    = "url"
  value  = "postgres://db.${{kv_entry.environment.value}}"
  secret = "{SECRET}"
}}

resource "kv_entry" "boom" {{
  key   = "boom"
  value = "v${{kv_entry.url.version}}"
}}
"#,
        plugin.display()
    )
}

/// Keys in the plugin's store file.
fn keys(s: &Stack) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(s.path().join("store.json")) else { return Vec::new() };
    let json: Json = serde_json::from_str(&text).unwrap();
    json["entries"].as_object().unwrap().keys().cloned().collect()
}

fn stack() -> Stack {
    let s = Stack::with(&config(&kv_plugin()));
    s.tarn(&["state", "keygen"]).ok();
    s
}

#[test]
fn the_example_plugin_applies_replans_clean_and_destroys() {
    let s = stack();
    let apply = s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(keys(&s), ["boom", "environment", "url"]);
    // The store holds the secret (it is the "vendor"); tarn's output and state do not.
    assert!(!apply.stdout.contains(SECRET) && !apply.stderr.contains(SECRET), "{}", apply.dump());
    let show = s.tarn(&["show", "--json"]).ok();
    assert!(!show.stdout.contains(SECRET));
    let db = std::fs::read(s.state_db()).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(SECRET), "the state seals the plugin's sensitive attribute");
    let boom =
        show.json()["resources"].as_array().unwrap().iter().find(|r| r["address"] == "kv_entry.boom").cloned().unwrap();
    assert_eq!(boom["values"]["value"], "v1", "computed values flow between plugin resources");

    s.tarn(&["plan", "--detailed-exitcode"]).code(0).stdout_has("No changes");

    // Drift made behind tarn's back is seen through the plugin's read.
    let text = std::fs::read_to_string(s.path().join("store.json")).unwrap().replace("\"dev\"", "\"edited\"");
    std::fs::write(s.path().join("store.json"), text).unwrap();
    s.tarn(&["plan", "--detailed-exitcode"]).code(2);
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["plan", "--detailed-exitcode"]).code(0);

    s.tarn(&["destroy", "--auto-approve"]).ok();
    assert!(keys(&s).is_empty());
    assert!(s.addresses().is_empty());
}

#[test]
fn a_plugin_crash_mid_apply_is_rolled_back() {
    let s = stack();
    let run = s.tarn_with(&["apply", "--auto-approve"], &[("KV_CRASH", "create:boom")]).code(3);
    // The executor reports the failed action on stdout, then rolls back.
    let run =
        run.stdout_has("plugin \"kv\"").stdout_has("exited with status 70").stdout_has("during create of kv_entry");
    run.stdout_has("it made no object").stdout_has("Rolling back");
    assert!(keys(&s).is_empty(), "rollback deleted what the apply created, through a fresh plugin process");
    assert!(s.addresses().is_empty());
    // Without the fault, the same configuration applies.
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(keys(&s).len(), 3);
}

#[test]
fn an_object_made_just_before_the_crash_is_adopted_then_rolled_back() {
    let s = stack();
    let run = s.tarn_with(&["apply", "--auto-approve"], &[("KV_CRASH", "create-after-write:boom")]).code(3);
    run.stdout_has("found by its correlation tag");
    assert!(keys(&s).is_empty(), "the object the plugin made before dying was not leaked");
    assert!(s.addresses().is_empty());
}

#[test]
fn halt_after_a_plugin_crash_keeps_what_exists_recorded() {
    let s = stack();
    s.tarn_with(&["apply", "--auto-approve", "--on-failure", "halt"], &[("KV_CRASH", "create:boom")]).code(4);
    assert_eq!(keys(&s), ["environment", "url"]);
    assert_eq!(s.addresses(), ["kv_entry.environment", "kv_entry.url"]);
}

#[test]
fn a_plugin_that_cannot_start_stops_the_run_before_any_change() {
    let s = Stack::with(&config(&s_path("nope/tarn-provider-kv")));
    let run = s.tarn(&["plan"]).code(1).stderr_has("Provider plugin failed to start");
    run.stderr_has("does not exist").stderr_has("main.tarn.hcl line 4");
    let s = Stack::with(&config(&fixture("crash-on-start.sh")));
    s.tarn(&["apply", "--auto-approve"]).code(1).stderr_has("exited with status 127").stderr_has("libacme.so.1");
    assert!(!s.state_db().exists() || s.addresses().is_empty());
}

fn s_path(rel: &str) -> PathBuf {
    std::env::temp_dir().join(rel)
}

#[test]
fn plugins_are_found_in_the_plugin_path_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(kv_plugin(), dir.path().join("tarn-provider-kv")).unwrap();
    let path = dir.path().display().to_string();
    let s = Stack::with(
        r#"
provider "kv" {
  path = "store.json"
}

resource "kv_entry" "a" {
  key   = "a"
  value = "1"
}
"#,
    );
    s.tarn(&["validate"]).code(1).stderr_has("Missing provider");
    s.tarn_with(&["validate"], &[("TARN_PLUGIN_PATH", &path)]).ok();
    s.tarn_with(&["apply", "--auto-approve"], &[("TARN_PLUGIN_PATH", &path)]).ok();
    assert_eq!(keys(&s), ["a"]);

    let list = s.tarn_with(&["providers"], &[("TARN_PLUGIN_PATH", &path)]).ok();
    for line in [
        "null (built-in)",
        "  resource null_resource",
        "  resource kv_entry",
        "  data     kv_entry",
        "  resource local_file",
    ] {
        assert!(list.stdout.contains(line), "{line:?}\n{}", list.dump());
    }
    let json = s.tarn_with(&["providers", "--json"], &[("TARN_PLUGIN_PATH", &path)]).ok().json();
    assert_eq!(json["format_version"], "1");
    assert_eq!(json["providers"]["kv"]["resources"], serde_json::json!(["kv_entry"]));
    assert_eq!(json["providers"]["fault"]["source"], "built-in");

    let schema = s.tarn_with(&["providers", "schema", "--json"], &[("TARN_PLUGIN_PATH", &path)]).ok().json();
    let secret = &schema["providers"]["kv"]["resources"]["kv_entry"]["attributes"]["secret"];
    assert_eq!(secret["sensitive"], true);
    assert_eq!(secret["type"], serde_json::json!({"kind": "string"}));
    assert_eq!(schema["providers"]["null"]["resources"]["null_resource"]["attributes"]["triggers"]["force_new"], true);
    let md = s.tarn(&["providers", "schema", "local"]).ok();
    assert!(md.stdout.starts_with("<!--") && md.stdout.contains("# Provider `local`"), "{}", md.dump());
    s.tarn(&["providers", "schema", "nosuch"]).code(1).stderr_has("there is no provider \"nosuch\"");
}

#[test]
fn the_conformance_check_passes_the_example_and_fails_broken_plugins_cleanly() {
    let s = Stack::new();
    let plugin = kv_plugin().display().to_string();
    let run = s.tarn(&["providers", "check", &plugin]).ok();
    assert!(run.stdout.contains("19 checks: 19 passed, 0 failed, 0 skipped."), "{}", run.dump());
    assert!(run.stdout.contains("pass  adopt"), "{}", run.dump());
    assert!(std::fs::read_dir(s.path()).unwrap().next().is_none(), "the check ran in its own temporary directory");

    for (file, line) in [
        ("crash-on-start.sh", "FAIL  handshake"),
        ("malformed.sh", "sent a malformed answer"),
        ("exit-on-create.sh", "FAIL  create"),
        ("bad-schema.sh", "unknown key \"sensitve\""),
    ] {
        let run = s.tarn(&["providers", "check", &fixture(file).display().to_string(), "--timeout", "3s"]).code(1);
        assert!(run.stdout.contains(line), "{file}: {}", run.dump());
        run.stderr_has("failed 1 conformance check(s)");
    }
    let hang = fixture("hang-on-read.sh").display().to_string();
    let run = s.tarn(&["providers", "check", &hang, "--timeout", "2s", "--json"]).code(1);
    let report = run.json();
    let read = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "read after create").unwrap().clone();
    assert_eq!(read["status"], "fail");
    assert!(read["detail"].as_str().unwrap().contains("did not answer read within 2s"), "{read}");
}

#[test]
fn committed_provider_docs_are_up_to_date() {
    let out = Command::new(TARN)
        .current_dir(repo())
        .args(["--no-color", "providers", "docs", "--out", "docs/providers", "--check"])
        .env_remove("TARN_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docs/providers is stale; regenerate with `cargo run -q -- providers docs --out docs/providers`:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stale_docs_are_named_with_the_command_that_fixes_them() {
    let s = Stack::new();
    s.tarn(&["providers", "docs", "--out", "docs/providers"]).ok().stdout_has("wrote");
    s.tarn(&["providers", "docs", "--out", "docs/providers", "--check"]).ok();
    let page = s.read("docs/providers/null.md").replace("required", "optional");
    s.write("docs/providers/null.md", &page);
    s.write("docs/providers/gone.md", &s.read("docs/providers/local.md"));
    s.remove("docs/providers/fault.md");
    let run = s.tarn(&["providers", "docs", "--out", "docs/providers", "--check"]).code(1);
    run.stderr_has("fault.md (missing)")
        .stderr_has("gone.md (no such provider any more)")
        .stderr_has("cargo run -q -- providers docs --out docs/providers");
    // Regenerating fixes it, and removes the page of the provider that is gone.
    s.tarn(&["providers", "docs", "--out", "docs/providers"]).ok();
    s.tarn(&["providers", "docs", "--out", "docs/providers", "--check"]).ok();
    assert!(!s.path().join("docs/providers/gone.md").exists());
}
