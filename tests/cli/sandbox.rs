//! `--sandbox` and `tarn sim serve` end to end: the Cloudflare example applied against the
//! in-process emulator with no token and no network, re-planned with no changes, drift made in
//! the emulator's objects, destroyed; sandbox state kept apart from real state; the standalone
//! emulator started as a process and driven over plain HTTP; and a Scaleway server with a
//! flexible IP and a backup image applied, re-planned clean, drifted in the emulator's objects
//! and put back, refused when too big for its type, and destroyed.

use crate::harness::{Lines, Stack, wait_for};
use serde_json::{Value as Json, json};
use std::io::{Read, Write};
use std::time::Duration;

fn example() -> Stack {
    let s = Stack::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cloudflare");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        std::fs::copy(e.path(), s.path().join(e.file_name())).unwrap();
    }
    s
}

fn emulator_objects(s: &Stack) -> Json {
    serde_json::from_str(&s.read(".tarn/sandbox/cloudflare.json")).expect("the emulator snapshot is JSON")
}

fn count(objects: &Json, kind: &str) -> usize {
    objects[kind].as_array().map(Vec::len).unwrap_or(0)
}

const NO_TOKEN: &[(&str, &str)] =
    &[("CLOUDFLARE_API_TOKEN", ""), ("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9/unreachable")];

#[test]
fn the_cloudflare_example_applies_replans_clean_and_destroys_in_the_sandbox() {
    let s = example();
    // Without --sandbox there is no token: a clear refusal that points at the sandbox.
    s.tarn_with(&["plan"], NO_TOKEN).code(1).stderr_has("no API token").stderr_has("--sandbox");

    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_TOKEN)
        .ok()
        .stdout_has("Apply complete!")
        .stderr_has("Sandbox: provider \"cloudflare\" talks to its emulator at http://127.0.0.1:");
    assert!(s.path().join(".tarn/sandbox/state.db").exists());
    // The refused plain `plan` above may have opened the real state; it must record nothing
    // (checked through `tarn show` below).
    let objects = emulator_objects(&s);
    assert_eq!(count(&objects, "records"), 3, "{objects}");
    assert_eq!(count(&objects, "lockdowns"), 1, "{objects}");
    let www = objects["records"].as_array().unwrap().iter().find(|r| r["type"] == "A").expect("the A record");
    assert_eq!(www["name"], "www.example.com");
    assert_eq!(www["proxied"], true);
    assert!(www["tags"][0].as_str().is_some_and(|t| t.starts_with("tarn-correlation:")), "{www}");

    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_TOKEN).ok();
    let out = s.tarn_with(&["output", "--sandbox", "www"], NO_TOKEN).ok();
    assert!(out.stdout.contains("www.example.com"), "{}", out.stdout);
    let shown = s.tarn_with(&["show", "--sandbox", "--json"], NO_TOKEN).ok().json();
    let managed = shown["resources"].as_array().unwrap().iter().filter(|r| r["mode"] == "managed").count();
    assert_eq!(managed, 4, "{shown}");
    let real = s.tarn_with(&["show", "--json"], NO_TOKEN).ok().json();
    assert_eq!(real["resources"].as_array().map(Vec::len), Some(0), "sandbox objects never reach real state");

    // Drift: someone edits the record in the (emulated) dashboard.
    let edited = s.read(".tarn/sandbox/cloudflare.json").replace("192.0.2.10", "192.0.2.99");
    s.write(".tarn/sandbox/cloudflare.json", &edited);
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_TOKEN).code(2).stdout_has("192.0.2.99");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_TOKEN).ok();
    assert!(s.read(".tarn/sandbox/cloudflare.json").contains("192.0.2.10"), "apply put the address back");

    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], NO_TOKEN).ok();
    let objects = emulator_objects(&s);
    assert_eq!(count(&objects, "records"), 0, "{objects}");
    assert_eq!(count(&objects, "lockdowns"), 0, "{objects}");
    assert_eq!(count(&objects, "zones"), 3, "zones stay");
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_TOKEN).code(2);
}

