//! A worker runs one operation: journal the intent, wait for a call slot, confirm the run
//! still holds its state lock, call the provider (retrying transient errors with backoff),
//! give the slot back, write the state row, journal the outcome, and report back. It owns no scheduling state and decides nothing about the
//! rest of the apply; the dispatcher does.
//!
//! A panicking provider call is caught (unwinding is stopped at the call) and reported, never
//! lost. When the outcome of a call is uncertain (a panic, or state could not be written after
//! the provider acted), the intent is left open on purpose: `recover` reconciles it on the
//! next run.

use super::dispatch::{CallSlot, CallSlots};
use super::journal::{self, IntentDetail, Outcome};
use super::model::{Event, EventSink};
use super::retry::RetryPolicy;
use super::values::{RowMeta, from_record, remark, to_record};
use crate::deadline::{self, CallDeadlines};
use crate::plan::OpKind;
use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tarn_sdk::{
    CreateRequest, DeleteRequest, ErrorClass, Provider, ProviderError, ReadDataRequest, ResourceSchema, RestoreRequest,
    UpdateRequest, Value,
};
use tarn_state::{Backend, ResourceRecord};

/// What every worker shares.
#[derive(Clone)]
pub(crate) struct WorkerEnv {
    pub backend: Arc<dyn Backend>,
    pub sink: Arc<dyn EventSink>,
    pub retry: RetryPolicy,
    pub run_id: Arc<str>,
    /// The limits on one provider call.
    pub deadlines: CallDeadlines,
}

/// The provider call to make. Values keep their sensitive marks here; the worker unmarks them
/// for the provider and uses the marks to re-mark the result.
#[derive(Debug, Clone)]
pub(crate) enum Call {
    Create {
        planned: Value,
        correlation: String,
    },
    Update {
        prior: Value,
        planned: Value,
    },
    Delete {
        state: Value,
    },
    ReadData {
        config: Value,
    },
    /// Find the existing object with this import ID (a string value, journaled as sent).
    Import {
        id: Value,
    },
    /// Create a deleted object again from its recorded state (rollback of a delete-then-create
    /// replacement, for a `restorable` type), tagged like a create so recovery can adopt it.
    Restore {
        state: Value,
        correlation: String,
    },
}

impl Call {
    /// The provider method this call is, as messages name it.
    fn name(&self) -> &'static str {
        match self {
            Call::Create { .. } => "create",
            Call::Update { .. } => "update",
            Call::Delete { .. } => "delete",
            Call::ReadData { .. } => "read_data",
            Call::Import { .. } => "import",
            Call::Restore { .. } => "restore",
        }
    }

    /// Whether the call may change an object (and so runs under the longer deadline, and has
    /// an unknown outcome when abandoned).
    fn changes(&self) -> bool {
        matches!(self, Call::Create { .. } | Call::Update { .. } | Call::Delete { .. } | Call::Restore { .. })
    }

    fn sent_value(&self) -> &Value {
        match self {
            Call::Create { planned, .. } | Call::Update { planned, .. } => planned,
            Call::Delete { state } | Call::Restore { state, .. } => state,
            Call::ReadData { config } => config,
            Call::Import { id } => id,
        }
    }
}

/// What happens to the state rows after a successful delete.
#[derive(Debug, Clone)]
pub(crate) enum AfterDelete {
    RemoveRow,
    /// The deleted object was this deposed object of the address: remove its row only.
    RemoveDeposed(String),
    /// Put back this row (rollback of create_before_destroy: the old object is current
    /// again), then remove the deposed row it was kept in meanwhile, if any.
    Restore {
        record: Box<ResourceRecord>,
        deposed: Option<String>,
    },
}

pub(crate) struct OpRequest {
    pub provider: Arc<dyn Provider>,
    pub kind: OpKind,
    /// Journal op name: "create", "update", "delete", "read", "import", "rollback-delete",
    /// "rollback-update", "rollback-restore".
    pub journal_op: &'static str,
    pub meta: RowMeta,
    pub call: Call,
    pub schema: Option<Arc<ResourceSchema>>,
    pub after_delete: AfterDelete,
    /// For a create_before_destroy create: the old object's row, with its deposed key set.
    /// Written after the create's intent and before the provider call, so that the old object
    /// stays known (as deposed) once the new one takes the address's row.
    pub depose: Option<Box<ResourceRecord>>,
    /// Emitted when the op gets its call slot, i.e. when it really starts.
    pub announce: Option<Event>,
}

