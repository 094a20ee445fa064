//! The vsn provider end to end through the `tarn` binary, against a real sshd on 127.0.0.1 and
//! this machine's real podman (`tarn_provider_vsn::testing::TestVsn`): a deployment plan with a
//! host, two volume containers and two services is applied; data is written; a service image
//! changes; a failure mid-deploy rolls back to the previous deployment; the host image changes
//! (host and REST containers replaced); drift is shown and repaired; destroy. The data
//! directories and their contents survive every step, and the secret never reaches output.

use crate::harness::{Run, Stack};
use tarn_provider_vsn::testing::{Engine, TestVsn, checksums};

const SECRET: &str = "tok-Vsn-Secret-93kq";

struct Deployment {
    vsn: TestVsn,
    stack: Stack,
    images: Images,
}

struct Images {
    busybox: String,
    host1: String,
    host2: String,
    web1: String,
    web2: String,
}

const IDLE: &str = r#"["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]"#;

fn plan_json(vsn: &TestVsn, images: &Images, host: &str, app: &str) -> String {
    format!(
        r#"{{
  "version": 1,
  "host": {{ "name": "{hn}", "image": "{host}", "pull": "never", "command": {IDLE} }},
  "volumes": [
    {{ "name": "{db}", "image": "{bb}", "pull": "never" }},
    {{ "name": "{files}", "image": "{bb}", "pull": "never", "mount_path": "/srv/files", "size_limit_gb": 1 }}
  ],
  "services": [
    {{ "name": "{app}", "image": "{app_image}", "pull": "never", "command": {IDLE},
      "volumes": ["{db}"], "secrets": ["TOKEN"], "env": {{ "MODE": "prod" }}, "restart": "no" }},
    {{ "name": "{worker}", "image": "{web1}", "pull": "never", "command": {IDLE}, "volumes": ["{files}"],
      "healthcheck": {{ "command": "test -d /srv/files", "interval": "30s", "retries": 2 }} }}
  ]
}}"#,
        hn = vsn.name("host"),
        db = vsn.name("db"),
        files = vsn.name("files"),
        app = vsn.name("app"),
        worker = vsn.name("worker"),
        bb = images.busybox,
        app_image = app,
        web1 = images.web1,
    )
}

const CONFIG: &str = r#"
data "vsn_deployment_plan" "p" {
  file         = "plan.json"
  secrets_file = "secrets.json"
}

locals {
  plan = data.vsn_deployment_plan.p
}

resource "vsn_host" "host" {
  name         = local.plan.host.name
  image        = local.plan.host.image
  command      = local.plan.host.command
  pull         = local.plan.host.pull
  stop_timeout = 2
}

resource "vsn_volume" "v" {
  for_each      = local.plan.volumes
  name          = each.value.name
  host_id       = vsn_host.host.id
  image         = each.value.image
  mount_path    = each.value.mount_path
  size_limit_gb = each.value.size_limit_gb
  pull          = each.value.pull
  stop_timeout  = 2
}

resource "vsn_service" "s" {
  for_each     = local.plan.services
  name         = each.value.name
  host_id      = vsn_host.host.id
  image        = each.value.image
  command      = each.value.command
  env          = each.value.env
  secrets      = local.plan.service_secrets[each.key]
  volumes_from = [for v in each.value.volumes : vsn_volume.v[v].name]
  restart      = each.value.restart
  healthcheck  = each.value.healthcheck
  pull         = each.value.pull
  stop_timeout = 2

  # A failed image change brings the previous container back (rollback needs the old one kept
  # until its replacement runs).
  lifecycle {
    create_before_destroy = true
  }
}
"#;

/// The deployment in tarn's default replacement order (destroy, then create).
fn default_order() -> String {
    let cbd = "\n  # A failed image change brings the previous container back (rollback needs the old one kept\n  # until its replacement runs).\n  lifecycle {\n    create_before_destroy = true\n  }\n";
    assert!(CONFIG.contains(cbd));
    CONFIG.replace(cbd, "")
}

impl Deployment {
    fn new() -> Deployment {
        Deployment::with(CONFIG)
    }

    fn with(config: &str) -> Deployment {
        Deployment::on(Engine::Podman, config)
    }

