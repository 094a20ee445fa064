//! `tarn serve --sandbox` driven as a device drives COGNIT's Provisioning Engine: the real
//! binary, started once, against the OpenNebula emulator, over plain HTTP/1.1 (a TCP socket,
//! no client library). Every answer is checked against the contract vendored in
//! `specs/provisioning-engine/`: its status must be one `api.yaml` lists for the operation,
//! and its body must validate against `schemas/serverless_runtime.json`, `schemas/error.json`
//! or `schemas/config.json`. The emulator's own state (`/__sim/state`) is the ground truth for
//! what exists in OpenNebula; `tarn history` shows every request's run.
//!
//! One test, in steps, because one server serves them all and the last step stops it
//! (graceful shutdown with a create in flight).

use crate::harness::{Lines, Stack, wait_for};
use serde_json::{Value as Json, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/provisioning-engine");
pub(crate) const DEVICE: (&str, &str) = ("cognit", "sandbox");

/// One HTTP answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: Json,
}

/// A plain HTTP/1.1 request with `Connection: close`; `auth` as HTTP Basic.
pub(crate) fn http(addr: &str, method: &str, path: &str, auth: Option<(&str, &str)>, body: Option<&str>) -> Answer {
    use base64::Engine as _;
    let mut s = TcpStream::connect(addr).expect("connect to tarn serve");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((u, p)) = auth {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" || method == "PUT" {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the answer");
    let (head, rest) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {raw:?}"));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("a status code");
    let body =
        if rest.is_empty() { Json::Null } else { serde_json::from_str(rest).unwrap_or(Json::String(rest.into())) };
    Answer { status, headers: head.to_ascii_lowercase(), body }
}

/// The contract: api.yaml and the three schemas.
struct Contract {
    api: Json,
    runtime: jsonschema::Validator,
    error: jsonschema::Validator,
    config: jsonschema::Validator,
}

impl Contract {
    fn load() -> Contract {
        let read = |p: &str| std::fs::read_to_string(format!("{SPECS}/{p}")).unwrap();
        let schema = |p: &str| jsonschema::validator_for(&serde_json::from_str(&read(p)).unwrap()).unwrap();
        Contract {
            api: serde_yaml::from_str(&read("api.yaml")).unwrap(),
            runtime: schema("schemas/serverless_runtime.json"),
            error: schema("schemas/error.json"),
            config: schema("schemas/config.json"),
        }
    }

    /// Checks `a` as the answer to `method` on the route `template`.
    #[track_caller]
    fn check(&self, method: &str, template: &str, a: &Answer) {
        let op = &self.api["paths"][template][method.to_ascii_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in api.yaml");
        let listed = op["responses"].get(a.status.to_string()).is_some();
        // api.yaml lists 201 for a GET of a runtime; the original server (server.rb) answers
        // 200, which is what devices get and what tarn answers.
        let get_ok = method == "GET" && template == "/serverless-runtimes/{id}" && a.status == 200;
        // api.yaml lists no 400 for PUT; the original answers a body that is not JSON with 400
        // `Invalid JSON` on every route (server.rb's body_valid?), PUT included.
        let put_json = method == "PUT" && a.status == 400 && a.body["error"] == "Invalid JSON";
        assert!(
            listed || get_ok || put_json,
            "{method} {template} answered {}, which api.yaml does not list: {:?}",
            a.status,
            a.body
        );
        let problems =
            |v: &jsonschema::Validator| -> Vec<String> { v.iter_errors(&a.body).map(|e| e.to_string()).collect() };
        match (template, a.status) {
            (_, 400..) => {
                let p = problems(&self.error);
                assert!(p.is_empty(), "error answer {:?} is not schemas/error.json: {p:?}", a.body);
                assert!(a.headers.contains("content-type: application/json"), "{}", a.headers);
            }
            ("/serverless-runtimes" | "/serverless-runtimes/{id}", 200 | 201) => {
                let p = problems(&self.runtime);
                assert!(p.is_empty(), "runtime answer {:?} is not schemas/serverless_runtime.json: {p:?}", a.body);
                let sr = &a.body["SERVERLESS_RUNTIME"];
                assert!(sr["ID"].is_u64() && sr["SERVICE_ID"].is_u64(), "no ID/SERVICE_ID: {sr}");
            }
            ("/server/config", 200) => assert!(problems(&self.config).is_empty(), "{:?}", a.body),
            ("/server/version", 200) => assert!(a.body.is_string(), "{:?}", a.body),
            ("/serverless-runtimes/schema", 200) => assert!(a.body["properties"]["SERVERLESS_RUNTIME"].is_object()),
            (_, 204) => assert!(a.body.is_null(), "a 204 with a body: {:?}", a.body),
            other => panic!("no check for {other:?}"),
        }
    }
}

/// The server under test and its stack directory.
struct Server {
    stack: Stack,
    addr: String,
    emulator: String,
    child: crate::harness::Running,
    stderr: Lines,
    stdout: Lines,
    contract: Contract,
}

impl Server {
    fn start() -> Server {
        Server::launch(Stack::new(), Contract::load())
    }