/// One HTTP/1.1 exchange over a plain TCP connection: status, headers (lower-cased) and body.
fn http(method: &str, url: &str, body: Option<&str>) -> (u16, String, Json) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the emulator");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer tarn-sandbox-token\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the answer");
    let (head, payload) = raw.split_once("\r\n\r\n").expect("a complete HTTP answer");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
    (status, head.to_lowercase(), serde_json::from_str(payload).unwrap_or(Json::Null))
}

#[test]
fn sim_serve_runs_the_emulator_standalone_until_ctrl_c() {
    let s = Stack::new();
    s.tarn(&["sim", "serve", "--provider", "nope"]).code(1).stderr_has("no emulator for provider \"nope\"");
    let mut child = s.spawn(&["sim", "serve", "--provider", "cloudflare", "--json"]);
    let lines = Lines::follow(child.stdout.take().unwrap());
    let first =
        wait_for("the emulator's address", Duration::from_secs(20), || lines.text().lines().next().map(str::to_string));
    let info: Json = serde_json::from_str(&first).expect("one JSON object per emulator");
    assert_eq!(info["provider"], "cloudflare");
    let base = info["base_url"].as_str().unwrap().to_string();
    let faults = info["faults_url"].as_str().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/client/v4"), "{base}");

    let (status, head, zones) = http("GET", &format!("{base}/zones?name=example.com"), None);
    assert_eq!(status, 200);
    assert!(head.contains("ratelimit: \"default\";r="), "{head}");
    let zone_id = zones["result"][0]["id"].as_str().expect("the seed zone").to_string();
    let (status, _, created) = http(
        "POST",
        &format!("{base}/zones/{zone_id}/dns_records"),
        Some(r#"{"type":"A","name":"ci","content":"192.0.2.5"}"#),
    );
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["result"]["name"], "ci.example.com");

    let (status, _, _) = http("POST", &faults, Some(r#"{"fail_next": {"count": 1, "status": 503}}"#));
    assert_eq!(status, 200);
    let (status, _, failed) = http("GET", &format!("{base}/zones/{zone_id}/dns_records"), None);
    assert_eq!(status, 503);
    assert_eq!(failed["success"], false);
    let (status, _, listed) = http("GET", &format!("{base}/zones/{zone_id}/dns_records"), None);
    assert_eq!(status, 200);
    assert_eq!(listed["result_info"]["total_count"], 1);

    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        std::net::TcpStream::connect(base.trim_start_matches("http://").split('/').next().unwrap()).is_err(),
        "stopped listening"
    );
}

const SCALEWAY: &str = r#"
provider "scaleway" {}

resource "scaleway_instance_ip" "web" {}

resource "scaleway_instance_server" "web" {
  name          = "dev-web"
  type          = "DEV1-S"
  image         = "ubuntu_jammy"
  public_ip_ids = [scaleway_instance_ip.web.id]
  tags          = ["meveo"]

  delete_volumes_on_destroy = true
}

resource "scaleway_instance_image" "web" {
  name      = "dev-web-backup"
  server_id = scaleway_instance_server.web.id

  delete_snapshots_on_destroy = true
}

output "address" {
  value = scaleway_instance_ip.web.address
}
"#;

fn scaleway_objects(s: &Stack) -> Json {
    serde_json::from_str(&s.read(".tarn/sandbox/scaleway.json")).expect("the emulator snapshot is JSON")
}

#[test]
fn a_scaleway_server_with_a_flexible_ip_applies_replans_clean_and_destroys_in_the_sandbox() {
    let s = Stack::new();
    s.write("main.tarn.hcl", SCALEWAY);
    let no_key: &[(&str, &str)] = &[("SCW_SECRET_KEY", ""), ("SCW_API_URL", "http://127.0.0.1:9/unreachable")];
    s.tarn_with(&["plan"], no_key).code(1).stderr_has("no secret key").stderr_has("--sandbox");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], no_key)
        .ok()
        .stdout_has("Apply complete!")
        .stderr_has("Sandbox: provider \"scaleway\" talks to its emulator at http://127.0.0.1:");
    let objects = scaleway_objects(&s);
    let servers = objects["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 1, "{objects}");
    assert_eq!(servers[0]["state"], "running", "started through the poweron action");
    assert_eq!(objects["ips"][0]["server_id"], servers[0]["id"], "the flexible IP is attached");
    let address = s.tarn_with(&["output", "--sandbox", "address"], no_key).ok().stdout;
    assert!(address.contains("51.158."), "{address}");
    let images = objects["images"].as_array().expect("images");
    let backup = images.iter().find(|i| i["name"] == "dev-web-backup").expect("the backup image");
    assert_eq!(backup["from_server"], servers[0]["id"], "made by the server's backup action");
    assert_eq!(count(&objects, "snapshots"), 1, "a snapshot of its root volume: {objects}");
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], no_key).ok();

    // Drift: the server is renamed and powered off in the (emulated) console.
    let mut edited = scaleway_objects(&s);
    edited["servers"][0]["name"] = "dev-web-renamed".into();
    edited["servers"][0]["state"] = "stopped".into();
    s.write(".tarn/sandbox/scaleway.json", &edited.to_string());
    s.tarn_with(&["drift", "--sandbox"], no_key).code(2).stdout_has("dev-web-renamed").stdout_has("stopped");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], no_key).ok();
    let objects = scaleway_objects(&s);
    assert_eq!(objects["servers"][0]["name"], "dev-web", "apply renamed it back: {objects}");
    assert_eq!(objects["servers"][0]["state"], "running", "and powered it on again: {objects}");
    s.tarn_with(&["drift", "--sandbox"], no_key).ok();

    // A second server too big for its type: the plan fails naming the limit, nothing changes.
    s.write(
        "big.tarn.hcl",
        "resource \"scaleway_instance_server\" \"big\" {\n  name = \"dev-big\"\n  type = \"DEV1-S\"\n  image = \"ubuntu_jammy\"\n  root_volume_size_in_gb = 30\n}\n",
    );
    s.tarn_with(&["plan", "--sandbox"], no_key).code(1).stderr_has("between 10 GB and 20 GB");
    s.remove("big.tarn.hcl");

    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], no_key).ok();
    let objects = scaleway_objects(&s);
    assert_eq!(count(&objects, "servers"), 0, "{objects}");
    assert_eq!(count(&objects, "ips"), 0, "{objects}");
    assert_eq!(count(&objects, "volumes"), 0, "the root volume went with the server: {objects}");
    assert_eq!(count(&objects, "snapshots"), 0, "the snapshot went with the image: {objects}");
    assert!(objects["images"].as_array().expect("images").iter().all(|i| i["name"] != "dev-web-backup"));
}