    fn on(engine: Engine, config: &str) -> Deployment {
        let mut vsn =
            TestVsn::start_with(engine).unwrap_or_else(|e| panic!("the VSN test harness could not start: {e}"));
        let images = Images {
            busybox: vsn.image("busybox", "1", &[]).unwrap(),
            host1: vsn.image("hostimg", "1", &[("/etc/vsn-host", "1")]).unwrap(),
            host2: vsn.image("hostimg", "2", &[("/etc/vsn-host", "2")]).unwrap(),
            web1: vsn.image("web", "1", &[("/version", "1")]).unwrap(),
            web2: vsn.image("web", "2", &[("/version", "2")]).unwrap(),
        };
        let stack = Stack::with(&(vsn.provider_block(None).unwrap() + config));
        stack.write("secrets.json", &format!(r#"{{ "TOKEN": "{SECRET}" }}"#));
        stack.tarn(&["state", "keygen"]).ok();
        let d = Deployment { vsn, stack, images };
        d.write_plan(&d.images.host1, &d.images.web1);
        d
    }

    fn write_plan(&self, host: &str, app: &str) {
        self.stack.write("plan.json", &plan_json(&self.vsn, &self.images, host, app));
    }

    /// Runs tarn and checks the secret is nowhere in what it printed.
    fn tarn(&self, args: &[&str]) -> Run {
        let run = self.stack.tarn(args);
        assert!(!run.stdout.contains(SECRET) && !run.stderr.contains(SECRET), "the secret leaked: {}", run.dump());
        run
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        self.vsn.engine(&["inspect", "--format", format, &self.vsn.name(name)]).unwrap()
    }

    fn data(&self, volume: &str, file: &str) -> String {
        std::fs::read_to_string(self.vsn.data_root.join(self.vsn.name(volume)).join(file))
            .unwrap_or_else(|e| panic!("{volume}/{file}: {e}"))
    }

    #[track_caller]
    fn assert_data_intact(&self, step: &str) {
        assert_eq!(self.data("db", "rows"), "row-1\n", "db data after {step}");
        assert_eq!(self.data("files", "doc.txt"), "doc\n", "files data after {step}");
    }

    fn all(&self) -> Vec<String> {
        ["app", "db", "files", "host", "worker"].iter().map(|n| self.vsn.name(n)).collect()
    }
}

#[test]
fn a_deployment_plan_is_applied_updated_rolled_back_and_destroyed_with_data_kept() {
    scenario(Engine::Podman);
}

/// The same scenario on a real Docker engine (the harness's own dockerd, see
/// `tarn_provider_vsn::testing::dockerd`), driven through `/usr/bin/docker` over the sshd.
#[test]
fn a_deployment_plan_is_applied_updated_rolled_back_and_destroyed_with_data_kept_on_docker() {
    scenario(Engine::Docker);
}

/// Deploy, write data, image change, failed image rolled back, host change, drift repair,
/// destroy, the data checked after every step, on `engine`.
fn scenario(engine: Engine) {
    let d = Deployment::on(engine, CONFIG);
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert_eq!(d.vsn.containers(), d.all());
    assert_eq!(d.inspect("app", "{{.State.Running}}"), "true");
    let host_id = d.inspect("host", "{{.Id}}");
    assert_eq!(d.inspect("app", "{{.HostConfig.NetworkMode}}"), format!("container:{host_id}"));

    // Write data through the services into the volume containers' data directories.
    d.vsn.engine(&["exec", &d.vsn.name("app"), "sh", "-c", "echo row-1 > /data/rows"]).unwrap();
    d.vsn.engine(&["exec", &d.vsn.name("worker"), "sh", "-c", "echo doc > /srv/files/doc.txt"]).unwrap();
    assert_eq!(d.vsn.engine(&["exec", &d.vsn.name("app"), "sh", "-c", "echo \"$TOKEN\""]).unwrap(), SECRET);
    d.assert_data_intact("the first apply");

    // Nothing to do on a second plan: no drift right after apply.
    let run = d.tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.dump());

    // A service image changes: only that service is replaced.
    let worker_id = d.inspect("worker", "{{.Id}}");
    d.write_plan(&d.images.host1, &d.images.web2);
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert_eq!(d.inspect("app", "{{.Config.Image}}"), d.images.web2);
    assert_eq!(d.vsn.engine(&["exec", &d.vsn.name("app"), "cat", "/version"]).unwrap(), "2");
    assert_eq!(d.inspect("worker", "{{.Id}}"), worker_id, "an unchanged service was touched");
    assert_eq!(d.vsn.engine(&["exec", &d.vsn.name("app"), "cat", "/data/rows"]).unwrap(), "row-1");
    d.assert_data_intact("a service image change");

    // A failure mid-deploy: the new image does not exist. Rollback brings the previous app back.
    d.write_plan(&d.images.host1, "localhost/tarn-vsn-no-such-image:9");
    let run = d.tarn(&["apply", "--auto-approve", "--on-failure", "rollback"]);
    assert_eq!(run.code, 3, "rolled back: {}", run.dump());
    let missing = match engine {
        Engine::Podman => "tarn-vsn-no-such-image:9: image not known",
        Engine::Docker => "No such image: localhost/tarn-vsn-no-such-image:9",
    };
    assert!(run.stdout.contains(missing), "the failing op's error is shown: {}", run.dump());
    assert!(run.stdout.contains("Apply failed; every completed change was rolled back."), "{}", run.dump());
    assert_eq!(d.vsn.containers(), d.all());
    assert_eq!(d.inspect("app", "{{.Config.Image}}"), d.images.web2, "the previous deployment is back");
    assert_eq!(d.inspect("app", "{{.State.Running}}"), "true");
    assert_eq!(d.vsn.engine(&["exec", &d.vsn.name("app"), "sh", "-c", "echo \"$TOKEN\""]).unwrap(), SECRET);
    d.assert_data_intact("a rolled-back deployment");

    // The host image changes: the host and every REST container inside it are replaced.
    d.write_plan(&d.images.host2, &d.images.web2);
    let run = d.tarn(&["plan"]);
    for name in ["vsn_host.host", "vsn_volume.v", "vsn_service.s"] {
        assert!(run.stdout.contains(name), "{name} not in the plan: {}", run.dump());
    }
    assert!(!run.stdout.contains("irreversible"), "keeping data is reversible: {}", run.dump());
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    let new_host = d.inspect("host", "{{.Id}}");
    assert_ne!(new_host, host_id);
    for rest in ["app", "db", "files", "worker"] {
        assert_eq!(
            d.inspect(rest, "{{.HostConfig.NetworkMode}}"),
            format!("container:{new_host}"),
            "{rest} is not in the new host"
        );
    }
    assert_eq!(d.vsn.engine(&["exec", &d.vsn.name("host"), "cat", "/etc/vsn-host"]).unwrap(), "2");
    d.assert_data_intact("a host image change");

    // Drift: a service stopped and another removed outside tarn show in the plan; apply repairs.
    d.vsn.engine(&["stop", "-t", "1", &d.vsn.name("worker")]).unwrap();
    d.vsn.remove_container(&d.vsn.name("app")).unwrap();
    let run = d.tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.dump());
    assert!(run.stdout.contains("running"), "{}", run.dump());
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert_eq!(d.inspect("worker", "{{.State.Running}}"), "true");
    assert_eq!(d.inspect("app", "{{.State.Running}}"), "true");
    let run = d.tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    d.assert_data_intact("drift repair");