    /// A server reading `engine_conf` (engine.conf's YAML) with `--config`.
    fn start_with_conf(engine_conf: &str) -> Server {
        let stack = Stack::new();
        stack.write("engine.conf", engine_conf);
        Server::launch(stack, Contract::load())
    }

    /// `tarn --sandbox serve` in `stack`'s directory (its state and emulator snapshot), with
    /// its `engine.conf` when it has one.
    fn launch(stack: Stack, contract: Contract) -> Server {
        let mut args = vec!["--sandbox", "serve", "--listen", "127.0.0.1:0"];
        if stack.path().join("engine.conf").exists() {
            args.extend(["--config", "engine.conf"]);
        }
        let mut child = stack.spawn(&args);
        let stdout = Lines::follow(child.stdout.take().unwrap());
        let stderr = Lines::follow(child.stderr.take().unwrap());
        let addr = listening_addr(&stdout);
        let emulator = wait_for("the emulator's address", Duration::from_secs(10), || {
            let text = stderr.text();
            let at = text.find("OpenNebula emulator at http://")?;
            Some(text[at + 30..].split_whitespace().next()?.to_string())
        });
        Server { stack, addr, emulator, child, stderr, stdout, contract }
    }

    /// A new server on the same directory, after this one stopped.
    fn restart(self) -> Server {
        let Server { stack, contract, .. } = self;
        Server::launch(stack, contract)
    }

    /// A request, its answer checked against the contract.
    #[track_caller]
    fn call(&self, method: &str, template: &str, path: &str, auth: Option<(&str, &str)>, body: Option<&str>) -> Answer {
        let a = http(&self.addr, method, path, auth, body);
        self.contract.check(method, template, &a);
        a
    }

    fn create(&self, body: &str) -> Answer {
        self.call("POST", "/serverless-runtimes", "/serverless-runtimes", Some(DEVICE), Some(body))
    }

    fn runtime(&self, method: &str, id: u64, body: Option<&str>) -> Answer {
        self.call(method, "/serverless-runtimes/{id}", &format!("/serverless-runtimes/{id}"), Some(DEVICE), body)
    }

    /// The emulator's world: services and VMs as OpenNebula has them.
    fn world(&self) -> Json {
        let a = http(&self.emulator.replace("http://", ""), "GET", "/__sim/state", None, None);
        a.body
    }

