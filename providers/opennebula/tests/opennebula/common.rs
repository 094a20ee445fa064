//! Shared test setup: an emulator on a free loopback port (steps of a few milliseconds) and
//! clients, an `Api` and a provider aimed at it with fast retries and polling.

use std::collections::BTreeMap;
use std::time::Duration;

use tarn_provider_opennebula::emulator::{Emulator, SANDBOX_USER, Settings as EmuSettings};
use tarn_provider_opennebula::oneflow::basic_auth;
use tarn_provider_opennebula::{Api, Capacity, OpenNebulaProvider, Settings};
use tarn_sdk::http::{Client, RetryPolicy};
use tarn_sdk::sim::RunningEmulator;
use tarn_sdk::{CreateRequest, Provider, ProviderError, ReadRequest, Value};

pub const PASSWORD: &str = "Xq7-pw-9Lr2mZk4tB";
pub const RUNTIME: &str = "opennebula_serverless_runtime";

pub struct Env {
    pub emulator: Emulator,
    pub running: RunningEmulator,
}

impl Env {
    pub async fn start() -> Env {
        Env::with_step(Duration::from_millis(15)).await
    }

    pub async fn with_step(step: Duration) -> Env {
        let emulator = Emulator::new(EmuSettings { step, password: PASSWORD.into() });
        let running = emulator.serve(None).await.expect("serve the emulator on loopback");
        Env { emulator, running }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            xmlrpc: format!("{}/RPC2", self.running.base_url),
            oneflow: self.running.base_url.clone(),
            username: SANDBOX_USER.into(),
            password: PASSWORD.into(),
            timeout: Duration::from_secs(5),
            poll: Duration::from_millis(10),
            capacity: Capacity::default(),
            flavours: BTreeMap::new(),
        }
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_server_wait: Duration::from_secs(2),
        }
    }

    pub fn api_with(&self, settings: Settings) -> Api {
        let oned = Client::builder(settings.xmlrpc.as_str())
            .retry_policy(Self::policy())
            .request_timeout(Duration::from_secs(5))
            .build()
            .expect("oned client");
        let flow = Client::builder(format!("{}/", settings.oneflow))
            .secret_header("authorization", &basic_auth(&settings.username, &settings.password))
            .retry_policy(Self::policy())
            .request_timeout(Duration::from_secs(5))
            .build()
            .expect("oneflow client");
        Api::with_clients(oned, flow, settings)
    }

    pub fn api(&self) -> Api {
        self.api_with(self.settings())
    }

    pub fn provider(&self) -> OpenNebulaProvider {
        OpenNebulaProvider::with_api(self.api())
    }

    pub fn provider_with(&self, settings: Settings) -> OpenNebulaProvider {
        OpenNebulaProvider::with_api(self.api_with(settings))
    }

    /// A raw client of the emulator's origin with the sandbox user's Basic credentials.
    pub fn flow_client(&self) -> Client {
        Client::builder(format!("{}/", self.running.base_url))
            .secret_header("authorization", &basic_auth(SANDBOX_USER, PASSWORD))
            .max_attempts(1)
            .build()
            .expect("client")
    }
}

/// A runtime's configuration: `faas { flavour, cpu, memory }`, optionally `daas`.
pub fn runtime(name: &str, faas: &str, daas: Option<&str>) -> Value {
    let f = |flavour: &str| {
        Value::map([
            ("flavour", Value::string(flavour)),
            ("cpu", Value::number(1.0)),
            ("memory", Value::number(512.0)),
            ("disk_size", Value::Null),
        ])
    };
    Value::map([
        ("name", Value::string(name)),
        ("faas", f(faas)),
        ("daas", daas.map_or(Value::Null, f)),
        (
            "scheduling",
            Value::map([("policy", Value::string("energy")), ("requirements", Value::string("FREECPU > 10"))]),
        ),
        (
            "device_info",
            Value::map([("latency_to_pe", Value::number(100.0)), ("geographic_location", Value::string("Madrid"))]),
        ),
        ("id", Value::Unknown),
        ("service_id", Value::Unknown),
        ("service_template_id", Value::Unknown),
        ("service_state", Value::Unknown),
        ("endpoint", Value::Unknown),
        ("functions", Value::Unknown),
    ])
}

pub fn with(v: &Value, key: &str, new: Value) -> Value {
    let mut m = v.as_map().expect("object").clone();
    m.insert(key.to_string(), new);
    Value::Map(m)
}

/// `v[outer][inner] = new`.
pub fn with_in(v: &Value, outer: &str, inner: &str, new: Value) -> Value {
    let block = with(v.get(outer).expect("block"), inner, new);
    with(v, outer, block)
}

pub fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("{key} in {v:?}")).to_string()
}

pub fn num(v: &Value, path: &[&str]) -> f64 {
    let mut cur = v;
    for p in path {
        cur = cur.get(p).unwrap_or_else(|| panic!("{p} in {v:?}"));
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path:?} is not a number in {v:?}"))
}

pub fn text(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for p in path {
        cur = cur.get(p).unwrap_or_else(|| panic!("{p} in {v:?}"));
    }
    cur.as_str().unwrap_or_else(|| panic!("{path:?} is not a string in {v:?}")).to_string()
}

pub async fn try_create(p: &OpenNebulaProvider, planned: Value, correlation: &str) -> Result<Value, ProviderError> {
    p.create(CreateRequest { type_name: RUNTIME.into(), planned, correlation: correlation.into() }).await
}

pub async fn create(p: &OpenNebulaProvider, planned: Value, correlation: &str) -> Value {
    try_create(p, planned, correlation).await.unwrap_or_else(|e| panic!("create: {}", e.message))
}

pub async fn read(p: &OpenNebulaProvider, state: &Value) -> Option<Value> {
    p.read(ReadRequest { type_name: RUNTIME.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("read: {}", e.message))
}
