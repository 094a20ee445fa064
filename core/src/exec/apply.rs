//! The entry point of an apply: validates the plan's execution graph, opens a run in the state
//! history, runs the main phase, then — only if every main op succeeded — the final-destroy
//! phase, applies the failure policy, closes the run and reports. It owns the order of phases
//! and the outcome; scheduling is the dispatcher's, provider calls are the workers'.
//!
//! The caller (the CLI) holds the state lock, calls [`recover`](super::recover) first, and
//! writes outputs after; `apply` calls `begin_run` and `finish_run` itself.

use super::cancel::CancelToken;
use super::dispatch::{self, JobGraph, OnFailure};
use super::error::ExecError;
use super::journal::{self, Outcome};
use super::model::{ApplyOptions, ApplyOutcome, Event, EventSink, FailurePolicy};
use super::moves;
use super::ops::{OpProblem, PhaseJobs, Shared};
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

/// Everything `apply` needs besides the plan. Built by the CLI, the composition root.
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
    /// Ctrl-C: stop scheduling, let in-flight ops finish, then apply the failure policy.
    pub cancel: CancelToken,
    /// The history record `apply` opens with `begin_run`.
    pub run: RunStart,
}

/// How an apply went, for the CLI's summary and exit code.
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
    /// Addresses whose previous object is gone for good (irreversible deletes).
    pub not_restorable: Vec<Address>,
    pub cancelled: bool,
}

