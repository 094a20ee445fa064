//! The pagw provider end to end through the `tarn` binary (`tarn_provider_pagw::testing`): one
//! private MariaDB and one private dockerd per test process, and per test a PAGW host (a real
//! sshd with a home directory, the Proxmox emulator with `qm`/`pvesh` commands on the PATH of
//! its commands) and a fresh Giif database, whose slots a stack of their own loads with
//! `pagw_slot_range`. Then, each project from a state directory of its own: two projects
//! claiming two slots at once (no slot given twice), a failed build and a failed deploy that
//! leave nothing and free the slot (exit 3), a duplicate address refused before anything is
//! built, the zombie guard holding a destroy (records and state kept, exit 3) and then letting
//! it through, the default project's singleton, and the plan's note on a gateway's destroy.
//! The `proxmox-ve-api` driver over TLS (the emulator serves HTTPS with a certificate made at
//! its start): apply and destroy with the fingerprint pinned in the provider block, then with
//! the fingerprint and the token in the environment, a wrong fingerprint refused; the token
//! never in output, log, plan or state.

use std::net::TcpListener;
use std::sync::OnceLock;

use crate::harness::{Run, Stack};
use tarn_provider_pagw::schema::destroy_note;
use tarn_provider_pagw::testing::{CUSTOMIZE, TestDocker, TestMariaDb, TestPagwHost, build_context};

const PASSWORD: &str = tarn_provider_pagw::testing::BUILD_PASSWORD;

/// The Tokio runtime the Proxmox emulators run on: they are tasks, served while the test runs.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("a Tokio runtime")
    })
}

/// A PAGW host, a Giif database with `slots` slots on it (loaded through tarn), and the provider
/// block that reaches both.
struct Site {
    host: TestPagwHost,
    db: &'static TestMariaDb,
    database: String,
    /// The stack that loaded the slots (kept: its state holds the `pagw_slot_range`).
    _slots: Stack,
}

/// The provider block for the Giif database at `url` and the PAGW host `host`.
fn provider_block(host: &TestPagwHost, url: &str, create_schema: bool) -> String {
    let env: Vec<String> = host.host_env().into_iter().map(|(k, v)| format!("    {k} = \"{v}\"")).collect();
    format!(
        "provider \"pagw\" {{\n  database_url  = \"{url}\"\n  create_schema = {create_schema}\n  \
         docker        = \"/usr/bin/docker\"\n  host_env = {{\n{}\n  }}\n}}\n",
        env.join("\n"),
    )
}

/// `pagw_instance.gw` of `project`; `extra` are more lines of its block.
fn gateway(project: &str, extra: &str) -> String {
    format!(
        "resource \"pagw_instance\" \"gw\" {{\n  project  = \"{project}\"\n  password = \"{PASSWORD}\"\n{extra}}}\n"
    )
}

impl Site {
    fn start(pool: &str, slots: u8) -> Site {
        Self::start_driver(pool, slots, "proxmox-ve-ssh")
    }

    /// A site whose slots deploy with `driver`.
    fn start_driver(pool: &str, slots: u8, driver: &str) -> Site {
        let host = runtime().block_on(TestPagwHost::start_with(pool, driver, |r| r)).unwrap_or_else(|e| panic!("{e}"));
        let db = TestMariaDb::shared();
        let database = db.fresh_database();
        let stack = Stack::with(&format!(
            "{}\nresource \"pagw_slot_range\" \"slots\" {{\n  definition = file(\"${{path.module}}/pagw-slots\")\n}}\n",
            provider_block(&host, &db.url(&database), true)
        ));
        stack.write("pagw-slots", &host.definition(&host.address(0), &host.address(slots - 1)));
        stack.tarn(&["state", "keygen"]).ok();
        let run = stack.tarn(&["apply", "--auto-approve"]);
        assert_eq!(run.code, 0, "loading the slots: {}", run.dump());
        let site = Site { host, db, database, _slots: stack };
        assert_eq!(site.sql("SELECT COUNT(*) FROM pagw_slots"), slots.to_string());
        site
    }