    // Destroy: every container goes, the data stays.
    let run = d.tarn(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert!(d.vsn.containers().is_empty(), "{:?}", d.vsn.containers());
    d.assert_data_intact("destroy");

    // Neither the state file nor anything in the stack directory holds the secret in clear.
    let db = std::fs::read(d.stack.state_db()).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(SECRET));
}

/// The seed's rollback in tarn's default order: the old containers are destroyed before the new
/// ones are created, and a failure brings the previous deployment back from its recorded
/// definition while its images are there; without them the VSN is left containerless with every
/// data directory kept, and the run says which happened.
#[test]
fn rollback_in_the_default_order_restores_the_previous_deployment_or_leaves_the_vsn_containerless() {
    let d = Deployment::with(&default_order());
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    d.vsn.podman(&["exec", &d.vsn.name("app"), "sh", "-c", "echo row-1 > /data/rows"]).unwrap();
    d.vsn.podman(&["exec", &d.vsn.name("worker"), "sh", "-c", "echo doc > /srv/files/doc.txt"]).unwrap();
    let old_host = d.inspect("host", "{{.Id}}");

    // A new host image and a service image that does not exist: the host and every REST
    // container are destroyed and recreated, the last create fails, and the rollback restores
    // the previous deployment.
    d.write_plan(&d.images.host2, "localhost/tarn-vsn-no-such-image:9");
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 3, "rolled back: {}", run.dump());
    assert!(run.stdout.contains("create the previous object again"), "{}", run.dump());
    assert!(run.stdout.contains("Apply failed; every completed change was rolled back."), "{}", run.dump());
    assert_eq!(d.vsn.containers(), d.all());
    let host = d.inspect("host", "{{.Id}}");
    assert_ne!(host, old_host, "the host was created again");
    assert_eq!(d.vsn.podman(&["exec", &d.vsn.name("host"), "cat", "/etc/vsn-host"]).unwrap(), "1");
    for rest in ["app", "db", "files", "worker"] {
        assert_eq!(d.inspect(rest, "{{.State.Running}}"), "true", "{rest}");
        assert_eq!(d.inspect(rest, "{{.HostConfig.NetworkMode}}"), format!("container:{host}"), "{rest}");
    }
    assert_eq!(d.inspect("app", "{{.ImageName}}"), d.images.web1);
    assert_eq!(d.vsn.podman(&["exec", &d.vsn.name("app"), "sh", "-c", "echo \"$TOKEN\""]).unwrap(), SECRET);
    assert_eq!(d.vsn.podman(&["exec", &d.vsn.name("app"), "cat", "/data/rows"]).unwrap(), "row-1");
    d.assert_data_intact("a restored deployment");
    // The state records the restored deployment exactly: with the good plan back, nothing to do.
    d.write_plan(&d.images.host1, &d.images.web1);
    let run = d.tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "{}", run.dump());

    // The previous host image is gone (untagged outside tarn): the host cannot come back, so
    // neither can the REST containers in it. The VSN is left containerless, every data
    // directory kept, and the run says so.
    let host_image_id = d.vsn.podman(&["image", "inspect", "--format", "{{.Id}}", &d.images.host1]).unwrap();
    d.vsn.podman(&["untag", &d.images.host1]).unwrap();
    d.write_plan(&d.images.host2, "localhost/tarn-vsn-no-such-image:9");
    let run = d.tarn(&["apply", "--auto-approve"]);
    d.vsn.podman(&["tag", &host_image_id, &d.images.host1]).unwrap();
    assert_eq!(run.code, 4, "rollback incomplete: {}", run.dump());
    assert!(
        run.stdout.contains(&format!("its image {} is no longer there", d.images.host1)),
        "the run says why the host is not back: {}",
        run.dump()
    );
    assert!(run.stdout.contains("The VSN is left without it"), "{}", run.dump());
    assert!(d.vsn.containers().is_empty(), "containerless: {:?}", d.vsn.containers());
    d.assert_data_intact("a rollback without the previous image");
    // The next apply of the good plan deploys again onto the kept data.
    d.write_plan(&d.images.host1, &d.images.web1);
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert_eq!(d.vsn.containers(), d.all());
    assert_eq!(d.vsn.podman(&["exec", &d.vsn.name("app"), "cat", "/data/rows"]).unwrap(), "row-1");
    d.assert_data_intact("the next deployment");
}

