//! Client behaviour over real HTTP against the sim harness on 127.0.0.1: retries, Retry-After,
//! classification with vendor messages, pacing, timeouts, POST safety and log redaction.
//!
//! Tests only; no mocks of reqwest. Pagination has its own tests in `paginate_tests`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value as Json, json};

use super::budget::RequestBudget;
use super::client::Client;
use super::retry::RetryPolicy;
use crate::error::ErrorClass;
use crate::sim::{Faults, RateLimitStyle, SimServer, rate_limit_headers};

const TOKEN: &str = "tok-SUPER-SECRET-42";

fn app() -> Router {
    Router::new()
        .route("/v2/things", get(|| async { axum::Json(json!({"things": [1, 2]})) }))
        .route("/v2/things", post(|| async { (axum::http::StatusCode::CREATED, axum::Json(json!({"id": 7}))) }))
}

async fn serve(faults: &Faults, router: Router) -> SimServer {
    SimServer::start(faults.wrap(router)).await.expect("bind loopback")
}

fn client(server: &SimServer) -> Client {
    Client::builder(format!("{}v2", server.url()))
        .bearer_token(TOKEN)
        .retry_policy(RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_server_wait: Duration::from_secs(5),
        })
        .request_timeout(Duration::from_millis(500))
        .build()
        .expect("client")
}

#[tokio::test]
async fn retries_a_503_then_succeeds() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    faults.fail_next(2, 503, json!({"message": "busy"}));
    let body = client(&server).get("things").await.expect("succeeds on the third attempt");
    assert_eq!(body, json!({"things": [1, 2]}));
    assert_eq!(faults.requests(), 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    faults.throttle_next(1, Some("1"), json!({"id": "too_many_requests", "message": "slow down"}));
    let start = Instant::now();
    client(&server).get("/things").await.expect("succeeds after waiting");
    assert!(start.elapsed() >= Duration::from_secs(1), "{:?}", start.elapsed());
}

#[tokio::test]
async fn exhausted_429_is_transient_with_the_vendor_message() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    let cf = json!({"success": false, "errors": [{"code": 971, "message": "Please wait and consider throttling your request speed"}], "messages": [], "result": null});
    faults.throttle_next(10, Some("0"), cf);
    let err = client(&server).get("things").await.expect_err("stays throttled");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("Please wait and consider throttling"), "{}", err.message);
    assert!(err.message.contains("GET /v2/things: HTTP 429"), "{}", err.message);
    assert_eq!(faults.requests(), 4);
}

#[tokio::test]
async fn statuses_map_to_classes_with_each_vendor_message() {
    let cases = [
        (
            404,
            json!({"id": "not_found", "message": "The resource you were accessing could not be found."}),
            ErrorClass::NotFound,
            "could not be found. (not_found)",
        ),
        (
            409,
            json!({"type": "conflict", "message": "name already used"}),
            ErrorClass::Conflict,
            "name already used (conflict)",
        ),
        (412, json!({"message": "precondition failed"}), ErrorClass::Conflict, "precondition failed"),
        (
            422,
            json!({"id": "unprocessable_entity", "message": "Name is invalid"}),
            ErrorClass::Permanent,
            "Name is invalid (unprocessable_entity)",
        ),
        (
            422,
            json!({"success": false, "errors": [{"code": 81057, "message": "Record already exists."}]}),
            ErrorClass::Permanent,
            "Record already exists. (code 81057)",
        ),
        (
            400,
            json!({"type": "invalid_arguments", "message": "invalid argument(s)", "fields": {"name": ["bad"]}}),
            ErrorClass::Permanent,
            "invalid argument(s) (invalid_arguments), fields: name",
        ),
        (
            400,
            json!({"badRequest": {"message": "Invalid flavorRef provided.", "code": 400}}),
            ErrorClass::Permanent,
            "badRequest: Invalid flavorRef provided.",
        ),
    ];
    for (status, body, class, message) in cases {
        let faults = Faults::default();
        let server = serve(&faults, app()).await;
        faults.fail_next(1, status, body);
        let err = client(&server).get("things").await.expect_err("fails");
        assert_eq!(err.class, class, "{status}: {}", err.message);
        assert!(err.message.contains(message), "{status}: {}", err.message);
        assert!(err.message.contains(&format!("HTTP {status}")), "{}", err.message);
        assert_eq!(faults.requests(), 1, "{status} must not be retried");
    }
}

