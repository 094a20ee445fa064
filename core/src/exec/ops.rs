//! Forward operations of one phase, as the dispatcher's [`Jobs`]: turns a plan op into a
//! worker request (finalizing values the plan left unknown, choosing prior values from the
//! state snapshot, naming the correlation tag) and records how each op ended — the
//! completions rollback compensates, the failures the report lists. It makes no provider call
//! itself and never changes an action.

use super::dispatch::{CallSlots, Ended, JobFuture, Jobs};
use super::model::{Event, EventSink};
use super::values::{AppliedView, RowMeta, SchemaIndex, deposed_key, from_record, needs_finalize, settle_computed};
use super::worker::{self, AfterDelete, Call, OpReport, OpRequest, WorkerEnv};
use crate::plan::{Action, AppliedValues, Finalizer, OpKind, Plan, ResourceChange};
use std::collections::HashMap;
use std::sync::Arc;
use tarn_sdk::{Address, Provider, Value};

/// An op that finished (or partially created an object), in completion order.
#[derive(Debug, Clone)]
pub(crate) struct Completed {
    /// Index into the plan's `graph.ops`.
    pub op: usize,
    pub kind: OpKind,
    /// The object at the address after the op (`None` after a delete).
    pub value: Option<Value>,
}

/// An op that failed, was not run, or whose outcome is unknown.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpProblem {
    pub address: Address,
    pub op: OpKind,
    pub message: String,
    /// Why, when the provider said (its error's kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<tarn_sdk::ErrorKind>,
}

/// Everything the forward jobs of an apply share.
pub(crate) struct Shared<'a> {
    pub plan: &'a Plan,
    pub env: WorkerEnv,
    pub providers: &'a HashMap<String, Arc<dyn Provider>>,
    pub schemas: &'a SchemaIndex,
    pub finalizer: &'a dyn Finalizer,
    pub view: &'a AppliedView,
    pub sink: Arc<dyn EventSink>,
}

/// The jobs of one phase: `ops[j]` is the plan op index of job `j`.
pub(crate) struct PhaseJobs<'s, 'a> {
    pub shared: &'s Shared<'a>,
    pub ops: Vec<usize>,
    pub completed: Vec<Completed>,
    pub failed: Vec<OpProblem>,
    /// Failures whose effect is unknown (provider or worker panic, state write failure).
    pub uncertain: Vec<OpProblem>,
    /// Jobs whose worker panicked: journaled by the caller after the phase.
    pub panicked: Vec<OpProblem>,
    pub skipped: Vec<OpProblem>,
    /// Plan op indices of the jobs that were not run (the ops behind `skipped`).
    pub not_run_ops: Vec<usize>,
    /// Plan op indices of the jobs that failed (the ops behind `failed`).
    pub failed_ops: Vec<usize>,
}

impl<'s, 'a> PhaseJobs<'s, 'a> {
    pub fn new(shared: &'s Shared<'a>, ops: Vec<usize>) -> Self {
        PhaseJobs {
            shared,
            ops,
            completed: Vec::new(),
            failed: Vec::new(),
            uncertain: Vec::new(),
            panicked: Vec::new(),
            skipped: Vec::new(),
            not_run_ops: Vec::new(),
            failed_ops: Vec::new(),
        }
    }

    /// Whether the op removes an object other than the address's current one (a deposed
    /// object, or the old half of a create_before_destroy replacement): the address's value
    /// as dependants see it does not change.
    fn removes_other_object(&self, job: usize) -> bool {
        let (_, kind, change) = self.change(job);
        kind == OpKind::Delete && (change.deposed.is_some() || change.action == Action::CreateThenDelete)
    }

    fn change(&self, job: usize) -> (usize, OpKind, &'a ResourceChange) {
        let op_index = self.ops[job];
        let op = &self.shared.plan.graph.ops[op_index];
        (op_index, op.kind, &self.shared.plan.changes[op.change as usize])
    }

