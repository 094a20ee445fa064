//! The meveo example (`examples/meveo/`) end to end under `--sandbox`, against the Scaleway,
//! OpenStack (OVH) and Cloudflare emulators with no account: it applies and re-plans empty; a Cloudflare failure
//! in the middle of the apply (the lockdown create answered with a 500 by the emulator's fault
//! switch) rolls every object back; a `kill -9` of tarn at points across the apply leaves, after
//! the next run, no object in either emulator that the state does not record. Also: a refused
//! Cloudflare token is one error naming the verify call, before any plan work; a DNS record
//! made outside tarn (meveo's button) is imported by `<zone_id>/<record_id>`.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::Duration;

use crate::harness::{Lines, Stack, wait_for};
use serde_json::Value as Json;

/// No real credentials anywhere, and real endpoints unreachable: only the sandbox can work.
const NO_ACCOUNT: &[(&str, &str)] = &[
    ("CLOUDFLARE_API_TOKEN", ""),
    ("CLOUDFLARE_BASE_URL", "http://127.0.0.1:9/unreachable"),
    ("SCW_SECRET_KEY", ""),
    ("SCW_API_URL", "http://127.0.0.1:9/unreachable"),
    ("OS_PASSWORD", ""),
    ("OS_AUTH_URL", "http://127.0.0.1:9/unreachable"),
];

fn meveo() -> Stack {
    let s = Stack::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/meveo");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "hcl") {
            std::fs::copy(e.path(), s.path().join(e.file_name())).unwrap();
        }
    }
    s
}