    fn provider_block(&self) -> String {
        provider_block(&self.host, &self.db.url(&self.database), false)
    }

    /// A stack (a state directory of its own) with one `pagw_instance.gw`; `extra` are more
    /// lines of its block.
    fn project(&self, project: &str, extra: &str) -> Stack {
        let stack = Stack::with(&format!("{}\n{}", self.provider_block(), gateway(project, extra)));
        stack.tarn(&["state", "keygen"]).ok();
        stack
    }

    /// SQL on this site's database, trimmed.
    fn sql(&self, sql: &str) -> String {
        self.db.sql(&self.database, sql).trim().to_string()
    }

    /// `project<TAB>address` of every claimed slot, by project.
    fn claims(&self) -> Vec<String> {
        let out = self.sql(
            "SELECT g.connection_group_name, s.ip FROM pagw_instances i \
             JOIN pagw_slots s ON s.id = i.pagw_slots_id \
             JOIN guacamole_connection_group g ON g.connection_group_id = i.connection_group_id \
             ORDER BY g.connection_group_name",
        );
        out.lines().map(str::to_string).filter(|l| !l.is_empty()).collect()
    }

    /// The emulator's VMs: `(name, running)`.
    fn vms(&self) -> Vec<(String, bool)> {
        let pve = self.host.pve.emulator.state.lock().unwrap();
        pve.vms.values().map(|vm| (vm.name.clone(), vm.running)).collect()
    }

    fn volumes(&self) -> usize {
        self.host.pve.emulator.state.lock().unwrap().volumes.len()
    }

    /// Nothing of a failed create is left: no VM, volume, upload, image or record.
    #[track_caller]
    fn nothing_left(&self, run: &Run) {
        assert!(self.vms().is_empty(), "{:?}\n{}", self.vms(), run.dump());
        assert_eq!(self.volumes(), 0);
        assert!(self.host.leftovers().is_empty(), "{:?}", self.host.leftovers());
        assert_eq!(self.claims(), Vec::<String>::new());
        assert_eq!(self.sql("SELECT COUNT(*) FROM guacamole_connection"), "0", "no toolbox left");
        assert_eq!(self.sql("SELECT COUNT(*) FROM guacamole_connection_group WHERE parent_id IS NOT NULL"), "0");
    }
}

fn build(ctx: &tempfile::TempDir) -> String {
    format!("  build_context = \"{}\"\n  build_network = \"none\"\n", ctx.path().display())
}

/// The recorded gateway's computed attribute `name`.
fn recorded(stack: &Stack, name: &str) -> serde_json::Value {
    let show = stack.show();
    let r = show["resources"].as_array().unwrap().iter().find(|r| r["type"] == "pagw_instance").cloned();
    r.unwrap_or_else(|| panic!("no pagw_instance in the state: {show}"))["values"][name].clone()
}

fn output(run: &Run) -> String {
    format!("{}{}", run.stdout, run.stderr)
}

