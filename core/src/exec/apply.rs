//! The entry point of an apply: validates the plan's execution graph, opens a run in the state
//! history, runs the phases the plan assigned (main, replace, final-destroy; each only if every
//! earlier one succeeded), applies the failure policy, closes the run and reports. It owns the
//! order of phases and the outcome; scheduling is the dispatcher's, provider calls are the
//! workers'. An interrupt (the cancel token) with no failure keeps what finished unless the
//! interrupt policy says `rollback`. Under `rollback`, a stop in any phase undoes every completed op that can be undone
//! (after finishing the replacements whose old object is already gone). When every phase
//! succeeded, the rows of objects `removed {}` blocks forget are deleted (no provider call).
//!
//! The caller (`crate::run::Run`) holds the state lock, calls [`recover`](super::recover)
//! first, and writes outputs after; `apply` calls `begin_run` and `finish_run` itself.

use super::cancel::CancelToken;
use super::dispatch::{self, OnFailure};
use super::error::ExecError;
use super::journal::{self, Outcome};
use super::model::{ApplyOptions, ApplyOutcome, Event, EventSink, FailurePolicy, InterruptPolicy};
use super::moves;
use super::ops::{Completed, OpProblem, PhaseJobs, Shared};
use super::phases;
use super::retry::RetryPolicy;
use super::rollback;
use super::values::{AppliedView, SchemaIndex, needs_finalize};
use super::worker::WorkerEnv;
use crate::plan::{Finalizer, Phase, Plan, Schemas};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use tarn_sdk::{Address, Provider};
use tarn_state::{Backend, RunOutcome, RunStart};

/// Everything `apply` needs besides the plan. Built by `crate::run::Run` from its settings.
pub struct ApplyContext {
    /// Configured providers by provider configuration key (`ResourceChange::provider`).
    pub providers: HashMap<String, Arc<dyn Provider>>,
    pub backend: Arc<dyn Backend>,
    pub finalizer: Arc<dyn Finalizer>,
    /// Provider schemas by provider name (the planner's `Schemas`): computed attributes are
    /// left to providers, sensitive ones re-marked on what they return.
    pub schemas: Schemas,
    pub options: ApplyOptions,
    pub events: Arc<dyn EventSink>,
    /// SIGINT/SIGTERM: stop scheduling, let in-flight ops finish, then keep what finished or
    /// roll back (`options.on_interrupt`; a failure seen meanwhile applies the failure policy).
    pub cancel: CancelToken,
    /// The history record `apply` opens with `begin_run`.
    pub run: RunStart,
}

/// How an apply went, for the caller's summary and exit code.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApplyReport {
    pub run_id: String,
    pub outcome: ApplyOutcome,
    /// Operations that completed, forward (compensations not counted); a partially created
    /// object counts here too, and its op is also in `failed`.
    pub completed: usize,
    pub failed: Vec<OpProblem>,
    /// Operations not run: dependants of a failure, everything after a stop, or the final
    /// phase after a main-phase failure.
    pub skipped: Vec<OpProblem>,
    /// Failed operations whose effect is unknown; `recover` reconciles them on the next run.
    pub uncertain: Vec<OpProblem>,
    /// Compensations that failed or could not be attempted (policy `rollback`).
    pub rollback_failed: Vec<OpProblem>,
    /// Addresses whose previous object is gone for good (irreversible deletes) and that
    /// have no new object either.
    pub not_restorable: Vec<Address>,
    /// Addresses whose new object a rollback kept, because the old one is gone for good (a
    /// finished replacement whose old object this run deleted), or because it refers to such
    /// an object.
    pub kept: Vec<Address>,
    pub cancelled: bool,
    /// Completed forward operations by kind (compensations not counted), for the summary of
    /// an interrupted run: objects created, updated in place, and deleted.
    pub created: usize,
    pub changed: usize,
    pub destroyed: usize,
}