const DIGITALOCEAN: &str = r#"
provider "digitalocean" {}

resource "digitalocean_ssh_key" "deploy" {
  name       = "pond-deploy"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGnSnVZlvmTBlpT6fZ8SbS6x5nNkNwZGZsOw2cV0aP3v pond@ci"
}

resource "digitalocean_droplet" "web" {
  count    = 2
  name     = "shop-prod-${count.index}"
  region   = "ams3"
  size     = "s-1vcpu-1gb"
  image    = "ubuntu-24-04-x64"
  ssh_keys = [digitalocean_ssh_key.deploy.id]
  project  = "shop"
}

resource "digitalocean_loadbalancer" "web" {
  name        = "shop-prod"
  region      = "ams3"
  droplet_tag = "shop"
  forwarding_rule = [{ entry_protocol = "http", entry_port = 80, target_protocol = "http", target_port = 80 }]
  healthcheck     = { protocol = "http", port = 80, path = "/" }
  depends_on      = [digitalocean_droplet.web]
}

resource "digitalocean_domain" "shop" {
  name = "shop.example"
}

resource "digitalocean_record" "www" {
  domain = digitalocean_domain.shop.id
  type   = "A"
  name   = "www"
  value  = digitalocean_loadbalancer.web.ip
}

output "first" {
  value = digitalocean_droplet.web[0].ipv4_address
}
"#;

fn digitalocean_objects(s: &Stack) -> Json {
    serde_json::from_str(&s.read(".tarn/sandbox/digitalocean.json")).expect("the emulator snapshot is JSON")
}

