//! [`FaultProvider`]: the `Provider` implementation that applies the knobs of [`crate::knobs`]
//! around the store of [`crate::store`], counting every call in [`crate::stats`].

use crate::knobs::{ObjectKnobs, Settings};
use crate::stats::{FaultStats, Op, Tracker};
use crate::store::{Store, StoredObject};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, ErrorClass, Provider, ProviderError, ProviderSchema, ReadRequest,
    UpdateRequest, Value,
};

/// Settings and the store they select, swapped as one by `configure`.
#[derive(Debug)]
struct Runtime {
    settings: Settings,
    store: Arc<Store>,
}

#[derive(Debug)]
pub struct FaultProvider {
    runtime: RwLock<Arc<Runtime>>,
    tracker: Tracker,
    /// Create attempts per planned configuration, for `fail_create_times`.
    attempts: Mutex<HashMap<String, u64>>,
}

impl Default for FaultProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultProvider {
    /// An in-memory provider with no faults until configured.
    pub fn new() -> Self {
        Self::with_settings(Settings::default())
    }

    /// A provider already configured, for tests that do not go through `configure`.
    pub fn with_settings(settings: Settings) -> Self {
        let store = Arc::new(Store::new(settings.dir.clone()));
        FaultProvider {
            runtime: RwLock::new(Arc::new(Runtime { settings, store })),
            tracker: Tracker::default(),
            attempts: Mutex::default(),
        }
    }

    /// Counters and the overlap detector's findings so far.
    pub fn stats(&self) -> FaultStats {
        self.tracker.snapshot()
    }

    pub fn settings(&self) -> Settings {
        self.runtime().settings.clone()
    }

    /// Every object that really exists, sorted by id. Reads the directory when `dir` is set.
    pub fn objects(&self) -> Result<Vec<StoredObject>, ProviderError> {
        self.runtime().store.list()
    }

    fn runtime(&self) -> Arc<Runtime> {
        self.runtime.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Runs a store operation: directly in memory, on the blocking pool when it touches files.
    async fn with_store<T: Send + 'static>(
        store: &Arc<Store>,
        f: impl FnOnce(&Store) -> Result<T, ProviderError> + Send + 'static,
    ) -> Result<T, ProviderError> {
        if !store.is_on_disk() {
            return f(store);
        }
        let store = Arc::clone(store);
        tokio::task::spawn_blocking(move || f(&store)).await.map_err(|e| {
            ProviderError::permanent(format!("A fault provider storage task failed ({e}); this is a bug in tarn."))
        })?
    }

    /// The `fail_on_call` fault: call number `call` fails when it is the configured one.
    fn injected_call_failure(settings: &Settings, call: u64) -> Result<(), ProviderError> {
        if settings.fail_on_call == Some(call) {
            let class = settings.fail_on_call_class;
            let kind = if class == ErrorClass::Transient { "transiently" } else { "permanently" };
            return Err(ProviderError::new(
                class,
                format!("The fault provider failed call {call} {kind} on purpose (fail_on_call = {call})."),
            ));
        }
        Ok(())
    }

    /// Counts one more create attempt of this configuration and returns its 1-based number.
    fn next_attempt(&self, planned: &Value) -> u64 {
        let key = planned.to_json_unmarked().to_string();
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let n = attempts.entry(key).or_insert(0);
        *n += 1;
        *n
    }
}

async fn pause(knobs: &ObjectKnobs, settings: &Settings) {
    let latency = knobs.latency.unwrap_or(settings.latency);
    if latency > Duration::ZERO {
        sleep_precisely(latency).await;
    }
}

