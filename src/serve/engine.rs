//! The runs behind the API. Every runtime is one stack in its own workspace (`sr-<key>`) of the
//! state: the provider block from engine.conf and one `opennebula_serverless_runtime`. Every
//! request is one run of it through `tarn_core::run` — the same lock, recovery, refresh,
//! plan and apply as `tarn apply`, recorded in the workspace's history: POST plans and applies
//! a create, GET a refresh-only apply, PUT a resize (applied only when the plan's refresh
//! found every function the body names RUNNING: `gate`), DELETE a destroy. A request refused
//! before its run began (a bad body, an unknown flavour, a 423) still gets one line in a
//! history: its runtime's workspace, or `serve-refused` when it reached none.
//!
//! Concurrency: each runtime has its own lock, so requests for different runtimes run in
//! parallel. In this process a mutex per workspace serialises requests for the same runtime
//! (GET and DELETE wait their turn; PUT does not wait: a runtime being changed is in a
//! transient state, 423, as the original answers); across replicas on one PostgreSQL state,
//! the state lock of the workspace does the same.
//!
//! Runs are spawned tasks: a client that hangs up does not cancel a create half-way, and
//! [`Engine::drain`] waits for every run before the process exits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value as Json;
use tarn_core::exec::{ApplyOutcome, CancelToken};
use tarn_core::plan::PlanMode;
use tarn_core::run::{Applied, FromFactory, Request, Run, RunError, Settings, Silent, VariableSources};
use tarn_sdk::ErrorKind;
use tarn_state::crypto::{EncryptedBackend, Sealer};
use tarn_state::{Backend, LockHolder, RunOutcome, RunStart};
use tokio::sync::Notify;

use super::conf::EngineConf;
use super::contract::{ApiError, SR};
use super::document::{ADDRESS, Spec};
use super::gate;
use super::metrics::Metrics;
use super::status::status_of;
use crate::error::CliError;
use crate::location::Location;

/// The credentials of a request, passed through to OpenNebula (HTTP Basic, as the original).
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

/// Why a run did not do what the request asked, with the kind of the provider's error when
/// one said (what decides the HTTP code: `status`).
#[derive(Debug)]
pub enum Failure {
    /// Another request is changing this runtime.
    Busy(String),
    /// Refused or failed before any change (configuration, credentials, plan): no run of it
    /// is in the history yet.
    Refused(String, Option<ErrorKind>),
    /// The apply failed (and rolled back what it did); its run is in the history.
    Failed(String, Option<ErrorKind>),
}

impl Failure {
    fn refused(why: impl ToString) -> Failure {
        Failure::Refused(why.to_string(), None)
    }
}

/// The workspace whose history records the requests refused before they reached a runtime
/// (no credentials, a bad body, an unknown id, a create refused before any change). Not an
/// `sr-` name, so never taken for a runtime.
pub const REFUSED_WORKSPACE: &str = "serve-refused";

/// What a request does to its runtime's stack.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Create,
    Read,
    Resize,
    Delete,
}

impl Action {
    fn mode(self) -> PlanMode {
        match self {
            Action::Read => PlanMode::RefreshOnly,
            Action::Delete => PlanMode::Destroy,
            Action::Create | Action::Resize => PlanMode::Normal,
        }
    }

    /// The error title of the original server for this request.
    fn title(self, status: StatusCode) -> String {
        let verb = match self {
            Action::Create => "create",
            Action::Read => "retrieve",
            Action::Resize => "update",
            Action::Delete => "delete",
        };
        match status {
            StatusCode::UNAUTHORIZED => "Failed to authenticate in OpenNebula".into(),
            StatusCode::FORBIDDEN => "Permission denied".into(),
            StatusCode::UNPROCESSABLE_ENTITY => format!("Unprocessable {SR} definition"),
            StatusCode::LOCKED if self == Action::Delete => format!("Cannot delete {SR}"),
            StatusCode::LOCKED => format!("Cannot update {SR} on transient state"),
            StatusCode::GATEWAY_TIMEOUT => format!("Timeout when {verb}ing {SR}").replace("updateing", "updating"),
            _ => format!("Failed to {verb} {SR}"),
        }
    }
}