    fn request(&self, job: usize) -> Result<OpRequest, String> {
        let (op_index, kind, change) = self.change(job);
        let sh = self.shared;
        // A replacement moving the object to another provider configuration deletes the old
        // object through the configuration it lives behind; the journal names that one, so
        // recovery after a crash asks the right place.
        let provider_key = change.provider_for(kind);
        let provider = sh
            .providers
            .get(provider_key)
            .cloned()
            .ok_or_else(|| format!("the provider configuration `{provider_key}` is not configured"))?;
        let mut meta = RowMeta {
            address: change.address.clone(),
            provider: provider_key.to_string(),
            dependencies: change.dependencies.iter().map(ToString::to_string).collect(),
            correlation: None,
        };
        let change_index = sh.plan.graph.ops[op_index].change;
        // The row this op starts from: the deposed object a deposed delete removes, else the
        // address's current object.
        let prior_record = match &change.deposed {
            Some(key) => sh.view.deposed_record(&change.address, key),
            None => sh.view.prior_record(&change.address),
        };
        if kind != OpKind::Create {
            meta.correlation = prior_record.and_then(|r| r.correlation.clone());
        }
        // Prior values come from the state snapshot: a saved plan holds secrets redacted. After
        // an import, the prior object is the one the Import op just recorded.
        let prior = || {
            let recorded = match change.import_id() {
                Some(_) => sh.view.get(&change.address),
                None => prior_record.map(from_record),
            };
            recorded.or_else(|| change.before.clone())
        };
        if matches!(kind, OpKind::Create | OpKind::Update | OpKind::ReadData) {
            // Preconditions the plan could not judge (they depended on unknown values).
            sh.finalizer.conditions(change, sh.view, None)?;
        }
        let mut after_delete = AfterDelete::RemoveRow;
        let mut depose = None;
        let (journal_op, call) = match kind {
            OpKind::Create => {
                let correlation = format!("tarn-{}-{op_index}", sh.env.run_id);
                meta.correlation = Some(correlation.clone());
                if change.action == Action::CreateThenDelete
                    && let Some(old) = prior_record
                {
                    // The old object stays recorded, as deposed, once the new one is current.
                    let mut old = old.clone();
                    old.deposed = Some(deposed_key(&sh.env.run_id, change_index));
                    depose = Some(Box::new(old));
                }
                ("create", Call::Create { planned: self.final_value(change)?, correlation })
            }
            OpKind::Update => {
                let prior = prior().ok_or("there is no prior state to update; this is a bug in tarn")?;
                ("update", Call::Update { prior, planned: self.final_value(change)? })
            }
            OpKind::Delete => {
                if let Some(key) = &change.deposed {
                    after_delete = AfterDelete::RemoveDeposed(key.clone());
                } else if change.action == Action::CreateThenDelete {
                    // The old object was deposed by the create; the address's row holds the
                    // replacement.
                    after_delete = AfterDelete::RemoveDeposed(deposed_key(&sh.env.run_id, change_index));
                }
                let state = prior().ok_or("there is no prior state to delete; this is a bug in tarn")?;
                ("delete", Call::Delete { state })
            }
            OpKind::ReadData => ("read", Call::ReadData { config: self.final_value(change)? }),
            OpKind::Import => {
                let id = change.import_id().ok_or("an import op without an import ID; this is a bug in tarn")?;
                ("import", Call::Import { id: Value::string(id) })
            }
        };
        Ok(OpRequest {
            provider,
            kind,
            journal_op,
            meta,
            call,
            schema: sh.schemas.get(provider_key, &change.address).cloned(),
            after_delete,
            depose,
            announce: None,
        })
    }

    /// The value to send: the planned value, finalized when the plan left parts of it unknown
    /// that only applied dependencies can tell; computed attributes are left to the provider.
    fn final_value(&self, change: &ResourceChange) -> Result<Value, String> {
        let planned =
            change.after.as_ref().ok_or("the plan has no planned value for this operation; this is a bug in tarn")?;
        let schema = self.shared.schemas.get(&change.provider, &change.address).map(|s| s.as_ref());
        let value = if needs_finalize(planned, schema) {
            self.shared.finalizer.finalize(change, self.shared.view).map_err(|diags| {
                let msgs: Vec<String> = diags.iter().map(|d| format!("{}: {}", d.summary, d.detail)).collect();
                format!("its configuration could not be finalized: {}", msgs.join("; "))
            })?
        } else {
            planned.clone()
        };
        settle_computed(value, schema)
    }

