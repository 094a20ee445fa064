//! Scheduled drift checks end to end: `tarn drift --every 1s` with `--report`, `--notify` to a
//! webhook receiver run by the test (a tiny axum server on 127.0.0.1) and `--metrics-addr`
//! scraped over HTTP, while the test causes drift and clears it; then SIGTERM ends it cleanly.
//! Also the cron style (one check per run, transitions remembered through the report file),
//! and a dead webhook that is logged but never fails the check.

use crate::drift::applied;
use crate::harness::{Lines, Stack, wait_for};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A webhook receiver on 127.0.0.1: every POSTed JSON body, in order. Stops when dropped.
struct Hook {
    _rt: tokio::runtime::Runtime,
    received: Arc<Mutex<Vec<Json>>>,
    url: String,
}

impl Hook {
    fn start() -> Hook {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let received: Arc<Mutex<Vec<Json>>> = Arc::default();
        let r = received.clone();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = axum::Router::new().route(
            "/hooks/secret-token-123",
            axum::routing::post(move |axum::Json(body): axum::Json<Json>| {
                let r = r.clone();
                async move {
                    r.lock().unwrap().push(body);
                    "ok"
                }
            }),
        );
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hook { _rt: rt, received, url: format!("http://127.0.0.1:{port}/hooks/secret-token-123") }
    }