fn snapshot(s: &Stack, provider: &str) -> Json {
    let path = format!(".tarn/sandbox/{provider}.json");
    if !s.path().join(&path).exists() {
        return Json::Null;
    }
    serde_json::from_str(&s.read(&path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn items<'a>(objects: &'a Json, kind: &str) -> Vec<&'a Json> {
    objects[kind].as_array().map(|l| l.iter().collect()).unwrap_or_default()
}

fn id(o: &Json) -> String {
    o["id"].as_str().unwrap_or_else(|| panic!("no id in {o}")).to_string()
}

/// Every object the two emulators hold that a configuration can make, as "kind id": DNS
/// records and lockdown rules; servers, flexible IPs, security groups (not a project's default
/// one) and their rules. Zones and public images are the emulators' own. Volumes are checked
/// apart: they come and go with their server.
fn emulated(s: &Stack) -> BTreeSet<String> {
    let cf = snapshot(s, "cloudflare");
    let scw = snapshot(s, "scaleway");
    let mut out = BTreeSet::new();
    for (objects, kind) in [(&cf, "records"), (&cf, "lockdowns"), (&scw, "servers"), (&scw, "ips"), (&scw, "rules")] {
        out.extend(items(objects, kind).into_iter().map(|o| format!("{kind} {}", id(o))));
    }
    let groups = items(&scw, "groups").into_iter().filter(|g| g["project_default"] != true);
    out.extend(groups.map(|g| format!("groups {}", id(g))));
    let ovh = snapshot(s, "openstack");
    out.extend(items(&ovh, "servers").into_iter().map(|o| format!("ovh-servers {}", id(o))));
    out.extend(items(&ovh, "keypairs").into_iter().map(|o| format!("ovh-keypairs {}", o["name"].as_str().unwrap())));
    out
}

/// The same objects as the sandbox state records them.
fn recorded(s: &Stack) -> BTreeSet<String> {
    let shown = s.tarn_with(&["show", "--sandbox", "--json"], NO_ACCOUNT).ok().json();
    let kind = |t: &str| match t {
        "cloudflare_dns_record" => "records",
        "cloudflare_zone_lockdown" => "lockdowns",
        "scaleway_instance_server" => "servers",
        "scaleway_instance_ip" => "ips",
        "scaleway_instance_security_group" => "groups",
        "scaleway_instance_security_group_rule" => "rules",
        "openstack_compute_instance" => "ovh-servers",
        "openstack_compute_keypair" => "ovh-keypairs",
        other => panic!("the meveo example has no {other}"),
    };
    // The fault provider's gate (the rollback test) is not a cloud object.
    let ours = |r: &&Json| r["mode"] == "managed" && r["type"] != "fault_object";
    shown["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(ours)
        .map(|r| {
            let kind = kind(r["type"].as_str().unwrap());
            // A key pair is known to Nova by its name.
            let id = if kind == "ovh-keypairs" {
                r["values"]["name"].as_str().unwrap().to_string()
            } else {
                id(&r["values"])
            };
            format!("{kind} {id}")
        })
        .collect()
}

/// The state knows exactly what the emulators hold, and every volume belongs to a known server.
#[track_caller]
fn assert_nothing_unknown(s: &Stack, when: &str) {
    let real = emulated(s);
    let known = recorded(s);
    let unknown: Vec<_> = real.difference(&known).collect();
    let phantom: Vec<_> = known.difference(&real).collect();
    assert!(unknown.is_empty(), "{when}: objects tarn does not know about: {unknown:?}");
    assert!(phantom.is_empty(), "{when}: state records objects that do not exist: {phantom:?}");
    let scw = snapshot(s, "scaleway");
    for v in items(&scw, "volumes") {
        let server = v["server_id"].as_str().map(|i| format!("servers {i}"));
        assert!(server.is_some_and(|sv| known.contains(&sv)), "{when}: a volume no known server holds: {v}");
    }
}

#[track_caller]
fn assert_emulators_empty(s: &Stack, when: &str) {
    let left = emulated(s);
    assert!(left.is_empty(), "{when}: objects left in the emulators: {left:?}");
    let volumes = items(&snapshot(s, "scaleway"), "volumes").len();
    assert_eq!(volumes, 0, "{when}: volumes left");
}

/// `POST url body` over a plain TCP connection (the emulators' admin routes); the status.
fn post(url: &str, body: &str) -> u16 {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).expect("a path");
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the emulator");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("read the answer");
    raw.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status")
}

/// The fault-control URL of `provider`'s sandbox emulator, from what tarn says on stderr.
fn faults_url(stderr: &Lines, provider: &str) -> String {
    let marker = format!("Sandbox: provider \"{provider}\" talks to its emulator at ");
    wait_for("the sandbox emulator's address", Duration::from_secs(30), || {
        let text = stderr.text();
        let line = text.lines().find(|l| l.starts_with(&marker))?;
        let base = line[marker.len()..].split_whitespace().next()?;
        let host = base.strip_prefix("http://")?.split('/').next()?;
        Some(format!("http://{host}/__sim/faults"))
    })
}

#[test]
fn the_meveo_example_applies_and_replans_empty_in_the_sandbox() {
    let s = meveo();
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_ACCOUNT).ok().stdout_has("Apply complete!");

    let cf = snapshot(&s, "cloudflare");
    let scw = snapshot(&s, "scaleway");
    let (servers, ips, groups) = (items(&scw, "servers"), items(&scw, "ips"), items(&scw, "groups"));
    assert_eq!((servers.len(), ips.len(), groups.len()), (1, 1, 1), "{scw}");
    let server = servers[0];
    assert_eq!(server["name"], "dev-meveo", "meveo lists dev- servers only");
    assert_eq!(server["state"], "running");
    assert_eq!(ips[0]["server_id"], server["id"], "the reserved IP is attached");
    assert_eq!(items(&scw, "rules").len(), 2, "SSH from the office, HTTPS");
    let records = items(&cf, "records");
    assert_eq!(records.len(), 2, "a record for each server: {cf}");
    let record = |name: &str| *records.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no {name}: {cf}"));
    assert_eq!(record("dev-meveo.example.com")["type"], "A");
    assert_eq!(record("dev-meveo.example.com")["content"], ips[0]["address"], "the record points at the reserved IP");
    let ovh = snapshot(&s, "openstack");
    let ovh_servers = items(&ovh, "servers");
    assert_eq!(ovh_servers.len(), 1, "{ovh}");
    assert_eq!(ovh_servers[0]["name"], "dev-meveo-ovh", "meveo lists dev- servers only");
    let ovh_address = ovh_servers[0]["addresses"][0]["addr"].as_str().unwrap();
    assert_eq!(record("ovh.example.com")["content"], ovh_address, "the OVH record points at the OVH server");
    let rules = items(&cf, "lockdowns");
    assert_eq!(rules.len(), 1, "{cf}");
    assert_eq!(
        rules[0]["urls"],
        serde_json::json!(["dev-meveo.example.com/*", "ovh.example.com/*"]),
        "both records are locked down"
    );
    assert_nothing_unknown(&s, "after apply");

    let address = s.tarn_with(&["output", "--sandbox", "server_address"], NO_ACCOUNT).ok().stdout;
    assert!(address.contains(ips[0]["address"].as_str().unwrap()), "{address}");
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_ACCOUNT).ok().stdout_has("No changes.");

    // A second dev record in the lockdown rule: the rule is updated in place, not replaced.
    let main = s.read("main.tarn.hcl");
    s.write(
        "main.tarn.hcl",
        &main.replace(
            "    cloudflare_dns_record.scaleway_dev,\n",
            "    cloudflare_dns_record.scaleway_dev,\n    cloudflare_dns_record.second,\n",
        ),
    );
    s.write(
        "second.tarn.hcl",
        "resource \"cloudflare_dns_record\" \"second\" {\n  zone_id = var.zone_id\n  name    = \"dev-second\"\n  type    = \"A\"\n  content = \"192.0.2.50\"\n}\n",
    );
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_ACCOUNT)
        .ok()
        .stdout_has("1 to add, 1 to change, 0 to destroy");
    let rule = &snapshot(&s, "cloudflare")["lockdowns"][0];
    assert_eq!(
        rule["urls"],
        serde_json::json!(["dev-meveo.example.com/*", "dev-second.example.com/*", "ovh.example.com/*"])
    );
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_ACCOUNT).ok();

    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], NO_ACCOUNT).ok();
    assert_emulators_empty(&s, "after destroy");
    assert!(s.tarn_with(&["state", "list", "--sandbox"], NO_ACCOUNT).ok().stdout.trim().is_empty());
}

