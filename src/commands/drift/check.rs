//! One drift check: load the configuration (for provider settings and `ignore_changes`), read
//! the state, refresh every recorded object through the same provider setup plan uses, and
//! analyse the differences in core.
//!
//! Read-only by construction: no lock is taken, no interrupted run is recovered, the state is
//! only read. Instead of the lock, the check makes sure nobody wrote in the meantime: it waits
//! while an apply holds the lock (up to `--lock-timeout`), and compares the state before and
//! after reading the objects; if it changed (or a lock appeared), the objects may have been
//! read mid-apply, so the check runs again, and gives up after a few tries rather than report
//! an apply's changes in flight as drift.

use crate::cli::ConfigArgs;
use crate::commands::workflow;
use crate::error::CliError;
use crate::stack;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tarn_core::plan::drift::{self, DriftReport, IgnoreRule};
use tarn_core::plan::{self, RefreshOptions};
use tarn_state::Backend;

/// How often a check starts over because the state changed under it before giving up.
const ATTEMPTS: usize = 3;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub config: ConfigArgs,
    /// `--ignore` rules (the configuration's `ignore_changes` are added per check).
    pub ignore: Vec<IgnoreRule>,
    pub lock_timeout: Duration,
}

/// A finished check.
#[derive(Debug, Clone)]
pub struct Checked {
    pub report: DriftReport,
    pub lineage: String,
    pub serial: i64,
    /// Things the reader should know that are not drift (an interrupted run's leftovers).
    pub warnings: Vec<String>,
}

/// Runs one check. Every failure is an error that changed nothing.
pub async fn check(opts: &CheckOptions) -> Result<Checked, CliError> {
    if !stack::state_exists() {
        return Err(CliError::Failed(format!(
            "there is no state here ({}), so there is nothing to check for drift. Run tarn drift in the directory of \
             an applied stack, or point at it with -C DIR.",
            stack::state_path().display()
        )));
    }
    let config = workflow::load_config()?;
    let variables = workflow::resolve_variables(&config, &opts.config)?;
    let workspace = stack::workspace()?;
    let backend = stack::open_backend()?;
    let mut rules = drift::config_ignore_rules(&config);
    rules.extend(opts.ignore.iter().cloned());
    for attempt in 1..=ATTEMPTS {
        wait_unlocked(&backend, opts.lock_timeout).await?;
        let snapshot = backend.snapshot().await?;
        // Emulators and local services (under --sandbox) live until the end of this attempt,
        // stopped (and said so) before its answer; an error drops them, which stops them too.
        let (providers, emulators) = workflow::setup_providers(&config, &snapshot, &variables, &workspace).await?;
        let (prior, diags) = plan::prior_from_snapshot(&snapshot);
        workflow::check(diags, &config.sources)?;
        let (refreshed, found, diags) = plan::refresh(prior.clone(), &providers, RefreshOptions::default()).await;
        workflow::check(diags, &config.sources)?;
        let failed_checks = check_blocks(&config, &variables, &providers, &refreshed, &snapshot, &workspace).await;
        let after = backend.snapshot().await?;
        let locked = backend.current_lock().await?;
        drop(providers);
        if let Some(emulators) = emulators {
            emulators.stop().await;
        }
        if after == snapshot && locked.is_none() {
            let mut warnings = interrupted(&backend).await?;
            warnings.extend(failed_checks);
            return Ok(Checked {
                report: drift::analyze(&prior, &found, &rules),
                lineage: snapshot.lineage,
                serial: snapshot.serial,
                warnings,
            });
        }
        tracing::info!(attempt, "the state changed while drift was being checked; checking again");
    }
    Err(CliError::Failed(format!(
        "the state kept changing while drift was being checked ({ATTEMPTS} tries): applies are running on this stack, \
         and objects read in the middle of one would look drifted. Nothing was reported; check again when they are done, \
         or wait for them with --lock-timeout 10m."
    )))
}

/// The `check {}` assertions that fail against the objects as they are now, one line each
/// (`check failed: check.NAME: message`). Judged by planning against the refreshed objects,
/// which reads (data sources, plan refinements) and never writes; a plan that fails for
/// another reason judges nothing here (plan reports it).
async fn check_blocks(
    config: &tarn_core::config::Config,
    variables: &plan::RootVariables,
    providers: &plan::ProviderSet,
    refreshed: &plan::PriorState,
    snapshot: &tarn_state::Snapshot,
    workspace: &str,
) -> Vec<String> {
    let mut any = false;
    let mut stack = vec![&config.root];
    while let Some(t) = stack.pop() {
        any |= !t.module.checks.is_empty();
        stack.extend(t.children.values());
    }
    if !any {
        return Vec::new();
    }
    let options = plan::PlanOptions { cwd: std::env::current_dir().unwrap_or_default(), ..Default::default() };
    let binding = plan::PlanBinding {
        lineage: snapshot.lineage.clone(),
        serial: snapshot.serial,
        config_hash: config.hash.clone(),
        workspace: workspace.to_string(),
    };
    let data = Default::default();
    let input = plan::PlanInput {
        config,
        prior: refreshed,
        drift: &[],
        schemas: providers.schemas(),
        variables,
        data: &data,
        imported: &Default::default(),
        options: &options,
        binding: &binding,
    };
    let outcome = plan::plan_with_data(input, providers).await;
    outcome
        .diagnostics
        .iter()
        .filter(|d| d.summary == plan::CHECK_FAILED)
        .map(|d| format!("check failed: {}", d.detail))
        .collect()
}

/// Waits while another tarn holds the lock (without taking it), up to `timeout`.
async fn wait_unlocked(backend: &Arc<dyn Backend>, timeout: Duration) -> Result<(), CliError> {
    let start = Instant::now();
    loop {
        let Some(holder) = backend.current_lock().await? else { return Ok(()) };
        if start.elapsed() >= timeout {
            return Err(CliError::Failed(format!(
                "the state is locked by {holder}.\n\nAn apply (or another command that writes the state) is running: the \
                 objects it is changing would look drifted. Check again when it is done, or wait for it with \
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
async fn interrupted(backend: &Arc<dyn Backend>) -> Result<Vec<String>, CliError> {
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
