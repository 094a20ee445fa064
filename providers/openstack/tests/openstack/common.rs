//! Shared test setup: an emulator on a free loopback port that accepts one user and password,
//! and a provider or API aimed at it with quick retry and polling policies.

use std::time::Duration;

use tarn_provider_openstack::emulator::{Emulator, Settings};
use tarn_provider_openstack::{Api, Credentials, OpenStackProvider, Polling, Project, Session, Tuning};
use tarn_sdk::http::RetryPolicy;
use tarn_sdk::sim::RunningEmulator;
use tarn_sdk::{CreateRequest, Provider, Value};

pub const USER: &str = "user-ovh-7Gq";
pub const PASSWORD: &str = "Pa55-word-9xZq-secret";
pub const PROJECT_ID: &str = "9f1c5a2b3d4e4f60a1b2c3d4e5f60718";
pub const REGION: &str = "GRA11";
pub const UBUNTU: &str = "a1b2c3d4-0000-4000-8000-0000000022a4";
pub const EXT_NET: &str = "b7f2a1c0-1111-4111-8111-00000000e7e7";

pub struct Env {
    pub emulator: Emulator,
    pub running: RunningEmulator,
}

pub fn settings() -> Settings {
    Settings {
        user_name: USER.into(),
        password: Some(PASSWORD.into()),
        project_id: PROJECT_ID.into(),
        build_time: Duration::from_millis(40),
        action_time: Duration::from_millis(30),
        ..Settings::default()
    }
}

impl Env {
    pub async fn start() -> Env {
        Env::with(settings()).await
    }

    pub async fn with(settings: Settings) -> Env {
        let emulator = Emulator::new(settings);
        let running = emulator.serve(None).await.expect("serve the emulator on loopback");
        Env { emulator, running }
    }

    /// The Keystone URL (`http://127.0.0.1:P/v3`).
    pub fn auth_url(&self) -> String {
        self.running.base_url.clone()
    }

    pub fn creds(&self) -> Credentials {
        Credentials {
            auth_url: self.auth_url(),
            user_name: USER.into(),
            user_domain: "Default".into(),
            password: PASSWORD.into(),
            project: Project::Id(PROJECT_ID.into()),
            region: Some(REGION.into()),
        }
    }

    pub fn api_with(&self, creds: Credentials) -> Api {
        let tuning = Tuning {
            retry: RetryPolicy {
                max_attempts: 3,
                base_delay: Duration::from_millis(10),
                max_delay: Duration::from_millis(40),
                max_server_wait: Duration::from_secs(2),
            },
            request_timeout: Duration::from_secs(5),
        };
        Api::new(Session::new(creds, tuning).expect("session")).polling(Polling {
            interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(40),
            timeout: Duration::from_secs(5),
        })
    }

    pub fn api(&self) -> Api {
        self.api_with(self.creds())
    }

    pub fn provider(&self) -> OpenStackProvider {
        OpenStackProvider::with_api(self.api())
    }

    /// A raw client on the emulator's origin (no credentials).
    pub fn origin(&self) -> String {
        self.running.base_url.trim_end_matches("/v3").to_string()
    }
}

pub fn s(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("{key} in {v}")).to_string()
}

pub fn with(v: &Value, key: &str, new: Value) -> Value {
    let mut m = v.as_map().expect("object").clone();
    m.insert(key.to_string(), new);
    Value::Map(m)
}

pub fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|i| Value::string(*i)).collect())
}

/// A planned server with every attribute present (null or unknown where not set).
pub fn server(name: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("flavor_id", Value::Unknown),
        ("flavor_name", Value::string("d2-2")),
        ("image_id", Value::string(UBUNTU)),
        ("key_pair", Value::Null),
        ("network_ids", strings(&[EXT_NET])),
        ("security_groups", Value::Unknown),
        ("user_data", Value::Null),
        ("metadata", Value::Null),
        ("power_state", Value::Null),
        ("reboot_trigger", Value::Null),
        ("reboot_type", Value::Null),
        ("id", Value::Unknown),
        ("status", Value::Unknown),
        ("access_ip_v4", Value::Unknown),
        ("access_ip_v6", Value::Unknown),
        ("created", Value::Unknown),
    ])
}

/// A real-format ed25519 public key line (the bytes need not be a curve point for Nova).
pub fn public_key(seed: u8) -> String {
    use base64::Engine;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&[seed; 32]);
    format!("ssh-ed25519 {} dev@meveo", base64::engine::general_purpose::STANDARD.encode(blob))
}

pub async fn create(p: &OpenStackProvider, type_name: &str, planned: Value, correlation: &str) -> Value {
    p.create(CreateRequest { type_name: type_name.into(), planned, correlation: correlation.into() })
        .await
        .unwrap_or_else(|e| panic!("create {type_name}: {}", e.message))
}
