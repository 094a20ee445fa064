//! Shared test setup: an emulator on a free loopback port and a provider or API client aimed
//! at it with a fast retry and polling policy. Every answer the emulator gives in a test is
//! recorded and, when the test's `Env` goes away, validated against the vendor file with its
//! observed behaviour (`spec::observed_spec`), so no test exercises an answer the spec checker
//! has not seen. Answers under 500 only: a 5xx there is one a test injected with the fault
//! switches, not the emulator's own.

use std::sync::OnceLock;
use std::time::Duration;

use tarn_provider_scaleway::emulator::{Emulator, ORGANIZATION_ID, Settings};
use tarn_provider_scaleway::{Api, Polling, ScalewayProvider};
use tarn_sdk::http::{Client, RetryPolicy};
use tarn_sdk::sim::spec::{OpenApi, Recorder};
use tarn_sdk::sim::{RunningEmulator, SimServer};
use tarn_sdk::{CreateRequest, Provider, Value};

pub const KEY: &str = "11111111-2222-4333-8444-555555555555";
pub const ZONE: &str = "fr-par-1";

pub struct Env {
    pub running: RunningEmulator,
    recorder: Recorder,
}

/// The spec every recorded answer is checked against, loaded once per test binary.
fn spec() -> &'static OpenApi {
    static SPEC: OnceLock<OpenApi> = OnceLock::new();
    SPEC.get_or_init(|| crate::spec::observed_spec(&tempfile::tempdir().expect("tempdir")))
}

impl Env {
    pub async fn start() -> Env {
        Env::with(Settings { action_time: Duration::from_millis(30), ..Settings::default() }).await
    }

    pub async fn with(settings: Settings) -> Env {
        let emulator = Emulator::new(settings);
        let recorder = Recorder::default();
        let server = SimServer::start(recorder.wrap(emulator.router())).await.expect("serve the emulator on loopback");
        let base_url = format!("http://{}", server.addr());
        Env { running: RunningEmulator { server, faults: emulator.faults().clone(), base_url }, recorder }
    }

    pub fn client(&self) -> Client {
        Client::builder(&self.running.base_url)
            .secret_header("x-auth-token", KEY)
            .retry_policy(RetryPolicy {
                max_attempts: 4,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(50),
                max_server_wait: Duration::from_secs(5),
            })
            .request_timeout(Duration::from_secs(5))
            .build()
            .expect("client")
    }

    pub fn api(&self) -> Api {
        Api::with_client(self.client()).polling(Polling {
            interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(40),
            timeout: Duration::from_secs(5),
        })
    }

    pub fn provider(&self) -> ScalewayProvider {
        ScalewayProvider::with_api(self.api(), ZONE, ORGANIZATION_ID)
    }

    /// The API's view of a server.
    pub async fn server(&self, id: &str) -> serde_json::Value {
        self.client().get(&format!("instance/v1/zones/{ZONE}/servers/{id}")).await.expect("server")["server"].clone()
    }
}

pub fn with(v: &Value, key: &str, new: Value) -> Value {
    let mut m = v.as_map().expect("object").clone();
    m.insert(key.to_string(), new);
    Value::Map(m)
}

pub fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("{key} in {v}")).to_string()
}

pub fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| Value::string(*i)).collect())
}

/// Creates an object through the provider.
pub async fn create(p: &ScalewayProvider, type_name: &str, planned: Value, correlation: &str) -> Value {
    p.create(CreateRequest { type_name: type_name.into(), planned, correlation: correlation.into() })
        .await
        .unwrap_or_else(|e| panic!("create {type_name}: {}", e.message))
}

impl Drop for Env {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let exchanges: Vec<_> = self
            .recorder
            .exchanges()
            .into_iter()
            .filter(|e| e.path.starts_with("/instance/v1/") && e.status < 500)
            .collect();
        assert!(!exchanges.is_empty(), "the test never reached the emulator");
        let report = spec().check_all(&exchanges);
        let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
        assert!(failures.is_empty(), "emulator answers that do not match the spec:\n{}", failures.join("\n\n"));
    }
}
