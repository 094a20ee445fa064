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
//! Providers without an emulator that need something running on this machine to be tried out
//! (sshd, a web server) have *local services* instead, one file per provider (`pond.rs`,
//! `vsn.rs`, sharing `sshd.rs`):
//! started when the sandboxed run configures that provider, with configuration overrides for
//! it, and stopped with the emulators.
//!
//! The flag is process-wide and set once (a `OnceLock`), not mutable state: every command that
//! opens a run or the state honours it without being passed it.

pub mod pond;
pub mod sshd;
pub mod vsn;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use tarn_core::plan::ProviderFactory;
use tarn_sdk::sim::{EmulatorOptions, RunningEmulator};
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, RestoreRequest, UpdateRequest, Value,
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

/// What a provider without an emulator needs on this machine under `--sandbox`.
#[async_trait]
pub trait LocalServices: Send + Sync {
    /// Starts the services (once per run; later calls return the same answer) and returns the
    /// provider's configuration overrides. `emulators` are the running emulators' addresses, by
    /// provider name.
    async fn start(&self, emulators: &BTreeMap<String, SocketAddr>) -> Result<Vec<(String, Value)>, String>;
    /// Stops what `start` started. Dropping the services stops them too.
    async fn stop(&self);
}

/// The local services of `provider`, if it has any.
fn local_services(provider: &str) -> Option<Arc<dyn LocalServices>> {
    match provider {
        "pond" => Some(Arc::new(pond::Services::default())),
        "vsn" => Some(Arc::new(vsn::Services::default())),
        _ => None,
    }
}

/// The emulators of one sandboxed run, and the local services it may start. Dropping it stops
/// them; the emulators' objects are already on disk (they write their snapshot after every
/// change).
pub struct Emulators {
    running: Vec<(String, RunningEmulator)>,
    overrides: HashMap<String, Vec<(String, Value)>>,
    local: Local,
}

/// The running emulators' addresses, by provider name.
type EmulatorAddrs = Arc<BTreeMap<String, SocketAddr>>;

/// The local services of a run, by provider, and the emulators they may talk to.
#[derive(Clone)]
struct Local {
    services: HashMap<String, Arc<dyn LocalServices>>,
    emulators: EmulatorAddrs,
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
        let emulators = Arc::new(running.iter().map(|(n, e)| (n.clone(), e.server.addr())).collect());
        let services = crate::providers::BUILTIN
            .iter()
            .filter_map(|name| local_services(name).map(|s| (name.to_string(), s)))
            .collect();
        Ok(Emulators { running, overrides, local: Local { services, emulators } })
    }

    /// The provider factory: the built-ins, with emulated providers aimed at their emulator.
    pub fn factory(&self) -> SandboxFactory {
        SandboxFactory { overrides: self.overrides.clone(), local: self.local.clone() }
    }

    pub async fn stop(self) {
        for services in self.local.services.values() {
            services.stop().await;
        }
        for (_, emulator) in self.running {
            emulator.server.shutdown().await;
        }
    }
}

/// [`crate::providers::Builtins`] with the sandbox's configuration overrides.
pub struct SandboxFactory {
    overrides: HashMap<String, Vec<(String, Value)>>,
    local: Local,
}

impl ProviderFactory for SandboxFactory {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        let inner = crate::providers::instantiate(name)?;
        let local = self.local.services.get(name).map(|s| (s.clone(), self.local.emulators.clone()));
        match (self.overrides.get(name), local) {
            (None, None) => Some(inner),
            (overrides, local) => {
                Some(Arc::new(Sandboxed { inner, overrides: overrides.cloned().unwrap_or_default(), local }))
            }
        }
    }
    fn names(&self) -> Vec<String> {
        crate::providers::Builtins.names()
    }
}

/// A provider whose configuration the sandbox overrides (and whose local services it starts
/// first); everything else passes through.
struct Sandboxed {
    inner: Arc<dyn Provider>,
    overrides: Vec<(String, Value)>,
    local: Option<(Arc<dyn LocalServices>, EmulatorAddrs)>,
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
        let mut overrides = self.overrides.clone();
        if let Some((services, emulators)) = &self.local {
            let started = services.start(emulators).await.map_err(|e| {
                ProviderError::permanent(format!("--sandbox cannot start what provider \"{}\" needs: {e}", self.name()))
            })?;
            overrides.extend(started);
        }
        for (k, v) in overrides {
            map.insert(k, v);
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
    async fn restore(&self, req: RestoreRequest) -> Result<Value, ProviderError> {
        self.inner.restore(req).await
    }
    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        self.inner.adopt(req).await
    }
}