/// Applies `plan`'s execution graph. Errors only when nothing could be started (invalid
/// graph, missing provider, state backend unreachable); failures of operations are reported
/// in the [`ApplyReport`] and by events, and handled by `ctx.options.on_failure`.
pub async fn apply(plan: &Plan, ctx: ApplyContext) -> Result<ApplyReport, ExecError> {
    let phase_ops = phases::split(plan, &ctx.providers)?;
    let mut graphs = Vec::with_capacity(phase_ops.len());
    for ops in &phase_ops {
        graphs.push(phases::graph(plan, ops)?);
    }

    let snapshot = ctx.backend.snapshot().await.map_err(ExecError::state("reading the state snapshot"))?;
    let schemas = SchemaIndex::new(&ctx.schemas);
    let finalizes = plan.changes.iter().any(|c| {
        let schema = schemas.get(&c.provider, &c.address).map(|s| s.as_ref());
        c.after.as_ref().is_some_and(|a| needs_finalize(a, schema))
    });
    let run_id = ctx.backend.begin_run(ctx.run.clone()).await.map_err(ExecError::state("starting the run"))?;
    let (deposed, current): (Vec<_>, Vec<_>) = snapshot.resources.into_iter().partition(|r| r.deposed.is_some());
    let mut rows: HashMap<String, _> = current.into_iter().map(|r| (r.address.clone(), r)).collect();
    // Rows first under the addresses the plan uses, so every op finds its prior record.
    moves::persist(plan, ctx.backend.as_ref(), &run_id, &mut rows).await?;
    // Ops after an import take the imported object from the view, so it must be kept.
    let imports = plan.graph.ops.iter().any(|op| op.kind == crate::plan::OpKind::Import);
    let view = AppliedView::new(rows, deposed, finalizes || imports || ctx.finalizer.has_conditions());
    let sink: Arc<dyn EventSink> = ctx.events;
    let options = ctx.options;
    let shared = Shared {
        plan,
        env: WorkerEnv {
            backend: ctx.backend.clone(),
            sink: sink.clone(),
            retry: RetryPolicy { max_attempts: options.max_attempts, base: options.retry_base },
            run_id: Arc::from(run_id.as_str()),
            deadlines: options.deadlines,
        },
        providers: &ctx.providers,
        schemas: &schemas,
        finalizer: ctx.finalizer.as_ref(),
        view: &view,
        sink: sink.clone(),
    };
    sink.emit(Event::ApplyStarted { operations: plan.graph.ops.len() });

    let on_failure = match options.on_failure {
        FailurePolicy::Continue => OnFailure::SkipDependants,
        FailurePolicy::Rollback | FailurePolicy::Halt => OnFailure::Stop,
    };
    let mut done: Vec<PhaseJobs> = Vec::with_capacity(phase_ops.len());
    let mut cancelled = false;
    let mut clean = true;
    for ((phase, ops), graph) in phases::ORDER.into_iter().zip(phase_ops).zip(graphs) {
        let mut jobs = PhaseJobs::new(&shared, ops);
        if clean {
            let s = dispatch::dispatch(&graph, &mut jobs, options.parallelism, on_failure, &ctx.cancel).await;
            journal_panics(&shared, &jobs.panicked).await;
            cancelled |= s.cancelled;
            clean = s.failed == 0 && s.not_run == 0 && !s.cancelled;
        } else if options.on_failure == FailurePolicy::Continue && phase != Phase::FinalDestroy && !cancelled {
            // Continue: only what waits for a failure is skipped, across phases too.
            let blocked = phases::blocked(plan, &done, &jobs.ops);
            let (runnable, held): (Vec<usize>, Vec<usize>) = jobs.ops.iter().partition(|&&op| !blocked.contains(&op));
            jobs.ops = [runnable.as_slice(), held.as_slice()].concat();
            match phases::graph(plan, &runnable) {
                Ok(graph) => {
                    let s = dispatch::dispatch(&graph, &mut jobs, options.parallelism, on_failure, &ctx.cancel).await;
                    journal_panics(&shared, &jobs.panicked).await;
                    cancelled |= s.cancelled;
                    for job in runnable.len()..jobs.ops.len() {
                        dispatch::Jobs::not_run(&mut jobs, job, true);
                    }
                }
                // A part of an acyclic graph is acyclic; should it ever not be, nothing runs.
                Err(_) => (0..jobs.ops.len()).for_each(|job| dispatch::Jobs::not_run(&mut jobs, job, false)),
            }
        } else {
            // A later phase runs only when every earlier one succeeded: under `rollback` a
            // failure before the irreversible deletes is undone whole.
            for job in 0..jobs.ops.len() {
                dispatch::Jobs::not_run(&mut jobs, job, false);
            }
        }
        done.push(jobs);
    }

    let all_ran = done.iter().all(|p| p.failed.is_empty() && p.skipped.is_empty()) && !cancelled;
    if all_ran {
        // `removed {}` blocks with `destroy = false`: only now, once everything else
        // succeeded, do their rows go (a failed apply keeps managing the objects). One row
        // delete each, atomic by itself; no provider is called.
        for c in plan.changes.iter().filter(|c| c.reasons.contains(&crate::plan::ChangeReason::Forget)) {
            let address = c.address.to_string();
            ctx.backend.delete_resource(&address).await.map_err(ExecError::state("forgetting a removed object"))?;
            sink.emit(Event::Forgotten { address: c.address.clone() });
        }
    }
    let mut report = ApplyReport {
        run_id: run_id.clone(),
        outcome: ApplyOutcome::Success,
        completed: done.iter().map(|p| p.completed.len()).sum(),
        failed: done.iter().flat_map(|p| p.failed.iter().cloned()).collect(),
        skipped: done.iter().flat_map(|p| p.skipped.iter().cloned()).collect(),
        uncertain: done.iter().flat_map(|p| p.uncertain.iter().cloned()).collect(),
        rollback_failed: Vec::new(),
        not_restorable: Vec::new(),
        kept: Vec::new(),
        cancelled,
        created: count(&done, crate::plan::OpKind::Create),
        changed: count(&done, crate::plan::OpKind::Update),
        destroyed: count(&done, crate::plan::OpKind::Delete),
    };
    let stopped = !report.failed.is_empty() || !report.skipped.is_empty() || cancelled;
    // Interrupted and nothing failed: the user asked to stop, and `on_interrupt` says what
    // becomes of what finished. A failure seen meanwhile is handled by the failure policy.
    let interrupted = cancelled && report.failed.is_empty() && report.uncertain.is_empty();
    let roll_back = if interrupted {
        options.on_interrupt == InterruptPolicy::Rollback
    } else {
        options.on_failure == FailurePolicy::Rollback
    };
    report.outcome = if !stopped {
        ApplyOutcome::Success
    } else if roll_back {
        let mut completed: Vec<Completed> = done.iter().flat_map(|p| p.completed.iter().cloned()).collect();
        completed.extend(finish_replacements(&shared, &done, options.parallelism, &mut report).await);
        let result = rollback::rollback(&shared, &completed, options.parallelism).await;
        report.rollback_failed = result.failed;
        report.not_restorable = result.not_restorable;
        report.kept = result.kept;
        let complete = report.rollback_failed.is_empty()
            && report.not_restorable.is_empty()
            && report.kept.is_empty()
            && report.uncertain.is_empty();
        if complete { ApplyOutcome::RolledBack } else { ApplyOutcome::RollbackIncomplete }
    } else if interrupted {
        // What finished stays; replacements and deposed objects left are finished next time.
        ApplyOutcome::Interrupted
    } else {
        // Halt or continue: what succeeded stays; deposed objects left are deleted next time.
        ApplyOutcome::Partial
    };

    let run_outcome = match report.outcome {
        ApplyOutcome::Success => RunOutcome::Success,
        ApplyOutcome::RolledBack => RunOutcome::RolledBack,
        ApplyOutcome::RollbackIncomplete => RunOutcome::RollbackIncomplete,
        ApplyOutcome::Partial if options.on_failure == FailurePolicy::Halt => RunOutcome::Halted,
        ApplyOutcome::Partial => RunOutcome::Failed,
        ApplyOutcome::Interrupted => RunOutcome::Interrupted,
    };
    let summary = json!({
        // The plan's counts, given at begin_run, kept next to what happened (tarn history).
        "plan": ctx.run.summary,
        "completed": report.completed,
        "failed": report.failed.len(),
        "skipped": report.skipped.len(),
        "rollback_failed": report.rollback_failed.len(),
        "not_restorable": report.not_restorable.len(),
        "kept": report.kept.len(),
        "cancelled": cancelled,
        "created": report.created,
        "changed": report.changed,
        "destroyed": report.destroyed,
    });
    if let Err(e) = ctx.backend.finish_run(&run_id, run_outcome, summary).await {
        // Changes were made and are recorded row by row; a missing end of run is reported as
        // interrupted by the next `recover`, so this must not turn into "nothing changed".
        tracing::warn!(run = %run_id, error = %e, "could not record the end of the run");
    }
    sink.emit(Event::ApplyFinished { outcome: report.outcome });
    Ok(report)
}