#[tokio::test]
async fn post_is_not_retried_after_a_500_unless_opted_in() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    let c = client(&server);
    faults.fail_next(1, 500, json!({"message": "oops"}));
    let err = c.post("things", &json!({"name": "a"})).await.expect_err("one attempt only");
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(faults.requests(), 1);

    faults.fail_next(1, 500, json!({"message": "oops"}));
    let body = c
        .request(reqwest::Method::POST, "things")
        .json(&json!({"name": "a"}))
        .retry_non_idempotent()
        .send()
        .await
        .expect("retried");
    assert_eq!(body.body, json!({"id": 7}));
    assert_eq!(faults.requests(), 3);
}

#[tokio::test]
async fn hanging_server_times_out_as_transient() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    faults.set_hang(true);
    let c = Client::builder(server.url())
        .request_timeout(Duration::from_millis(200))
        .max_attempts(2)
        .build()
        .expect("client");
    let start = Instant::now();
    let err = c.get("v2/things").await.expect_err("times out");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("timed out"), "{}", err.message);
    assert!(start.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn a_request_that_keeps_being_retried_fails_at_the_operation_deadline() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    // Each answer asks for a 1 s wait before the next attempt; ten attempts would take 9 s.
    faults.throttle_next(100, Some("1"), json!({"message": "slow down"}));
    let c = Client::builder(server.url())
        .max_attempts(10)
        .operation_timeout(Duration::from_millis(1500))
        .build()
        .expect("client");
    let start = Instant::now();
    let err = c.get("v2/things?page=2").await.expect_err("gives up at the deadline");
    assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
    assert_eq!(err.class, ErrorClass::Transient);
    let want = format!("GET {}v2/things: no final answer within 1.5 s", server.url());
    assert!(err.message.starts_with(&want), "{}", err.message);
}

#[tokio::test]
async fn connect_refused_is_transient() {
    let server = SimServer::start(app()).await.expect("bind");
    let url = server.url();
    server.shutdown().await;
    let c = Client::builder(url).max_attempts(2).build().expect("client");
    let err = c.post("v2/things", &json!({})).await.expect_err("nothing listening");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("could not connect"), "{}", err.message);
}

#[tokio::test]
async fn budget_limits_the_request_rate_across_clones() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    let c = Client::builder(server.url())
        .budget(RequestBudget { requests: 5, per: Duration::from_secs(1) })
        .build()
        .expect("client");
    let start = Instant::now();
    for i in 0..10 {
        let clone = c.clone();
        clone.get("v2/things").await.expect("ok");
        if i == 4 {
            assert!(start.elapsed() < Duration::from_millis(500), "burst of 5 is free");
        }
    }
    assert!(start.elapsed() >= Duration::from_millis(950), "{:?}", start.elapsed());
}

fn limited_app(style: RateLimitStyle) -> Router {
    Router::new().route(
        "/v2/limited",
        get(move || async move { (rate_limit_headers(style, 100, 0, Duration::from_secs(1)), axum::Json(json!({}))) }),
    )
}

