//! `examples/serverless` under `--sandbox`: a COGNIT serverless runtime (FaaS and DaaS) applied
//! against the OpenNebula emulator, re-planned clean, resized in place, and destroyed; an
//! unknown flavour refused at plan time, for a new runtime and an existing one; a new flavour
//! replaced; a size beyond the VM's limits refused at plan; a FAILED_DEPLOY service rolled
//! back; the emulator's own snapshot (`.tarn/sandbox/opennebula.json`) is the ground truth.

use crate::harness::Stack;
use serde_json::Value as Json;

fn example() -> Stack {
    let s = Stack::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/serverless");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), s.path().join(e.file_name())).unwrap();
        }
    }
    s
}

fn world(s: &Stack) -> Json {
    serde_json::from_str(&s.read(".tarn/sandbox/opennebula.json")).expect("the emulator snapshot is JSON")
}

fn live_vms(w: &Json) -> Vec<Json> {
    w["vms"].as_array().expect("vms").iter().filter(|v| v["state"] != 6).cloned().collect()
}

const NO_CLOUD: &[(&str, &str)] = &[("ONE_USERNAME", ""), ("ONE_PASSWORD", "")];

#[test]
fn the_serverless_example_applies_resizes_and_destroys_in_the_sandbox() {
    let s = example();
    s.tarn_with(&["plan"], NO_CLOUD).code(1).stderr_has("no OpenNebula credentials").stderr_has("--sandbox");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CLOUD)
        .ok()
        .stdout_has("Apply complete! Resources: 1 added")
        .stdout_has("endpoint   = \"10.0.")
        .stderr_has("Sandbox: provider \"opennebula\" talks to its emulator at http://127.0.0.1:");
    let w = world(&s);
    let services = w["services"].as_array().expect("services");
    assert_eq!(services.len(), 1, "{w}");
    assert_eq!(services[0]["body"]["state"], 2, "RUNNING: {w}");
    assert_eq!(live_vms(&w).len(), 2, "a FAAS and a DAAS VM: {w}");
    assert_eq!(w["documents"][0]["doc_type"], 1337, "the SERVERLESS_RUNTIME document: {w}");
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_CLOUD).ok().stdout_has("No changes");

    s.tarn_with(&["apply", "--sandbox", "--auto-approve", "--var", "faas_cpu=2"], NO_CLOUD)
        .ok()
        .stdout_has("1 changed");
    let w = world(&s);
    let faas =
        live_vms(&w).into_iter().find(|v| v["name"].as_str().is_some_and(|n| n.starts_with("FAAS"))).expect("FAAS VM");
    let vcpu = faas["template"].as_array().expect("template").iter().find(|a| a["Single"][0] == "VCPU").cloned();
    assert_eq!(vcpu.expect("VCPU")["Single"][1], "2", "resized in place: {faas}");
    assert_eq!(w["services"].as_array().map(Vec::len), Some(1), "same service");

    s.tarn_with(&["destroy", "--sandbox", "--auto-approve", "--var", "faas_cpu=2"], NO_CLOUD).ok();
    let w = world(&s);
    assert_eq!(w["services"].as_array().map(Vec::len), Some(0), "{w}");
    assert!(live_vms(&w).is_empty(), "{w}");
    assert_eq!(w["documents"].as_array().map(Vec::len), Some(0), "{w}");
}

const RUNTIME: &str = r#"
provider "opennebula" {
  timeout = 20
}

resource "opennebula_serverless_runtime" "r" {
  name = "r"
  faas {
    flavour = "FLAVOUR"
  }
}
"#;

