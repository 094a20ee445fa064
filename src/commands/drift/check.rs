//! One drift check on the command line's side: the configuration (for provider settings and
//! `ignore_changes`) and the run's settings from the flags, then `Run::check_drift` in core,
//! which reads without the lock, never recovers and never writes (its `//!` says how it keeps
//! an apply in flight from being reported as drift).

use crate::cli::{ConfigArgs, RunArgs, SelectArgs};
use crate::commands::workflow::{self, Printer, Setup};
use crate::error::CliError;
use crate::stack;
use std::time::Duration;
use tarn_core::plan::drift::{DriftReport, IgnoreRule};
use tarn_core::run::Run;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub config: ConfigArgs,
    /// `--ignore` rules (the configuration's `ignore_changes` are added per check).
    pub ignore: Vec<IgnoreRule>,
    pub lock_timeout: Duration,
    /// `--parallelism`: concurrent reads (`None`: the run's default for reads).
    pub parallelism: Option<usize>,
    /// `--provider-timeout`, as typed (`None`: the run's default limits).
    pub provider_timeout: Option<String>,
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
    let run_args =
        RunArgs { refresh: true, lock_timeout: "0s".into(), provider_timeout: opts.provider_timeout.clone() };
    let mut request = workflow::request("tarn drift", &opts.config, &SelectArgs::default(), &run_args)?;
    request.lock_timeout = opts.lock_timeout;
    request.parallelism = opts.parallelism;
    let settings = workflow::settings(request, &config)?;
    let backend = stack::open_backend()?;
    let setup = Setup::default();
    let printer = Printer::new(config.clone(), None);
    let checked = Run::check_drift(&settings, &config, &backend, &setup, &opts.ignore, printer).await;
    setup.close().await;
    let c = checked?;
    Ok(Checked { report: c.report, lineage: c.lineage, serial: c.serial, warnings: c.warnings })
}