/// Applies `plan`'s execution graph. Errors only when nothing could be started (invalid
/// graph, missing provider, state backend unreachable); failures of operations are reported
/// in the [`ApplyReport`] and by events, and handled by `ctx.options.on_failure`.
pub async fn apply(plan: &Plan, ctx: ApplyContext) -> Result<ApplyReport, ExecError> {
    let (main_ops, final_ops) = split_phases(plan, &ctx.providers)?;
    let main_graph = phase_graph(plan, &main_ops)?;
    let final_graph = phase_graph(plan, &final_ops)?;

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
    let view = AppliedView::new(rows, deposed, finalizes || imports);
    let sink: Arc<dyn EventSink> = ctx.events;
    let options = ctx.options;
    let shared = Shared {
        plan,
        env: WorkerEnv {
            backend: ctx.backend.clone(),
            sink: sink.clone(),
            retry: RetryPolicy { max_attempts: options.max_attempts, base: options.retry_base },
            run_id: Arc::from(run_id.as_str()),
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
    let mut main = PhaseJobs::new(&shared, main_ops);
    let main_summary = dispatch::dispatch(&main_graph, &mut main, options.parallelism, on_failure, &ctx.cancel).await;
    journal_panics(&shared, &main.panicked).await;
    let main_clean = main_summary.failed == 0 && main_summary.not_run == 0 && !main_summary.cancelled;

    let mut fin = PhaseJobs::new(&shared, final_ops);
    let mut cancelled = main_summary.cancelled;
    if main_clean {
        let s = dispatch::dispatch(&final_graph, &mut fin, options.parallelism, on_failure, &ctx.cancel).await;
        journal_panics(&shared, &fin.panicked).await;
        cancelled |= s.cancelled;
    } else {
        // A rollback must never need to resurrect a deleted object: no final destroy runs
        // unless the whole main phase succeeded.
        for job in 0..fin.ops.len() {
            dispatch::Jobs::not_run(&mut fin, job, false);
        }
    }

    let mut report = ApplyReport {
        run_id: run_id.clone(),
        outcome: ApplyOutcome::Success,
        completed: main.completed.len() + fin.completed.len(),
        failed: [main.failed.as_slice(), fin.failed.as_slice()].concat(),
        skipped: [main.skipped.as_slice(), fin.skipped.as_slice()].concat(),
        uncertain: [main.uncertain.as_slice(), fin.uncertain.as_slice()].concat(),
        rollback_failed: Vec::new(),
        not_restorable: Vec::new(),
        cancelled,
    };
    let stopped = !report.failed.is_empty() || !report.skipped.is_empty() || cancelled;
    report.outcome = if !stopped {
        ApplyOutcome::Success
    } else if options.on_failure == FailurePolicy::Rollback && !main_clean {
        let result = rollback::rollback(&shared, &main.completed, options.parallelism).await;
        report.rollback_failed = result.failed;
        report.not_restorable = result.not_restorable;
        let complete =
            report.rollback_failed.is_empty() && report.not_restorable.is_empty() && report.uncertain.is_empty();
        if complete { ApplyOutcome::RolledBack } else { ApplyOutcome::RollbackIncomplete }
    } else {
        // Halt, continue, or a failure in the final-destroy phase: every create and update
        // is in place and only some old objects remain; the next apply deletes them.
        ApplyOutcome::Partial
    };

    let run_outcome = match report.outcome {
        ApplyOutcome::Success => RunOutcome::Success,
        ApplyOutcome::RolledBack => RunOutcome::RolledBack,
        ApplyOutcome::RollbackIncomplete => RunOutcome::RollbackIncomplete,
        ApplyOutcome::Partial if options.on_failure == FailurePolicy::Halt => RunOutcome::Halted,
        ApplyOutcome::Partial => RunOutcome::Failed,
    };
    let summary = json!({
        // The plan's counts, given at begin_run, kept next to what happened (tarn history).
        "plan": ctx.run.summary,
        "completed": report.completed,
        "failed": report.failed.len(),
        "skipped": report.skipped.len(),
        "rollback_failed": report.rollback_failed.len(),
        "not_restorable": report.not_restorable.len(),
        "cancelled": cancelled,
    });
    if let Err(e) = ctx.backend.finish_run(&run_id, run_outcome, summary).await {
        // Changes were made and are recorded row by row; a missing end of run is reported as
        // interrupted by the next `recover`, so this must not turn into "nothing changed".
        tracing::warn!(run = %run_id, error = %e, "could not record the end of the run");
    }
    sink.emit(Event::ApplyFinished { outcome: report.outcome });
    Ok(report)
}

/// Plan op indices of each phase, after checking indices, providers and phase order.
fn split_phases(
    plan: &Plan,
    providers: &HashMap<String, Arc<dyn Provider>>,
) -> Result<(Vec<usize>, Vec<usize>), ExecError> {
    let (mut main, mut fin) = (Vec::new(), Vec::new());
    for (i, op) in plan.graph.ops.iter().enumerate() {
        let change = plan.changes.get(op.change as usize).ok_or_else(|| {
            ExecError::InvalidGraph(format!("operation {i} refers to change {} of {}", op.change, plan.changes.len()))
        })?;
        let provider = change.provider_for(op.kind);
        if !providers.contains_key(provider) {
            return Err(ExecError::MissingProvider {
                address: change.address.to_string(),
                provider: provider.to_string(),
            });
        }
        match op.phase {
            Phase::Main => main.push(i),
            Phase::FinalDestroy => fin.push(i),
        }
    }
    let ops = &plan.graph.ops;
    for &(a, b) in &plan.graph.edges {
        let (Some(oa), Some(ob)) = (ops.get(a as usize), ops.get(b as usize)) else {
            return Err(ExecError::InvalidGraph(format!("edge ({a}, {b}) names an operation that does not exist")));
        };
        if oa.phase == Phase::FinalDestroy && ob.phase == Phase::Main {
            return Err(ExecError::InvalidGraph(format!(
                "main-phase operation {b} waits for final-destroy operation {a}"
            )));
        }
    }
    Ok((main, fin))
}

/// The dependency graph among one phase's ops (edges into the phase from the main phase are
/// implied by running the phases in order).
fn phase_graph(plan: &Plan, phase_ops: &[usize]) -> Result<JobGraph, ExecError> {
    let local: HashMap<usize, u32> = phase_ops.iter().enumerate().map(|(j, &op)| (op, j as u32)).collect();
    let edges =
        plan.graph.edges.iter().filter_map(|&(a, b)| Some((*local.get(&(a as usize))?, *local.get(&(b as usize))?)));
    // A deposed object is another object than the current one of its address.
    let addresses: Vec<(&Address, Option<&str>)> = phase_ops
        .iter()
        .map(|&op| &plan.changes[plan.graph.ops[op].change as usize])
        .map(|c| (&c.address, c.deposed.as_deref()))
        .collect();
    JobGraph::new(&addresses, edges).map_err(ExecError::InvalidGraph)
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