#[test]
fn an_unknown_flavour_fails_the_plan_and_a_failed_deploy_is_rolled_back() {
    let s = Stack::new();
    s.write("main.tarn.hcl", &RUNTIME.replace("FLAVOUR", "nature"));
    s.tarn_with(&["plan", "--sandbox"], NO_CLOUD)
        .code(1)
        .stderr_has("unknown flavour \"nature\"")
        .stderr_has("Function-Data");

    s.write("main.tarn.hcl", &RUNTIME.replace("FLAVOUR", "FAILED_DEPLOY"));
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CLOUD)
        .code(3)
        .stdout_has("FAILED_DEPLOYING")
        .stdout_has("every completed change was rolled back");
    let w = world(&s);
    assert_eq!(w["services"].as_array().map(Vec::len), Some(0), "the rollback removed the service: {w}");
    assert!(live_vms(&w).is_empty(), "{w}");
    assert_eq!(s.state_ids().len(), 0, "nothing recorded");
}

const SIZED: &str = r#"
provider "opennebula" {
  timeout = 20
}

resource "opennebula_serverless_runtime" "r" {
  name = "r"
  faas {
    flavour = "Function"
    cpu     = CPU
  }
  DAAS
  lifecycle {
    create_before_destroy = true
  }
}
"#;

fn sized(cpu: &str, daas: &str) -> String {
    SIZED.replace("CPU", cpu).replace("DAAS", daas)
}

/// The plan asks the provider about an existing runtime too: an unknown flavour and a size
/// beyond the VM's limits fail it, naming the runtime; a new flavour is a replacement, shown as
/// one in the text and JSON plans, made new service first (create_before_destroy).
#[test]
fn an_existing_runtime_gets_a_replacement_for_a_new_flavour_and_plan_errors_for_the_impossible() {
    let s = Stack::new();
    s.write("main.tarn.hcl", &sized("1", ""));
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CLOUD).ok().stdout_has("1 added");
    let old_service = world(&s)["services"][0]["id"].clone();

    s.write("main.tarn.hcl", &sized("1", "").replace("\"Function\"", "\"nature\""));
    s.tarn_with(&["plan", "--sandbox"], NO_CLOUD)
        .code(1)
        .stderr_has("opennebula_serverless_runtime.r")
        .stderr_has("unknown flavour \"nature\"");
    s.write("main.tarn.hcl", &sized("64", ""));
    s.tarn_with(&["plan", "--sandbox"], NO_CLOUD)
        .code(1)
        .stderr_has("opennebula_serverless_runtime.r")
        .stderr_has("can grow in place to 2 CPUs");
    s.write("main.tarn.hcl", &sized("2", ""));
    s.tarn_with(&["plan", "--sandbox"], NO_CLOUD)
        .ok()
        .stdout_has("will be updated in-place")
        .stdout_has("0 to add, 1 to change, 0 to destroy");

    let daas = "daas {\n    flavour = \"Data\"\n  }";
    s.write("main.tarn.hcl", &sized("1", daas));
    s.tarn_with(&["plan", "--sandbox"], NO_CLOUD)
        .ok()
        .stdout_has("must be replaced (create before destroy)")
        .stdout_has("# forces replacement")
        .stdout_has("1 to add, 0 to change, 1 to destroy");
    let json = s.tarn_with(&["plan", "--sandbox", "--json"], NO_CLOUD).ok().json();
    let change = &json["changes"][0];
    assert_eq!(change["action"], "create_then_delete", "{json}");
    assert!(change.to_string().contains("daas"), "the reason names daas: {change}");
    assert_eq!(world(&s)["services"].as_array().map(Vec::len), Some(1), "a plan changes nothing");

    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CLOUD).ok().stdout_has("1 added, 0 changed, 1 destroyed");
    let w = world(&s);
    let services = w["services"].as_array().expect("services");
    assert_eq!(services.len(), 1, "the old service is gone: {w}");
    assert_ne!(services[0]["id"], old_service, "{w}");
    assert_eq!(live_vms(&w).len(), 2, "FAAS and DAAS: {w}");
    assert_eq!(w["documents"].as_array().map(Vec::len), Some(1), "one runtime document: {w}");
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_CLOUD).ok().stdout_has("No changes");
    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], NO_CLOUD).ok();
    assert!(live_vms(&world(&s)).is_empty());
}

