//! [`PluginProvider`]: the [`Provider`] trait over a plugin process. One instance per provider
//! configuration, each with its own process, started on first use and restarted (then
//! re-configured) after a crash, a hang or a garbled answer, a bounded number of times.
//!
//! Failures become classified [`ProviderError`]s naming the plugin and the method, so the
//! executor's retry and failure policies apply unchanged: a plugin's own JSON-RPC error carries
//! its class; a crash or timeout in an idempotent method (read, plan, delete, ...) is transient
//! and retried on a fresh process; in `create` tarn asks the fresh process to `adopt` by the
//! correlation tag, so an object made just before the crash is recorded (partially created)
//! rather than leaked; a malformed answer is permanent.

use crate::connection::{Connection, Failure, Launch};
use crate::protocol::{self, Handshake, code, method};
use crate::redact::Redactor;
use crate::wire::{decode, encode};
use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Value as Json, json};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tarn_sdk::{
    AdoptRequest, AttributeSchema, CreateRequest, DeleteRequest, ErrorClass, ErrorKind, PlanRequest, PlanResponse,
    Provider, ProviderError, ProviderSchema, ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

/// Starts of one instance's process in one run, the first included. A plugin that keeps dying
/// is not restarted forever.
pub const MAX_STARTS: u32 = 4;

pub struct PluginProvider {
    launch: Arc<Launch>,
    schema: ProviderSchema,
    redactor: Arc<Redactor>,
    conn: tokio::sync::Mutex<Option<Arc<Connection>>>,
    /// The configuration last accepted, re-sent to a restarted process.
    config: Mutex<Option<Value>>,
    starts: AtomicU32,
}

/// Starts a process and completes the handshake.
pub(crate) async fn start(launch: &Launch, redactor: Arc<Redactor>) -> Result<(Arc<Connection>, Handshake), Failure> {
    let conn = Arc::new(Connection::start(launch, redactor)?);
    let answer =
        match conn.call(method::HANDSHAKE, protocol::handshake_params(&launch.name), launch.timeouts.start).await {
            Ok(a) => a,
            Err(Failure::Rpc(e)) if e.code == code::UNSUPPORTED_VERSION => {
                conn.close().await;
                return Err(Failure::Start(format!(
                    "it speaks none of the protocol versions this tarn speaks ({}): {}",
                    protocol::versions_list(),
                    e.message
                )));
            }
            Err(f) => {
                conn.kill(f.clone());
                conn.close().await;
                return Err(f);
            }
        };
    match protocol::parse_handshake(&answer) {
        Ok(h) => Ok((conn, h)),
        Err(why) => {
            conn.kill(Failure::Malformed(why.clone()));
            conn.close().await;
            Err(Failure::Malformed(why))
        }
    }
}

impl PluginProvider {
    /// An instance for a plugin whose schema is known; `spare` is a process already started
    /// (by the probe that read the schema) for this instance to use first.
    pub fn new(launch: Arc<Launch>, schema: ProviderSchema, spare: Option<(Arc<Connection>, Arc<Redactor>)>) -> Self {
        let (conn, redactor, starts) = match spare {
            Some((c, r)) => (Some(c), r, 1),
            None => (None, Arc::new(Redactor::default()), 0),
        };
        PluginProvider {
            launch,
            schema,
            redactor,
            conn: tokio::sync::Mutex::new(conn),
            config: Mutex::new(None),
            starts: AtomicU32::new(starts),
        }
    }

    pub fn label(&self) -> String {
        self.launch.label()
    }

    /// Closes the process (stdin first, then a kill after the exit timeout) and waits for it;
    /// its exit status, if one ran.
    pub async fn shutdown(&self) -> Option<std::process::ExitStatus> {
        let conn = self.conn.lock().await.take()?;
        conn.close().await
    }

    /// The pid of the current process, if one runs (tests check for leftovers with it).
    pub async fn pid(&self) -> Option<u32> {
        self.conn.lock().await.as_ref().filter(|c| c.is_alive()).and_then(|c| c.pid())
    }

    /// The live process, starting (and re-configuring) a new one if there is none.
    async fn connection(&self) -> Result<Arc<Connection>, Failure> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.is_alive()) {
            return Ok(c.clone());
        }
        if let Some(old) = slot.take() {
            old.close().await;
        }
        let n = self.starts.fetch_add(1, Ordering::SeqCst) + 1;
        if n > MAX_STARTS {
            return Err(Failure::GaveUp(format!(
                "has stopped {MAX_STARTS} times in this run; tarn does not start it again"
            )));
        }
        if n > 1 {
            tracing::warn!(plugin = %self.label(), "restarting the plugin (start {n} of at most {MAX_STARTS})");
        }
        let (conn, _) = start(&self.launch, self.redactor.clone()).await?;
        let config = self.config.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(config) = config {
            match conn.call(method::CONFIGURE, json!({"config": encode(&config)}), self.launch.timeouts.call).await {
                Ok(_) => {}
                Err(f) if not_found(&f) => {}
                Err(f) => {
                    conn.close().await;
                    return Err(Failure::GaveUp(format!(
                        "refused its configuration after a restart: {}",
                        f.describe()
                    )));
                }
            }
        }
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn rpc(&self, method: &str, params: Json) -> Result<Json, Failure> {
        let conn = self.connection().await?;
        conn.call(method, params, self.launch.timeouts.call).await
    }

    fn attributes(&self, type_name: &str) -> Option<&IndexMap<String, AttributeSchema>> {
        self.schema.resources.get(type_name).or_else(|| self.schema.data_sources.get(type_name)).map(|t| &t.attributes)
    }

    fn learn(&self, type_name: &str, v: &Value) {
        self.redactor.learn(v, self.attributes(type_name));
    }

    /// A failure as a classified provider error naming the plugin and the method.
    fn error(&self, method: &str, f: Failure) -> ProviderError {
        match f {
            Failure::Rpc(e) if e.code == code::PROVIDER_ERROR => {
                let data = e.data.unwrap_or(Json::Null);
                let class = data
                    .get("class")
                    .cloned()
                    .and_then(|c| serde_json::from_value::<ErrorClass>(c).ok())
                    .unwrap_or(ErrorClass::Permanent);
                let message = self.redactor.redact(&e.message);
                let partial = data.get("partial").and_then(|p| decode(p).ok()).filter(|p| !p.is_null());
                let kind = data.get("kind").cloned().and_then(|k| serde_json::from_value::<ErrorKind>(k).ok());
                let error = match (class, partial) {
                    (ErrorClass::PartiallyCreated, Some(p)) => ProviderError::partially_created(message, p),
                    // A partial create without the object cannot be recorded: say so.
                    (ErrorClass::PartiallyCreated, None) => ProviderError::permanent(format!(
                        "{message} ({} reported a partially created object but did not send it in data.partial)",
                        self.label()
                    )),
                    (class, _) => ProviderError::new(class, message),
                };
                ProviderError { kind, ..error }
            }
            Failure::Rpc(e) => ProviderError::permanent(format!(
                "{} answered {method} with JSON-RPC error {}: {}",
                self.label(),
                e.code,
                self.redactor.redact(&e.message)
            )),
            f => {
                let message = format!("{} {} during {method}", self.label(), self.redactor.redact(&f.describe()));
                let idempotent = !matches!(method, method::CREATE | method::UPDATE);
                let retryable = matches!(f, Failure::Exited { .. } | Failure::TimedOut { .. } | Failure::Stopped(_));
                if idempotent && retryable {
                    ProviderError::transient(message)
                } else {
                    ProviderError::permanent(message)
                }
            }
        }
    }

    /// A result that must be an object (`null` allowed when `nullable`).
    fn object(&self, method: &str, j: &Json, nullable: bool) -> Result<Option<Value>, ProviderError> {
        let bad = |why: String| {
            ProviderError::permanent(format!("{} answered {method} with a bad result: {why}", self.label()))
        };
        match j {
            Json::Null if nullable => Ok(None),
            Json::Object(_) => decode(j).map(Some).map_err(bad),
            other => Err(bad(format!(
                "expected an object{}, got {}",
                if nullable { " or null" } else { "" },
                json_kind(other)
            ))),
        }
    }

    /// Create failed without an answer: ask a fresh process whether the object exists.
    async fn after_failed_create(&self, req: &CreateRequest, f: Failure) -> ProviderError {
        let what =
            format!("{} {} during create of {}", self.label(), self.redactor.redact(&f.describe()), req.type_name);
        let probe = AdoptRequest {
            type_name: req.type_name.clone(),
            correlation: req.correlation.clone(),
            planned: req.planned.clone(),
        };
        match self.adopt(probe).await {
            Ok(Some(v)) => ProviderError::partially_created(
                format!("{what}; the object it made was found by its correlation tag and is recorded"),
                v,
            ),
            Ok(None) => ProviderError::permanent(format!("{what}; it made no object")),
            Err(e) => ProviderError::permanent(format!(
                "{what}; whether it made an object could not be checked: {}",
                e.message
            )),
        }
    }
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

fn not_found(f: &Failure) -> bool {
    matches!(f, Failure::Rpc(e) if e.code == code::METHOD_NOT_FOUND)
}

#[async_trait]
impl Provider for PluginProvider {
    fn name(&self) -> &str {
        &self.launch.name
    }

    fn schema(&self) -> ProviderSchema {
        self.schema.clone()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        self.redactor.learn(&config, Some(&self.schema.config));
        match self.rpc(method::CONFIGURE, json!({"config": encode(&config)})).await {
            Ok(_) => {}
            Err(f) if not_found(&f) => {}
            Err(f) => return Err(self.error(method::CONFIGURE, f)),
        }
        *self.config.lock().unwrap_or_else(|p| p.into_inner()) = Some(config);
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        self.learn(&req.type_name, &req.state);
        let params = json!({"type": req.type_name, "state": encode(&req.state)});
        match self.rpc(method::READ, params).await {
            Ok(j) => self.object(method::READ, &j, true),
            Err(f) => Err(self.error(method::READ, f)),
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        self.learn(&req.type_name, &req.proposed);
        let prior = req.prior.as_ref().map(encode).unwrap_or(Json::Null);
        let params = json!({"type": req.type_name, "prior": prior, "proposed": encode(&req.proposed)});
        let answer = match self.rpc(method::PLAN, params).await {
            Ok(j) => j,
            Err(f) if not_found(&f) => return Ok(PlanResponse { planned: req.proposed, requires_replace: Vec::new() }),
            Err(f) => return Err(self.error(method::PLAN, f)),
        };
        let bad =
            |why: &str| ProviderError::permanent(format!("{} answered plan with a bad result: {why}", self.label()));
        let planned = answer.get("planned").ok_or_else(|| bad("it has no \"planned\" object"))?;
        let planned = self.object(method::PLAN, planned, false)?.unwrap_or_default();
        let requires_replace = match answer.get("requires_replace") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str().map(str::to_string).ok_or_else(|| bad("\"requires_replace\" must list attribute names"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(bad("\"requires_replace\" must be an array of attribute names")),
        };
        Ok(PlanResponse { planned, requires_replace })
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        self.learn(&req.type_name, &req.planned);
        let params = json!({"type": req.type_name, "planned": encode(&req.planned), "correlation": req.correlation});
        match self.rpc(method::CREATE, params).await {
            Ok(j) => Ok(self.object(method::CREATE, &j, false)?.unwrap_or_default()),
            Err(f) if f.is_transport() && !matches!(f, Failure::Start(_) | Failure::GaveUp(_)) => {
                Err(self.after_failed_create(&req, f).await)
            }
            Err(f) => Err(self.error(method::CREATE, f)),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        self.learn(&req.type_name, &req.planned);
        self.learn(&req.type_name, &req.prior);
        let params = json!({"type": req.type_name, "prior": encode(&req.prior), "planned": encode(&req.planned)});
        match self.rpc(method::UPDATE, params).await {
            Ok(j) => Ok(self.object(method::UPDATE, &j, false)?.unwrap_or_default()),
            Err(f) => Err(self.error(method::UPDATE, f)),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.learn(&req.type_name, &req.state);
        let params = json!({"type": req.type_name, "state": encode(&req.state)});
        match self.rpc(method::DELETE, params).await {
            Ok(_) => Ok(()),
            Err(f) => Err(self.error(method::DELETE, f)),
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        self.learn(&req.type_name, &req.config);
        let params = json!({"type": req.type_name, "config": encode(&req.config)});
        match self.rpc(method::READ_DATA, params).await {
            Ok(j) => Ok(self.object(method::READ_DATA, &j, false)?.unwrap_or_default()),
            Err(f) if not_found(&f) => {
                Err(ProviderError::permanent(format!("{} has no data source {}", self.label(), req.type_name)))
            }
            Err(f) => Err(self.error(method::READ_DATA, f)),
        }
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        match self.rpc(method::IMPORT, json!({"type": type_name, "id": id})).await {
            Ok(j) => self.object(method::IMPORT, &j, true),
            Err(f) if not_found(&f) => Err(ProviderError::permanent(format!(
                "{type_name} does not support import ({} has no import method)",
                self.label()
            ))),
            Err(f) => Err(self.error(method::IMPORT, f)),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        let params = json!({"type": req.type_name, "correlation": req.correlation, "planned": encode(&req.planned)});
        match self.rpc(method::ADOPT, params).await {
            Ok(j) => self.object(method::ADOPT, &j, true),
            Err(f) if not_found(&f) => Err(ProviderError::permanent(format!(
                "{} has no adopt method, so tarn cannot tell whether an interrupted create of {} made an object",
                self.label(),
                req.type_name
            ))),
            Err(f) => Err(self.error(method::ADOPT, f)),
        }
    }
}