#[test]
fn a_cloudflare_failure_in_the_middle_of_the_apply_rolls_everything_back() {
    let s = meveo();
    // A gate between the record and the lockdown rule: a slow object of the fault provider,
    // so the test can flip the Cloudflare emulator's fault switch while it is being created.
    s.write(
        "gate.tarn.hcl",
        "provider \"fault\" {\n  dir = \"${path.module}/objs\"\n}\n\nresource \"fault_object\" \"gate\" {\n  name       = \"gate\"\n  value      = cloudflare_dns_record.scaleway_dev.id\n  latency_ms = 1500\n}\n",
    );
    let main = s.read("main.tarn.hcl");
    let gated = main.replace(
        "  description = \"meveo dev servers: office only\"\n",
        "  description = \"meveo dev servers: office only\"\n  depends_on  = [fault_object.gate]\n",
    );
    assert_ne!(gated, main, "the lockdown rule waits for the gate");
    s.write("main.tarn.hcl", &gated);

    let mut child = s.spawn_with(&["apply", "--sandbox", "--auto-approve"], NO_ACCOUNT);
    let stdout = Lines::follow(child.stdout.take().unwrap());
    let stderr = Lines::follow(child.stderr.take().unwrap());
    let faults = faults_url(&stderr, "cloudflare");
    wait_for("the gate's create", Duration::from_secs(60), || {
        stdout.text().contains("fault_object.gate: Creating...").then_some(())
    });
    // The next Cloudflare requests, the lockdown rule's create and the executor's two retries
    // of it (3 attempts in all; the HTTP client never repeats a POST itself), fail with a 500.
    // The rollback's deletes come after them and succeed.
    assert_eq!(post(&faults, r#"{"fail_next": {"count": 3, "status": 500}}"#), 200);
    let status = child.wait().unwrap();
    let (out, err) = (stdout.finish(), stderr.finish());
    assert_eq!(status.code(), Some(3), "rolled back\nstdout:\n{out}\nstderr:\n{err}");
    // Whichever Cloudflare create comes next takes the three failures: the lockdown rule, or
    // the OVH server's record when that server finishes after the gate started.
    assert!(
        out.contains("cloudflare_zone_lockdown.dev: retrying (attempt 3)")
            || out.contains("cloudflare_dns_record.ovh: retrying (attempt 3)"),
        "{out}"
    );
    assert!(err.contains("every completed change was rolled back"), "{err}");
    assert!(out.contains("HTTP 500"), "the failure is reported in the vendor's words: {out}");
    for undone in [
        "cloudflare_dns_record.scaleway_dev",
        "scaleway_instance_server.dev",
        "scaleway_instance_ip.dev",
        "openstack_compute_instance.dev",
        "openstack_compute_keypair.meveo",
    ] {
        let line = format!("{undone}: rollback: delete the object this apply created done");
        assert!(out.contains(&line), "{line:?} missing:\n{out}");
    }

    assert_emulators_empty(&s, "after the rollback");
    assert!(s.tarn_with(&["state", "list", "--sandbox"], NO_ACCOUNT).ok().stdout.trim().is_empty(), "state empty");
    assert!(s.all_files_in_objs().is_empty(), "the gate was rolled back too: {:?}", s.all_files_in_objs());

    // Nothing was left half-done: the same configuration applies cleanly afterwards.
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_ACCOUNT).ok();
    assert_nothing_unknown(&s, "after the second apply");
    s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], NO_ACCOUNT).ok();
    assert_emulators_empty(&s, "after destroy");
}