/// The server's side of the runs: where state lives, the provider block, the per-runtime
/// locks and which workspace holds which runtime id.
pub struct Engine {
    location: Location,
    provider: Json,
    timeout: Duration,
    /// How many runs the `serve-refused` history keeps.
    refused_history: usize,
    /// How many runs each runtime's history keeps.
    history: usize,
    cwd: PathBuf,
    key_path: PathBuf,
    state_key: bool,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Runtime id (the OpenNebula document) → workspace. Rebuilt from the state on a miss, so
    /// a restart or another replica's runtimes are found.
    index: Mutex<HashMap<u64, String>>,
    running: AtomicUsize,
    idle: Notify,
    pub metrics: Arc<Metrics>,
}

impl Engine {
    pub fn new(location: Location, conf: &EngineConf, cwd: PathBuf, metrics: Arc<Metrics>) -> Result<Engine, CliError> {
        std::fs::create_dir_all(&cwd)
            .map_err(|e| CliError::Failed(format!("cannot create the server's directory {}: {e}", cwd.display())))?;
        let key_path = crate::stack::key_path();
        let state_key = Sealer::load(&key_path)?.is_some();
        Ok(Engine {
            location,
            provider: conf.provider_block(),
            timeout: conf.timeout,
            refused_history: conf.refused_history,
            history: conf.history,
            cwd,
            key_path,
            state_key,
            locks: Mutex::default(),
            index: Mutex::default(),
            running: AtomicUsize::new(0),
            idle: Notify::new(),
            metrics,
        })
    }

    pub fn describe_state(&self) -> String {
        self.location.describe()
    }

    fn backend(&self, workspace: &str) -> Result<Arc<dyn Backend>, Failure> {
        let raw = self.location.open(workspace).map_err(Failure::refused)?;
        let sealer = Sealer::load(&self.key_path).map_err(Failure::refused)?;
        Ok(Arc::new(EncryptedBackend::new(raw, sealer)))
    }

    fn lock_of(&self, workspace: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(workspace.to_string()).or_default().clone()
    }

