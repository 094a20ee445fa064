//! Moving an instance to another provider configuration through the `tarn` binary: two
//! aliases of the fault provider keep their objects in separate directories (`one/`, `two/`),
//! so the test sees which configuration did the work. The plan says why the object is
//! replaced (human, `--json`, markdown), apply destroys the old object through the old
//! configuration and creates the new one through the new, and a plan whose old configuration
//! was removed too early is refused with the fix, nothing written.

use crate::harness::Stack;
use std::path::Path;

fn config(which: &str, with_one: bool) -> String {
    let one =
        if with_one { "provider \"fault\" {\n  alias = \"one\"\n  dir   = \"${path.module}/one\"\n}\n" } else { "" };
    format!(
        r#"{one}
provider "fault" {{
  alias = "two"
  dir   = "${{path.module}}/two"
}}

resource "fault_object" "a" {{
  provider = fault.{which}
  name     = "a"
}}
"#
    )
}

/// Object ids behind one configuration (the fault provider's files in its directory).
fn ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.file_name().to_string_lossy().strip_suffix(".json").map(str::to_string)).collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

#[test]
fn an_instance_moved_to_another_provider_configuration_is_replaced_through_both() {
    let s = Stack::with(&config("one", true));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let old = ids(&s.path().join("one"));
    assert_eq!(old.len(), 1);

    s.write("main.tarn.hcl", &config("two", true));
    s.tarn(&["plan"])
        .ok()
        .stdout_has("# fault_object.a must be replaced (provider configuration changes from fault.one to fault.two)")
        .stdout_has("-/+ resource \"fault_object\" \"a\"")
        .stdout_has("Plan: 1 to add, 0 to change, 1 to destroy.");

    let json = s.tarn(&["plan", "--json"]).ok().json();
    assert_eq!(json["format_version"], "1.5");
    let change = &json["changes"][0];
    assert_eq!(
        (change["provider"].as_str(), change["prior_provider"].as_str()),
        (Some("fault.two"), Some("fault.one"))
    );
    assert_eq!(change["action"], "delete_then_create");
    assert!(
        change["reasons"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"kind": "provider_changed", "from": "fault.one", "to": "fault.two"})),
        "{change}"
    );
    let ops: Vec<(&str, &str)> = json["graph"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| (op["kind"].as_str().unwrap(), op["provider"].as_str().unwrap()))
        .collect();
    assert_eq!(ops, vec![("delete", "fault.one"), ("create", "fault.two")]);

    s.tarn(&["plan", "--out", "move.tarnplan"]).ok();
    let saved = s.tarn(&["show", "move.tarnplan", "--json"]).ok().json();
    assert_eq!(saved["changes"][0]["prior_provider"], "fault.one", "the saved plan keeps the old configuration");
    s.tarn(&["show", "move.tarnplan", "--markdown"])
        .ok()
        .stdout_has("provider configuration changes from `fault.one` to `fault.two`");
    s.tarn(&["apply", "move.tarnplan"]).ok();
    assert!(ids(&s.path().join("one")).is_empty(), "the old object was destroyed through fault.one");
    let new = ids(&s.path().join("two"));
    assert_eq!(new.len(), 1, "the new object was created through fault.two");
    assert_ne!(new, old);
    let show = s.show();
    let row = &show["resources"][0];
    assert_eq!((row["provider"].as_str(), row["values"]["id"].as_str()), (Some("fault.two"), Some(new[0].as_str())));
    s.tarn(&["plan", "--detailed-exitcode"]).code(0).stdout_has("No changes.");

    // Now the old block may go.
    s.write("main.tarn.hcl", &config("two", false));
    s.tarn(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn removing_the_old_configuration_in_the_same_change_is_refused_with_the_fix() {
    let s = Stack::with(&config("one", true));
    s.tarn(&["apply", "--auto-approve"]).ok();
    let before = s.state_fingerprint();
    s.write("main.tarn.hcl", &config("two", false));
    for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        s.tarn(args)
            .code(1)
            .stderr_has("Old provider configuration not in configuration")
            .stderr_has("on main.tarn.hcl line 8")
            .stderr_has("Keep the provider block for \"fault.one\" until this change is applied");
    }
    assert_eq!(s.state_fingerprint(), before, "nothing written");
    assert_eq!(ids(&s.path().join("one")).len(), 1, "the old object is untouched");
    assert!(ids(&s.path().join("two")).is_empty());
}