    fn problem(&self, job: usize, message: String) -> OpProblem {
        let (_, kind, change) = self.change(job);
        OpProblem { address: change.address.clone(), op: kind, message, kind: None }
    }
}

impl Jobs for PhaseJobs<'_, '_> {
    type Report = OpReport;

    fn start(&mut self, job: usize, slots: &CallSlots) -> Result<JobFuture<OpReport>, String> {
        let (_, kind, change) = self.change(job);
        let mut request = self.request(job)?;
        request.announce = Some(Event::OpStarted { address: change.address.clone(), op: kind, action: change.action });
        Ok(Box::pin(worker::run(self.shared.env.clone(), request, slots.clone())))
    }

    fn finish(&mut self, job: usize, report: Result<OpReport, String>) -> Ended {
        let (op, kind, change) = self.change(job);
        let sink = &self.shared.sink;
        match report {
            Ok(OpReport { result: Ok(Some(object)), .. })
                if matches!(kind, OpKind::Create | OpKind::Update | OpKind::ReadData)
                    && let Err(message) = self.shared.finalizer.conditions(change, self.shared.view, Some(&object)) =>
            {
                // A false postcondition fails the operation; its object exists and is
                // recorded, so the failure policy treats it like a partial create: rollback
                // undoes it, halt and continue keep it.
                self.shared.view.set(&change.address, Some(object.clone()));
                self.completed.push(Completed { op, kind, value: Some(object) });
                sink.emit(Event::OpFailed { address: change.address.clone(), op: kind, error: message.clone() });
                self.failed_ops.push(op);
                self.failed.push(self.problem(job, message));
                Ended::Failed
            }
            Ok(OpReport { result: Ok(value), elapsed }) => {
                if !self.removes_other_object(job) {
                    self.shared.view.set(&change.address, value.clone());
                }
                self.completed.push(Completed { op, kind, value });
                let elapsed_ms = elapsed.as_millis() as u64;
                sink.emit(Event::OpFinished {
                    address: change.address.clone(),
                    op: kind,
                    action: change.action,
                    elapsed_ms,
                });
                Ended::Succeeded
            }
            Ok(OpReport { result: Err(failure), .. }) if failure.stopped => {
                self.not_run(job, false);
                Ended::NotRun
            }
            Ok(OpReport { result: Err(failure), .. }) => {
                if let Some(partial) = failure.partial {
                    // Known and recorded: rollback removes it like any object this run created.
                    self.shared.view.set(&change.address, Some(partial.clone()));
                    self.completed.push(Completed { op, kind, value: Some(partial) });
                }
                sink.emit(Event::OpFailed {
                    address: change.address.clone(),
                    op: kind,
                    error: failure.message.clone(),
                });
                let problem = OpProblem { kind: failure.kind, ..self.problem(job, failure.message) };
                self.failed_ops.push(op);
                if failure.uncertain {
                    self.uncertain.push(problem.clone());
                }
                self.failed.push(problem);
                Ended::Failed
            }
            Err(panic) => {
                let message = format!("the executor's worker panicked: {panic}; this is a bug in tarn");
                sink.emit(Event::OpFailed { address: change.address.clone(), op: kind, error: message.clone() });
                let problem = self.problem(job, message);
                self.failed_ops.push(op);
                self.uncertain.push(problem.clone());
                self.panicked.push(problem.clone());
                self.failed.push(problem);
                Ended::Failed
            }
        }
    }

    fn start_failed(&mut self, job: usize, message: String) {
        let (_, kind, change) = self.change(job);
        self.shared.sink.emit(Event::OpFailed { address: change.address.clone(), op: kind, error: message.clone() });
        let problem = self.problem(job, message);
        self.failed_ops.push(self.ops[job]);
        self.failed.push(problem);
    }

    fn not_run(&mut self, job: usize, dependency_failed: bool) {
        let (_, kind, change) = self.change(job);
        self.shared.sink.emit(Event::OpSkipped { address: change.address.clone(), op: kind });
        let why = if dependency_failed { "an operation it depends on failed" } else { "the apply stopped" };
        let problem = self.problem(job, why.to_string());
        self.skipped.push(problem);
        self.not_run_ops.push(self.ops[job]);
    }
}
