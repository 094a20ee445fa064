//! The openstack provider end to end under `--sandbox` (its Keystone + Nova emulator): no
//! credentials is a clear refusal pointing at the sandbox; a key pair and a server apply, a second
//! plan is empty, a server renamed and stopped in the (emulated) console shows in `tarn drift`
//! and the next apply puts it back (rename, os-start), and destroy removes both; a failure later
//! in the same apply (a DNS record in a zone that does not exist) rolls both back.

use crate::harness::Stack;
use serde_json::Value as Json;

const OVH: &str = r#"
provider "openstack" {
  region = "GRA11"
}

resource "openstack_compute_keypair" "dev" {
  name       = "meveo-dev"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFHV5F7kkv6LCu11nEMA6huAwn17H38I70h9boLzOx2X dev@meveo"
}

resource "openstack_compute_instance" "dev" {
  name        = "dev-ovh"
  flavor_name = "d2-2"
  image_id    = "a1b2c3d4-0000-4000-8000-0000000022a4"
  key_pair    = openstack_compute_keypair.dev.name
  network_ids = ["b7f2a1c0-1111-4111-8111-00000000e7e7"]
}

output "address" {
  value = openstack_compute_instance.dev.access_ip_v4
}
"#;

/// No OS_* credentials from the machine running the tests.
const NO_CREDENTIALS: &[(&str, &str)] = &[
    ("OS_USERNAME", ""),
    ("OS_PASSWORD", ""),
    ("OS_PROJECT_ID", ""),
    ("OS_PROJECT_NAME", ""),
    ("OS_TENANT_ID", ""),
    ("OS_TENANT_NAME", ""),
    ("OS_AUTH_URL", "http://127.0.0.1:9/unreachable"),
];

fn objects(s: &Stack) -> Json {
    serde_json::from_str(&s.read(".tarn/sandbox/openstack.json")).expect("the emulator snapshot is JSON")
}

#[test]
fn an_ovh_server_applies_replans_clean_shows_drift_and_destroys_in_the_sandbox() {
    let s = Stack::new();
    s.write("main.tarn.hcl", OVH);
    s.tarn_with(&["apply", "--auto-approve"], NO_CREDENTIALS).code(1).stderr_has("OS_USERNAME").stderr_has("--sandbox");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CREDENTIALS)
        .ok()
        .stdout_has("Apply complete!")
        .stderr_has("Sandbox: provider \"openstack\" talks to its emulator at http://127.0.0.1:");
    let o = objects(&s);
    assert_eq!(o["servers"].as_array().map(Vec::len), Some(1), "{o}");
    assert_eq!(o["servers"][0]["status"], "ACTIVE", "create waited for ACTIVE: {o}");
    assert_eq!(o["servers"][0]["key_name"], "meveo-dev");
    assert_eq!(o["keypairs"].as_array().map(Vec::len), Some(1), "{o}");
    let address = s.tarn_with(&["output", "--sandbox", "address"], NO_CREDENTIALS).ok().stdout;
    assert!(address.contains("51.210."), "{address}");
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_CREDENTIALS).ok();

    // Someone renames the server and stops it in the console.
    let edited = s
        .read(".tarn/sandbox/openstack.json")
        .replace("\"dev-ovh\"", "\"renamed-by-hand\"")
        .replace("\"ACTIVE\"", "\"SHUTOFF\"");
    s.write(".tarn/sandbox/openstack.json", &edited);
    s.tarn_with(&["drift", "--sandbox"], NO_CREDENTIALS).code(2).stdout_has("renamed-by-hand").stdout_has("shutoff");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CREDENTIALS).ok();
    let o = objects(&s);
    assert_eq!(o["servers"][0]["name"], "dev-ovh", "renamed back: {o}");
    assert_eq!(o["servers"][0]["status"], "ACTIVE", "started again with os-start: {o}");
    s.tarn_with(&["drift", "--sandbox"], NO_CREDENTIALS).ok();

    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], NO_CREDENTIALS).ok();
    let o = objects(&s);
    assert_eq!(o["servers"].as_array().map(Vec::len), Some(0), "{o}");
    assert_eq!(o["keypairs"].as_array().map(Vec::len), Some(0), "{o}");
}

#[test]
fn a_failure_after_the_server_was_made_rolls_the_server_and_key_pair_back() {
    let s = Stack::new();
    // The record's zone does not exist: it fails after the key pair and the server were made.
    let config = format!(
        "{OVH}\nresource \"cloudflare_dns_record\" \"ovh\" {{\n  zone_id = \"00000000000000000000000000000000\"\n  name    = \"ovh\"\n  type    = \"A\"\n  content = openstack_compute_instance.dev.access_ip_v4\n}}\n"
    );
    s.write("main.tarn.hcl", &config);
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_CREDENTIALS).code(3).stderr_has("rolled back");
    let o = objects(&s);
    assert_eq!(o["servers"].as_array().map(Vec::len), Some(0), "the server was deleted again: {o}");
    assert_eq!(o["keypairs"].as_array().map(Vec::len), Some(0), "and the key pair: {o}");
}
