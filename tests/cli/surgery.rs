//! State surgery through the binary: `state show`, `state mv` (instances, resources, modules;
//! refusals that write nothing), `state rm` (forgets, never destroys), `state pull`/`push`
//! (lineage and serial checks, `--force`, sealed values stay sealed), `state rekey` (old key
//! refused, new key opens, no clear text in the file or its WAL), and that each recorded
//! command is one history entry that bumps the serial once.

use crate::harness::{FAULT_PROVIDER, Stack};
use serde_json::Value as Json;

fn objects(names: &[&str]) -> String {
    let mut c = FAULT_PROVIDER.to_string();
    for n in names {
        c.push_str(&format!("\nresource \"fault_object\" \"{n}\" {{\n  name = \"{n}\"\n}}\n"));
    }
    c
}

fn serial(s: &Stack) -> i64 {
    s.show()["serial"].as_i64().expect("serial")
}

fn history(s: &Stack) -> Vec<Json> {
    s.tarn(&["history", "--json"]).ok().json()["runs"].as_array().expect("runs").clone()
}

#[test]
fn state_show_prints_one_instance_and_hides_nothing_else() {
    let s = Stack::with(&objects(&["a", "b"]));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let shown = s.tarn(&["state", "show", "fault_object.a"]).ok();
    assert!(
        shown.stdout.contains("# fault_object.a:") && shown.stdout.contains("resource \"fault_object\" \"a\""),
        "{}",
        shown.dump()
    );
    assert!(!shown.stdout.contains("fault_object.b"), "{}", shown.dump());
    let json = s.tarn(&["state", "show", "fault_object.b", "--json"]).ok().json();
    assert_eq!(json["format_version"], "1.5");
    assert_eq!(json["resource"]["address"], "fault_object.b");
    assert_eq!(json["resource"]["values"]["name"], "b");
    s.tarn(&["state", "show", "fault_object.zz"]).code(1).stderr_has("records nothing at fault_object.zz");
    s.tarn(&["state", "show", "not an address"]).code(1).stderr_has("is not an address");
}

