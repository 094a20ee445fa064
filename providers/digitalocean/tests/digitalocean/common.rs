//! Shared test setup: an emulator on a free loopback port and a provider or API client aimed
//! at it with a fast retry and polling policy.

use std::time::Duration;

use tarn_provider_digitalocean::emulator::{Emulator, Settings};
use tarn_provider_digitalocean::{Api, DigitalOceanProvider, Polling};
use tarn_sdk::http::{Client, RetryPolicy};
use tarn_sdk::sim::RunningEmulator;
use tarn_sdk::{CreateRequest, Provider, ReadRequest, Value};

pub const TOKEN: &str = "dop_v1_4f1c2b7e9d8a6c5b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b";

pub struct Env {
    pub emulator: Emulator,
    pub running: RunningEmulator,
}

impl Env {
    pub async fn start() -> Env {
        Env::with(Settings { action_time: Duration::from_millis(30), ..Settings::default() }).await
    }

    pub async fn with(settings: Settings) -> Env {
        let emulator = Emulator::new(settings);
        let running = emulator.serve(None).await.expect("serve the emulator on loopback");
        Env { emulator, running }
    }

    pub fn client(&self) -> Client {
        Client::builder(&self.running.base_url)
            .bearer_token(TOKEN)
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

    /// A client that tries once (to see errors as the API gives them).
    pub fn once(&self) -> Client {
        Client::builder(&self.running.base_url)
            .bearer_token(TOKEN)
            .max_attempts(1)
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

    pub fn provider(&self) -> DigitalOceanProvider {
        DigitalOceanProvider::with_api(self.api())
    }

    /// The API's view of a droplet.
    pub async fn droplet(&self, id: &str) -> serde_json::Value {
        self.client().get(&format!("v2/droplets/{id}")).await.expect("droplet")["droplet"].clone()
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
pub async fn create(p: &DigitalOceanProvider, type_name: &str, planned: Value, correlation: &str) -> Value {
    p.create(CreateRequest { type_name: type_name.into(), planned, correlation: correlation.into() })
        .await
        .unwrap_or_else(|e| panic!("create {type_name}: {}", e.message))
}

pub async fn read(p: &DigitalOceanProvider, type_name: &str, state: &Value) -> Option<Value> {
    p.read(ReadRequest { type_name: type_name.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("read {type_name}: {}", e.message))
}
