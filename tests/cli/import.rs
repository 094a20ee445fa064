//! Importing existing objects through the binary: `import {}` blocks (HCL and JSON) shown by
//! plan (human, snapshot-compared; `--json`; saved plans), applied, and re-planned clean; an
//! import followed by an update; a failed apply that forgets the imported object but leaves it
//! in place; `tarn import ADDR ID`; and every refusal (exit 1, nothing written).

use crate::harness::{FAULT_PROVIDER, Stack, redact};

/// An object "made outside tarn": a fault object file nobody's state records.
const OUTSIDE: &str = "f00000000000000a1";

fn made_outside(s: &Stack, value: &str) {
    let body = serde_json::json!({
        "format_version": 1,
        "type": "fault_object",
        "id": OUTSIDE,
        "correlation": "made-by-hand",
        "attributes": { "name": "m", "value": value, "id": OUTSIDE },
    });
    s.write(&format!("objs/{OUTSIDE}.json"), &serde_json::to_string_pretty(&body).unwrap());
}

fn stored_value(s: &Stack) -> serde_json::Value {
    s.objects()[OUTSIDE]["attributes"]["value"].clone()
}

fn fault_config(value: &str, extra: &str) -> String {
    format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"m\" {{\n  name  = \"m\"\n  value = \"{value}\"\n}}\n\nimport {{\n  to = fault_object.m\n  id = \"{OUTSIDE}\"\n}}\n{extra}"
    )
}

#[test]
fn an_import_block_is_planned_applied_and_then_planned_clean() {
    let s =
        Stack::with("resource \"null_resource\" \"a\" {}\n\nimport {\n  to = null_resource.a\n  id = \"4521\"\n}\n");
    let plan = s.tarn(&["plan"]).ok();
    insta::assert_snapshot!(redact(&plan.stdout));
    assert!(plan.stdout.contains("# null_resource.a will be imported"), "{}", plan.dump());
    s.tarn(&["plan", "--detailed-exitcode"]).code(2);

    let json = s.tarn(&["plan", "--json"]).ok().json();
    let change = &json["changes"][0];
    assert_eq!(change["importing"]["id"], "4521");
    assert_eq!(change["action"], "no_op");
    assert_eq!(json["summary"]["import"], 1);
    assert_eq!(json["graph"]["operations"][0]["kind"], "import");

    let apply = s.tarn(&["apply", "--auto-approve"]).ok();
    assert!(apply.stdout.contains("null_resource.a: Import complete"), "{}", apply.dump());
    assert_eq!(s.addresses(), vec!["null_resource.a"]);
    assert_eq!(s.show()["resources"][0]["values"]["id"], "4521");

    // The block may stay; the address is managed now.
    s.tarn(&["plan", "--detailed-exitcode"]).ok().stdout_has("No changes.");
    s.tarn(&["plan"]).ok().stderr_has("Already managed");
}

#[test]
fn an_import_whose_configuration_differs_is_imported_then_updated_from_a_saved_plan() {
    let s = Stack::with(&fault_config("v2", ""));
    made_outside(&s, "v1");
    let plan = s.tarn(&["plan", "--out", "import.tarnplan"]).ok();
    insta::assert_snapshot!(redact(&plan.stdout));
    let shown = s.tarn(&["show", "import.tarnplan"]).ok();
    assert!(shown.stdout.contains("(imported from"), "{}", shown.dump());

    s.tarn(&["apply", "import.tarnplan"]).ok().stdout_has("fault_object.m: Import complete");
    assert_eq!(stored_value(&s), "v2", "updated after the import");
    assert_eq!(s.object_ids().into_iter().collect::<Vec<_>>(), vec![OUTSIDE.to_string()], "imported, not created");
    assert_eq!(s.state_ids().into_iter().collect::<Vec<_>>(), vec![OUTSIDE.to_string()]);
    s.tarn(&["plan", "--detailed-exitcode"]).ok();
}

/// A failed apply rolls back: the update after the import is undone, and the state forgets the
/// object, which it never deletes (it existed before tarn).
#[test]
fn a_rolled_back_apply_never_deletes_an_imported_object() {
    let broken =
        "\nresource \"fault_object\" \"broken\" {\n  name        = fault_object.m.value\n  fail_create = true\n}\n";
    let s = Stack::with(&fault_config("v2", broken));
    made_outside(&s, "v1");
    let run = s.tarn(&["apply", "--auto-approve"]).code(3);
    assert!(run.stdout.contains("forget the imported object"), "{}", run.dump());
    assert_eq!(s.object_ids().into_iter().collect::<Vec<_>>(), vec![OUTSIDE.to_string()], "still exists");
    assert_eq!(stored_value(&s), "v1", "the update was undone");
    assert!(s.addresses().is_empty(), "the state forgot it");
}

#[test]
fn an_import_block_in_json_syntax_imports() {
    let s = Stack::new();
    s.write(
        "main.tarn.json",
        r#"{
  "resource": { "null_resource": { "j": {} } },
  "import": [ { "to": "null_resource.j", "id": "77" } ]
}"#,
    );
    s.tarn(&["plan"]).ok().stdout_has("# null_resource.j will be imported");
    s.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(s.show()["resources"][0]["values"]["id"], "77");
}

