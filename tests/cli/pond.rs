//! The pond provider end to end through the `tarn` binary, against two real sshd instances and
//! a real Apache + PHP per server (`tarn_provider_pond::testing`): provision and deploy v1,
//! deploy v2 to green (the live site still v1), a plan that shows which build goes live, a switch
//! that fails on the second server (exit 3, both servers back on blue), the switch, drift after
//! a hand-made switch (exit 2), destroy. Then the same flow with the servers as DigitalOcean
//! droplets under `--sandbox`: the emulator reports 127.0.0.2 and 127.0.0.3 for the droplets
//! (`TARN_SIM_DIGITALOCEAN_DROPLET_ADDRESSES`), where the two sshd listen on one port, and
//! `pond_server.host` is the droplet's `ipv4_address`, unknown until the droplet exists.

use std::net::Ipv4Addr;

use crate::harness::Stack;
use tarn_provider_pond::testing::{TestServer, build_dir, get_at, readlink, sh, web_user};

/// A `pond_server` block for `s`; `host` is an HCL expression (a literal or a droplet's address).
fn server_block(name: &str, host: &str, s: &TestServer, reload: &str) -> String {
    let (user, group) = web_user();
    format!(
        r#"
resource "pond_server" "{name}" {{
  host                 = {host}
  port                 = {port}
  user                 = "{ssh_user}"
  private_key_file     = "{key}"
  host_key_fingerprint = "{fp}"
  root                 = "{root}"
  web_user             = "{user}"
  web_group            = "{group}"
  vhost_dir            = "{vhosts}"
  reload_command       = "{reload}"
  http_port            = {http}
}}
"#,
        port = s.sshd.port(),
        ssh_user = s.sshd.user(),
        key = s.sshd.client_key_path().display(),
        fp = s.sshd.host_key_fingerprint().unwrap(),
        root = s.root().display(),
        vhosts = s.apache.vhost_dir(),
        http = s.apache.port,
    )
}

const LOOPBACK: &str = r#""127.0.0.1""#;

const ENVIRONMENT: &str = r#"
variable "build" {
  default = "v1"
}
variable "live" {
  default = "blue"
}
variable "live_build" {
  default = null
}

resource "pond_environment" "production" {
  project       = "shop"
  name          = "production"
  type          = "load_balanced"
  servers       = [pond_server.a.connection, pond_server.b.connection]
  domain        = "shop.test"
  secret_prefix = "s3cret"
  build         = var.build
  source        = "build-${var.build}"
  live          = var.live
  live_build    = var.live_build
  config_templates = { "config/app.php" = "<?php return ['greeting' => '{{greeting}}'];\n" }
  config_variables = { greeting = "hi" }
}
"#;

#[test]
fn a_switch_is_a_planned_change_all_servers_or_none_with_drift_and_destroy() {
    let a = TestServer::start();
    let b = TestServer::start();
    let stack = Stack::new();
    let flag = stack.path().join("break-b");
    let config = server_block("a", LOOPBACK, &a, &a.apache.reload_command())
        + &server_block("b", LOOPBACK, &b, &format!("test ! -e {} && {}", flag.display(), b.apache.reload_command()))
        + ENVIRONMENT;
    stack.write("main.tarn.hcl", &config);
    build_dir(stack.path(), "v1");
    build_dir(stack.path(), "v2");
    stack.tarn(&["state", "keygen"]).ok();

    let run = stack.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert!(!run.stdout.contains("s3cret"), "the secret prefix is sensitive: {}", run.dump());
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v1 hi blue");
    }

    let run = stack.tarn(&["apply", "--auto-approve", "--var", "build=v2"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v1 hi blue", "a deployment never switches");
        assert_eq!(s.apache.get("s3cret-green.shop.test"), "build v2 hi green");
    }

    let switch = ["--var", "build=v2", "--var", "live=green", "--var", "live_build=v2"];
    let plan: Vec<&str> = ["plan", "--detailed-exitcode"].into_iter().chain(switch).collect();
    let run = stack.tarn(&plan);
    assert_eq!(run.code, 2, "{}", run.dump());
    assert!(
        run.stdout.contains(r#""blue" -> "green""#) && run.stdout.contains(r#""v1" -> "v2""#),
        "the plan shows which build goes live: {}",
        run.dump()
    );

    // The second server cannot reload: the apply fails, both servers are back on blue.
    std::fs::write(&flag, "").unwrap();
    let apply: Vec<&str> = ["apply", "--auto-approve"].into_iter().chain(switch).collect();
    let run = stack.tarn(&apply);
    assert_eq!(run.code, 3, "{}", run.dump());
    assert!(run.stdout.contains("No server was left switched"), "{}", run.dump());
    for s in [&a, &b] {
        assert_eq!(readlink(&s.env_dir("shop", "production").join("current")), "blue");
        assert_eq!(s.apache.get("shop.test"), "build v1 hi blue");
    }

    std::fs::remove_file(&flag).unwrap();
    let run = stack.tarn(&apply);
    assert_eq!(run.code, 0, "{}", run.dump());
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v2 hi green");
    }

    // A hand-made switch on A is drift; the next apply puts it back.
    sh(&format!("cd {} && ln -s blue x && mv -T x current", a.env_dir("shop", "production").display()));
    let run = stack.tarn(&plan);
    assert_eq!(run.code, 2, "{}", run.dump());
    assert!(run.stdout.contains("mixed ("), "{}", run.dump());
    let run = stack.tarn(&apply);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert_eq!(a.apache.get("shop.test"), "build v2 hi green");

    let destroy: Vec<&str> = ["destroy", "--auto-approve"].into_iter().chain(switch).collect();
    let run = stack.tarn(&destroy);
    assert_eq!(run.code, 0, "{}", run.dump());
    for s in [&a, &b] {
        assert!(!s.apache.get("shop.test").contains("build"));
        assert!(!s.root().join("server.json").exists());
    }
}