/// The seed's guard as an option: with `require_stopped`, a running host is not replaced; the
/// plan fails before anything changes. Stopped, it is replaced.
#[test]
fn require_stopped_refuses_to_replace_a_running_host() {
    let config = default_order().replace(
        "  stop_timeout = 2\n}\n\nresource \"vsn_volume\"",
        "  stop_timeout = 2\n  require_stopped = true\n}\n\nresource \"vsn_volume\"",
    );
    assert!(config.contains("require_stopped"));
    let d = Deployment::with(&config);
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    let ids: Vec<String> =
        d.all().iter().map(|n| d.vsn.podman(&["inspect", "--format", "{{.Id}}", n]).unwrap()).collect();
    d.write_plan(&d.images.host2, &d.images.web1);
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.dump());
    assert!(run.stderr.contains("is running, and vsn_host.require_stopped forbids"), "{}", run.dump());
    let now: Vec<String> =
        d.all().iter().map(|n| d.vsn.podman(&["inspect", "--format", "{{.Id}}", n]).unwrap()).collect();
    assert_eq!(now, ids, "nothing was changed");
    d.vsn.podman(&["stop", "-t", "1", &d.vsn.name("host")]).unwrap();
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert_eq!(d.vsn.podman(&["exec", &d.vsn.name("host"), "cat", "/etc/vsn-host"]).unwrap(), "2");
}

#[test]
fn an_invalid_deployment_plan_or_vsn_stops_before_any_change() {
    let d = Deployment::new();
    d.stack.write(
        "plan.json",
        &format!(
            r#"{{ "version": 1, "host": {{ "image": "{}", "pull": "sometimes" }},
                 "services": [ {{ "name": "x", "image": "i", "volumes": ["nope"], "secrets": ["MISSING"] }} ] }}"#,
            d.images.host1
        ),
    );
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.dump());
    assert!(run.stderr.contains("/host/pull"), "{}", run.dump());
    assert!(d.vsn.containers().is_empty());

    // Schema-valid but specially invalid: every problem listed.
    d.stack.write(
        "plan.json",
        &format!(r#"{{ "version": 1, "host": {{ "image": "{}" }}, "services": [ {{ "name": "x", "image": "i", "volumes": ["nope"], "secrets": ["MISSING"] }} ] }}"#, d.images.host1),
    );
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.dump());
    assert!(
        run.stderr.contains("/services/0/volumes/0") && run.stderr.contains("/services/0/secrets/0"),
        "{}",
        run.dump()
    );
    assert!(d.vsn.containers().is_empty());

    // A VSN without the engine: validation names it, nothing changes.
    let broken =
        d.vsn.provider_block(None).unwrap().replace("data_root", "engine = \"podman-missing-here\"\n  data_root");
    d.write_plan(&d.images.host1, &d.images.web1);
    d.stack.write("main.tarn.hcl", &(broken + CONFIG));
    let run = d.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 1, "{}", run.dump());
    assert!(run.stderr.contains("failed validation") && run.stderr.contains("podman-missing-here"), "{}", run.dump());
    assert!(d.vsn.containers().is_empty());
    assert!(!d.vsn.data_root.exists(), "nothing was created on the VSN");
}