    fn events(&self) -> Vec<String> {
        self.received.lock().unwrap().iter().map(|b| b["event"].as_str().unwrap_or("?").to_string()).collect()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET /metrics`, parsed into name → value (unlabelled samples only).
fn scrape(port: u16) -> HashMap<String, f64> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics server");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| Some((k.to_string(), v.trim().parse().ok()?)))
        .collect()
}

fn report_lines(s: &Stack, name: &str) -> Vec<Json> {
    let text = std::fs::read_to_string(s.path().join(name)).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("report line is not JSON ({e}): {l}")))
        .collect()
}

fn statuses(s: &Stack) -> Vec<String> {
    report_lines(s, "drift.jsonl").iter().map(|l| l["status"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_second_with_report_webhook_and_metrics_then_sigterm() {
    let s = applied();
    let state_before = s.state_fingerprint();
    let hook = Hook::start();
    let metrics_port = free_port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let mut child = s.spawn(&[
        "drift",
        "--every",
        "1s",
        "--report",
        "drift.jsonl",
        "--notify",
        &hook.url,
        "--metrics-addr",
        &metrics_addr,
    ]);
    let stdout = Lines::follow(child.stdout.take().unwrap());
    let stderr = Lines::follow(child.stderr.take().unwrap());
    let long = Duration::from_secs(30);

    wait_for("a first check without drift", long, || statuses(&s).first().filter(|st| *st == "no_drift").map(|_| ()));
    let m = scrape(metrics_port);
    assert!(m["tarn_drift_checks_total"] >= 1.0, "{m:?}");
    assert_eq!(m["tarn_drift_detected"], 0.0, "{m:?}");
    assert_eq!(m["tarn_drift_resources_checked"], 3.0, "{m:?}");

    // Drift appears: one notification, whatever the number of checks that see it.
    s.write("out/a.txt", "edited by hand\n");
    wait_for("a check that finds the drift", long, || statuses(&s).contains(&"drift".to_string()).then_some(()));
    wait_for("the drift_detected notification", long, || (!hook.events().is_empty()).then_some(()));
    let first = hook.received.lock().unwrap()[0].clone();
    assert_eq!(first["type"], "drift_notification");
    assert_eq!(first["event"], "drift_detected");
    assert_eq!(first["report"]["status"], "drift");
    assert_eq!(first["report"]["resources"][0]["address"], "local_file.a");
    let m = scrape(metrics_port);
    assert_eq!(m["tarn_drift_detected"], 1.0, "{m:?}");
    assert_eq!(m["tarn_drift_drifted_resources"], 1.0, "{m:?}");
    assert_eq!(m["tarn_drift_checks_failed_total"], 0.0, "{m:?}");
    assert!(m["tarn_drift_last_check_timestamp_seconds"] > 1.7e9, "{m:?}");
    wait_for("a second check that still sees it", long, || {
        (statuses(&s).iter().filter(|st| *st == "drift").count() >= 2).then_some(())
    });
    assert_eq!(hook.events(), ["drift_detected"], "a notification per check instead of per transition");

    // Drift clears: one more notification.
    s.write("out/a.txt", "alpha\n");
    wait_for("the drift_cleared notification", long, || (hook.events().len() >= 2).then_some(()));
    assert_eq!(hook.events(), ["drift_detected", "drift_cleared"]);
    assert_eq!(statuses(&s).last().unwrap(), "no_drift");
    let m = scrape(metrics_port);
    assert_eq!(m["tarn_drift_detected"], 0.0, "{m:?}");
    assert_eq!(m["tarn_drift_drifted_resources"], 0.0, "{m:?}");
    let checks = m["tarn_drift_checks_total"];
    assert!(checks >= 4.0 && checks as usize <= report_lines(&s, "drift.jsonl").len() + 1, "{m:?}");

    // SIGTERM ends it cleanly.
    // SAFETY: kill with a pid we started and still own (the child has not been reaped).
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = wait_for("tarn to stop", Duration::from_secs(15), || child.try_wait().unwrap());
    assert_eq!(status.code(), Some(0), "stderr:\n{}", stderr.text());
    let (out, err) = (stdout.finish(), stderr.finish());
    assert!(err.contains("Stopped checking for drift."), "{err}");
    assert!(
        out.contains(" no drift (3 objects checked)") && out.contains(" drift: 1 of 3 objects (local_file.a changed)"),
        "{out}"
    );
    assert!(
        !out.contains("secret-token-123") && !err.contains("secret-token-123"),
        "the webhook URL's secret path was printed:\n{out}\n{err}"
    );
    for line in report_lines(&s, "drift.jsonl") {
        assert_eq!(line["format_version"], "1.5");
        assert!(line["checked_at"].is_string() && line["duration_ms"].is_u64(), "{line}");
    }
    assert_eq!(s.state_fingerprint(), state_before, "scheduled drift checks changed the state");
}

#[test]
fn cron_style_runs_remember_the_last_report_and_a_dead_webhook_is_not_fatal() {
    let s = applied();
    let hook = Hook::start();
    let once = |code: i32| s.tarn(&["drift", "--report", "drift.jsonl", "--notify", &hook.url]).code(code);
    once(0);
    assert!(hook.events().is_empty(), "no drift, nothing to say");
    s.remove("out/b.txt");
    once(2);
    once(2);
    assert_eq!(hook.events(), ["drift_detected"], "the second run knew from the report file");
    s.tarn(&["apply", "--auto-approve"]).ok();
    once(0);
    assert_eq!(hook.events(), ["drift_detected", "drift_cleared"]);
    assert_eq!(statuses(&s), ["no_drift", "drift", "drift", "no_drift"]);

    // Nobody listening: the check's own result stands, the failure is a warning.
    s.remove("out/b.txt");
    let dead = format!("http://127.0.0.1:{}/hooks/secret-token-123", free_port());
    let run = s.tarn(&["drift", "--report", "drift.jsonl", "--notify", &dead]).code(2);
    assert!(run.stderr.contains("could not notify http://127.0.0.1:"), "{}", run.dump());
    assert!(!run.stderr.contains("secret-token-123"), "{}", run.dump());
}

#[test]
fn metrics_addr_in_use_fails_before_any_check() {
    let s = applied();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    s.tarn(&["drift", "--every", "1s", "--metrics-addr", &addr]).code(1).stderr_has("--metrics-addr: cannot listen");
    s.tarn(&["drift", "--metrics-addr", &addr]).code(1);
}