/// Before a rollback: runs the creates of delete-then-create replacements whose old object this
/// run already deleted but which were not run (the apply stopped in between), so that no
/// address is left with neither object. Not interruptible, like the rollback. Returns what
/// completed (the rollback keeps those objects); their ops leave `skipped`.
async fn finish_replacements(
    shared: &Shared<'_>,
    done: &[PhaseJobs<'_, '_>],
    parallelism: usize,
    report: &mut ApplyReport,
) -> Vec<Completed> {
    let mut ops = phases::unfinished_replacements(shared.plan, done);
    // A restorable old object comes back in the rollback instead.
    ops.retain(|&op| !rollback::restorable(shared, &shared.plan.changes[shared.plan.graph.ops[op].change as usize]));
    if ops.is_empty() {
        return Vec::new();
    }
    let Ok(graph) = phases::graph(shared.plan, &ops) else { return Vec::new() };
    let finishing: Vec<&Address> =
        ops.iter().map(|&op| &shared.plan.changes[shared.plan.graph.ops[op].change as usize].address).collect();
    report.skipped.retain(|p| !(p.op == crate::plan::OpKind::Create && finishing.contains(&&p.address)));
    let mut jobs = PhaseJobs::new(shared, ops);
    dispatch::dispatch(&graph, &mut jobs, parallelism, OnFailure::SkipDependants, &CancelToken::new()).await;
    journal_panics(shared, &jobs.panicked).await;
    report.completed += jobs.completed.len();
    report.failed.extend(jobs.failed);
    report.uncertain.extend(jobs.uncertain);
    report.skipped.extend(jobs.skipped);
    jobs.completed
}

/// Completed ops of one kind, in every phase.
fn count(done: &[PhaseJobs<'_, '_>], kind: crate::plan::OpKind) -> usize {
    done.iter().flat_map(|p| &p.completed).filter(|c| c.kind == kind).count()
}

/// A worker that panicked could not journal its own end: record it, so it is never lost.
async fn journal_panics(shared: &Shared<'_>, panicked: &[OpProblem]) {
    for p in panicked {
        let op = match p.op {
            crate::plan::OpKind::Create => "create",
            crate::plan::OpKind::Update => "update",
            crate::plan::OpKind::Delete => "delete",
            crate::plan::OpKind::ReadData => "read",
            crate::plan::OpKind::Import => "import",
        };
        let address = p.address.to_string();
        let outcome = Outcome::Aborted { message: &p.message };
        if let Err(e) =
            journal::outcome(shared.env.backend.as_ref(), &shared.env.run_id, &address, op, None, outcome).await
        {
            tracing::warn!(%address, error = %e, "could not journal a worker panic");
        }
    }
}