    /// Runs `work` as a task of its own (see the module header), counted until it ends.
    pub async fn spawn<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, ApiError> {
        self.running.fetch_add(1, Ordering::SeqCst);
        self.metrics.runs_in_flight.inc();
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let out = work.await;
            engine.metrics.runs_in_flight.dec();
            if engine.running.fetch_sub(1, Ordering::SeqCst) == 1 {
                engine.idle.notify_waiters();
            }
            out
        });
        task.await.map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "this is a bug in tarn", format!("the run panicked: {e}"))
        })
    }

    /// Waits until no run is left.
    pub async fn drain(&self) {
        loop {
            let idle = self.idle.notified();
            if self.running.load(Ordering::SeqCst) == 0 {
                return;
            }
            idle.await;
        }
    }

    /// The workspace of runtime `id`, if this state has it.
    async fn workspace_of(&self, id: u64) -> Result<Option<String>, ApiError> {
        if let Some(ws) = self.index.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(Some(ws.clone()));
        }
        self.reindex()
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "Failed to read the state", e))?;
        Ok(self.index.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned())
    }

    /// Reads every runtime workspace's object id into the index.
    pub async fn reindex(&self) -> Result<usize, String> {
        let any = self.backend("default").map_err(|f| format!("{f:?}"))?;
        let workspaces = any.workspaces().await.map_err(|e| e.to_string())?;
        let known: Vec<String> = self.index.lock().unwrap_or_else(|p| p.into_inner()).values().cloned().collect();
        for ws in workspaces.into_iter().filter(|w| w.starts_with("sr-") && !known.contains(w)) {
            let backend = self.backend(&ws).map_err(|f| format!("{f:?}"))?;
            let snapshot = backend.snapshot().await.map_err(|e| e.to_string())?;
            let id = object(&snapshot).and_then(|a| a.get("id")?.as_str()?.parse::<u64>().ok());
            if let Some(id) = id {
                self.index.lock().unwrap_or_else(|p| p.into_inner()).insert(id, ws);
            }
        }
        Ok(self.index.lock().unwrap_or_else(|p| p.into_inner()).len())
    }

    /// POST: a new workspace, a create. Answers the workspace and the recorded object.
    pub async fn create(&self, creds: &Credentials, spec: Spec) -> Result<(String, Json), ApiError> {
        let workspace = format!("sr-{}", uuid::Uuid::new_v4().simple());
        let command = "tarn serve: POST /serverless-runtimes".to_string();
        let found = self.execute(&workspace, command.clone(), Action::Create, |_| Some(spec), None, creds).await;
        let refused = matches!(found, Err(Failure::Refused(..) | Failure::Busy(_)));
        if refused {
            // Refused before any change: no runtime, so no workspace; the refusal is recorded
            // with the others that reached no runtime.
            if let Ok(backend) = self.backend(&workspace) {
                if backend.history().await.is_ok_and(|h| h.is_empty()) {
                    let _ = backend.delete_workspace().await;
                }
            }
        }
        let answered = answer(Action::Create, found);
        if let (true, Err(e)) = (refused, &answered) {
            self.record_refusal(REFUSED_WORKSPACE, &command, e).await;
        }
        let attrs = answered?.ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Failed to create Serverless Runtime",
                "the apply recorded no runtime; this is a bug in tarn",
            )
        })?;
        if let Some(id) = attrs.get("id").and_then(Json::as_str).and_then(|s| s.parse::<u64>().ok()) {
            self.index.lock().unwrap_or_else(|p| p.into_inner()).insert(id, workspace.clone());
        }
        Ok((workspace, attrs))
    }

    /// GET: a refresh-only apply (the state records what OpenNebula says now).
    pub async fn read(&self, creds: &Credentials, id: u64) -> Result<(String, Json), ApiError> {
        self.on_existing(creds, id, Action::Read, "GET", |recorded| Some(recorded.clone()), None).await
    }

    /// PUT: the recorded arguments with the body's NAME and sizes, planned and applied, once
    /// every function the body names is found RUNNING (`gate`; else 423, or 500 for ERROR).
    pub async fn resize(&self, creds: &Credentials, id: u64, body: Json) -> Result<(String, Json), ApiError> {
        let gate = body.clone();
        self.on_existing(creds, id, Action::Resize, "PUT", move |recorded| Some(recorded.resized(&body)), Some(&gate))
            .await
    }

    /// DELETE: a destroy. The workspace stays, with its history.
    pub async fn delete(&self, creds: &Credentials, id: u64) -> Result<String, ApiError> {
        let (ws, _) = self.on_existing(creds, id, Action::Delete, "DELETE", |r| Some(r.clone()), None).await?;
        Ok(ws)
    }

    /// The workspace of runtime `id`; an id the state does not know is answered 404 and its
    /// refusal recorded (`command` names the request).
    pub async fn known(&self, id: u64, command: &str) -> Result<String, ApiError> {
        match self.workspace_of(id).await? {
            Some(workspace) => Ok(workspace),
            None => {
                let e = ApiError::not_found();
                self.record_refusal(REFUSED_WORKSPACE, command, &e).await;
                Err(e)
            }
        }
    }

    async fn on_existing(
        &self,
        creds: &Credentials,
        id: u64,
        action: Action,
        method: &str,
        spec: impl FnOnce(&Spec) -> Option<Spec>,
        gate: Option<&Json>,
    ) -> Result<(String, Json), ApiError> {
        let command = format!("tarn serve: {method} /serverless-runtimes/{id}");
        let workspace = self.known(id, &command).await?;
        let found = self.execute(&workspace, command.clone(), action, |recorded| spec(recorded?), gate, creds).await;
        let refused = matches!(found, Err(Failure::Refused(..) | Failure::Busy(_)));
        let answered = answer(action, found);
        if let (true, Err(e)) = (refused, &answered) {
            self.record_refusal(&workspace, &command, e).await;
        }
        match answered? {
            Some(attrs) => {
                // A runtime replaced (a repair) has a new document id.
                if let Some(now) = attrs.get("id").and_then(Json::as_str).and_then(|s| s.parse::<u64>().ok()) {
                    self.index.lock().unwrap_or_else(|p| p.into_inner()).insert(now, workspace.clone());
                }
                Ok((workspace, attrs))
            }
            // Destroyed: what DELETE wanted. Gone outside tarn: not found, as the original.
            None if action == Action::Delete => Ok((workspace, Json::Null)),
            None => Err(ApiError::not_found()),
        }
    }

    /// One run of `workspace`'s stack: the spec made from what the state records (`None` for
    /// a new workspace), planned and applied; with a `gate` (a PUT's body), applied only when
    /// the plan's refresh found every function it names RUNNING. Answers the object recorded
    /// afterwards.
    async fn execute(
        &self,
        workspace: &str,
        command: String,
        action: Action,
        spec: impl FnOnce(Option<&Spec>) -> Option<Spec>,
        gate: Option<&Json>,
        creds: &Credentials,
    ) -> Result<Option<Json>, Failure> {
        let lock = self.lock_of(workspace);
        let _turn = if action == Action::Resize {
            lock.try_lock_owned().map_err(|_| Failure::Busy("another request is changing this runtime".into()))?
        } else {
            lock.lock_owned().await
        };
        let backend = self.backend(workspace)?;
        let recorded = if action == Action::Create {
            None
        } else {
            let snapshot = backend.snapshot().await.map_err(Failure::refused)?;
            match object(&snapshot) {
                Some(attrs) => Some(Spec::from_state(attrs)),
                None => return Ok(None),
            }
        };
        let Some(spec) = spec(recorded.as_ref()) else { return Ok(None) };
        let text = spec.stack(&self.provider);
        let (config, diags) = tarn_core::load::load_sources(&[("runtime.tarn.json", &text)]);
        if diags.has_errors() {
            let why = crate::render::diagnostics(&diags, &config.sources, false);
            return Err(Failure::refused(format!("the runtime's stack is not valid: {why}")));
        }
        let mut request = Request::new(command.clone(), holder(&command), self.cwd.clone());
        request.workspace = workspace.to_string();
        request.mode = action.mode();
        // PUT does not wait for another replica's run either; the others wait their turn.
        request.lock_timeout = if action == Action::Resize { Duration::ZERO } else { self.timeout * 4 };
        request.state_key = self.state_key;
        request.variables = VariableSources {
            env: vec![
                ("TARN_VAR_one_username".into(), creds.user.clone()),
                ("TARN_VAR_one_password".into(), creds.password.clone()),
            ],
            typed: Vec::new(),
        };
        let config = Arc::new(config);
        let (settings, _) = Settings::check(request, &config).map_err(refused)?;
        let setup = FromFactory(crate::providers::Builtins);
        let mut run = Run::open(settings, config, backend.clone(), &setup, Arc::new(Silent)).await.map_err(refused)?;
        let applied = async {
            let plan = run.plan().await.map_err(refused)?;
            if let Some(body) = gate {
                // Refused before anything is applied: the run changes nothing.
                gate::functions_running(&plan, body).map_err(|(why, kind)| Failure::Refused(why, Some(kind)))?;
            }
            run.apply(&plan, CancelToken::new()).await.map_err(refused)
        }
        .await;
        if let Some(loss) = run.close().await {
            return Err(Failure::Failed(format!("the run lost its state lock: {}", loss.reason), None));
        }
        // Bounded (`:history:`), still under the runtime's turn: a device polling its runtime
        // makes a run of every GET.
        if let Err(e) = backend.prune_history(self.history).await {
            tracing::warn!(workspace, error = %e, "could not prune the runtime's history");
        }
        if let Applied::Executed { report, .. } = applied? {
            if report.outcome != ApplyOutcome::Success {
                let why: Vec<String> =
                    report.failed.iter().chain(&report.rollback_failed).map(|p| p.message.clone()).collect();
                // Why the forward operation failed decides the answer, not its rollback.
                let kind = report.failed.iter().find_map(|p| p.kind);
                return Err(Failure::Failed(why.join("; "), kind));
            }
        }
        let snapshot = backend.snapshot().await.map_err(|e| Failure::Failed(e.to_string(), None))?;
        Ok(object(&snapshot).cloned())
    }

    /// A request answered `refusal` before any run recorded it: one line in `workspace`'s
    /// history all the same (outcome `failed`, the code and the reason in its command and
    /// summary), so `tarn history` has every request. Never the credentials or the body.
    /// The `serve-refused` history keeps the newest `:refused_history:` lines, a runtime's the
    /// newest `:history:` (default 1000 each).
    pub async fn record_refusal(&self, workspace: &str, command: &str, refusal: &ApiError) {
        let line = format!("{command} → {} {}", refusal.status.as_u16(), refusal.error);
        let summary = serde_json::json!({
            "refused": {"status": refusal.status.as_u16(), "error": refusal.error, "message": refusal.message}
        });
        let recorded = async {
            let backend = self.backend(workspace).map_err(|f| format!("{f:?}"))?;
            // A workspace's state is made on first use (serve-refused's first refusal).
            backend.snapshot().await.map_err(|e| e.to_string())?;
            let start = RunStart { command: command.to_string(), holder: holder(&line), summary: summary.clone() };
            let id = backend.begin_run(start).await.map_err(|e| e.to_string())?;
            backend.finish_run(&id, RunOutcome::Failed, summary).await.map_err(|e| e.to_string())?;
            // Bounded: a flood of bad requests keeps only the newest.
            let keep = if workspace == REFUSED_WORKSPACE { self.refused_history } else { self.history };
            backend.prune_history(keep).await.map_err(|e| e.to_string())?;
            Ok::<(), String>(())
        };
        if let Err(e) = recorded.await {
            tracing::warn!(workspace, error = %e, "could not record a refused request in the history");
        }
    }
}