/// Sleeps `d`, to within a fraction of a millisecond. tokio's timer wheel has millisecond
/// granularity and fires on the tick after the deadline, so `tokio::time::sleep(20ms)` alone
/// lasts 20–22 ms: a simulated 20 ms call would be 5–10% slower than it says, and every
/// latency-bound benchmark would charge that to the executor. The bulk is a (cancellable)
/// tokio sleep; the last ~2 ms a blocking-pool `std::thread::sleep`, which is precise.
async fn sleep_precisely(d: Duration) {
    const SLACK: Duration = Duration::from_millis(2);
    let deadline = std::time::Instant::now() + d;
    if d > SLACK {
        tokio::time::sleep(d - SLACK).await;
    }
    let rest = deadline.saturating_duration_since(std::time::Instant::now());
    if !rest.is_zero() {
        // A join error means the runtime is shutting down: the pause is over either way.
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

fn check_type(type_name: &str) -> Result<(), ProviderError> {
    if type_name == crate::RESOURCE {
        Ok(())
    } else {
        Err(ProviderError::permanent(format!(
            "The fault provider has no resource type \"{type_name}\"; it offers only \"{}\".",
            crate::RESOURCE
        )))
    }
}

fn object_id(state: &Value) -> Result<String, ProviderError> {
    match state.get("id").and_then(Value::as_str) {
        Some(id) => crate::store::check_id(id).map(|()| id.to_string()),
        None => Err(ProviderError::permanent("The recorded state of a fault_object has no id; this is a bug in tarn.")),
    }
}

/// Sets `id` in the attribute map (an absent or null object becomes a map).
fn with_id(object: Value, id: &str) -> Value {
    let mut map = match object {
        Value::Map(m) => m,
        _ => Default::default(),
    };
    map.insert("id".to_string(), Value::string(id));
    Value::Map(map)
}

fn new_id() -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!("f{}", &uuid[..16])
}

#[async_trait]
impl Provider for FaultProvider {
    fn name(&self) -> &str {
        "fault"
    }

    fn schema(&self) -> ProviderSchema {
        crate::schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let settings = Settings::from_config(&config)?;
        let store = Arc::new(Store::new(settings.dir.clone()));
        Self::with_store(&store, |s| s.prepare()).await?;
        *self.runtime.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Runtime { settings, store });
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        check_type(&req.type_name)?;
        let knobs = ObjectKnobs::from_object(&req.state)?;
        let id = object_id(&req.state)?;
        let rt = self.runtime();
        let (_running, _) = self.tracker.enter(Op::Read, &id);
        pause(&knobs, &rt.settings).await;
        let found = Self::with_store(&rt.store, move |s| s.get(&id)).await?;
        Ok(found.map(|o| o.attributes))
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        check_type(&req.type_name)?;
        let knobs = ObjectKnobs::from_object(&req.planned)?;
        let rt = self.runtime();
        let (_running, call) = self.tracker.enter(Op::Create, &req.correlation);
        pause(&knobs, &rt.settings).await;
        Self::injected_call_failure(&rt.settings, call)?;
        if knobs.fail_create {
            return Err(ProviderError::permanent("Creating the fault_object failed on purpose (fail_create = true)."));
        }
        if knobs.fail_create_times > 0 {
            let attempt = self.next_attempt(&req.planned);
            if attempt <= knobs.fail_create_times {
                return Err(ProviderError::transient(format!(
                    "Creating the fault_object failed transiently on purpose: attempt {attempt} of the first {} \
                     that fail_create_times makes fail.",
                    knobs.fail_create_times
                )));
            }
        }
        let id = new_id();
        let state = with_id(req.planned, &id);
        let object = StoredObject { id, correlation: req.correlation, attributes: state.clone() };
        Self::with_store(&rt.store, move |s| s.put(&object)).await?;
        if knobs.hang_create {
            // The object exists now; only adopt can find it once this call is abandoned.
            std::future::pending::<()>().await;
        }
        if knobs.partial_create {
            return Err(ProviderError::partially_created(
                "The fault_object was created but could not be finished, on purpose (partial_create = true).",
                state,
            ));
        }
        Ok(state)
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        check_type(&req.type_name)?;
        let knobs = ObjectKnobs::from_object(&req.planned)?;
        let id = object_id(&req.prior)?;
        let rt = self.runtime();
        let (_running, call) = self.tracker.enter(Op::Update, &id);
        pause(&knobs, &rt.settings).await;
        Self::injected_call_failure(&rt.settings, call)?;
        if knobs.fail_update {
            return Err(ProviderError::permanent(format!(
                "Updating the fault_object {id} failed on purpose (fail_update = true)."
            )));
        }
        let state = with_id(req.planned, &id);
        let attributes = state.clone();
        Self::with_store(&rt.store, move |s| match s.get(&id)? {
            Some(existing) => s.put(&StoredObject { id, correlation: existing.correlation, attributes }),
            None => Err(ProviderError::not_found(format!(
                "The fault_object {id} no longer exists, so it cannot be updated."
            ))),
        })
        .await?;
        Ok(state)
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        check_type(&req.type_name)?;
        let knobs = ObjectKnobs::from_object(&req.state)?;
        let id = object_id(&req.state)?;
        let rt = self.runtime();
        let (_running, call) = self.tracker.enter(Op::Delete, &id);
        pause(&knobs, &rt.settings).await;
        Self::injected_call_failure(&rt.settings, call)?;
        if knobs.fail_delete {
            return Err(ProviderError::permanent(format!(
                "Deleting the fault_object {id} failed on purpose (fail_delete = true)."
            )));
        }
        Self::with_store(&rt.store, move |s| s.remove(&id)).await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        check_type(type_name)?;
        let rt = self.runtime();
        pause(&ObjectKnobs::default(), &rt.settings).await;
        let id = id.to_string();
        let found = Self::with_store(&rt.store, move |s| s.get(&id)).await?;
        Ok(found.map(|o| o.attributes))
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        check_type(&req.type_name)?;
        let rt = self.runtime();
        pause(&ObjectKnobs::default(), &rt.settings).await;
        let correlation = req.correlation;
        let found = Self::with_store(&rt.store, move |s| s.find_by_correlation(&correlation)).await?;
        Ok(found.map(|o| o.attributes))
    }
}