/// Two droplets in the DigitalOcean emulator (under `--sandbox`), each leading to its own real
/// sshd: the emulator's address pool hands the first droplet 127.0.0.2 and the second (made
/// after it) 127.0.0.3, where the two sshd listen on one port, as droplets all answer on 22.
/// Each `pond_server` pins its own sshd's host key: a droplet leading to the wrong sshd fails.
const DROPLETS: &str = r#"
resource "digitalocean_droplet" "a" {
  name    = "shop-production-a"
  region  = "ams3"
  size    = "s-1vcpu-1gb"
  image   = "debian-12-x64"
  project = "shop"
}

resource "digitalocean_droplet" "b" {
  depends_on = [digitalocean_droplet.a]
  name    = "shop-production-b"
  region  = "ams3"
  size    = "s-1vcpu-1gb"
  image   = "debian-12-x64"
  project = "shop"
}
"#;

/// No DigitalOcean account, and the real API unreachable: only the sandbox's emulator can
/// answer; its droplets report 127.0.0.2 and 127.0.0.3, where the test's sshd run.
const SANDBOX_ENV: &[(&str, &str)] = &[
    ("DIGITALOCEAN_TOKEN", ""),
    ("DIGITALOCEAN_ACCESS_TOKEN", ""),
    ("DIGITALOCEAN_API_URL", "http://127.0.0.1:9/unreachable"),
    ("TARN_SIM_DIGITALOCEAN_DROPLET_ADDRESSES", "127.0.0.2,127.0.0.3"),
];

fn droplets_in_emulator(stack: &Stack) -> Vec<serde_json::Value> {
    let snapshot: serde_json::Value =
        serde_json::from_str(&stack.read(".tarn/sandbox/digitalocean.json")).expect("the emulator snapshot is JSON");
    snapshot["droplets"].as_array().cloned().unwrap_or_default()
}

