//! Applying a plan: the executor runs the plan's execution graph (journal, lock fencing,
//! failure and interrupt policies are its own), then the outputs are recorded. A refresh-only
//! plan is applied here without the executor: what refresh found is written in one atomic
//! batch inside one history run, and no provider is called. Before either, a plan that would
//! store a sensitive value is refused when the state has no key to seal it.

use super::Run;
use super::error::RunError;
use super::events::{Forward, RunEvent};
use crate::exec::{self, ApplyContext, ApplyOptions, ApplyReport, CancelToken};
use crate::plan::{Action, ApplyEvaluator, Counts, Plan, PlanMode};
use std::sync::Arc;
use tarn_state::{OutputRecord, RunOutcome, RunStart, StateBatch};

/// What an apply did.
#[derive(Debug)]
pub enum Applied {
    /// The plan's graph ran; `report.outcome` says how it ended. `outputs` are those recorded
    /// after a success (empty otherwise).
    Executed { report: ApplyReport, outputs: Vec<OutputRecord> },
    /// A refresh-only plan: the state now records what refresh found. No object changed.
    Refreshed { updated: usize, removed: usize, outputs: Vec<OutputRecord> },
}

impl Run {
    /// Applies `plan` (from [`Run::plan`]). `cancel` is the interrupt: nothing new starts,
    /// what runs finishes, then what finished is kept or rolled back as the settings say.
    pub async fn apply(&self, plan: &Plan, cancel: CancelToken) -> Result<Applied, RunError> {
        // Interrupted before anything started (at a prompt, while planning): nothing starts.
        if cancel.is_cancelled() {
            return Err(RunError::Interrupted("Interrupted: nothing was changed.".into()));
        }
        if plan.mode == PlanMode::RefreshOnly {
            return self.record_refresh(plan).await;
        }
        self.refuse_secrets_without_key(plan)?;
        let held = self.held()?;
        let settings = &self.settings;
        let finalizer = Arc::new(
            ApplyEvaluator::new(
                self.config.clone(),
                settings.variables.clone(),
                self.providers.schemas().clone(),
                plan,
                settings.cwd.clone(),
            )
            .with_home(settings.home.clone()),
        );
        let ctx = ApplyContext {
            providers: self.providers.to_map(),
            backend: held.backend.clone(),
            finalizer,
            schemas: self.providers.schemas().clone(),
            options: ApplyOptions {
                parallelism: settings.parallelism,
                on_failure: settings.on_failure,
                on_interrupt: settings.on_interrupt,
                deadlines: settings.deadlines,
                ..ApplyOptions::default()
            },
            events: Arc::new(Forward { observer: self.observer.clone(), wrap: RunEvent::Apply }),
            cancel,
            run: RunStart {
                command: settings.command.clone(),
                holder: settings.holder.clone(),
                summary: serde_json::to_value(Counts::of(plan)).unwrap_or_default(),
            },
        };
        let report = exec::apply(plan, ctx).await.map_err(|e| RunError::Failed(format!("apply could not run: {e}")))?;
        let outputs = match report.outcome {
            exec::ApplyOutcome::Success => self.record_outputs(plan.mode == PlanMode::Destroy).await?,
            _ => Vec::new(),
        };
        Ok(Applied::Executed { report, outputs })
    }

    /// Applies a refresh-only plan: what refresh found is written to the state in one atomic
    /// batch (changed objects rewritten, objects gone removed), inside one history run.
    async fn record_refresh(&self, plan: &Plan) -> Result<Applied, RunError> {
        let backend = &self.held()?.backend;
        let rows = &self.snapshot.resources;
        let mut batch = StateBatch::default();
        for d in &plan.drift {
            let address = d.address.to_string();
            match &d.actual {
                None => batch.delete.push(address),
                Some(actual) => {
                    if !actual.is_wholly_known() {
                        return Err(RunError::Failed(format!(
                            "{address} has sensitive values that a saved plan does not hold. Nothing was changed. Run                          `tarn apply --refresh-only` without a plan file."
                        )));
                    }
                    let Some(row) = rows.iter().find(|r| r.address == address && r.deposed.is_none()) else {
                        continue;
                    };
                    let mut row = row.clone();
                    row.attributes = actual.to_json_unmarked();
                    row.sensitive_paths = crate::plan::statevalue::sensitive_paths(actual);
                    batch.put.push(row);
                }
            }
        }
        if batch.put.iter().any(|r| !r.sensitive_paths.is_empty()) && !self.settings.state_key {
            return Err(RunError::NoStateKey(
                "the refreshed objects have sensitive values, and tarn never stores a sensitive value in clear text.              Nothing was changed.".into(),
            ));
        }
        let summary = serde_json::json!({ "refreshed": batch.put.len(), "forgotten": batch.delete.len() });
        let run = RunStart {
            command: format!("{} --refresh-only", self.settings.command),
            holder: self.settings.holder.clone(),
            summary: summary.clone(),
        };
        let run_id = backend.begin_run(run).await?;
        let (updated, removed) = (batch.put.len(), batch.delete.len());
        let result = backend.apply_batch(batch).await;
        let outcome = if result.is_ok() { RunOutcome::Success } else { RunOutcome::Failed };
        if let Err(e) = backend.finish_run(&run_id, outcome, summary).await {
            tracing::warn!(run = %run_id, error = %e, "could not record the end of the run");
        }
        result
            .map_err(|e| RunError::Failed(format!("cannot record the refreshed objects: {e}. Nothing was changed.")))?;
        let outputs = self.record_outputs(false).await?;
        Ok(Applied::Refreshed { updated, removed, outputs })
    }

    /// Sensitive values are stored only sealed. Without a key, say so before anything
    /// changes, rather than after a provider created an object the state then cannot record.
    pub(crate) fn refuse_secrets_without_key(&self, plan: &Plan) -> Result<(), RunError> {
        if self.settings.state_key {
            return Ok(());
        }
        let secret = plan.changes.iter().find(|c| {
            // An import stores the object it finds, even when nothing else changes.
            let stores = !matches!(c.action, Action::Delete | Action::NoOp) || c.import_id().is_some();
            let found = if c.import_id().is_some() { c.before.as_ref() } else { None };
            stores && [c.after.as_ref(), found].into_iter().flatten().any(|v| v.contains_sensitive())
        });
        match secret {
            None => Ok(()),
            Some(change) => Err(RunError::NoStateKey(format!(
                "{} has sensitive values, and tarn never stores a sensitive value in clear text. Nothing was changed.",
                change.address
            ))),
        }
    }
}
