//! One drift check (`tarn drift`): refresh every recorded object through the same provider
//! setup a run uses, and analyse the differences (`plan::drift`). Read-only by construction:
//! no lock is taken, no interrupted run is recovered, the state is only read. Instead of the
//! lock, the check makes sure nobody wrote in the meantime: it waits while another holder has
//! the lock (up to the settings' lock timeout), and compares the state before and after reading
//! the objects; if it changed (or a lock appeared), the objects may have been read mid-apply,
//! so the check runs again, and gives up after a few tries rather than report an apply's
//! changes in flight as drift.

use super::Run;
use super::error::RunError;
use super::events::Observer;
use super::open::ProviderSetup;
use super::outputs::has_checks;
use super::plan::Planner;
use super::settings::{Selection, Settings};
use crate::config::Config;
use crate::plan::drift::{self, DriftReport, IgnoreRule};
use crate::plan::{self, PlanMode, PriorState};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tarn_state::{Backend, Snapshot};

/// How often a check starts over because the state changed under it before giving up.
const ATTEMPTS: usize = 3;

/// A finished drift check.
#[derive(Debug, Clone)]
pub struct DriftCheck {
    pub report: DriftReport,
    pub lineage: String,
    pub serial: i64,
    /// Things the reader should know that are not drift: an interrupted run's leftovers, and
    /// `check {}` assertions that fail against the objects as they are now.
    pub warnings: Vec<String>,
}

impl Run {
    /// Checks every recorded object of `backend`'s state for drift, minus what the
    /// configuration's `ignore_changes` and `ignore` cover. Every failure is an error that
    /// changed nothing.
    pub async fn check_drift(
        settings: &Settings,
        config: &Config,
        backend: &Arc<dyn Backend>,
        setup: &dyn ProviderSetup,
        ignore: &[IgnoreRule],
        observer: Arc<dyn Observer>,
    ) -> Result<DriftCheck, RunError> {
        let mut rules = drift::config_ignore_rules(config);
        rules.extend(ignore.iter().cloned());
        for attempt in 1..=ATTEMPTS {
            wait_unlocked(backend, settings.lock.timeout).await?;
            let snapshot = backend.snapshot().await?;
            let (providers, warnings) =
                setup.setup(config, &snapshot, &settings.variables, &settings.setup_context()).await?;
            if !warnings.is_empty() {
                observer.event(super::RunEvent::Warnings(warnings));
            }
            let providers = providers.with_deadlines(settings.deadlines);
            let planner = Planner {
                config,
                variables: &settings.variables,
                providers: &providers,
                workspace: &settings.workspace,
                cwd: &settings.cwd,
                home: settings.home.as_deref(),
                parallelism: settings.refresh_parallelism,
                observer: &observer,
            };
            let prior = planner.prior(&snapshot)?;
            let (refreshed, found) = planner.refresh(prior.clone()).await?;
            let failed_checks = check_blocks(&planner, &refreshed, &snapshot).await;
            let after = backend.snapshot().await?;
            let locked = backend.current_lock().await?;
            if after == snapshot && locked.is_none() {
                let mut warnings = interrupted(backend).await?;
                warnings.extend(failed_checks);
                return Ok(DriftCheck {
                    report: drift::analyze(&prior, &found, &rules),
                    lineage: snapshot.lineage,
                    serial: snapshot.serial,
                    warnings,
                });
            }
            tracing::info!(attempt, "the state changed while drift was being checked; checking again");
        }
        Err(RunError::Failed(format!(
            "the state kept changing while drift was being checked ({ATTEMPTS} tries): applies are running on this \
             stack, and objects read in the middle of one would look drifted. Nothing was reported; check again when \
             they are done, or wait for them with --lock-timeout 10m."
        )))
    }
}

/// The `check {}` assertions that fail against the objects as they are now, one line each
/// (`check failed: check.NAME: message`). Judged by planning against the refreshed objects,
/// which reads (data sources, plan refinements) and never writes; a plan that fails for
/// another reason judges nothing here (plan reports it).
async fn check_blocks(planner: &Planner<'_>, refreshed: &PriorState, snapshot: &Snapshot) -> Vec<String> {
    if !has_checks(planner.config) {
        return Vec::new();
    }
    let binding = planner.binding(snapshot);
    let outcome = planner.outcome(refreshed, &[], PlanMode::Normal, &Selection::default(), &binding).await;
    outcome
        .diagnostics
        .iter()
        .filter(|d| d.summary == plan::CHECK_FAILED)
        .map(|d| format!("check failed: {}", d.detail))
        .collect()
}

/// Waits while another tarn holds the lock (without taking it), up to `timeout`.
async fn wait_unlocked(backend: &Arc<dyn Backend>, timeout: Duration) -> Result<(), RunError> {
    let start = Instant::now();
    loop {
        let Some(holder) = backend.current_lock().await? else { return Ok(()) };
        if start.elapsed() >= timeout {
            return Err(RunError::Failed(format!(
                "the state is locked by {holder}.\n\nAn apply (or another command that writes the state) is running: \
                 the objects it is changing would look drifted. Check again when it is done, or wait for it with \
                 --lock-timeout 10m. tarn drift never takes the lock itself."
            )));
        }
        tokio::time::sleep(
            Duration::from_millis(250).min(timeout.saturating_sub(start.elapsed())).max(Duration::from_millis(10)),
        )
        .await;
    }
}

/// An interrupted run's unresolved provider calls: whatever they created is not in the state,
/// so drift cannot see it. Recovering them writes the state, which drift never does.
async fn interrupted(backend: &Arc<dyn Backend>) -> Result<Vec<String>, RunError> {
    let open = backend.open_intents().await?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    let mut addresses: Vec<&str> = open.iter().map(|i| i.entry.address.as_str()).collect();
    addresses.sort_unstable();
    addresses.dedup();
    Ok(vec![format!(
        "an interrupted run left {} provider call(s) unresolved ({}); objects they created are not in the state, so \
         drift cannot see them. The next tarn plan or apply recovers them.",
        open.len(),
        addresses.join(", ")
    )])
}