/// Changes the emulator's world between two commands, as an operator working on OpenNebula
/// directly would (the sandbox emulator only runs during a command; its world is the snapshot).
fn edit_world(s: &Stack, edit: impl FnOnce(&mut Json)) {
    let mut w = world(s);
    edit(&mut w);
    s.write(".tarn/sandbox/opennebula.json", &w.to_string());
}

fn faas_vm(w: &mut Json) -> &mut Json {
    w["vms"]
        .as_array_mut()
        .expect("vms")
        .iter_mut()
        .find(|v| v["state"] != 6 && v["name"].as_str().is_some_and(|n| n.starts_with("FAAS")))
        .expect("a live FAAS VM")
}

/// Drift outside tarn, through the binary against the emulator: a function's VM gone (the
/// service falls to WARNING) is reported by `tarn drift` and planned as a replacement, which a
/// plain `tarn apply` makes; a VM failed in PROLOG (the service in WARNING, the VM still
/// there) is recovered in place by the next apply, the same service RUNNING again.
#[test]
fn a_runtime_broken_outside_tarn_is_reported_and_repaired_by_a_plain_apply() {
    let s = Stack::new();
    s.write("main.tarn.hcl", &RUNTIME.replace("FLAVOUR", "Function"));
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CLOUD).ok().stdout_has("1 added");
    let first = world(&s)["services"][0]["id"].clone();

    // A VM gone: terminated outside tarn (DONE).
    edit_world(&s, |w| {
        let vm = faas_vm(w);
        vm["state"] = 6.into();
        vm["lcm"] = 0.into();
    });
    s.tarn_with(&["drift", "--sandbox"], NO_CLOUD)
        .code(2)
        .stdout_has("opennebula_serverless_runtime.r")
        .stdout_has("WARNING")
        .stdout_has("GONE");
    s.tarn_with(&["plan", "--sandbox"], NO_CLOUD)
        .ok()
        .stdout_has("must be replaced")
        .stdout_has("service_state")
        .stdout_has("1 to add, 0 to change, 1 to destroy");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CLOUD).ok().stdout_has("1 added, 0 changed, 1 destroyed");
    let w = world(&s);
    let services = w["services"].as_array().expect("services");
    assert_eq!(services.len(), 1, "the broken service is gone: {w}");
    assert_ne!(services[0]["id"], first, "a new service: {w}");
    assert_eq!(services[0]["body"]["state"], 2, "RUNNING: {w}");
    assert_eq!(live_vms(&w).len(), 1, "{w}");
    assert_eq!(w["documents"].as_array().map(Vec::len), Some(1), "one runtime document: {w}");
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_CLOUD).ok().stdout_has("No changes");
    let second = services[0]["id"].clone();

    // A VM failed in PROLOG: the service in WARNING, recovered in place.
    edit_world(&s, |w| {
        let vm = faas_vm(w);
        vm["state"] = 3.into();
        vm["lcm"] = 39.into();
        vm["due"] = Json::Null;
    });
    s.tarn_with(&["drift", "--sandbox"], NO_CLOUD).code(2).stdout_has("WARNING");
    s.tarn_with(&["plan", "--sandbox"], NO_CLOUD)
        .ok()
        .stdout_has("will be updated in-place")
        .stdout_has("0 to add, 1 to change, 0 to destroy");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CLOUD).ok().stdout_has("0 added, 1 changed, 0 destroyed");
    let w = world(&s);
    let services = w["services"].as_array().expect("services");
    assert_eq!(services.len(), 1, "{w}");
    assert_eq!(services[0]["id"], second, "the same service, recovered: {w}");
    assert_eq!(services[0]["body"]["state"], 2, "RUNNING again: {w}");
    assert!(live_vms(&w).iter().all(|v| v["state"] == 3 && v["lcm"] == 3), "the VM runs again: {w}");
    s.tarn_with(&["drift", "--sandbox"], NO_CLOUD).ok();
    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], NO_CLOUD).ok();
    assert!(live_vms(&world(&s)).is_empty());
}
