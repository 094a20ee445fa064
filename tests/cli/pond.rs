//! The pond provider end to end through the `tarn` binary, against two real sshd instances and
//! a real Apache + PHP per server (`tarn_provider_pond::testing`): provision and deploy v1,
//! deploy v2 to green (the live site still v1), a plan that shows which build goes live, a switch
//! that fails on the second server (exit 3, both servers back on blue), the switch, drift after
//! a hand-made switch (exit 2), destroy.

use crate::harness::Stack;
use tarn_provider_pond::testing::{TestServer, build_dir, readlink, sh, web_user};

fn server_block(name: &str, s: &TestServer, reload: &str) -> String {
    let (user, group) = web_user();
    format!(
        r#"
resource "pond_server" "{name}" {{
  host                 = "127.0.0.1"
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
    let config = server_block("a", &a, &a.apache.reload_command())
        + &server_block("b", &b, &format!("test ! -e {} && {}", flag.display(), b.apache.reload_command()))
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