#[tokio::test]
async fn remaining_zero_delays_the_next_request_until_reset() {
    for style in [RateLimitStyle::Cloudflare, RateLimitStyle::XRateLimit, RateLimitStyle::DigitalOcean] {
        let server = SimServer::start(limited_app(style)).await.expect("bind");
        let c = client(&server);
        c.get("/limited").await.expect("first");
        let start = Instant::now();
        c.get("/limited").await.expect("second");
        // DigitalOcean's reset is a whole Unix second, so its wait is between 0 and 1 s later.
        let floor = if style == RateLimitStyle::DigitalOcean { 0 } else { 950 };
        assert!(start.elapsed() >= Duration::from_millis(floor), "{style:?}: {:?}", start.elapsed());
        assert!(start.elapsed() <= Duration::from_secs(3), "{style:?}: {:?}", start.elapsed());
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    /// Where this thread's log lines go while a test captures them.
    static CAPTURE: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// Writes to the current thread's capture, or nowhere.
struct ThreadCapture;

impl Write for ThreadCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|c| match c.borrow_mut().as_mut() {
            Some(captured) => captured.write(buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the log lines emitted on this thread from now on. The subscriber is the process's
/// global one, installed once: a scoped (`set_default`) subscriber loses events when another
/// test thread registers a callsite while it is being installed (tracing's interest cache is
/// process-wide), which made this test fail now and then under load.
fn capture_this_thread() -> Captured {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| ThreadCapture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this test binary");
    });
    let captured = Captured::default();
    CAPTURE.with(|c| *c.borrow_mut() = Some(captured.clone()));
    captured
}

#[tokio::test]
async fn logs_never_contain_the_auth_token_or_sensitive_bodies() {
    // A current-thread runtime: the client's and the server's events are all on this thread.
    let captured = capture_this_thread();

    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    let c = client(&server);
    faults.fail_next(1, 503, json!({"message": "busy"}));
    c.request(reqwest::Method::GET, "things").query("access_token", TOKEN).query("page", 2).send().await.expect("ok");
    c.request(reqwest::Method::POST, "things")
        .json(&json!({"password": "pw-VERY-PRIVATE"}))
        .sensitive()
        .send()
        .await
        .expect("created");
    let debug = format!("{c:?}");

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(logs.contains("http request") && logs.contains("attempt=2"), "{logs}");
    assert!(logs.contains("page=2") && logs.contains("status=503"), "{logs}");
    assert!(!logs.contains(TOKEN), "token leaked into logs: {logs}");
    assert!(!logs.contains("pw-VERY-PRIVATE"), "sensitive body leaked: {logs}");
    assert!(!debug.contains(TOKEN), "token leaked into Debug: {debug}");
}

/// Issue 12: a request carrying the call's secrets (`Client::redacting`) masks them in the
/// bodies it logs both ways, in the logged URL and in the vendor message of an error, and
/// shows the marker where they were; the rest of the body stays readable.
#[tokio::test]
async fn a_redacting_client_masks_the_calls_secrets_in_bodies_urls_and_errors() {
    const PW: &str = "txt-Secret-77aQ";
    let captured = capture_this_thread();
    let echo = Router::new()
        .route("/v2/echo", post(|body: axum::Json<Json>| async move { axum::Json(json!({"stored": body.0})) }))
        .route(
            "/v2/refuse",
            post(|body: axum::Json<Json>| async move {
                let message = format!("invalid content {}", body.0["content"]);
                (axum::http::StatusCode::BAD_REQUEST, axum::Json(json!({"message": message})))
            }),
        );
    let server = serve(&Faults::default(), echo).await;
    let planned = crate::value::Value::map([
        ("name", crate::value::Value::string("mail")),
        ("content", crate::value::Value::string(format!("v=DKIM1; p={PW}")).sensitive()),
    ]);
    let c = client(&server).redacting(super::Secrets::of([&planned]));
    let body = json!({"name": "mail", "content": format!("v=DKIM1; p={PW}")});
    let answer = c.request(reqwest::Method::POST, "echo").query("q", format!("v=DKIM1; p={PW}")).json(&body).send();
    assert_eq!(answer.await.expect("echoed").body["stored"], body, "only logs are masked, never the data");
    let e = c.post("refuse", &body).await.expect_err("refused");
    assert!(!e.message.contains(PW) && e.message.contains("invalid content"), "{e}");
    assert!(!format!("{c:?}").contains(PW));

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(logs.contains("http request body") && logs.contains("http response body"), "{logs}");
    assert!(!logs.contains(PW), "a secret leaked into the logs: {logs}");
    assert!(logs.contains(super::redact::REDACTED) && logs.contains("mail"), "{logs}");
}

#[tokio::test]
async fn typed_results_and_foreign_next_links() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    let c = client(&server);
    #[derive(serde::Deserialize)]
    struct Things {
        things: Vec<u32>,
    }
    let things: Things = c.get_as("things").await.expect("typed");
    assert_eq!(things.things, vec![1, 2]);
    let err = c.get("https://elsewhere.example/steal").await.expect_err("foreign origin");
    assert_eq!(err.class, ErrorClass::Permanent);
    let _: Json = c.get(&format!("{}v2/things", server.url())).await.expect("same origin absolute URL");
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let faults = Faults::default();
    let server = serve(&faults, app()).await;
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    faults.throttle_next(1, Some(&at), json!({"message": "slow down"}));
    let start = Instant::now();
    client(&server).get("things").await.expect("succeeds after the date");
    // HTTP-dates have whole-second precision, so the wait is between 1 and 2 seconds.
    assert!(start.elapsed() >= Duration::from_millis(1000), "{:?}", start.elapsed());
}