fn refused(e: RunError) -> Failure {
    match e {
        RunError::Locked(holder) => Failure::Busy(format!("the runtime's state is locked by {holder}")),
        RunError::Diagnostics { diags, sources } => {
            Failure::Refused(crate::render::diagnostics(&diags, &sources, false), diags.kind())
        }
        other => Failure::refused(other),
    }
}

/// A run's result as the answer the contract gives.
fn answer(action: Action, found: Result<Option<Json>, Failure>) -> Result<Option<Json>, ApiError> {
    let (status, why) = match found {
        Ok(x) => return Ok(x),
        Err(Failure::Busy(why)) if action == Action::Read => (StatusCode::GATEWAY_TIMEOUT, why),
        Err(Failure::Busy(why)) => (StatusCode::LOCKED, why),
        Err(Failure::Refused(why, kind) | Failure::Failed(why, kind)) => (status_of(kind), why),
    };
    Err(ApiError::new(status, action.title(status), why.trim().to_string()))
}

/// The runtime object of a workspace's state, if it records one.
fn object(snapshot: &tarn_state::Snapshot) -> Option<&Json> {
    snapshot.resources.iter().find(|r| r.address == ADDRESS && r.deposed.is_none()).map(|r| &r.attributes)
}

fn holder(command: &str) -> LockHolder {
    LockHolder {
        user: crate::stack::user(),
        host: crate::stack::hostname(),
        pid: std::process::id(),
        command: command.to_string(),
    }
}