    fn live_services(&self) -> Vec<Json> {
        self.world()["services"].as_array().cloned().unwrap_or_default()
    }
}

/// The address a `tarn serve` prints once it listens (`… on http://ADDR`), waited for.
pub(crate) fn listening_addr(stdout: &Lines) -> String {
    wait_for("tarn serve to listen", Duration::from_secs(60), || {
        let text = stdout.text();
        let at = text.find("on http://")?;
        Some(text[at + 10..].split_whitespace().next()?.to_string())
    })
}

pub(crate) fn workspace(a: &Answer) -> String {
    let at = a.headers.find("x-tarn-workspace: ").expect("the workspace header") + 18;
    a.headers[at..].lines().next().unwrap().trim().to_string()
}

fn sr(id_answer: &Answer) -> &Json {
    &id_answer.body["SERVERLESS_RUNTIME"]
}

#[test]
fn serve_answers_devices_as_the_provisioning_engine_does() {
    let s = Server::start();

    // The routes without authentication.
    let v = s.call("GET", "/server/version", "/server/version", None, None);
    assert_eq!((v.status, v.body.clone()), (200, json!("1.3.3")));
    let c = s.call("GET", "/server/config", "/server/config", None, None);
    assert_eq!(c.body["port"], 1337);
    assert!(c.body["one_xmlrpc"].as_str().unwrap().starts_with(&format!("http://{}", s.emulator)), "{:?}", c.body);
    let schema = s.call("GET", "/serverless-runtimes/schema", "/serverless-runtimes/schema", None, None);
    let vendored: Json =
        serde_json::from_str(&std::fs::read_to_string(format!("{SPECS}/schemas/serverless_runtime.json")).unwrap())
            .unwrap();
    assert_eq!(schema.body, vendored);

    // Credentials: missing, not Basic, wrong.
    let body = r#"{"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "Function"}}}"#;
    let a = s.call("POST", "/serverless-runtimes", "/serverless-runtimes", None, Some(body));
    assert_eq!((a.status, a.body["error"].as_str()), (401, Some("Authentication required")));
    let a = s.call("POST", "/serverless-runtimes", "/serverless-runtimes", Some(("cognit", "wrong")), Some(body));
    assert_eq!(a.status, 401, "{:?}", a.body);
    assert_eq!(http(&s.addr, "GET", "/serverless-runtimes/1", None, None).status, 401);

    // Bad bodies.
    let a = s.create("{not json");
    assert_eq!((a.status, a.body["error"].as_str()), (400, Some("Invalid JSON")));
    let a = s.create(r#"{"SERVERLESS_RUNTIME": {"FAAS": {"CPU": "two"}}}"#);
    assert_eq!(a.status, 400);
    let why = a.body["message"].as_str().unwrap();
    assert!(why.contains("FLAVOUR") && why.contains("CPU"), "{why}");
    let a = s.create(r#"{"SERVERLESS_RUNTIME": {"NAME": "no faas"}}"#);
    assert_eq!(a.status, 400, "{:?}", a.body);

    // Flavours: unknown (422), a deploy that fails (500, rolled back), a denied template (403).
    let a = s.create(r#"{"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "nature"}}}"#);
    assert_eq!(a.status, 422, "{:?}", a.body);
    assert!(a.body["message"].as_str().unwrap().contains("unknown flavour \"nature\""), "{:?}", a.body);
    let a = s.create(r#"{"SERVERLESS_RUNTIME": {"NAME": "doomed", "FAAS": {"FLAVOUR": "FAILED_DEPLOY"}}}"#);
    assert_eq!(a.status, 500, "{:?}", a.body);
    assert!(a.body["message"].as_str().unwrap().contains("FAILED_DEPLOYING"), "{:?}", a.body);
    let a = s.create(r#"{"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "DenyVMTemplate"}}}"#);
    assert_eq!(a.status, 403, "{:?}", a.body);
    assert!(a.body["message"].as_str().unwrap().contains("Not authorized"), "{:?}", a.body);
    wait_for("the failed service to be removed", Duration::from_secs(30), || {
        s.live_services().is_empty().then_some(())
    });

    // The contract's own example body, with flavours the sandbox has.
    let example = std::fs::read_to_string(format!("{SPECS}/examples/serverless-runtime.json")).unwrap();
    let mut example: Json = serde_json::from_str(&example).unwrap();
    example["SERVERLESS_RUNTIME"]["FAAS"]["FLAVOUR"] = json!("Function");
    example["SERVERLESS_RUNTIME"]["DAAS"]["FLAVOUR"] = json!("Data");
    let created = s.create(&example.to_string());
    assert_eq!(created.status, 201, "{:?}", created.body);
    let rt = sr(&created).clone();
    let id = rt["ID"].as_u64().unwrap();
    assert_eq!(rt["NAME"], "nature-s3");
    assert_eq!((rt["FAAS"]["STATE"].as_str(), rt["DAAS"]["STATE"].as_str()), (Some("RUNNING"), Some("RUNNING")));
    assert_eq!((rt["FAAS"]["CPU"].as_u64(), rt["FAAS"]["MEMORY"].as_u64()), (Some(1), Some(512)));
    assert_eq!(rt["SCHEDULING"], json!({"POLICY": "energy", "REQUIREMENTS": "FREECPU > 10"}));
    assert!(rt["FAAS"]["ENDPOINT"].as_str().unwrap().starts_with("10.0."), "{rt}");
    let services = s.live_services();
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["id"].as_u64(), rt["SERVICE_ID"].as_u64());

    // Unknown ids and documents that are not runtimes (0 is the Function service template).
    for (path_id, what) in [("999", "unknown"), ("0", "a service template's document"), ("abc", "not a number")] {
        let a =
            s.call("GET", "/serverless-runtimes/{id}", &format!("/serverless-runtimes/{path_id}"), Some(DEVICE), None);
        assert_eq!(a.status, 404, "{what}: {:?}", a.body);
        assert_eq!(a.body["error"], "Serverless Runtime not found");
    }
    assert_eq!(s.runtime("DELETE", 999, None).status, 404);
    assert_eq!(s.runtime("PUT", 999, Some(body)).status, 404);
    // As the original: PUT looks the runtime up (404) before it checks the body against the
    // schema, and a body that is not a runtime is a failed update (500, with the schema's
    // complaints); a body that is not JSON is 400 first.
    let not_a_runtime = r#"{"SERVERLESS_RUNTIME": {"NAME": "no faas"}}"#;
    assert_eq!(s.runtime("PUT", 999, Some(not_a_runtime)).status, 404);
    assert_eq!(s.runtime("PUT", 999, Some("{not json")).status, 400);
    let a = s.runtime("PUT", id, Some(not_a_runtime));
    assert_eq!((a.status, a.body["error"].as_str()), (500, Some("Invalid Serverless Runtime specification")));
    assert!(a.body["message"].as_str().unwrap().contains("FAAS"), "{:?}", a.body);

    // GET refreshes from OpenNebula; wrong credentials are OpenNebula's to refuse.
    let got = s.runtime("GET", id, None);
    assert_eq!(got.status, 200);
    assert_eq!(sr(&got)["FAAS"]["VM_ID"], rt["FAAS"]["VM_ID"]);
    let a = s.call(
        "GET",
        "/serverless-runtimes/{id}",
        &format!("/serverless-runtimes/{id}"),
        Some(("cognit", "wrong")),
        None,
    );
    assert_eq!(a.status, 401, "{:?}", a.body);

    // A resize, and a second resize while the first one is still being made (423).
    let resize = |cpu: u64| json!({"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "Function", "CPU": cpu}}}).to_string();
    let first = std::thread::scope(|scope| {
        let first = scope.spawn(|| s.runtime("PUT", id, Some(&resize(2))));
        std::thread::sleep(Duration::from_millis(300));
        let second = s.runtime("PUT", id, Some(&resize(2)));
        assert_eq!(second.status, 423, "{:?}", second.body);
        assert_eq!(second.body["error"], "Cannot update Serverless Runtime on transient state");
        first.join().unwrap()
    });
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(sr(&first)["FAAS"]["CPU"], 2);
    assert_eq!(sr(&first)["FAAS"]["FLAVOUR"], "Function", "a PUT changes sizes only");
    let vm_id = rt["FAAS"]["VM_ID"].as_u64().unwrap();
    let vm = s.world()["vms"].as_array().unwrap().iter().find(|v| v["id"].as_u64() == Some(vm_id)).cloned().unwrap();
    assert!(vm.to_string().contains("\"VCPU\",\"2\"") || vm.to_string().contains("\"vcpu\":2"), "{vm}");

    // Two creates at once: both made, in parallel (different runtimes do not wait for each other).
    let two: Vec<Answer> = std::thread::scope(|scope| {
        let body = |n: &str| json!({"SERVERLESS_RUNTIME": {"NAME": n, "FAAS": {"FLAVOUR": "Function"}}}).to_string();
        let s = &s;
        let a = scope.spawn(move || s.create(&body("a")));
        let b = scope.spawn(move || s.create(&body("b")));
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    assert!(two.iter().all(|a| a.status == 201), "{two:?}");
    assert_ne!(sr(&two[0])["ID"], sr(&two[1])["ID"]);
    assert_eq!(s.live_services().len(), 3);

    // Delete: 204, gone from OpenNebula, then 404.
    for a in two.iter().map(sr).chain([&rt]) {
        let id = a["ID"].as_u64().unwrap();
        assert_eq!(s.runtime("DELETE", id, None).status, 204);
        assert_eq!(s.runtime("GET", id, None).status, 404);
    }
    assert!(s.live_services().is_empty(), "{:?}", s.live_services());
    assert!(s.world()["documents"].as_array().unwrap().is_empty(), "runtime documents left behind");

    // Every request's run is in the runtime's workspace history.
    let ws = workspace(&created);
    let history = s.stack.tarn(&["--sandbox", "--workspace", &ws, "history", "--json"]).ok().json();
    let commands: Vec<String> =
        history["runs"].as_array().unwrap().iter().map(|r| r["command"].as_str().unwrap().to_string()).collect();
    for want in [
        "tarn serve: POST /serverless-runtimes".to_string(),
        format!("tarn serve: GET /serverless-runtimes/{id}"),
        format!("tarn serve: PUT /serverless-runtimes/{id}"),
        format!("tarn serve: DELETE /serverless-runtimes/{id}"),
        // The PUT refused while the first one ran: no run of its own, one line all the same.
        format!("tarn serve: PUT /serverless-runtimes/{id} → 423 Cannot update Serverless Runtime on transient state"),
        // The PUT whose body was not a runtime, refused once the runtime was found.
        format!("tarn serve: PUT /serverless-runtimes/{id} → 500 Invalid Serverless Runtime specification"),
    ] {
        assert!(commands.contains(&want), "{want:?} not in {commands:?}");
    }
    // The requests refused before they reached a runtime are in the serve-refused workspace.
    let refused = refused_commands(&s);
    for want in [
        "tarn serve: POST /serverless-runtimes → 401 Authentication required",
        "tarn serve: POST /serverless-runtimes → 401 Failed to authenticate in OpenNebula",
        "tarn serve: POST /serverless-runtimes → 400 Invalid JSON",
        "tarn serve: POST /serverless-runtimes → 400 Invalid Serverless Runtime specification",
        "tarn serve: POST /serverless-runtimes → 422 Unprocessable Serverless Runtime definition",
        "tarn serve: GET /serverless-runtimes/999 → 404 Serverless Runtime not found",
        "tarn serve: GET /serverless-runtimes/abc → 404 Serverless Runtime not found",
        "tarn serve: DELETE /serverless-runtimes/999 → 404 Serverless Runtime not found",
        "tarn serve: PUT /serverless-runtimes/999 → 404 Serverless Runtime not found",
        "tarn serve: PUT /serverless-runtimes/999 → 400 Invalid JSON",
    ] {
        assert!(refused.iter().any(|c| c == want), "{want:?} not in {refused:?}");
    }

    // Metrics: counts by route and status, latency, runs in flight.
    let m = http(&s.addr, "GET", "/metrics", None, None);
    let text = m.body.as_str().unwrap_or_default().to_string();
    for want in [
        "tarn_serve_requests_total{method=\"POST\",route=\"/serverless-runtimes\",status=\"201\"} 3",
        "tarn_serve_requests_total{method=\"PUT\",route=\"/serverless-runtimes/{id}\",status=\"423\"} 1",
        "tarn_serve_request_duration_seconds_bucket{le=",
        "tarn_serve_runs_in_flight 0",
    ] {
        assert!(text.contains(want) || text.contains(&want.replace("{le=", "{")), "{want} not in\n{text}");
    }
    assert!(s.stderr.text().contains("route=/serverless-runtimes/{id} path=/serverless-runtimes/"), "no request log");
    assert!(!s.stderr.text().contains("sandbox\""), "a password in the logs");

    graceful_shutdown(s);
}

/// The commands of the `serve-refused` workspace's history, each with its outcome `failed`.
fn refused_commands(s: &Server) -> Vec<String> {
    let history = s.stack.tarn(&["--sandbox", "--workspace", "serve-refused", "history", "--json"]).ok().json();
    let runs = history["runs"].as_array().expect("runs").clone();
    assert!(runs.iter().all(|r| r["outcome"] == "failed"), "{runs:?}");
    assert!(!history.to_string().contains("sandbox\""), "a password in the history");
    runs.iter().map(|r| r["command"].as_str().unwrap_or_default().to_string()).collect()
}

/// One oned XML-RPC call to the emulator, as an operator's tool would make it: the VM
/// action `action` on `vm` with the sandbox user's session.
fn vm_action(s: &Server, action: &str, vm: u64) {
    let body = format!(
        "<?xml version=\"1.0\"?><methodCall><methodName>one.vm.action</methodName><params>\
         <param><value><string>cognit:sandbox</string></value></param>\
         <param><value><string>{action}</string></value></param>\
         <param><value><int>{vm}</int></value></param></params></methodCall>"
    );
    let a = http(&s.emulator.replace("http://", ""), "POST", "/RPC2", None, Some(&body));
    let text = a.body.as_str().unwrap_or_default().to_string();
    assert!(a.status == 200 && text.contains("<boolean>1</boolean>"), "{action} VM {vm}: {text}");
}

/// The emulator's VM `id`: (STATE, LCM_STATE).
fn vm_state(s: &Server, id: u64) -> (u64, u64) {
    let w = s.world();
    let vm = w["vms"].as_array().unwrap().iter().find(|v| v["id"].as_u64() == Some(id)).cloned().expect("the VM");
    (vm["state"].as_u64().unwrap(), vm["lcm"].as_u64().unwrap())
}

/// A function whose VM is really not RUNNING (powered off outside tarn, through oned): GET
/// shows it, PUT answers 423 and changes nothing, a PUT that asks for no change as well (as
/// the original, which reads the VMs whatever the body); each refusal is in the runtime's
/// history. Powered on again, the same PUT resizes. A VM terminated outside tarn: GET shows
/// the function in ERROR, a PUT answers 423 and changes nothing (the runtime keeps its ID, no
/// service is made), and DELETE removes it.
#[test]
fn serve_answers_423_while_a_function_is_not_running_and_get_shows_the_real_state() {
    let s = Server::start();
    let created = s.create(r#"{"SERVERLESS_RUNTIME": {"NAME": "off", "FAAS": {"FLAVOUR": "Function"}}}"#);
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = sr(&created)["ID"].as_u64().unwrap();
    let vm = sr(&created)["FAAS"]["VM_ID"].as_u64().unwrap();
    let ws = workspace(&created);

    vm_action(&s, "poweroff", vm);
    wait_for("the VM to be POWEROFF", Duration::from_secs(30), || (vm_state(&s, vm) == (8, 0)).then_some(()));

    // No GET first: the PUT's own run reads OpenNebula again before it decides.
    let resize = json!({"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "Function", "CPU": 2}}}).to_string();
    let unchanged = json!({"SERVERLESS_RUNTIME": {"NAME": "off", "FAAS": {"FLAVOUR": "Function"}}}).to_string();
    let world_before = s.world()["vms"].clone();
    for body in [&resize, &unchanged] {
        let a = s.runtime("PUT", id, Some(body));
        assert_eq!(a.status, 423, "{body}: {:?}", a.body);
        assert_eq!(a.body["error"], "Cannot update Serverless Runtime on transient state");
        let why = a.body["message"].as_str().unwrap();
        assert!(why.contains(&format!("FAAS function's VM {vm} is PENDING")) && why.contains("not RUNNING"), "{why}");
    }
    assert_eq!(s.world()["vms"], world_before, "a refused PUT changed a VM");
    let got = s.runtime("GET", id, None);
    assert_eq!((got.status, sr(&got)["FAAS"]["STATE"].as_str()), (200, Some("PENDING")), "{:?}", got.body);
    let history = s.stack.tarn(&["--sandbox", "--workspace", &ws, "history", "--json"]).ok().json();
    let refusals = history["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["command"]
                == format!("tarn serve: PUT /serverless-runtimes/{id} → 423 Cannot update Serverless Runtime on transient state")
        })
        .inspect(|r| assert_eq!(r["outcome"], "failed", "{r}"))
        .count();
    assert_eq!(refusals, 2, "{history}");

    vm_action(&s, "resume", vm);
    wait_for("the VM to run again", Duration::from_secs(30), || (vm_state(&s, vm) == (3, 3)).then_some(()));
    let a = s.runtime("PUT", id, Some(&resize));
    assert_eq!(a.status, 200, "{:?}", a.body);
    assert_eq!((sr(&a)["FAAS"]["CPU"].as_u64(), sr(&a)["FAAS"]["STATE"].as_str()), (Some(2), Some("RUNNING")));

    vm_action(&s, "terminate", vm);
    wait_for("the VM to be DONE", Duration::from_secs(30), || (vm_state(&s, vm).0 == 6).then_some(()));

    // A PUT answers as the original: the VM is not RUNNING (a DONE VM reads as LCM_INIT,
    // which the original maps to PENDING), 423, and nothing changes: the device's ID still
    // names the runtime, no new service or document is made.
    let old_service = sr(&created)["SERVICE_ID"].as_u64().unwrap();
    let documents = s.world()["documents"].clone();
    for body in [&resize, &unchanged] {
        let a = s.runtime("PUT", id, Some(body));
        assert_eq!(a.status, 423, "{:?}", a.body);
        let why = a.body["message"].as_str().unwrap();
        assert!(why.contains(&format!("VM {vm} is gone")) && why.contains("delete the runtime"), "{why}");
    }
    let got = s.runtime("GET", id, None);
    assert_eq!((got.status, sr(&got)["FAAS"]["STATE"].as_str()), (200, Some("ERROR")), "{:?}", got.body);
    let services = s.live_services();
    assert_eq!(services.len(), 1, "{services:?}");
    assert_eq!(services[0]["id"].as_u64(), Some(old_service), "the service was not replaced: {services:?}");
    assert_eq!(s.world()["documents"], documents, "a document was made or changed");
    let got = s.runtime("GET", id, None);
    assert_eq!((got.status, sr(&got)["ID"].as_u64()), (200, Some(id)), "the ID still names it: {:?}", got.body);
    assert_eq!(s.runtime("DELETE", id, None).status, 204);
    assert!(s.live_services().is_empty(), "{:?}", s.live_services());
    assert!(s.world()["documents"].as_array().unwrap().is_empty(), "{:?}", s.world()["documents"]);
}

/// The `serve-refused` history is bounded by `:refused_history:`: after more refusals than
/// it keeps, only the newest are left, the latest among them.
#[test]
fn serve_histories_keep_the_newest_runs_and_refusals() {
    let conf =
        std::fs::read_to_string(format!("{SPECS}/etc/engine.conf")).unwrap() + "\n:refused_history: 3\n:history: 4\n";
    let s = Server::start_with_conf(&conf);
    // A device polling its runtime: every GET is a run, the runtime's history keeps the newest 4.
    let created = s.create(r#"{"SERVERLESS_RUNTIME": {"NAME": "polled", "FAAS": {"FLAVOUR": "Function"}}}"#);
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = sr(&created)["ID"].as_u64().unwrap();
    let ws = workspace(&created);
    for _ in 0..5 {
        assert_eq!(s.runtime("GET", id, None).status, 200);
    }
    let bogus = r#"{"SERVERLESS_RUNTIME": {"NAME": "no faas"}}"#;
    assert_eq!(s.runtime("PUT", id, Some(bogus)).status, 500, "a body that is not a runtime");
    let history = s.stack.tarn(&["--sandbox", "--workspace", &ws, "history", "--json"]).ok().json();
    let commands: Vec<String> =
        history["runs"].as_array().unwrap().iter().map(|r| r["command"].as_str().unwrap().to_string()).collect();
    let get = format!("tarn serve: GET /serverless-runtimes/{id}");
    assert_eq!(
        commands,
        [
            format!("tarn serve: PUT /serverless-runtimes/{id} → 500 Invalid Serverless Runtime specification"),
            get.clone(),
            get.clone(),
            get,
        ],
        "newest first, four kept: the create and the first GETs are gone"
    );
    assert_eq!(s.runtime("DELETE", id, None).status, 204);
    assert!(s.live_services().is_empty());

    for n in 0..6 {
        let a = s.call("GET", "/serverless-runtimes/{id}", &format!("/serverless-runtimes/{}", 900 + n), None, None);
        assert_eq!(a.status, 401);
        let a = s.runtime("GET", 900 + n, None);
        assert_eq!(a.status, 404);
    }
    let refused = refused_commands(&s);
    assert_eq!(
        refused,
        [
            "tarn serve: GET /serverless-runtimes/905 → 404 Serverless Runtime not found",
            "tarn serve: GET /serverless-runtimes/905 → 401 Authentication required",
            "tarn serve: GET /serverless-runtimes/904 → 404 Serverless Runtime not found",
        ],
        "newest first, three kept"
    );
    let conf = std::fs::read_to_string(format!("{SPECS}/etc/engine.conf")).unwrap() + "\n:refused_history: 0\n";
    s.stack.write("bad.conf", &conf);
    s.stack
        .tarn(&["--sandbox", "serve", "--config", "bad.conf", "--listen", "127.0.0.1:0"])
        .code(1)
        .stderr_has(":refused_history: must be a whole number of at least 1, not 0");
    let conf = std::fs::read_to_string(format!("{SPECS}/etc/engine.conf")).unwrap() + "\n:history: -2\n";
    s.stack.write("bad.conf", &conf);
    s.stack
        .tarn(&["--sandbox", "serve", "--config", "bad.conf", "--listen", "127.0.0.1:0"])
        .code(1)
        .stderr_has(":history: must be a whole number of at least 1, not -2");
}

/// SIGTERM with a create in flight: the create is answered 201, then the server exits 0.
fn graceful_shutdown(mut s: Server) {
    let addr = s.addr.clone();
    let body = json!({"SERVERLESS_RUNTIME": {"NAME": "last", "FAAS": {"FLAVOUR": "Function"}}}).to_string();
    let pending = std::thread::spawn(move || http(&addr, "POST", "/serverless-runtimes", Some(DEVICE), Some(&body)));
    std::thread::sleep(Duration::from_millis(400));
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(s.child.id() as i32, libc::SIGTERM) }, 0);
    let a = pending.join().unwrap();
    s.contract.check("POST", "/serverless-runtimes", &a);
    assert_eq!(a.status, 201, "{:?}", a.body);
    let status = wait_for("tarn serve to exit", Duration::from_secs(60), || s.child.try_wait().unwrap());
    assert_eq!(status.code(), Some(0), "{}", s.stderr.text());
    assert!(s.stderr.text().contains("waiting for running requests to finish"));
    // The runtime made during shutdown stays, recorded: a restarted server knows it.
    let id = sr(&a)["ID"].as_u64().unwrap();
    let again = s.restart();
    assert!(again.stdout.text().contains("1 runtime(s) known"), "{}", again.stdout.text());
    let got = again.runtime("GET", id, None);
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(again.runtime("DELETE", id, None).status, 204);
    assert!(again.live_services().is_empty());
}