#[test]
fn state_mv_renames_atomically_and_the_next_plan_is_empty() {
    let s = Stack::with(&objects(&["a", "b"]));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let objects_before = s.object_ids();
    let serial_before = serial(&s);

    let dry = s.tarn(&["state", "mv", "--dry-run", "fault_object.a", "fault_object.c"]).ok();
    assert!(dry.stdout.contains("Would move fault_object.a to fault_object.c"), "{}", dry.dump());
    assert_eq!(serial(&s), serial_before, "a dry run writes nothing");

    let moved = s.tarn(&["state", "mv", "--json", "fault_object.a", "fault_object.c"]).ok().json();
    assert_eq!(moved["moved"][0], serde_json::json!({"from": "fault_object.a", "to": "fault_object.c"}));
    let mut addrs = s.addresses();
    addrs.sort();
    assert_eq!(addrs, vec!["fault_object.b", "fault_object.c"]);
    assert_eq!(serial(&s), serial_before + 1, "one serial bump");
    assert_eq!(s.object_ids(), objects_before, "no real object touched");
    let runs = history(&s);
    assert_eq!(runs[0]["command"], "tarn state mv fault_object.a fault_object.c");
    assert_eq!(runs[0]["outcome"], "success");
    assert_eq!(runs[0]["plan"]["move"], 1);

    // The configuration renamed the same way: nothing to do, the object was kept.
    s.write("main.tarn.hcl", &objects(&["c", "b"]).replace("name = \"c\"", "name = \"a\""));
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn state_mv_refusals_write_nothing() {
    let s = Stack::with(&format!("{}\nresource \"null_resource\" \"n\" {{\n  count = 2\n}}\n", objects(&["a", "b"])));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.state_fingerprint();
    let runs = history(&s).len();
    s.tarn(&["state", "mv", "fault_object.a", "fault_object.b"]).code(1).stderr_has("already records fault_object.b");
    s.tarn(&["state", "mv", "fault_object.a", "null_resource.a"]).code(1).stderr_has("keeps its resource type");
    s.tarn(&["state", "mv", "null_resource.n", "null_resource.m[0]"]).code(1).stderr_has("has 2 instances");
    s.tarn(&["state", "mv", "fault_object.nope", "fault_object.x"]).code(1).stderr_has("records nothing");
    s.tarn(&["state", "mv", "fault_object.a", "module.m"]).code(1).stderr_has("a module moves to a module");
    assert_eq!(s.state_fingerprint(), before);
    assert_eq!(history(&s).len(), runs, "a refusal records no run");

    // A whole counted resource moves with its keys; a module prefix too.
    s.tarn(&["state", "mv", "null_resource.n", "null_resource.m"]).ok();
    s.tarn(&["state", "mv", "null_resource.m", "module.x.null_resource.m"]).ok();
    s.tarn(&["state", "mv", "module.x", "module.y[\"k\"]"]).ok().stdout_has("Moved 2 instance(s)");
    let mut addrs = s.addresses();
    addrs.sort();
    assert_eq!(
        addrs,
        vec![
            "fault_object.a",
            "fault_object.b",
            "module.y[\"k\"].null_resource.m[0]",
            "module.y[\"k\"].null_resource.m[1]"
        ]
    );
}

#[test]
fn state_rm_forgets_without_destroying() {
    let s = Stack::with(&objects(&["a", "b", "c"]));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let real = s.object_ids();
    s.tarn(&["state", "rm", "fault_object.a", "fault_object.zz"]).code(1).stderr_has("fault_object.zz");
    assert_eq!(s.addresses().len(), 3, "one bad address: nothing removed");
    let out = s.tarn(&["state", "rm", "fault_object.a", "fault_object.b"]).ok();
    assert!(out.stdout.contains("Removed fault_object.a") && out.stdout.contains("still exist"), "{}", out.dump());
    assert_eq!(s.addresses(), vec!["fault_object.c"]);
    assert_eq!(s.object_ids(), real, "the real objects remain");
    assert_eq!(history(&s)[0]["plan"]["remove"], 2);
    let json = s.tarn(&["state", "rm", "--dry-run", "--json", "fault_object.c"]).ok().json();
    assert_eq!(json["removed"], serde_json::json!(["fault_object.c"]));
    assert_eq!(s.addresses(), vec!["fault_object.c"]);
}

#[test]
fn state_pull_and_push_check_lineage_and_serial() {
    let s = Stack::with(&objects(&["a", "b"]));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let pulled = s.tarn(&["state", "pull"]).ok();
    let doc = pulled.json();
    assert_eq!((doc["kind"].as_str(), doc["format_version"].as_str()), (Some("tarn_state"), Some("1.5")));
    assert_eq!(doc["resources"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["lineage"], s.show()["lineage"]);
    s.write("pulled.json", &pulled.stdout);

    // Edit the document: drop b. Pushing it removes b from the state and bumps the serial.
    let mut edited = doc.clone();
    edited["resources"].as_array_mut().unwrap().retain(|r| r["address"] != "fault_object.b");
    s.write("edited.json", &edited.to_string());
    let before = serial(&s);
    s.tarn(&["state", "push", "edited.json"]).ok().stdout_has("records 1 instance(s)");
    assert_eq!(s.addresses(), vec!["fault_object.a"]);
    assert_eq!(serial(&s), before + 1);

    // The first pull is now older than the state: refused, then forced.
    let stale = s.tarn(&["state", "push", "pulled.json"]).code(1);
    assert!(stale.stderr.contains("older than this state") && stale.stderr.contains("--force"), "{}", stale.dump());
    assert_eq!(s.addresses(), vec!["fault_object.a"]);
    s.tarn(&["state", "push", "--force", "pulled.json"]).ok();
    assert_eq!(s.addresses().len(), 2);

    // Another stack's state: refused naming the lineage, then forced (the lineage follows).
    let other = Stack::with(&objects(&["x"]));
    other.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.state_fingerprint();
    let foreign = s.tarn(&["state", "push", &other.path().join(".tarn/../pull.json").display().to_string()]);
    assert_eq!(foreign.code, 1, "a missing file: {}", foreign.dump());
    other.write("pull.json", &other.tarn(&["state", "pull"]).ok().stdout);
    let path = other.path().join("pull.json").display().to_string();
    let refused = s.tarn(&["state", "push", &path]).code(1);
    assert!(refused.stderr.contains("another stack") && refused.stderr.contains("lineage"), "{}", refused.dump());
    assert_eq!(s.state_fingerprint(), before, "nothing written");
    s.tarn(&["state", "push", "--force", &path]).ok();
    assert_eq!(s.show()["lineage"], other.show()["lineage"]);
    assert_eq!(s.addresses(), vec!["fault_object.x"]);

    // Not a state document at all.
    s.write("junk.json", "{\"hello\": 1}");
    s.tarn(&["state", "push", "junk.json"]).code(1).stderr_has("not a tarn state document");
    s.write("junk.json", "not json");
    s.tarn(&["state", "push", "junk.json"]).code(1).stderr_has("is not JSON");
}

const SECRET: &str = "rekey-Secret-4d9Q";

fn secret_config() -> String {
    format!(
        "resource \"local_sensitive_file\" \"k\" {{\n  filename = \"${{path.module}}/out/k.txt\"\n  content  = \"{SECRET}\"\n}}\n\
         variable \"pw\" {{\n  type      = string\n  sensitive = true\n  default   = \"out-{SECRET}\"\n}}\n\
         output \"pw\" {{\n  value     = var.pw\n  sensitive = true\n}}\n"
    )
}

/// The state file and its WAL, as text, for grepping.
fn db_text(s: &Stack) -> String {
    let mut text = String::new();
    for name in [".tarn/state.db", ".tarn/state.db-wal"] {
        text.push_str(&String::from_utf8_lossy(&std::fs::read(s.path().join(name)).unwrap_or_default()));
    }
    text
}

#[test]
fn pull_keeps_secrets_sealed_and_push_refuses_another_key() {
    let s = Stack::with(&secret_config());
    s.tarn(&["state", "keygen"]).ok();
    s.tarn(&["apply", "--auto-approve"]).ok();
    let pulled = s.tarn(&["state", "pull"]).ok();
    assert!(!pulled.stdout.contains(SECRET), "pull printed a secret\n{}", pulled.stdout);
    assert!(pulled.stdout.contains("$tarn_sealed"), "{}", pulled.stdout);
    s.write("pulled.json", &pulled.stdout);
    s.tarn(&["state", "push", "pulled.json"]).ok();
    s.tarn(&["output", "pw", "--raw"]).ok().stdout_has(&format!("out-{SECRET}"));

    // Sealed with another key: refused, the state is unchanged and still opens.
    let other = Stack::with(&secret_config());
    other.tarn(&["state", "keygen"]).ok();
    other.tarn(&["apply", "--auto-approve"]).ok();
    let mut doc = other.tarn(&["state", "pull"]).ok().json();
    doc["lineage"] = s.show()["lineage"].clone();
    doc["serial"] = serde_json::json!(1000);
    s.write("foreign.json", &doc.to_string());
    let before = s.state_fingerprint();
    s.tarn(&["state", "push", "--force", "foreign.json"]).code(1).stderr_has("cannot open");
    assert_eq!(s.state_fingerprint(), before);
}

#[test]
fn rekey_reseals_everything_and_the_old_key_no_longer_opens() {
    let s = Stack::with(&secret_config());
    s.tarn(&["state", "keygen"]).ok();
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["workspace", "new", "staging"]).ok();
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["workspace", "select", "default"]).ok();
    let old_key = s.read(".tarn/state.key");
    let serial_before = serial(&s);

    let out = s.tarn(&["state", "rekey", "--json"]).ok().json();
    assert_eq!(out["workspaces"].as_array().map(Vec::len), Some(2), "every workspace of the file: {out}");
    assert!(out["values"].as_i64().unwrap() >= 4, "{out}");
    let new_key = s.read(".tarn/state.key");
    assert_ne!(old_key, new_key);
    assert!(!s.path().join(".tarn/state.key.new").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(s.path().join(".tarn/state.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let printed = format!("{out}");
    assert!(!printed.contains(new_key.trim()) && !printed.contains(old_key.trim()), "a key was printed");

    // The new key opens both workspaces; the old one opens neither.
    s.tarn(&["output", "pw", "--raw"]).ok().stdout_has(&format!("out-{SECRET}"));
    s.tarn(&["--workspace", "staging", "output", "pw", "--raw"]).ok().stdout_has(&format!("out-{SECRET}"));
    s.tarn_with(&["show"], &[("TARN_STATE_KEY", old_key.trim())]).code(1).stderr_has("wrong key");
    s.tarn_with(&["--workspace", "staging", "show"], &[("TARN_STATE_KEY", old_key.trim())])
        .code(1)
        .stderr_has("wrong key");
    assert_eq!(serial(&s), serial_before + 1);
    assert_eq!(history(&s)[0]["command"], "tarn state rekey");
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
    let text = db_text(&s);
    assert!(!text.contains(SECRET), "clear text in the state file or its WAL after rekey");

    // With the key in the environment, tarn cannot replace it: it asks for a file.
    let env_key = [("TARN_STATE_KEY", new_key.trim())];
    s.tarn_with(&["state", "rekey"], &env_key).code(1).stderr_has("--new-key-file");
    let run = s.tarn_with(&["state", "rekey", "--new-key-file", "next.key"], &env_key).ok();
    assert!(run.stdout.contains("set TARN_STATE_KEY"), "{}", run.dump());
    let next = s.read("next.key");
    s.tarn_with(&["output", "pw"], &[("TARN_STATE_KEY", next.trim())]).ok();
    s.tarn_with(&["show"], &env_key).code(1).stderr_has("wrong key");

    // No key at all: nothing to rekey.
    let bare = Stack::with(&objects(&["a"]));
    bare.tarn(&["apply", "--auto-approve"]).ok();
    bare.tarn(&["state", "rekey"]).code(1).stderr_has("tarn state keygen");
}
