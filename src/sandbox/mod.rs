//! `--sandbox`: run a configuration against the providers' in-process emulators instead of
//! the real APIs, with no credentials and no network.
//!
//! When the global flag is given, `main` calls [`enable`] once, before any command runs, and the
//! rest follows from it: the state lives in `.tarn/sandbox/state.db` (never the real
//! `.tarn/state.db`), and a run's provider setup (`commands::workflow::Setup`) starts one
//! emulator per provider that ships one (see `providers::emulators`) on 127.0.0.1, keeping its
//! objects in `.tarn/sandbox/<provider>.json` between runs. Those providers are wrapped so that
//! their `configure` receives the emulator's base URL and a dummy token in place of whatever the
//! configuration says; a real token in the configuration is never sent anywhere. Providers
//! without an emulator (null, local, fault) run as usual: `local` writes real files.
//!
//! The flag is process-wide and set once (a `OnceLock`), not mutable state: every command that
//! opens a run or the state honours it without being passed it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use tarn_core::plan::ProviderFactory;
use tarn_sdk::sim::{EmulatorOptions, RunningEmulator};
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

use crate::error::CliError;

static ACTIVE: OnceLock<bool> = OnceLock::new();

/// Turns sandbox mode on for this process. Called once, from `main`.
pub fn enable() {
    let _ = ACTIVE.set(true);
}

pub fn active() -> bool {
    ACTIVE.get().copied().unwrap_or(false)
}

/// Where sandbox state and emulator snapshots live.
pub fn dir() -> PathBuf {
    PathBuf::from(crate::stack::STATE_DIR).join("sandbox")
}

pub fn state_path() -> PathBuf {
    dir().join("state.db")
}

/// The snapshot file of `provider`'s emulator.
pub fn snapshot_path(provider: &str) -> PathBuf {
    dir().join(format!("{provider}.json"))
}

/// The emulators of one sandboxed run. Dropping it stops them; their objects are already on
/// disk (emulators write their snapshot after every change).
pub struct Emulators {
    running: Vec<(String, RunningEmulator)>,
    overrides: HashMap<String, Vec<(String, Value)>>,
}

impl Emulators {
    /// Starts every emulator tarn has, each with its snapshot, and says so on stderr.
    pub async fn start() -> Result<Emulators, CliError> {
        let mut running = Vec::new();
        let mut overrides = HashMap::new();
        for emulated in crate::providers::emulators() {
            let name = emulated.provider_name().to_string();
            let options = EmulatorOptions { snapshot: Some(snapshot_path(&name)), addr: None };
            let emulator = emulated
                .start(options)
                .await
                .map_err(|e| CliError::Failed(format!("cannot start the {name} emulator for --sandbox: {e}")))?;
            overrides.insert(name.clone(), emulated.sandbox_config(&emulator.base_url));
            eoutln!(
                "Sandbox: provider \"{name}\" talks to its emulator at {} (objects kept in {}).",
                emulator.base_url,
                snapshot_path(&name).display()
            );
            running.push((name, emulator));
        }
        eoutln!("Sandbox: state kept in {}; other providers run as usual.", state_path().display());
        Ok(Emulators { running, overrides })
    }

    /// The provider factory: the built-ins, with emulated providers aimed at their emulator.
    pub fn factory(&self) -> SandboxFactory {
        SandboxFactory { overrides: self.overrides.clone() }
    }

    pub async fn stop(self) {
        for (_, emulator) in self.running {
            emulator.server.shutdown().await;
        }
    }
}

/// [`crate::providers::Builtins`] with the sandbox's configuration overrides.
pub struct SandboxFactory {
    overrides: HashMap<String, Vec<(String, Value)>>,
}

impl ProviderFactory for SandboxFactory {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        let inner = crate::providers::instantiate(name)?;
        match self.overrides.get(name) {
            Some(overrides) => Some(Arc::new(Sandboxed { inner, overrides: overrides.clone() })),
            None => Some(inner),
        }
    }
    fn names(&self) -> Vec<String> {
        crate::providers::Builtins.names()
    }
}

/// A provider whose configuration the sandbox overrides; everything else passes through.
struct Sandboxed {
    inner: Arc<dyn Provider>,
    overrides: Vec<(String, Value)>,
}

#[async_trait]
impl Provider for Sandboxed {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn schema(&self) -> ProviderSchema {
        self.inner.schema()
    }
    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let mut map = match config {
            Value::Map(m) => m,
            _ => Default::default(),
        };
        for (k, v) in &self.overrides {
            map.insert(k.clone(), v.clone());
        }
        self.inner.configure(Value::Map(map)).await
    }
    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        self.inner.read(req).await
    }
    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        self.inner.plan(req).await
    }
    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        self.inner.create(req).await
    }
    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        self.inner.update(req).await
    }
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.inner.delete(req).await
    }
    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        self.inner.read_data(req).await
    }
    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        self.inner.import(type_name, id).await
    }
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        self.inner.adopt(req).await
    }
}