#[test]
fn kill_9_in_the_middle_of_the_apply_leaves_nothing_tarn_does_not_know_about() {
    // Each emulator answers after 40 ms, so the apply's provider calls spread over about a
    // second and the kill points land among them: among the IP, group and rules, while the
    // server boots (created, not yet recorded), around the record and the lockdown rule, after.
    // Regression: a server adopted after such a kill lost its dependencies, so the destroy
    // deleted its security group beside it (409 "Group is in use").
    for (n, ms) in [0u64, 200, 450, 620, 660, 700, 740, 780, 1000].into_iter().enumerate() {
        let s = meveo();
        let mut child = s.spawn_with(&["apply", "--sandbox", "--auto-approve"], NO_ACCOUNT);
        let stdout = Lines::follow(child.stdout.take().unwrap());
        let stderr = Lines::follow(child.stderr.take().unwrap());
        for provider in ["cloudflare", "scaleway"] {
            assert_eq!(post(&faults_url(&stderr, provider), r#"{"latency_ms": 40}"#), 200);
        }
        wait_for("apply to start", Duration::from_secs(60), || stdout.text().contains("Applying ").then_some(()));
        std::thread::sleep(Duration::from_millis(ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL on Unix.
        child.wait().unwrap();
        let label = format!("apply killed {ms} ms after \"Applying\"");
        eprintln!(
            "{label}: {} object(s) in the emulators, tarn {}",
            emulated(&s).len(),
            if finished { "had finished" } else { "killed" }
        );

        // The next run recovers (adopts what the killed one made, or removes it).
        if n % 2 == 0 {
            s.tarn_with(&["plan", "--sandbox"], NO_ACCOUNT).ok();
            assert_nothing_unknown(&s, &format!("{label}, after plan"));
        }
        s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_ACCOUNT).ok();
        assert_nothing_unknown(&s, &format!("{label}, after apply"));
        assert_eq!(emulated(&s).len(), 10, "{label}: every object exists once: {:?}", emulated(&s));
        let again = s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_ACCOUNT);
        assert_eq!(again.code, 0, "{label}: the second apply did not converge\n{}", again.dump());
        s.tarn_with(&["destroy", "--sandbox", "--auto-approve"], NO_ACCOUNT).ok();
        assert_emulators_empty(&s, &format!("{label}, after destroy"));
    }
}

#[test]
fn a_refused_cloudflare_token_is_one_error_naming_the_verify_call() {
    let s = meveo();
    let mut emulator = s.spawn(&["sim", "serve", "--provider", "cloudflare", "--json"]);
    let lines = Lines::follow(emulator.stdout.take().unwrap());
    let first =
        wait_for("the emulator's address", Duration::from_secs(20), || lines.text().lines().next().map(str::to_string));
    let info: Json = serde_json::from_str(&first).expect("one JSON object per emulator");
    let base = info["base_url"].as_str().unwrap().to_string();
    // Only the Cloudflare part, so the token check is the first thing that can fail.
    s.remove("ovh.tarn.hcl");
    s.remove("main.tarn.hcl");
    s.write(
        "main.tarn.hcl",
        "provider \"cloudflare\" {}\n\ndata \"cloudflare_zone_lockdowns\" \"dev\" {\n  zone_id = var.zone_id\n}\n\noutput \"active\" {\n  value = data.cloudflare_zone_lockdowns.dev.active_rules\n}\n",
    );
    let env = |token: &'static str| [("CLOUDFLARE_API_TOKEN", token), ("CLOUDFLARE_BASE_URL", base.as_str())];

    let refused = s.tarn_with(&["plan"], &env("revoked-token")).code(1);
    assert!(refused.stderr.contains(&format!("GET {base}/user/tokens/verify")), "{}", refused.stderr);
    assert!(refused.stderr.contains("Invalid API Token (code 1000)"), "{}", refused.stderr);
    assert!(!refused.stderr.contains("revoked-token") && !refused.stdout.contains("revoked-token"));
    assert_eq!(refused.stderr.matches("Error:").count(), 1, "one error:\n{}", refused.stderr);
    assert!(!refused.stdout.contains("Plan:"), "no plan work: {}", refused.stdout);

    // The token `tarn sim serve` knows is the sandbox's.
    s.tarn_with(&["apply", "--auto-approve"], &env("tarn-sandbox-token")).ok().stdout_has("active = 0");
}

#[test]
fn a_dns_record_made_by_hand_is_imported_and_then_managed() {
    // meveo's "Create dns record" button made this record before tarn: it is in the
    // (emulated) zone, unknown to the state.
    let s = Stack::new();
    s.write("main.tarn.hcl", "provider \"cloudflare\" {}\n");
    s.tarn_with(&["plan", "--sandbox"], NO_ACCOUNT).ok();
    let zone = "4345ca76619668c93cc1671e6a97530a";
    let id = "5b1f0c2e9d8a4f6b8c7d6e5f4a3b2c1d";
    let mut objects = snapshot(&s, "cloudflare");
    objects["records"] = serde_json::json!([{
        "id": id, "zone_id": zone, "name": "dev-legacy.example.com", "type": "A", "content": "192.0.2.60",
        "ttl": 300, "proxied": false, "priority": null, "comment": "made with meveo's button", "tags": [],
        "created_on": "2026-01-05T10:00:00.000000Z", "modified_on": "2026-01-05T10:00:00.000000Z",
    }]);
    s.write(".tarn/sandbox/cloudflare.json", &objects.to_string());

    s.write(
        "main.tarn.hcl",
        &format!(
            "provider \"cloudflare\" {{}}\n\nimport {{\n  to = cloudflare_dns_record.legacy\n  id = \"{zone}/{id}\"\n}}\n\n\
             resource \"cloudflare_dns_record\" \"legacy\" {{\n  zone_id = \"{zone}\"\n  name    = \"dev-legacy\"\n  type    = \"A\"\n  \
             content = \"192.0.2.60\"\n  ttl     = 300\n  comment = \"managed by tarn now\"\n}}\n"
        ),
    );
    // The import carries an update: the new comment (and the name in the configuration's
    // relative spelling, which the provider only learns from the configuration once imported).
    s.tarn_with(&["plan", "--sandbox"], NO_ACCOUNT)
        .ok()
        .stdout_has(&format!("(imported from \"{zone}/{id}\")"))
        .stdout_has("Plan: 1 to import, 0 to add, 1 to change, 0 to destroy.");
    s.tarn_with(&["apply", "--sandbox", "--auto-approve"], NO_ACCOUNT)
        .ok()
        .stdout_has("cloudflare_dns_record.legacy: Import complete");
    let records = snapshot(&s, "cloudflare")["records"].clone();
    assert_eq!(records.as_array().map(Vec::len), Some(1), "imported, not created again: {records}");
    assert_eq!(records[0]["id"], id);
    assert_eq!(records[0]["comment"], "managed by tarn now", "the import's update applied in place");
    assert_eq!(recorded(&s), BTreeSet::from([format!("records {id}")]));
    s.tarn_with(&["plan", "--sandbox", "--detailed-exitcode"], NO_ACCOUNT).ok().stdout_has("No changes.");
}