#[test]
fn pagw_two_projects_claim_two_slots_concurrently_from_two_state_directories() {
    let site = Site::start("local-lvm", 2);
    let ctx = build_context(CUSTOMIZE);
    let alpha = site.project("alpha", &build(&ctx));
    let beta = site.project("beta", &build(&ctx));
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| alpha.tarn(&["apply", "--auto-approve"]));
        let b = s.spawn(|| beta.tarn(&["apply", "--auto-approve"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.code, 0, "{}", a.dump());
    assert_eq!(b.code, 0, "{}", b.dump());
    for run in [&a, &b] {
        assert!(!output(run).contains(PASSWORD), "the password is sensitive: {}", run.dump());
    }
    // Two slots, one each: the database says so, and each state records its own address.
    let claims = site.claims();
    let (first, second) = (site.host.address(0), site.host.address(1));
    assert_eq!(claims.len(), 2, "{claims:?}");
    assert!(claims[0].starts_with("alpha\t") && claims[1].starts_with("beta\t"), "{claims:?}");
    let mut addresses: Vec<String> = claims.iter().map(|c| c.split('\t').nth(1).unwrap().to_string()).collect();
    assert_eq!(claims[0], format!("alpha\t{}", recorded(&alpha, "address").as_str().unwrap()));
    assert_eq!(claims[1], format!("beta\t{}", recorded(&beta, "address").as_str().unwrap()));
    addresses.sort();
    assert_eq!(addresses, [first, second], "no slot is given twice");
    assert_eq!(site.sql("SELECT COUNT(DISTINCT pagw_slots_id) FROM pagw_instances"), "2");
    let mut vms = site.vms();
    vms.sort();
    assert_eq!(vms, [("PAGW-alpha".to_string(), true), ("PAGW-beta".to_string(), true)]);
    assert!(site.host.leftovers().is_empty(), "the images are removed: {:?}", site.host.leftovers());
    assert!(!site.sql("SELECT environment FROM pagw_slots").contains(PASSWORD));

    // Nothing changed outside tarn: an empty plan for both.
    for stack in [&alpha, &beta] {
        stack.tarn(&["plan", "--detailed-exitcode"]).ok();
    }
    // Both destroyed at once: the VMs with their disks, and every record.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| alpha.tarn(&["destroy", "--auto-approve"]));
        let b = s.spawn(|| beta.tarn(&["destroy", "--auto-approve"]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.code, 0, "{}", a.dump());
    assert_eq!(b.code, 0, "{}", b.dump());
    assert!(site.vms().is_empty(), "{:?}", site.vms());
    assert_eq!(site.volumes(), 0);
    assert_eq!(site.claims(), Vec::<String>::new());
}

#[test]
fn pagw_a_failed_build_releases_the_slot() {
    let site = Site::start("local-lvm", 1);
    let ctx = build_context("echo 'the customizer broke' >&2\nexit 1\n");
    let stack = site.project("broken", &build(&ctx));
    let run = stack.tarn(&["apply", "--auto-approve"]).code(3);
    let text = output(&run);
    assert!(text.contains("building the image of broken") && text.contains("the customizer broke"), "{}", run.dump());
    assert!(!text.contains(PASSWORD), "{}", run.dump());
    site.nothing_left(&run);
    assert!(stack.addresses().is_empty(), "the state records nothing: {:?}", stack.addresses());
    let containers = TestDocker::shared().docker(&["ps", "-a", "--format", "{{.Names}}"]).unwrap();
    assert!(!containers.contains("pagw-builder-broken"), "{containers}");

    // The only slot is free again: the repaired build gets it.
    std::fs::write(ctx.path().join("customize.sh"), CUSTOMIZE).unwrap();
    stack.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(site.claims(), [format!("broken\t{}", site.host.address(0))]);
    assert_eq!(site.vms(), [("PAGW-broken".to_string(), true)]);
    stack.tarn(&["destroy", "--auto-approve"]).ok();
    assert_eq!(site.claims(), Vec::<String>::new());
}

#[test]
fn pagw_a_failed_deploy_removes_the_vm_and_releases_the_slot() {
    let site = Site::start("nosuch-pool", 1);
    let ctx = build_context(CUSTOMIZE);
    let stack = site.project("failing", &build(&ctx));
    let run = stack.tarn(&["apply", "--auto-approve"]).code(3);
    let text = output(&run);
    assert!(text.contains("importing the disk") && text.contains("nosuch-pool"), "{}", run.dump());
    // The VM `qm create` made before the import failed is destroyed, the image removed.
    site.nothing_left(&run);
    assert!(stack.addresses().is_empty(), "{:?}", stack.addresses());
    // The slot can be claimed again (records only, no build).
    let again = site.project("again", "");
    again.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(site.claims(), [format!("again\t{}", site.host.address(0))]);
    again.tarn(&["destroy", "--auto-approve"]).ok();
}

#[test]
fn pagw_a_duplicate_address_is_refused_before_anything_is_built() {
    let site = Site::start("local-lvm", 1);
    let address = site.host.address(0);
    let squatter = TcpListener::bind((address.as_str(), 22)).unwrap();
    let ctx = build_context(CUSTOMIZE);
    let stack = site.project("dup", &build(&ctx));
    let run = stack.tarn(&["apply", "--auto-approve"]).code(3);
    assert!(output(&run).contains(&format!("{address}:22 already answers")), "{}", run.dump());
    // Nothing was uploaded, built or deployed, and the claim is released.
    site.nothing_left(&run);
    let containers = TestDocker::shared().docker(&["ps", "-a", "--format", "{{.Names}}"]).unwrap();
    assert!(!containers.contains("pagw-builder-dup"), "{containers}");
    assert!(stack.addresses().is_empty());
    // Once the address is silent, the same apply goes through.
    drop(squatter);
    stack.tarn(&["apply", "--auto-approve"]).ok();
    assert_eq!(site.vms(), [("PAGW-dup".to_string(), true)]);
    stack.tarn(&["destroy", "--auto-approve"]).ok();
}

#[test]
fn pagw_destroy_is_held_by_the_zombie_guard_then_goes_through() {
    let site = Site::start("local-lvm", 1);
    let ctx = build_context(CUSTOMIZE);
    let stack = site.project("zombie", &build(&ctx));
    stack.tarn(&["apply", "--auto-approve"]).ok();
    let address = site.host.address(0);
    let zombie = TcpListener::bind((address.as_str(), 22)).unwrap();
    let run = stack.tarn(&["destroy", "--auto-approve"]).code(3);
    let text = output(&run);
    assert!(text.contains("zombie") && text.contains("records are kept") && text.contains(&address), "{}", run.dump());
    // The VM is gone, but the records stay, and so does the state's gateway.
    assert!(site.vms().is_empty(), "{:?}", site.vms());
    assert_eq!(site.claims(), [format!("zombie\t{address}")]);
    assert_eq!(stack.addresses(), ["pagw_instance.gw"]);
    drop(zombie);
    stack.tarn(&["destroy", "--auto-approve"]).ok();
    assert_eq!(site.claims(), Vec::<String>::new());
    assert!(stack.addresses().is_empty());
}

#[test]
fn pagw_the_default_project_keeps_the_singleton_and_its_destroy_clears_it() {
    let site = Site::start("local-lvm", 2);
    let default = site.project("Default", "  default = true\n");
    default.tarn(&["apply", "--auto-approve"]).ok();
    let slot = recorded(&default, "slot_id");
    let slot = slot.as_f64().unwrap_or_else(|| panic!("slot_id {slot}")) as i64;
    assert_eq!(site.sql("SELECT id FROM pagw_default_slot"), slot.to_string());
    // Another project never takes the default slot.
    let acme = site.project("acme", "");
    acme.tarn(&["apply", "--auto-approve"]).ok();
    let acme_slot = recorded(&acme, "slot_id").as_f64().unwrap() as i64;
    assert_ne!(acme_slot, slot);
    assert_eq!(site.sql("SELECT id FROM pagw_default_slot"), slot.to_string(), "the singleton is kept");
    // A re-plan of the default project is empty: the singleton is its slot.
    default.tarn(&["plan", "--detailed-exitcode"]).ok();

    default.tarn(&["destroy", "--auto-approve"]).ok();
    assert_eq!(site.sql("SELECT COUNT(*) FROM pagw_default_slot"), "0", "the destroy clears the singleton");
    assert_eq!(site.claims(), [format!("acme\t{}", site.host.address(1))]);
    acme.tarn(&["destroy", "--auto-approve"]).ok();
}

#[test]
fn pagw_the_plan_of_a_gateway_destroy_says_to_move_the_projects_resources_first() {
    let site = Site::start("local-lvm", 2);
    let stack = site.project("noted", "");
    let run = stack.tarn(&["plan"]).ok();
    assert!(!run.stdout.contains("# note:"), "a create has no destroy note: {}", run.dump());
    stack.tarn(&["apply", "--auto-approve"]).ok();

    let run = stack.tarn(&["plan", "--destroy"]).ok();
    // The note names the project whose resources must move.
    let note = destroy_note("noted");
    assert!(note.contains("resources of project \"noted\""), "{note}");
    assert!(run.stdout.contains(&format!("# note: {note}")), "{}", run.dump());
    let json = stack.tarn(&["plan", "--destroy", "--json"]).ok().json();
    let change = &json["changes"][0];
    assert_eq!(change["address"], "pagw_instance.gw");
    assert_eq!(change["action"], "delete");
    assert_eq!(change["notes"], serde_json::json!([note]));
    // Removing the block from the configuration plans the same delete, with the same note.
    stack.write("main.tarn.hcl", &site.provider_block());
    let run = stack.tarn(&["plan"]).ok();
    assert!(run.stdout.contains(&format!("# note: {note}")), "{}", run.dump());
    // A replacement (a new project name) deletes the gateway too: the note names the old project.
    stack.write("main.tarn.hcl", &format!("{}\n{}", site.provider_block(), gateway("renamed", "")));
    let json = stack.tarn(&["plan", "--json"]).ok().json();
    assert_eq!(json["changes"][0]["action"], "delete_then_create");
    assert_eq!(json["changes"][0]["notes"], serde_json::json!([note]));
    stack.write("main.tarn.hcl", &format!("{}\n{}", site.provider_block(), gateway("noted", "")));
    stack.tarn(&["destroy", "--auto-approve"]).ok();
    assert_eq!(site.claims(), Vec::<String>::new());
}

/// The `proxmox-ve-api` token of the TLS tests: its secret part must never show.
const API_TOKEN: &str = "root@pam!tarn=5f0c9b2e-e2e-secret";
const API_SECRET: &str = "5f0c9b2e-e2e-secret";

/// The run's output, its `--log-file` (debug), the state's bytes and `show --json`, a saved
/// plan and its JSON: none holds the token's secret.
#[track_caller]
fn token_never_shown(stack: &Stack, runs: &[&Run]) {
    let mut seen: Vec<(String, String)> = runs.iter().map(|r| ("a run's output".to_string(), output(r))).collect();
    let log = std::fs::read_to_string(stack.path().join("tarn.log")).unwrap_or_default();
    assert!(log.contains("/api2/json/"), "the debug log has the API calls (and so could leak): {log}");
    seen.push(("the debug log".into(), log));
    seen.push(("show --json".into(), stack.show().to_string()));
    let db = std::fs::read(stack.state_db()).unwrap_or_default();
    seen.push(("the state database".into(), String::from_utf8_lossy(&db).into_owned()));
    for (what, text) in seen {
        assert!(!text.contains(API_SECRET), "{what} holds the API token: {text}");
        assert!(!text.contains(PASSWORD), "{what} holds the password: {text}");
    }
}

#[test]
fn pagw_the_api_driver_applies_and_destroys_over_tls_with_the_fingerprint_in_the_block_or_the_environment() {
    let site = Site::start_driver("local-lvm", 1, "proxmox-ve-api");
    let fingerprint = site.host.pve.emulator.fingerprint();
    let ctx = build_context(CUSTOMIZE);
    let log = |stack: &Stack| stack.path().join("tarn.log").display().to_string();
    let debug = [("TARN_LOG", "debug")];

    // The fingerprint and the token in the provider block.
    let block = site.provider_block().replace(
        "  host_env = {",
        &format!(
            "  proxmox_api_token = \"{API_TOKEN}\"\n  proxmox_tls_fingerprint = \"{fingerprint}\"\n  host_env = {{"
        ),
    );
    let stack = Stack::with(&format!("{block}\n{}", gateway("tls", &build(&ctx))));
    stack.tarn(&["state", "keygen"]).ok();
    let l = log(&stack);
    let apply = stack.tarn_with(&["--log-file", &l, "apply", "--auto-approve"], &debug).ok();
    assert_eq!(site.vms(), [("PAGW-tls".to_string(), true)], "{}", apply.dump());
    let seen = site.host.pve.emulator.state.lock().unwrap().authorizations.clone();
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [format!("PVEAPIToken={API_TOKEN}")],
        "every call over TLS, with the token"
    );
    let plan = stack.tarn_with(&["--log-file", &l, "plan", "--destroy", "--out", "d.tarnplan"], &debug).ok();
    let saved = String::from_utf8_lossy(&std::fs::read(stack.path().join("d.tarnplan")).unwrap()).into_owned();
    assert!(!saved.contains(API_SECRET), "the saved plan holds the API token");
    let json = stack.tarn(&["plan", "--destroy", "--json"]).ok();
    let destroy = stack.tarn_with(&["--log-file", &l, "destroy", "--auto-approve"], &debug).ok();
    assert!(site.vms().is_empty(), "{}", destroy.dump());
    assert_eq!(site.volumes(), 0);
    assert_eq!(site.claims(), Vec::<String>::new());
    token_never_shown(&stack, &[&apply, &plan, &json, &destroy]);

    // The fingerprint and the token from the environment, the block holding neither.
    let stack = site.project("tlsenv", &build(&ctx));
    let l = log(&stack);
    let env =
        [("TARN_LOG", "debug"), ("PAGW_PVE_TLS_FINGERPRINT", fingerprint.as_str()), ("PAGW_PVE_API_TOKEN", API_TOKEN)];
    let apply = stack.tarn_with(&["--log-file", &l, "apply", "--auto-approve"], &env).ok();
    assert_eq!(site.vms(), [("PAGW-tlsenv".to_string(), true)], "{}", apply.dump());
    let destroy = stack.tarn_with(&["--log-file", &l, "destroy", "--auto-approve"], &env).ok();
    assert!(site.vms().is_empty(), "{}", destroy.dump());
    assert_eq!(site.claims(), Vec::<String>::new());
    token_never_shown(&stack, &[&apply, &destroy]);

    // Another fingerprint in the environment: refused before any request, the slot released.
    let wrong = "AB:".repeat(31) + "AB";
    // A token of its own: had any request reached the API, the emulator would have seen it.
    let pin_token = API_TOKEN.replace("!tarn=", "!pin=");
    let env = [("PAGW_PVE_TLS_FINGERPRINT", wrong.as_str()), ("PAGW_PVE_API_TOKEN", pin_token.as_str())];
    let run = stack.tarn_with(&["apply", "--auto-approve"], &env).code(3);
    let text = output(&run);
    let host = site.host.pve.emulator.server.addr().to_string();
    assert!(text.contains(&format!("could not connect to the Proxmox API at {host}")), "{}", run.dump());
    assert!(text.contains(&format!("the SHA-256 fingerprint {fingerprint}, not the pinned {wrong}")), "{}", run.dump());
    assert!(text.contains("the PAGW_PVE_TLS_FINGERPRINT environment variable"), "{}", run.dump());
    assert!(!text.contains(API_SECRET), "{}", run.dump());
    let seen = site.host.pve.emulator.state.lock().unwrap().authorizations.clone();
    assert!(!seen.contains(&format!("PVEAPIToken={pin_token}")), "a request reached the API");
    site.nothing_left(&run);
    assert!(stack.addresses().is_empty(), "{:?}", stack.addresses());
}