#[test]
fn delete_data_on_destroy_is_planned_as_irreversible_and_deletes_only_then() {
    let mut vsn = TestVsn::start().unwrap_or_else(|e| panic!("the VSN test harness could not start: {e}"));
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let config = format!(
        r#"{provider}
resource "vsn_host" "h" {{
  name    = "{host}"
  image   = "{bb}"
  command = {IDLE}
}}
resource "vsn_volume" "keep" {{
  name    = "{keep}"
  host_id = vsn_host.h.id
  image   = "{bb}"
}}
resource "vsn_volume" "scratch" {{
  name                   = "{scratch}"
  host_id                = vsn_host.h.id
  image                  = "{bb}"
  delete_data_on_destroy = true
}}
"#,
        provider = vsn.provider_block(None).unwrap(),
        host = vsn.name("host"),
        keep = vsn.name("keep"),
        scratch = vsn.name("scratch"),
    );
    let stack = Stack::with(&config);
    let run = stack.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    let run = stack.tarn(&["plan", "--destroy"]);
    // The plan's warning lists exactly the destroys a rollback cannot undo.
    assert!(run.stdout.contains("cannot be rolled back"), "{}", run.dump());
    assert!(run.stdout.contains("  - vsn_volume.scratch ("), "{}", run.dump());
    assert!(!run.stdout.contains("  - vsn_volume.keep ("), "{}", run.dump());
    let run = stack.tarn(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert!(vsn.data_root.join(vsn.name("keep")).is_dir());
    assert!(!vsn.data_root.join(vsn.name("scratch")).exists());
}

/// The seed's migration: a deployment applied on VSN a moves to VSN b by switching its
/// resources' provider; the volume's data is copied to b (checksums equal) before its
/// containers start there, and a's data stays where it was.
#[test]
fn a_deployment_moves_to_another_vsn_with_its_data_copied_and_verified() {
    let mut a = TestVsn::start().unwrap_or_else(|e| panic!("the VSN test harness could not start: {e}"));
    let b = TestVsn::start().unwrap_or_else(|e| panic!("the VSN test harness could not start: {e}"));
    let bb = a.image("busybox", "1", &[]).unwrap();
    // The same container names on both VSNs (one podman serves both here; the old containers
    // are destroyed before the new ones are created, tarn's default replacement order).
    let (host, db, app) = (a.name("host"), a.name("db"), a.name("app"));
    let resources = |provider: &str, migrate_from: &str| {
        format!(
            r#"
resource "vsn_host" "host" {{
  provider     = {provider}
  name         = "{host}"
  image        = "{bb}"
  command      = {IDLE}
  stop_timeout = 1
}}
resource "vsn_volume" "db" {{
  provider     = {provider}
  name         = "{db}"
  host_id      = vsn_host.host.id
  image        = "{bb}"
  stop_timeout = 1
{migrate_from}}}
resource "vsn_service" "app" {{
  provider     = {provider}
  name         = "{app}"
  host_id      = vsn_host.host.id
  image        = "{bb}"
  command      = {IDLE}
  volumes_from = [vsn_volume.db.name]
  stop_timeout = 1
}}
"#
        )
    };
    let providers = a.provider_block(Some("a")).unwrap() + &b.provider_block(Some("b")).unwrap();
    let stack = Stack::with(&(providers.clone() + &resources("vsn.a", "")));
    let run = stack.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    // Data written by the service on VSN a, including a nested file and a restrictive mode.
    a.podman(&[
        "exec",
        &app,
        "sh",
        "-c",
        "echo row-1 > /data/rows && mkdir -p /data/t/1 && echo x > /data/t/1/part && chmod 600 /data/rows",
    ])
    .unwrap();
    let old_dir = a.data_root.join(&db);
    let old = checksums(&old_dir);
    assert!(old.contains_key("t/1/part"), "{old:?}");

    // The move: the same resources through vsn.b, the volume told where its data is.
    let block = a.provider_block(None).unwrap();
    let field = |name: &str| {
        block
            .lines()
            .find_map(|l| l.trim().strip_prefix(name).and_then(|r| r.trim().strip_prefix('=')))
            .map(|v| v.trim().to_string())
            .unwrap()
    };
    let migrate_from = format!(
        "  migrate_from = {{\n    host = {}\n    port = {}\n    user = {}\n    private_key_file = {}\n    host_key_fingerprint = {}\n    data_root = {}\n    env = {}\n  }}\n",
        field("host "),
        field("port "),
        field("user "),
        field("private_key_file "),
        field("host_key_fingerprint "),
        field("data_root "),
        field("env ")
    );
    stack.write("main.tarn.hcl", &(providers + &resources("vsn.b", &migrate_from)));
    let run = stack.tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.dump());
    for address in ["vsn_host.host", "vsn_volume.db", "vsn_service.app"] {
        assert!(run.stdout.contains(address), "{address} is not replaced: {}", run.dump());
    }
    let run = stack.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());

    let new_dir = b.data_root.join(&db);
    assert_eq!(checksums(&new_dir), old, "the data on VSN b differs from VSN a's (checked in the test)");
    assert_eq!(checksums(&old_dir), old, "VSN a's data was changed or removed");
    let inspect = |name: &str, format: &str| a.podman(&["inspect", "--format", format, name]).unwrap();
    assert_eq!(inspect(&app, "{{.State.Running}}"), "true");
    let mounts = inspect(&db, "{{range .Mounts}}{{.Source}}{{end}}");
    assert_eq!(mounts, new_dir.display().to_string(), "the volume container does not mount VSN b's copy");
    assert_eq!(a.podman(&["exec", &app, "cat", "/data/rows"]).unwrap(), "row-1");
    assert_eq!(inspect(&app, "{{.HostConfig.NetworkMode}}"), format!("container:{}", inspect(&host, "{{.Id}}")));
    let run = stack.tarn(&["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 0, "a second plan after the move is not empty: {}", run.dump());
}

/// Images do not pile up: each successful apply removes the images of the deployment before the
/// previous one that no container uses, the plan shows which, the previous deployment's images
/// stay (for a rollback), an image a running container uses is never removed, and the provider's
/// `keep_images = true` keeps everything.
#[test]
fn images_of_older_deployments_are_removed_after_a_successful_apply() {
    let mut vsn = TestVsn::start().unwrap_or_else(|e| panic!("the VSN test harness could not start: {e}"));
    let images: Vec<String> = (1..=4).map(|n| vsn.image("gen", &n.to_string(), &[("/gen", "x")]).unwrap()).collect();
    let present = |vsn: &TestVsn, image: &str| vsn.podman(&["image", "exists", image]).is_ok();
    let config = |provider: &str, image: &str| {
        format!(
            r#"{provider}
resource "vsn_host" "h" {{
  name         = "{host}"
  image        = "{image}"
  command      = {IDLE}
  pull         = "never"
  stop_timeout = 1
}}
resource "vsn_image_cleanup" "images" {{
  name       = "{record}"
  images     = [vsn_host.h.image]
  depends_on = [vsn_host.h]
}}
"#,
            host = vsn.name("host"),
            record = vsn.name("images"),
        )
    };
    let block = vsn.provider_block(None).unwrap();
    let stack = Stack::with(&config(&block, &images[0]));
    let apply = |stack: &Stack| {
        let run = stack.tarn(&["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "{}", run.dump());
        run
    };
    apply(&stack);
    stack.write("main.tarn.hcl", &config(&block, &images[1]));
    apply(&stack);
    assert!(present(&vsn, &images[0]), "the previous deployment's image stays");
    // The third deployment removes the first one's image; the plan says so first.
    stack.write("main.tarn.hcl", &config(&block, &images[2]));
    let plan = stack.tarn(&["plan"]);
    assert!(plan.stdout.contains(&format!("~ removed  = [] -> [\"{}\"]", images[0])), "{}", plan.dump());
    apply(&stack);
    assert!(!present(&vsn, &images[0]), "the image of two deployments ago is removed");
    assert!(present(&vsn, &images[1]) && present(&vsn, &images[2]));

    // An image a container outside tarn runs is never removed.
    let other = vsn.name("other");
    vsn.podman(&["run", "-d", "--name", &other, &images[1], "sleep", "600"]).unwrap();
    stack.write("main.tarn.hcl", &config(&block, &images[3]));
    apply(&stack);
    assert!(present(&vsn, &images[1]), "an image a running container uses stays");
    vsn.podman(&["rm", "-f", "-t", "0", &other]).unwrap();

    // keep_images: nothing is removed, and the plan shows none.
    let keeping = block.replace("data_root", "keep_images = true\n  data_root");
    stack.write("main.tarn.hcl", &config(&keeping, &images[1]));
    let plan = stack.tarn(&["plan"]);
    assert!(plan.stdout.contains("vsn_image_cleanup.images"), "{}", plan.dump());
    assert!(!plan.stdout.contains("removed  = [] -> ["), "keep_images plans no removal: {}", plan.dump());
    apply(&stack);
    assert!(images[1..].iter().all(|i| present(&vsn, i)), "keep_images removed an image");
}

/// A volume whose data directory grows past its size limit after the apply shows in
/// `tarn drift` (the limit used to be checked only on create and update).
#[test]
fn a_volume_grown_past_its_size_limit_shows_in_drift() {
    let mut vsn = TestVsn::start().unwrap_or_else(|e| panic!("the VSN test harness could not start: {e}"));
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let config = format!(
        r#"{provider}
resource "vsn_host" "h" {{
  name         = "{host}"
  image        = "{bb}"
  command      = {IDLE}
  stop_timeout = 1
}}
resource "vsn_volume" "db" {{
  name          = "{db}"
  host_id       = vsn_host.h.id
  image         = "{bb}"
  size_limit_gb = 0.0001
  stop_timeout  = 1
}}
"#,
        provider = vsn.provider_block(None).unwrap(),
        host = vsn.name("host"),
        db = vsn.name("db"),
    );
    let stack = Stack::with(&config);
    let run = stack.tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    let run = stack.tarn(&["drift"]);
    assert_eq!(run.code, 0, "no drift right after apply: {}", run.dump());
    // 200 kB into a directory limited to 100 kB, written through the volume container.
    vsn.podman(&["exec", &vsn.name("db"), "sh", "-c", "dd if=/dev/zero of=/data/big bs=1000 count=200 2>/dev/null"])
        .unwrap();
    let run = stack.tarn(&["drift"]);
    assert_eq!(run.code, 2, "{}", run.dump());
    assert!(run.stdout.contains("vsn_volume.db has changed"), "{}", run.dump());
    assert!(run.stdout.contains("within_size_limit = true -> false"), "{}", run.dump());
    let json = stack.tarn(&["drift", "--json"]);
    assert!(json.stdout.contains("within_size_limit"), "{}", json.dump());
}

/// `examples/vsn` as it is, under `--sandbox`, the README's walk-through: the images built
/// offline by its script (no registry), deploy on the sandbox's VSN (an sshd on 127.0.0.1 with
/// its host key pinned, in front of this machine's podman), data that survives a redeploy, a
/// failed image rolled back, drift shown and repaired, destroy with the data kept; after every
/// run the sandbox's sshd has stopped. A configuration without the vsn provider starts none.
#[test]
fn the_vsn_example_runs_under_the_sandbox_on_a_local_vsn_whose_sshd_stops_after_every_run() {
    const NAMES: [&str; 3] = ["vsn-example-app", "vsn-example-data", "vsn-example-host"];
    const IMAGES: [&str; 3] =
        ["localhost/vsn-example/app:1", "localhost/vsn-example/app:2", "localhost/vsn-example/base:1"];
    const TOKEN: &str = "tok-Sandbox-Vsn-61xq";
    let stack = Stack::new();
    crate::pond::copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/vsn"), stack.path());
    let conf = stack.path().join("containers.conf");
    std::fs::write(&conf, tarn_provider_vsn::config::LOCAL_CONTAINERS_CONF).unwrap();
    let podman = |args: &[&str]| {
        let out = std::process::Command::new("podman").env("CONTAINERS_CONF", &conf).args(args).output();
        let out = out.expect("podman runs (apt-get install -y podman runc busybox-static)");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let clean = || {
        for name in NAMES {
            podman(&["rm", "-f", "-t", "1", name]);
        }
        for image in IMAGES {
            podman(&["rmi", "-f", image]);
        }
    };
    clean();
    let built = std::process::Command::new("sh").arg("build-images.sh").current_dir(stack.path()).output().unwrap();
    assert!(built.status.success(), "build-images.sh: {}", String::from_utf8_lossy(&built.stderr));
    stack.write("secrets.json", &format!(r#"{{ "APP_TOKEN": "{TOKEN}" }}"#));
    stack.tarn(&["state", "keygen"]).ok();
    let plan_v1 = stack.read("plan.json");
    let tarn = |args: &[&str]| {
        let args: Vec<&str> = args.iter().copied().chain(["--sandbox"]).collect();
        let run = stack.tarn(&args);
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "the secret leaked: {}", run.dump());
        run
    };
    let data = stack.path().join(".tarn/sandbox/vsn/data/vsn-example-data");
    let sshd_stopped = |run: &Run| {
        assert!(run.stderr.contains("Sandbox: VSN on this machine: sshd on 127.0.0.1:"), "{}", run.dump());
        assert!(run.stderr.contains("pinned) in front of /usr/bin/podman"), "{}", run.dump());
        assert!(run.stderr.contains("Sandbox: stopped the VSN's sshd on 127.0.0.1:"), "{}", run.dump());
        let server: serde_json::Value = serde_json::from_str(&stack.read(".tarn/sandbox/vsn/server.json")).unwrap();
        let port = server["ssh_port"].as_u64().unwrap() as u16;
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "127.0.0.1:{port} still answers");
        let files = format!("{}/.tarn/sandbox/vsn", stack.path().display());
        let left: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| c.contains(&files) && c.contains("sshd"))
            .collect();
        assert_eq!(left, Vec::<String>::new(), "the sandbox's sshd is left running");
    };
    let image_of = |name: &str| podman(&["inspect", "--format", "{{.ImageName}} {{.State.Running}}", name]).1;

    // Deploy.
    let run = tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    sshd_stopped(&run);
    assert_eq!(image_of("vsn-example-app"), "localhost/vsn-example/app:1 true");
    assert_eq!(std::fs::read_to_string(data.join("starts.log")).unwrap(), "app 1 started\n");
    std::fs::write(data.join("notes.txt"), "written between deployments\n").unwrap();
    assert_eq!(tarn(&["plan", "--detailed-exitcode"]).code, 0, "nothing left to do");

    // Redeploy app 2: the data survives.
    stack.write("plan.json", &plan_v1.replace("app:1", "app:2").replace("app-1.tar", "app-2.tar"));
    let run = tarn(&["apply", "--auto-approve", "--on-failure", "rollback"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    sshd_stopped(&run);
    assert_eq!(image_of("vsn-example-app"), "localhost/vsn-example/app:2 true");
    assert_eq!(std::fs::read_to_string(data.join("starts.log")).unwrap(), "app 1 started\napp 2 started\n");
    assert_eq!(std::fs::read_to_string(data.join("notes.txt")).unwrap(), "written between deployments\n");

    // A failed image: app 3 exists nowhere; app 2 keeps running.
    let v2 = stack.read("plan.json");
    let broken = v2.replace("app:2", "app:3").replace(r#""image_archive": "images/app-2.tar","#, "");
    stack.write("plan.json", &broken);
    let run = tarn(&["apply", "--auto-approve", "--on-failure", "rollback"]);
    assert_ne!(run.code, 0, "{}", run.dump());
    assert!(run.stdout.contains("localhost/vsn-example/app:3: image not known"), "{}", run.dump());
    assert!(run.stdout.contains("Apply failed; every completed change was rolled back."), "{}", run.dump());
    sshd_stopped(&run);
    assert_eq!(image_of("vsn-example-app"), "localhost/vsn-example/app:2 true");
    stack.write("plan.json", &v2);

    // Drift: the app stopped behind tarn's back shows, and apply starts it again.
    assert!(podman(&["stop", "-t", "1", "vsn-example-app"]).0);
    let run = tarn(&["drift"]);
    assert_eq!(run.code, 2, "{}", run.dump());
    assert!(run.stdout.contains(r#"vsn_service.s["vsn-example-app"] has changed"#), "{}", run.dump());
    sshd_stopped(&run);
    let run = tarn(&["apply", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert_eq!(image_of("vsn-example-app"), "localhost/vsn-example/app:2 true");
    assert_eq!(tarn(&["drift"]).code, 0, "drift repaired");

    // Destroy: the containers go, the data stays.
    let run = tarn(&["destroy", "--auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    sshd_stopped(&run);
    for name in NAMES {
        assert!(!podman(&["container", "exists", name]).0, "{name} left after destroy");
    }
    assert_eq!(std::fs::read_to_string(data.join("notes.txt")).unwrap(), "written between deployments\n");
    let real = stack.tarn(&["show", "--json"]).ok().json();
    assert_eq!(real["resources"].as_array().map(Vec::len), Some(0), "sandbox objects never reach real state");
    clean();

    // A configuration without the vsn provider starts no VSN.
    let other = Stack::with("resource \"null_resource\" \"n\" {}\n");
    let run = other.tarn(&["apply", "--auto-approve", "--sandbox"]);
    assert_eq!(run.code, 0, "{}", run.dump());
    assert!(!run.stderr.contains("VSN"), "{}", run.dump());
    assert!(!other.path().join(".tarn/sandbox/vsn").exists(), "{}", run.dump());
}