impl OpRequest {
    /// The deposed key this op concerns, for the journal.
    fn deposed_key(&self) -> Option<&str> {
        match (&self.depose, &self.after_delete) {
            (Some(record), _) => record.deposed.as_deref(),
            (None, AfterDelete::RemoveDeposed(key)) => Some(key),
            (None, AfterDelete::Restore { deposed, .. }) => deposed.as_deref(),
            (None, AfterDelete::RemoveRow) => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct OpReport {
    /// The object now at the address (`None` after a delete), or the failure.
    pub result: Result<Option<Value>, OpFailure>,
    pub elapsed: Duration,
}

#[derive(Debug)]
pub(crate) struct OpFailure {
    pub message: String,
    /// A partially created object, recorded in state.
    pub partial: Option<Value>,
    /// Whether the provider may have acted without it being recorded (panic, state write
    /// failure): the intent stays open for `recover`.
    pub uncertain: bool,
    /// Never called: the phase stopped while the op waited for a call slot. Not a failure of
    /// its own; the op was not run.
    pub stopped: bool,
    /// Why, when the provider said.
    pub kind: Option<tarn_sdk::ErrorKind>,
}

impl OpFailure {
    pub(crate) fn new(message: String) -> Self {
        OpFailure { message, partial: None, uncertain: false, stopped: false, kind: None }
    }
}

/// Why a provider call did not return a value.
enum CallError {
    Provider(ProviderError),
    Panicked(String),
    /// The call passed its deadline and was abandoned (its future dropped).
    TimedOut {
        call: &'static str,
        limit: Duration,
    },
}

/// Runs `req`, holding one of `slots` from its first provider call until its last has
/// returned. `elapsed` counts from the moment it got the slot.
pub(crate) async fn run(env: WorkerEnv, req: OpRequest, slots: CallSlots) -> OpReport {
    let mut started = Instant::now();
    let mut slot = None;
    let result = run_attempts(&env, &req, &slots, &mut slot, &mut started).await;
    if matches!(&result, Err(f) if !f.stopped) {
        // Before the slot goes back, so that under `Stop` no waiting op calls after this one
        // failed.
        slots.failed();
    }
    drop(slot);
    OpReport { result, elapsed: started.elapsed() }
}

/// `slot` is filled when the op gets one and emptied once its call succeeded; a failed op
/// leaves it to `run`.
async fn run_attempts(
    env: &WorkerEnv,
    req: &OpRequest,
    slots: &CallSlots,
    slot: &mut Option<CallSlot>,
    started: &mut Instant,
) -> Result<Option<Value>, OpFailure> {
    let address = req.meta.address.to_string();
    let backend = env.backend.as_ref();
    let correlation = match &req.call {
        Call::Create { correlation, .. } | Call::Restore { correlation, .. } => Some(correlation.as_str()),
        _ => None,
    };
    let restores = match &req.after_delete {
        AfterDelete::Restore { record, .. } => Some(from_record(record)),
        _ => None,
    };
    let mut attempt = 1;
    loop {
        let detail = IntentDetail {
            type_name: &req.meta.address.type_name,
            provider: &req.meta.provider,
            attempt,
            value: req.call.sent_value(),
            correlation,
            restores: restores.as_ref(),
            deposed: req.deposed_key(),
            dependencies: &req.meta.dependencies,
        };
        let seq = journal::intent(backend, &env.run_id, &address, req.journal_op, detail)
            .await
            .map_err(|e| OpFailure::new(format!("not attempted: the journal intent could not be written: {e}")))?;
        if attempt == 1 {
            // The intent went to state while the slots were busy; the call starts as soon as
            // one is free.
            let Some(held) = slots.acquire().await else {
                let message = "not attempted: the apply stopped before this operation's turn";
                let _ = journal::outcome(
                    backend,
                    &env.run_id,
                    &address,
                    req.journal_op,
                    Some(seq),
                    Outcome::Aborted { message },
                )
                .await;
                return Err(OpFailure { stopped: true, ..OpFailure::new(message.to_string()) });
            };
            *slot = Some(held);
            *started = Instant::now();
            if let Some(event) = &req.announce {
                env.sink.emit(event.clone());
            }
        }
        if let (1, Some(old)) = (attempt, &req.depose) {
            // The intent names the key first, so a run killed from here on is resolved by
            // recovery: until the new object's row is written, both rows hold the old object.
            if let Err(e) = backend.put_resource((**old).clone()).await {
                let message = format!("not attempted: the object being replaced could not be recorded as deposed: {e}");
                let _ = journal::outcome(
                    backend,
                    &env.run_id,
                    &address,
                    req.journal_op,
                    Some(seq),
                    Outcome::Aborted { message: &message },
                )
                .await;
                return Err(OpFailure::new(message));
            }
        }

        // Fencing: the call is made only while the run's lock is still its own, and is
        // recorded as done under it until it returns (what a run that lost it must report).
        let lease = match backend.confirm_lease(&lease_use(req, &address, correlation)).await {
            Ok(lease) => lease,
            Err(e) => {
                // Not journaled: the state now belongs to the lock's new holder.
                return Err(OpFailure::new(format!("not attempted: {e}")));
            }
        };
        let called = call_provider(req, env.deadlines).await;
        drop(lease);
        let error = match called {
            Ok(value) => {
                // Done calling: the next op calls while this one's row goes to state.
                drop(slot.take());
                return record_success(env, req, &address, seq, value).await;
            }
            Err(CallError::Panicked(message)) => {
                return Err(OpFailure {
                    uncertain: true,
                    ..OpFailure::new(format!(
                        "the provider panicked: {message}; the outcome is unknown and will be reconciled on the next run"
                    ))
                });
            }
            Err(CallError::TimedOut { call, limit }) if req.call.changes() => {
                // The provider may have acted before it stopped answering: like a panic, the
                // intent stays open and the next run's recovery finds out what exists.
                return Err(OpFailure {
                    uncertain: true,
                    kind: Some(tarn_sdk::ErrorKind::TimedOut),
                    ..OpFailure::new(format!(
                        "{}; the outcome is unknown and will be reconciled on the next run",
                        deadline::elapsed_message(call, limit)
                    ))
                });
            }
            // A read that timed out changed nothing: it fails like any failed call.
            Err(CallError::TimedOut { call, limit }) => {
                ProviderError::permanent(deadline::elapsed_message(call, limit))
                    .with_kind(tarn_sdk::ErrorKind::TimedOut)
            }
            Err(CallError::Provider(e)) => e,
        };
        if let Some(delay) = env.retry.next_delay(attempt, &error) {
            let _ = journal::outcome(
                backend,
                &env.run_id,
                &address,
                req.journal_op,
                Some(seq),
                Outcome::Error { error: &error, retrying: true },
            )
            .await;
            env.sink.emit(Event::OpRetrying {
                address: req.meta.address.clone(),
                op: req.kind,
                attempt: attempt + 1,
                error: error.message.clone(),
            });
            tokio::time::sleep(delay).await;
            attempt += 1;
            continue;
        }
        return Err(record_failure(env, req, &address, seq, error).await);
    }
}

/// How a call is named in the list a run that lost its lock prints.
fn lease_use(req: &OpRequest, address: &str, correlation: Option<&str>) -> String {
    match correlation {
        Some(tag) => format!("{} {address} (correlation tag {tag})", req.journal_op),
        None => format!("{} {address}", req.journal_op),
    }
}

/// Calls the provider under its deadline, catching a panic so it becomes a value.
async fn call_provider(req: &OpRequest, deadlines: CallDeadlines) -> Result<Option<Value>, CallError> {
    let provider = req.provider.as_ref();
    let type_name = req.meta.address.type_name.clone();
    let fut = async move {
        match &req.call {
            Call::Create { planned, correlation } => provider
                .create(CreateRequest { type_name, planned: planned.unmark_deep(), correlation: correlation.clone() })
                .await
                .map(Some),
            Call::Update { prior, planned } => provider
                .update(UpdateRequest { type_name, prior: prior.unmark_deep(), planned: planned.unmark_deep() })
                .await
                .map(Some),
            Call::Delete { state } => {
                match provider.delete(DeleteRequest { type_name, state: state.unmark_deep() }).await {
                    // Deleting what is already gone is success (the contract says so; some
                    // providers still report it).
                    Err(e) if e.class == ErrorClass::NotFound => Ok(None),
                    r => r.map(|()| None),
                }
            }
            Call::ReadData { config } => {
                provider.read_data(ReadDataRequest { type_name, config: config.unmark_deep() }).await.map(Some)
            }
            Call::Import { id } => {
                let id = id.as_str().unwrap_or_default();
                crate::plan::import_object(provider, &type_name, id).await.map(Some)
            }
            Call::Restore { state, correlation } => provider
                .restore(RestoreRequest { type_name, state: state.unmark_deep(), correlation: correlation.clone() })
                .await
                .map(Some),
        }
    };
    // The provider sees plain values; the toolkit's logging still masks what was marked.
    let values: &[&Value] = match &req.call {
        Call::Create { planned, .. } => &[planned],
        Call::Update { prior, planned } => &[prior, planned],
        Call::Delete { state } | Call::Restore { state, .. } => &[state],
        Call::ReadData { config } => &[config],
        Call::Import { .. } => &[],
    };
    let fut = tarn_sdk::call::with_secrets(values.iter().copied(), fut);
    let (call, limit) = (req.call.name(), if req.call.changes() { deadlines.change } else { deadlines.read });
    match deadline::within(limit, CatchUnwind(Box::pin(fut))).await {
        None => Err(CallError::TimedOut { call, limit }),
        Some(Ok(r)) => r.map_err(CallError::Provider),
        Some(Err(payload)) => Err(CallError::Panicked(payload_message(payload.as_ref()))),
    }
}

/// Polls a future, turning a panic inside any poll into an `Err` with its payload. Cheaper
/// than a task of its own per call; the future is dropped after a panic, never polled again.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without message".into())
}

pub(crate) fn panic_message(join: tokio::task::JoinError) -> String {
    if join.is_cancelled() {
        return "the task was cancelled".into();
    }
    payload_message(join.into_panic().as_ref())
}

/// The provider acted but state does not say so: the intent stays open so that the next
/// run's recovery reconciles it.
fn unrecorded(e: tarn_state::StateError) -> OpFailure {
    OpFailure {
        uncertain: true,
        ..OpFailure::new(format!(
            "the provider call succeeded but state could not be written: {e}; the next run will reconcile it"
        ))
    }
}

async fn record_success(
    env: &WorkerEnv,
    req: &OpRequest,
    address: &str,
    seq: i64,
    value: Option<Value>,
) -> Result<Option<Value>, OpFailure> {
    let backend = env.backend.as_ref();
    let value = value.map(|v| remark(v, req.schema.as_deref(), Some(req.call.sent_value())));
    let written = match (&value, &req.after_delete) {
        // The row and the outcome that closes the intent in one commit (SQLite): one state
        // round trip fewer on every create and update.
        (Some(v), _) => {
            let closing = journal::outcome_entry(&env.run_id, address, req.journal_op, Some(seq), Outcome::Ok);
            return match backend.put_resource_closing(to_record(&req.meta, v), closing).await {
                Ok(()) => Ok(value),
                Err(e) => Err(unrecorded(e)),
            };
        }
        (None, AfterDelete::RemoveRow) => backend.delete_resource(address).await,
        (None, AfterDelete::RemoveDeposed(key)) => backend.delete_deposed(address, key).await,
        (None, AfterDelete::Restore { record, deposed }) => match backend.put_resource((**record).clone()).await {
            // Current first, then the deposed copy: a kill in between leaves a duplicate row
            // that recovery drops, never an object without a row.
            Ok(()) => match deposed {
                Some(key) => backend.delete_deposed(address, key).await,
                None => Ok(()),
            },
            Err(e) => Err(e),
        },
    };
    if let Err(e) = written {
        return Err(unrecorded(e));
    }
    if let Err(e) = journal::outcome(backend, &env.run_id, address, req.journal_op, Some(seq), Outcome::Ok).await {
        // State is right; an open intent is reconciled idempotently by the next recovery.
        tracing::warn!(%address, error = %e, "journal outcome not written");
    }
    Ok(value)
}

async fn record_failure(env: &WorkerEnv, req: &OpRequest, address: &str, seq: i64, error: ProviderError) -> OpFailure {
    let backend = env.backend.as_ref();
    if let (ErrorClass::PartiallyCreated, Some(partial)) = (error.class, &error.partial) {
        let partial = remark(partial.clone(), req.schema.as_deref(), Some(req.call.sent_value()));
        if let Err(e) = backend.put_resource(to_record(&req.meta, &partial)).await {
            return OpFailure {
                uncertain: true,
                ..OpFailure::new(format!(
                    "{error} (partially created; recording it in state failed: {e}; the next run will reconcile it)"
                ))
            };
        }
        let _ = journal::outcome(
            backend,
            &env.run_id,
            address,
            req.journal_op,
            Some(seq),
            Outcome::Partial { error: &error },
        )
        .await;
        return OpFailure {
            partial: Some(partial),
            kind: error.kind,
            ..OpFailure::new(format!("{error} (the object was partially created and is recorded in state)"))
        };
    }
    if let Some(key) = req.depose.as_ref().and_then(|r| r.deposed.as_deref()) {
        // The create made nothing: the old object is still the current one, so its deposed
        // copy goes (recovery drops it if this write is lost).
        if let Err(e) = backend.delete_deposed(address, key).await {
            tracing::warn!(%address, error = %e, "could not drop the deposed copy of the object being replaced");
        }
    }
    let _ = journal::outcome(
        backend,
        &env.run_id,
        address,
        req.journal_op,
        Some(seq),
        Outcome::Error { error: &error, retrying: false },
    )
    .await;
    OpFailure { kind: error.kind, ..OpFailure::new(error.to_string()) }
}
