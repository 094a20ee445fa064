//! `tarn serve` as several replicas behind a load balancer: two server processes on one
//! PostgreSQL state (the shared test server, a fresh schema) and one OpenNebula (the
//! standalone emulator, `tarn sim serve`), configured by an `engine.conf`. A runtime made
//! through one is read, resized and deleted through the other (ids are found in the shared
//! state); two PUTs for one runtime sent to both at once are serialised by the workspace's
//! state lock: one resizes, the other answers 423, and no two runs of the runtime overlap.

use crate::harness::{Lines, Running, Stack, wait_for};
use crate::serve::{DEVICE, http, listening_addr, workspace};
use serde_json::{Value as Json, json};
use std::time::Duration;
use tarn_state::postgres::testing::TestPostgres;

struct Replica {
    addr: String,
    _child: Running,
    _stderr: Lines,
}

fn replica(dir: &Stack, state: &str) -> Replica {
    let mut child = dir.spawn(&["serve", "--config", "engine.conf", "--state", state, "--listen", "127.0.0.1:0"]);
    let stdout = Lines::follow(child.stdout.take().unwrap());
    let stderr = Lines::follow(child.stderr.take().unwrap());
    let addr = listening_addr(&stdout);
    assert!(stdout.text().contains("postgres://"), "the state is PostgreSQL: {}", stdout.text());
    Replica { addr, _child: child, _stderr: stderr }
}

fn path(id: u64) -> String {
    format!("/serverless-runtimes/{id}")
}

#[test]
fn two_replicas_on_one_postgres_state_share_runtimes_and_serialise_requests_for_one() {
    let sim = Stack::new();
    let mut emulator = sim.spawn(&["sim", "serve", "--provider", "opennebula", "--json"]);
    let lines = Lines::follow(emulator.stdout.take().unwrap());
    let first =
        wait_for("the emulator's address", Duration::from_secs(30), || lines.text().lines().next().map(str::to_string));
    let info: Json = serde_json::from_str(&first).expect("one JSON object per emulator");
    let base = info["base_url"].as_str().expect("base_url").trim_end_matches('/').to_string();
    // The original's engine.conf, pointed at the emulator.
    let conf =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/provisioning-engine/etc/engine.conf"))
            .unwrap()
            .replace("http://localhost:2633/RPC2", &format!("{base}/RPC2"))
            .replace("http://localhost:2474", &base);
    assert!(conf.contains(&base), "the endpoints replaced");
    let state = TestPostgres::shared().fresh_stack_url();
    let (dir_a, dir_b) = (Stack::new(), Stack::new());
    dir_a.write("engine.conf", &conf);
    dir_b.write("engine.conf", &conf);
    let (a, b) = (replica(&dir_a, &state), replica(&dir_b, &state));

    let body = json!({"SERVERLESS_RUNTIME": {"NAME": "shared", "FAAS": {"FLAVOUR": "Function"}}}).to_string();
    let created = http(&a.addr, "POST", "/serverless-runtimes", Some(DEVICE), Some(&body));
    assert_eq!(created.status, 201, "{:?}", created.body);
    let rt = &created.body["SERVERLESS_RUNTIME"];
    let id = rt["ID"].as_u64().unwrap();
    let ws = workspace(&created);

    // B never saw the create: it finds the runtime in the shared state.
    let got = http(&b.addr, "GET", &path(id), Some(DEVICE), None);
    assert_eq!(got.status, 200, "{:?}", got.body);
    assert_eq!(got.body["SERVERLESS_RUNTIME"]["SERVICE_ID"], rt["SERVICE_ID"]);
    assert_eq!(workspace(&got), ws);

    // The same PUT sent to both replicas at once: one run resizes, the other is refused (423).
    let resize = json!({"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "Function", "CPU": 2}}}).to_string();
    let (on_a, on_b) = std::thread::scope(|scope| {
        let x = scope.spawn(|| http(&a.addr, "PUT", &path(id), Some(DEVICE), Some(&resize)));
        let y = scope.spawn(|| http(&b.addr, "PUT", &path(id), Some(DEVICE), Some(&resize)));
        (x.join().unwrap(), y.join().unwrap())
    });
    let mut statuses = [on_a.status, on_b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 423], "A: {:?}, B: {:?}", on_a.body, on_b.body);
    let resized = if on_a.status == 200 { &on_a } else { &on_b };
    assert_eq!(resized.body["SERVERLESS_RUNTIME"]["FAAS"]["CPU"], 2);

    // Read through the other replica: the resize is there.
    let got = http(&a.addr, "GET", &path(id), Some(DEVICE), None);
    assert_eq!((got.status, got.body["SERVERLESS_RUNTIME"]["FAAS"]["CPU"].as_u64()), (200, Some(2)));

    // Delete through B, gone for A.
    assert_eq!(http(&b.addr, "DELETE", &path(id), Some(DEVICE), None).status, 204);
    assert_eq!(http(&a.addr, "GET", &path(id), Some(DEVICE), None).status, 404);
    let services = http(&base.replace("http://", ""), "GET", "/service", Some(DEVICE), None);
    assert!(services.body.pointer("/DOCUMENT_POOL/DOCUMENT").is_none(), "a service left: {:?}", services.body);

    // The runtime's history: one successful PUT, the refused one a line of its own, and no
    // two runs of the runtime at the same time.
    let history =
        dir_a.tarn_with(&["--workspace", &ws, "history", "--json"], &[("TARN_BACKEND_URL", &state)]).ok().json();
    let runs = history["runs"].as_array().expect("runs").clone();
    let put = format!("tarn serve: PUT {}", path(id));
    let puts: Vec<&Json> = runs.iter().filter(|r| r["command"] == put.as_str()).collect();
    assert_eq!(puts.len(), 1, "one PUT run: {runs:?}");
    assert_eq!(puts[0]["outcome"], "success");
    assert!(
        runs.iter().any(|r| r["command"].as_str().is_some_and(|c| c.starts_with(&put) && c.contains("→ 423"))),
        "the refused PUT: {runs:?}"
    );
    let stamp = |r: &Json, k: &str| tarn_state::clock::parse(r[k].as_str().unwrap_or_default()).expect("RFC 3339");
    let mut spans: Vec<_> = runs
        .iter()
        .filter(|r| r["summary"].get("refused").is_none())
        .map(|r| (stamp(r, "started_at"), stamp(r, "finished_at")))
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "two runs overlap: {pair:?} in {runs:?}");
    }
}