#[test]
fn a_local_file_is_imported_with_its_content_and_checksums() {
    let s = Stack::with(
        "resource \"local_file\" \"motd\" {\n  filename        = \"motd.txt\"\n  content         = \"hello\\n\"\n  file_permission = \"0640\"\n}\n",
    );
    s.write("motd.txt", "hello\n");
    std::fs::set_permissions(s.path().join("motd.txt"), std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    s.tarn(&["import", "local_file.motd", "motd.txt"]).ok().stdout_has("Import successful");
    let values = &s.show()["resources"][0]["values"];
    assert_eq!(values["content"], "hello\n");
    assert_eq!(values["id"], "f572d396fae9206628714fb2ce00f72e94f2258f", "the SHA1 of the content");
    assert_eq!(values["content_sha256"], "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
    // Nothing differs: the configuration describes the file as it is.
    s.tarn(&["plan", "--detailed-exitcode"]).ok().stdout_has("No changes.");
    assert_eq!(s.read("motd.txt"), "hello\n");
}

#[test]
fn tarn_import_records_one_object_without_changing_it() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nvariable \"v\" {{\n  type = string\n}}\n\nresource \"fault_object\" \"m\" {{\n  name  = \"m\"\n  value = var.v\n}}\n"
    ));
    made_outside(&s, "v1");
    let run = s.tarn(&["import", "fault_object.m", OUTSIDE, "--var", "v=v1"]).ok();
    assert!(run.stdout.contains("Import successful: fault_object.m is now in the state"), "{}", run.dump());
    assert_eq!(s.state_ids().into_iter().collect::<Vec<_>>(), vec![OUTSIDE.to_string()]);
    assert_eq!(stored_value(&s), "v1");
    s.tarn(&["plan", "--var", "v=v1", "--detailed-exitcode"]).ok();
    // Now managed: a second import into the address is refused.
    let again = s.tarn(&["import", "fault_object.m", OUTSIDE, "--var", "v=v1"]).code(1);
    assert!(again.stderr.contains("already managed"), "{}", again.dump());
}

/// Every refusal of `tarn import`: exit 1, a message saying why and what to do, nothing written.
#[test]
fn tarn_import_refusals_change_nothing() {
    let s = Stack::with(&format!(
        "{FAULT_PROVIDER}\nresource \"fault_object\" \"m\" {{\n  name = \"m\"\n}}\n\nresource \"fault_object\" \"many\" {{\n  count = 2\n}}\n\n\
         resource \"local_sensitive_file\" \"s\" {{\n  filename = \"s.txt\"\n  content  = \"x\"\n}}\n"
    ));
    made_outside(&s, "v1");
    s.write("s.txt", "secret");
    s.tarn(&["workspace", "new", "default"]).ok(); // creates the (empty) state, so "unchanged" is a real claim
    let before = s.state_fingerprint();
    let cases: &[(&[&str], &str)] = &[
        (&["import", "fault_object.nope", OUTSIDE], "is not in the configuration"),
        (&["import", "fault_object.many[5]", OUTSIDE], "fault_object.many[0], fault_object.many[1]"),
        (&["import", "fault_object.m", "f00000000000000ff"], "import(fault_object, \"f00000000000000ff\")"),
        (&["import", "local_sensitive_file.s", "s.txt"], "does not support import"),
        (&["import", "data.fault_object.m", OUTSIDE], "data sources are read, not imported"),
        (&["import", "not an address!", OUTSIDE], "invalid address"),
    ];
    for (args, needle) in cases {
        let run = s.tarn(args).code(1);
        assert!(run.stderr.contains(needle), "{args:?}: stderr lacks {needle:?}\n{}", run.dump());
        assert!(run.stderr.to_lowercase().contains("nothing was changed"), "{args:?}\n{}", run.dump());
    }
    assert_eq!(s.state_fingerprint(), before, "the state changed");
    assert_eq!(s.object_ids().into_iter().collect::<Vec<_>>(), vec![OUTSIDE.to_string()]);
}

/// Bad import blocks: a diagnostic at the block for plan, apply and validate; nothing written.
#[test]
fn bad_import_blocks_are_refused_with_their_location() {
    let s = Stack::with(&fault_config("v1", ""));
    s.tarn(&["workspace", "new", "default"]).ok(); // creates the empty state
    let before = s.state_fingerprint();
    // The object does not exist: the provider's answer and the API call are named.
    for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        let run = s.tarn(args).code(1);
        assert!(run.stderr.contains("Error: Cannot import object"), "{}", run.dump());
        assert!(run.stderr.contains(&format!("import(fault_object, \"{OUTSIDE}\")")), "{}", run.dump());
        assert!(run.stderr.contains("main.tarn.hcl line 11, col 1"), "{}", run.dump());
    }
    // A target that is not declared: found by validate too.
    s.write(
        "main.tarn.hcl",
        &format!("{FAULT_PROVIDER}\nimport {{\n  to = fault_object.gone\n  id = \"{OUTSIDE}\"\n}}\n"),
    );
    let run = s.tarn(&["validate"]).code(1);
    insta::assert_snapshot!(redact(&run.stderr));
    s.tarn(&["plan"]).code(1).stderr_has("Import target not in configuration");
    assert_eq!(s.state_fingerprint(), before);
    assert!(s.object_ids().is_empty());
}
