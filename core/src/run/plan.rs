//! Refresh and plan, the one place the planner's input is assembled for a run (plan, apply,
//! destroy, the outputs recorded after an apply, import's look-up of its target, drift's
//! `check {}` judgement). A saved plan is checked here instead: it applies only to the
//! workspace, state (lineage and serial) and configuration it was made from.

use super::Run;
use super::error::{RunError, errors_or_warnings};
use super::events::{Observer, RunEvent};
use super::outputs::settle_sensitive_outputs;
use super::settings::Selection;
use crate::config::Config;
use crate::plan::{
    self, Drift, PlanBinding, PlanInput, PlanMode, PlanOptions, PlanOutcome, PriorState, ProviderSet, RefreshOptions,
    RootVariables,
};
use std::path::Path;
use std::sync::Arc;
use tarn_state::Snapshot;

/// What planning needs besides the state: borrowed from a run, or from a drift check.
pub(crate) struct Planner<'a> {
    pub config: &'a Config,
    pub variables: &'a RootVariables,
    pub providers: &'a ProviderSet,
    pub workspace: &'a str,
    pub cwd: &'a Path,
    /// The home directory of the run's user, for `pathexpand`.
    pub home: Option<&'a Path>,
    pub parallelism: usize,
    /// Where warnings go, as soon as they are found (an error found later ends the call).
    pub observer: &'a Arc<dyn Observer>,
}

impl Planner<'_> {
    fn judge(&self, diags: crate::Diagnostics) -> Result<(), RunError> {
        let warnings = errors_or_warnings(diags, &self.config.sources)?;
        if !warnings.is_empty() {
            self.observer.event(RunEvent::Warnings(warnings));
        }
        Ok(())
    }

    pub fn binding(&self, snapshot: &Snapshot) -> PlanBinding {
        PlanBinding {
            lineage: snapshot.lineage.clone(),
            serial: snapshot.serial,
            config_hash: self.config.hash.clone(),
            workspace: self.workspace.to_string(),
        }
    }

    /// Reads every recorded object again, `parallelism` at a time. Returns the refreshed prior
    /// state and what changed outside tarn.
    pub async fn refresh(&self, prior: PriorState) -> Result<(PriorState, Vec<Drift>), RunError> {
        let options = RefreshOptions { parallelism: self.parallelism };
        let (prior, drift, diags) = plan::refresh(prior, self.providers, options).await;
        self.judge(diags)?;
        Ok((prior, drift))
    }

    /// Plans against `prior`, reading data sources, imports and provider refinements as the
    /// planner asks. The outcome's diagnostics are the caller's to judge.
    pub async fn outcome(
        &self,
        prior: &PriorState,
        drift: &[Drift],
        mode: PlanMode,
        selection: &Selection,
        binding: &PlanBinding,
    ) -> PlanOutcome {
        let options = PlanOptions {
            mode,
            targets: selection.targets.clone(),
            excludes: selection.excludes.clone(),
            replace: selection.replace.clone(),
            cwd: self.cwd.to_path_buf(),
            home: self.home.map(Path::to_path_buf),
            validate: false,
        };
        let data = Default::default();
        let input = PlanInput {
            config: self.config,
            prior,
            drift,
            schemas: self.providers.schemas(),
            variables: self.variables,
            data: &data,
            imported: &Default::default(),
            options: &options,
            binding,
        };
        plan::plan_with_data(input, self.providers).await
    }

    /// The recorded objects of `snapshot` as the planner takes them.
    pub fn prior(&self, snapshot: &Snapshot) -> Result<PriorState, RunError> {
        let (prior, diags) = plan::prior_from_snapshot(snapshot);
        self.judge(diags)?;
        Ok(prior)
    }

    /// Refreshes (when asked and there is anything to read) and plans against `snapshot`.
    pub async fn plan(
        &self,
        snapshot: &Snapshot,
        mode: PlanMode,
        selection: &Selection,
        refresh: bool,
    ) -> Result<plan::Plan, RunError> {
        let prior = self.prior(snapshot)?;
        let (prior, drift) =
            if refresh && !prior.objects.is_empty() { self.refresh(prior).await? } else { (prior, Vec::new()) };
        let outcome = self.outcome(&prior, &drift, mode, selection, &self.binding(snapshot)).await;
        self.judge(outcome.diagnostics)?;
        let mut plan =
            outcome.plan.ok_or_else(|| RunError::Failed("planning produced no plan; this is a bug in tarn".into()))?;
        settle_sensitive_outputs(&mut plan, snapshot);
        Ok(plan)
    }
}

impl Run {
    pub(crate) fn planner(&self) -> Planner<'_> {
        Planner {
            config: &self.config,
            variables: &self.settings.variables,
            providers: &self.providers,
            workspace: &self.settings.workspace,
            cwd: &self.settings.cwd,
            home: self.settings.home.as_deref(),
            parallelism: self.settings.refresh_parallelism,
            observer: &self.observer,
        }
    }

    /// The plan to apply: the saved plan of the settings, checked against the state and
    /// configuration it must have been made from; otherwise a new one, refreshed unless the
    /// settings say not to, in the settings' mode and selection.
    pub async fn plan(&mut self) -> Result<plan::Plan, RunError> {
        if let Some(saved) = self.settings.saved_plan.take() {
            self.check_binding(&saved)?;
            return Ok(saved);
        }
        let settings = &self.settings;
        self.plan_from(&self.snapshot, settings.mode, &settings.selection, settings.refresh).await
    }

    /// Plans against `snapshot` (after an apply: the state it produced).
    pub(crate) async fn plan_from(
        &self,
        snapshot: &Snapshot,
        mode: PlanMode,
        selection: &Selection,
        refresh: bool,
    ) -> Result<plan::Plan, RunError> {
        self.planner().plan(snapshot, mode, selection, refresh).await
    }

    /// A saved plan applies only to the state and configuration it was made from.
    fn check_binding(&self, plan: &plan::Plan) -> Result<(), RunError> {
        let now = self.planner().binding(&self.snapshot);
        let b = &plan.binding;
        let stale = |why: String| {
            Err(RunError::Failed(format!(
                "the saved plan is stale: {why}. Nothing was changed. Make a new plan with `tarn plan --out FILE` and review it."
            )))
        };
        if b.workspace != now.workspace {
            return stale(format!(
                "it was made for workspace {:?}, and this is workspace {:?} (select it with --workspace {} or TARN_WORKSPACE)",
                b.workspace, now.workspace, b.workspace
            ));
        }
        // A plan made against an empty state (where none existed yet, its lineage is one no
        // state has) holds only creates: they mean the same in any state that is still empty.
        let empty_now = now.serial == 0 && self.snapshot.resources.is_empty();
        if b.lineage != now.lineage && b.serial == 0 && !empty_now {
            return stale(format!("the state changed since it was made (serial 0 then, {} now)", now.serial));
        }
        if b.lineage != now.lineage && b.serial != 0 {
            return Err(RunError::Failed(format!(
                "the saved plan was made for another stack: its state has lineage {}, and the state here has lineage {}. \
                 Nothing was changed. A plan applies only to the state it was made from; it was probably made in another \
                 directory, or before this state was recreated. Run `tarn plan --out FILE` here and apply that file, or \
                 apply this one in the directory (and workspace) where it was made.",
                b.lineage, now.lineage
            )));
        }
        if b.serial != now.serial {
            return stale(format!(
                "the state changed since it was made (serial {} then, {} now)",
                b.serial, now.serial
            ));
        }
        if b.config_hash != now.config_hash {
            return stale("the configuration files changed since it was made".into());
        }
        Ok(())
    }
}
