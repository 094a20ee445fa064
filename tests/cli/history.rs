//! `tarn history`: every run that changed the state, newest first, with who, when, command,
//! the plan's counts and the outcome (success, rolled back, failed); one run's operations from
//! the journal; the versioned `--json` documents.

use crate::harness::{FAULT_PROVIDER, Stack};

fn config(fail_b: bool) -> String {
    format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"a\" {{\n  name = \"a\"\n}}\n\
         resource \"fault_object\" \"b\" {{\n  name        = \"b\"\n  fail_create = {fail_b}\n  depends_on  = [fault_object.a]\n}}\n"
    )
}

#[test]
fn history_lists_runs_with_who_what_and_outcome() {
    let s = Stack::with(&config(true));
    s.tarn(&["history"]).ok().stdout_has("No runs yet");
    s.tarn(&["apply", "--auto-approve"]).code(3);
    s.write("main.tarn.hcl", &config(false));
    s.tarn(&["apply", "--auto-approve"]).ok();
    s.tarn(&["state", "rm", "fault_object.b"]).ok();

    let doc = s.tarn(&["history", "--json"]).ok().json();
    assert_eq!(doc["format_version"], "1.5");
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{doc}");
    let outcomes: Vec<_> = runs.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, vec!["success", "success", "rolled_back"], "newest first");
    assert_eq!(runs[2]["command"], "tarn apply");
    assert_eq!(runs[2]["plan"]["add"], 2, "the plan's counts are kept after the run: {}", runs[2]);
    assert_eq!(runs[1]["plan"]["add"], 2);
    assert_eq!(runs[0]["plan"]["remove"], 1);
    assert_eq!(runs[0]["pid"].as_u64().map(|p| p > 0), Some(true));
    assert!(runs[0]["user"].is_string() && runs[0]["host"].is_string() && runs[0]["started_at"].is_string());
    assert!(runs[0]["serial"].as_i64() > runs[1]["serial"].as_i64());

    let human = s.tarn(&["history"]).ok();
    assert!(human.stdout.contains("rolled back") && human.stdout.contains("+2 ~0 -0"), "{}", human.dump());
    assert!(human.stdout.contains("tarn state rm fault_object.b"), "{}", human.dump());
    let limited = s.tarn(&["history", "--json", "--limit", "1"]).ok().json();
    assert_eq!(limited["runs"].as_array().map(Vec::len), Some(1));

    // One run: its operations, paired intent → outcome, by a unique prefix of its ID.
    let failed = runs[2]["id"].as_str().unwrap();
    let one = s.tarn(&["history", &failed[..8], "--json"]).ok().json();
    assert_eq!(one["run"]["id"], failed);
    let ops = one["operations"].as_array().unwrap();
    let find = |addr: &str, op: &str| {
        ops.iter()
            .find(|o| o["address"] == addr && o["op"] == op)
            .unwrap_or_else(|| panic!("no {op} of {addr} in {one}"))
    };
    assert_eq!(find("fault_object.a", "create")["result"], "ok");
    assert_eq!(find("fault_object.b", "create")["result"], "error");
    assert!(find("fault_object.b", "create")["error"].as_str().unwrap().contains("on purpose"));
    let text = s.tarn(&["history", &failed[..8]]).ok();
    assert!(text.stdout.contains("outcome:  rolled back") && text.stdout.contains("fault_object.b"), "{}", text.dump());
    s.tarn(&["history", "no-such-run"]).code(1).stderr_has("no run");
}