#[test]
fn droplets_from_the_sandbox_lead_to_real_sshd_provisioned_deployed_switched_and_destroyed() {
    let a = TestServer::start_on(Ipv4Addr::new(127, 0, 0, 2), 0);
    let b = TestServer::start_on(Ipv4Addr::new(127, 0, 0, 3), a.sshd.port());
    let stack = Stack::new();
    let config = DROPLETS.to_string()
        + &server_block("a", "digitalocean_droplet.a.ipv4_address", &a, &a.apache.reload_command())
        + &server_block("b", "digitalocean_droplet.b.ipv4_address", &b, &b.apache.reload_command())
        + ENVIRONMENT;
    stack.write("main.tarn.hcl", &config);
    build_dir(stack.path(), "v1");
    build_dir(stack.path(), "v2");
    stack.tarn(&["state", "keygen"]).ok();
    let tarn = |args: &[&str]| {
        let args: Vec<&str> = args.iter().copied().chain(["--sandbox"]).collect();
        stack.tarn_with(&args, SANDBOX_ENV)
    };

    // The servers' address is the droplets': unknown until they exist.
    let run = tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.dump());
    let unknown_host = |l: &&str| l.trim_start().starts_with("+ host ") && l.contains("(known after apply)");
    assert_eq!(run.stdout.lines().filter(unknown_host).count(), 2, "{}", run.dump());

    let run = tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert!(run.stderr.contains("Sandbox: provider \"digitalocean\" talks to its emulator"), "{}", run.dump());
    let droplets = droplets_in_emulator(&stack);
    assert_eq!(droplets.len(), 2, "{droplets:?}");
    let shown = tarn(&["show", "--json"]).ok().json();
    let values = |address: &str| {
        let found = shown["resources"].as_array().unwrap().iter().find(|r| r["address"] == address);
        found.unwrap_or_else(|| panic!("{address} not in {shown}"))["values"].clone()
    };
    for (name, address) in [("a", "127.0.0.2"), ("b", "127.0.0.3")] {
        let droplet = values(&format!("digitalocean_droplet.{name}"));
        assert_eq!(droplet["ipv4_address"], address, "{droplet}");
        assert_eq!(values(&format!("pond_server.{name}"))["host"], droplet["ipv4_address"]);
    }
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v1 hi blue");
        assert_eq!(readlink(&s.env_dir("shop", "production").join("current")), "blue");
    }
    let run = tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "nothing left to do: {}", run.dump());

    // Deploy v2 to green: the live site still answers v1.
    let run = tarn(&["apply", "--auto-approve", "--var", "build=v2"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v1 hi blue", "a deployment never switches");
        assert_eq!(s.apache.get("s3cret-green.shop.test"), "build v2 hi green");
    }

    // The switch, planned then applied.
    let switch = ["--var", "build=v2", "--var", "live=green", "--var", "live_build=v2"];
    let plan: Vec<&str> = ["plan", "--detailed-exitcode"].into_iter().chain(switch).collect();
    let run = tarn(&plan);
    assert_eq!(run.code, 2, "{}", run.dump());
    assert!(run.stdout.contains(r#""blue" -> "green""#) && run.stdout.contains(r#""v1" -> "v2""#), "{}", run.dump());
    assert!(!run.stdout.contains("# digitalocean_droplet"), "the switch touches no droplet: {}", run.dump());
    let apply: Vec<&str> = ["apply", "--auto-approve"].into_iter().chain(switch).collect();
    let run = tarn(&apply);
    assert_eq!(run.code, 0, "{}", run.dump());
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v2 hi green");
        assert_eq!(readlink(&s.env_dir("shop", "production").join("current")), "green");
    }

    let destroy: Vec<&str> = ["destroy", "--auto-approve"].into_iter().chain(switch).collect();
    let run = tarn(&destroy);
    assert_eq!(run.code, 0, "{}", run.dump());
    for s in [&a, &b] {
        assert!(!s.apache.get("shop.test").contains("build"));
        assert!(!s.root().join("server.json").exists());
    }
    assert_eq!(droplets_in_emulator(&stack), Vec::<serde_json::Value>::new(), "the droplets are deleted");
    let real = stack.tarn(&["show", "--json"]).ok().json();
    assert_eq!(real["resources"].as_array().map(Vec::len), Some(0), "sandbox objects never reach real state");
}

/// `examples/pond` as it is, under `--sandbox`: the sandbox starts an sshd and an Apache per
/// droplet address on this machine, pinned by host key; the walk-through of the example's README
/// (apply, deploy v2, test green, switch, destroy) against them, with the sites served between
/// runs by `tarn sim serve --provider pond`; the plan (text and JSON) says which build goes live
/// without the configuration naming it; and no process is left running after.
#[test]
fn the_pond_example_runs_under_the_sandbox_with_its_own_servers_and_stops_them() {
    let stack = Stack::new();
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/pond"), stack.path());
    // Under root Apache's workers are www-data: they must enter the example's directory.
    sh(&format!("chmod 755 {}", stack.path().display()));
    stack.tarn(&["state", "keygen"]).ok();
    let env: &[(&str, &str)] = &[
        ("TARN_VAR_secret_prefix", "k7x2"),
        ("TARN_VAR_db_password", "sandbox-password"),
        ("DIGITALOCEAN_TOKEN", ""),
        ("DIGITALOCEAN_API_URL", "http://127.0.0.1:9/unreachable"),
    ];
    let tarn = |args: &[&str]| {
        let args: Vec<&str> = args.iter().copied().chain(["--sandbox"]).collect();
        stack.tarn_with(&args, env)
    };

    let run = tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    for n in ["web1 at 127.0.100.1", "web2 at 127.0.100.2"] {
        assert!(run.stderr.contains(&format!("Sandbox: Pond server {n}: sshd on port")), "{}", run.dump());
    }
    assert!(run.stderr.contains("pinned"), "{}", run.dump());
    assert!(run.stderr.contains("Sandbox: stopped sshd on 127.0.100.1"), "{}", run.dump());
    assert!(!run.stdout.contains("sandbox-password") && !run.stdout.contains("k7x2"), "{}", run.dump());
    let servers: serde_json::Value = serde_json::from_str(&stack.read(".tarn/sandbox/pond/servers.json")).unwrap();
    let web: Vec<(Ipv4Addr, u16)> = servers
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["address"].as_str().unwrap().parse().unwrap(), s["http_port"].as_u64().unwrap() as u16))
        .collect();
    let ssh: Vec<(Ipv4Addr, u16)> = servers
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["address"].as_str().unwrap().parse().unwrap(), s["ssh_port"].as_u64().unwrap() as u16))
        .collect();
    let shown = tarn(&["show", "--json"]).ok().json();
    let droplet_addresses: Vec<String> = shown["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "digitalocean_droplet")
        .map(|r| r["values"]["ipv4_address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(droplet_addresses, ["127.0.100.1", "127.0.100.2"], "droplets lead to the sandbox's servers");
    // The domain's records: the apex A at the load balancer, www a CNAME, staging's A at web1.
    let value = |address: &str| {
        let found = shown["resources"].as_array().unwrap().iter().find(|r| r["address"] == address);
        found.unwrap_or_else(|| panic!("{address} not in {shown}"))["values"].clone()
    };
    assert_eq!(value("digitalocean_record.apex")["value"], value("digitalocean_loadbalancer.production")["ip"]);
    assert_eq!(
        (value("digitalocean_record.www")["type"].as_str(), value("digitalocean_record.www")["value"].as_str()),
        (Some("CNAME"), Some("@"))
    );
    assert_eq!(value("digitalocean_record.staging")["value"], "127.0.100.1");
    assert_eq!(tarn(&["plan", "--detailed-exitcode"]).code, 0, "nothing left to do");

    // Deploy v2: it goes to green; the live site still answers v1.
    let run = tarn(&["apply", "--auto-approve", "--var", "production_build=v2"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    let mut serve = stack.spawn_with(&["sim", "serve", "--provider", "pond"], env);
    let out = crate::harness::Lines::follow(serve.stdout.take().unwrap());
    crate::harness::wait_for("the sandbox's web servers", std::time::Duration::from_secs(30), || {
        out.text().contains("press Ctrl-C").then_some(())
    });
    let get = |(addr, port): (Ipv4Addr, u16), host: &str| get_at(addr, port, host).unwrap();
    for w in &web {
        assert_eq!(get(*w, "shop.example.org"), "Hello from build v1 (blue) — Shop\n");
        assert_eq!(get(*w, "k7x2-green.shop.example.org"), "Hello from build v2 (green) — Shop\n");
    }
    assert_eq!(get(web[0], "staging.shop.example.org"), "Hello from build v2 (blue) — Shop (staging)\n");

    // The switch: the plan says which build goes live, in text and JSON, unasked.
    let switch = ["--var", "production_build=v2", "--var", "production_live=green"];
    let plan: Vec<&str> = ["plan"].into_iter().chain(switch).collect();
    let run = tarn(&plan);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert!(run.stdout.contains(r#"~ live                    = "blue" -> "green""#), "{}", run.dump());
    assert!(run.stdout.contains(r#"~ live_build              = "v1" -> "v2""#), "{}", run.dump());
    let json: Vec<&str> = ["plan", "--json"].into_iter().chain(switch).collect();
    let plan = tarn(&json).ok().json();
    let change = plan["changes"].as_array().unwrap().iter().find(|c| c["address"] == "pond_environment.production");
    let change = change.unwrap_or_else(|| panic!("no change of the production environment: {plan}"));
    assert_eq!((&change["before"]["live_build"], &change["after"]["live_build"]), (&"v1".into(), &"v2".into()));
    let apply: Vec<&str> = ["apply", "--auto-approve"].into_iter().chain(switch).collect();
    let run = tarn(&apply);
    assert_eq!(run.code, 0, "{}", run.dump());
    for w in &web {
        assert_eq!(get(*w, "shop.example.org"), "Hello from build v2 (green) — Shop\n");
    }
    sh(&format!("kill -INT {}", serve.id()));
    assert!(serve.wait().unwrap().success(), "tarn sim serve stops on Ctrl-C");
    for w in &web {
        assert!(get_at(w.0, w.1, "shop.example.org").is_err(), "the web servers stopped with tarn sim serve");
    }

    let destroy: Vec<&str> = ["destroy", "--auto-approve"].into_iter().chain(switch).collect();
    let run = tarn(&destroy);
    assert_eq!(run.code, 0, "{}", run.dump());
    let real = stack.tarn(&["show", "--json"]).ok().json();
    assert_eq!(real["resources"].as_array().map(Vec::len), Some(0), "sandbox objects never reach real state");
    // Nothing the sandbox started is left: no listener, no process naming its files.
    for (addr, port) in web.iter().chain(&ssh) {
        assert!(std::net::TcpStream::connect((*addr, *port)).is_err(), "{addr}:{port} still answers");
    }
    let files = format!("{}/.tarn/sandbox/pond", stack.path().display());
    let left: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&files))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "processes left running");
}

pub(crate) fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
