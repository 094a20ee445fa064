//! Shared test setup: an emulator on a free loopback port and a provider or API client aimed
//! at it with a fast retry policy.

use std::time::Duration;

use tarn_provider_cloudflare::emulator::{Emulator, Settings, zone_id};
use tarn_provider_cloudflare::{Api, CloudflareProvider};
use tarn_sdk::http::{Client, RetryPolicy};
use tarn_sdk::sim::RunningEmulator;

pub const TOKEN: &str = "test-token-not-a-secret";

pub struct Env {
    pub running: RunningEmulator,
}

impl Env {
    pub async fn start() -> Env {
        Env::with(Settings::accepting(TOKEN)).await
    }

    pub async fn with(settings: Settings) -> Env {
        let emulator = Emulator::new(settings);
        let running = emulator.serve(None).await.expect("serve the emulator on loopback");
        Env { running }
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

    pub fn api(&self) -> Api {
        Api::with_client(self.client())
    }

    pub fn provider(&self) -> CloudflareProvider {
        CloudflareProvider::with_api(self.api())
    }
}

impl Env {
    /// A provider block's configuration aimed at this emulator, with `token`.
    pub fn config(&self, token: &str) -> tarn_sdk::Value {
        tarn_sdk::Value::map([
            ("api_token", tarn_sdk::Value::string(token)),
            ("base_url", tarn_sdk::Value::string(&self.running.base_url)),
        ])
    }
}

/// The id of seed zone example.com.
pub fn example_com() -> String {
    zone_id("example.com")
}

/// The id of seed zone `name`.
pub fn zone(name: &str) -> String {
    zone_id(name)
}