#[test]
fn digitalocean_droplets_behind_a_load_balancer_apply_show_drift_and_destroy_in_the_sandbox() {
    let s = Stack::new();
    s.write("main.tarn.hcl", DIGITALOCEAN);
    let env: &[(&str, &str)] = &[
        ("DIGITALOCEAN_TOKEN", ""),
        ("DIGITALOCEAN_API_URL", "http://127.0.0.1:9/unreachable"),
        ("TARN_SIM_DIGITALOCEAN_DROPLET_ADDRESSES", "127.0.0.1"),
    ];
    s.tarn_with(&["plan"], env).code(1).stderr_has("no API token").stderr_has("--sandbox");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], env)
        .ok()
        .stdout_has("Apply complete!")
        .stderr_has("Sandbox: provider \"digitalocean\" talks to its emulator at http://127.0.0.1:");
    let objects = digitalocean_objects(&s);
    let droplets = objects["droplets"].as_array().expect("droplets");
    assert_eq!(droplets.len(), 2, "{objects}");
    assert!(droplets.iter().all(|d| d["status"] == "active"), "waited for the create actions: {objects}");
    assert!(droplets.iter().all(|d| d["tags"].as_array().is_some_and(|t| t.contains(&Json::from("shop")))));
    let addresses: Vec<&str> = droplets.iter().filter_map(|d| d["public_v4"].as_str()).collect();
    assert!(addresses.contains(&"127.0.0.1"), "the pool named by the environment: {addresses:?}");
    assert_eq!(objects["balancers"][0]["status"], "active");
    assert_eq!(objects["balancers"][0]["tag"], "shop");
    let www = objects["records"].as_array().expect("records").iter().find(|r| r["name"] == "www").cloned();
    assert_eq!(www.expect("the www record")["data"], objects["balancers"][0]["ip"]);
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], env).ok();

    // A droplet powered off behind tarn's back is drift, and the plan powers it on again.
    let file = ".tarn/sandbox/digitalocean.json";
    let mut edited = digitalocean_objects(&s);
    edited["droplets"][1]["status"] = Json::from("off");
    s.write(file, &serde_json::to_string(&edited).unwrap());
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], env).code(2).stdout_has("power_state");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], env).ok();
    assert!(digitalocean_objects(&s)["droplets"].as_array().unwrap().iter().all(|d| d["status"] == "active"));

    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], env).ok();
    let objects = digitalocean_objects(&s);
    for kind in ["droplets", "balancers", "domains", "records", "keys"] {
        assert_eq!(count(&objects, kind), 0, "{kind}: {objects}");
    }
}

/// The seed's rule that a running server is stopped to change its type is said by the plan,
/// human and JSON, before anything is stopped.
#[test]
fn a_scaleway_type_change_plan_says_the_server_is_stopped_and_started_again() {
    let s = Stack::new();
    let config = "provider \"scaleway\" {}\n\nresource \"scaleway_instance_server\" \"web\" {\n  name  = \"dev-web\"\n  type  = \"DEV1-S\"\n  image = \"ubuntu_jammy\"\n\n  delete_volumes_on_destroy = true\n}\n";
    s.write("main.tarn.hcl", config);
    let no_key: &[(&str, &str)] = &[("SCW_SECRET_KEY", ""), ("SCW_API_URL", "http://127.0.0.1:9/unreachable")];
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], no_key).ok();
    s.write("main.tarn.hcl", &config.replace("DEV1-S", "DEV1-M"));
    let plan = s.tarn_with(&["plan", "--sandbox"], no_key).ok();
    assert!(
        plan.stdout.contains("# note: a running server is stopped, changed to the new type and started again"),
        "{}",
        plan.dump()
    );
    assert!(plan.stdout.contains("1 to change"), "an update, not a replacement: {}", plan.dump());
    let doc = s.tarn_with(&["plan", "--sandbox", "--json"], no_key).ok().json();
    let change = &doc["changes"][0];
    assert_eq!(change["action"], "update", "{doc}");
    assert_eq!(change["notes"][0], "a running server is stopped, changed to the new type and started again");
    assert_eq!(scaleway_objects(&s)["servers"][0]["state"], "running", "planning stopped nothing");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], no_key).ok();
    let server = &scaleway_objects(&s)["servers"][0];
    assert_eq!((server["commercial_type"].clone(), server["state"].clone()), (json!("DEV1-M"), json!("running")));
    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], no_key).ok();
}
