//! A run's settings in two steps (ripgrep's way with arguments): [`Request`], the faithful raw
//! form a caller fills in (the CLI from its flags and environment, a server from a request
//! body), and [`Settings`], the validated form a [`Run`](super::Run) takes. Everything that
//! can be checked without the state is checked here, before any lock is taken or provider
//! called: addresses (`--target`, `--exclude`, `--replace`), variables and variables files, a
//! saved plan's file, format and variables, flag combinations. Parallelism is clamped here,
//! once: a given value is used for refresh and apply alike; without one, reads (which change
//! nothing) run [`DEFAULT_REFRESH_PARALLELISM`] at a time and changes [`DEFAULT_PARALLELISM`].
//! The limit on one provider call is set here too (`crate::deadline`), for every phase.

use super::error::RunError;
use super::planfile;
use super::variables::{self, VariableSources};
use crate::config::Config;
use crate::deadline::CallDeadlines;
use crate::diag::Diagnostics;
use crate::exec::{FailurePolicy, InterruptPolicy};
use crate::plan::{Plan, PlanMode, RootVariables, SetupContext, variable_digest};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tarn_sdk::Address;
use tarn_state::{LockHolder, LockOptions};

/// Concurrent changes (apply) when the caller does not say.
pub const DEFAULT_PARALLELISM: usize = 10;

/// Concurrent reads (refresh, drift checks) when the caller does not say. Reads change
/// nothing, so they may run wider than changes; this is the fixed width refresh always had.
pub const DEFAULT_REFRESH_PARALLELISM: usize = 32;

/// How long a lock lasts without renewal when the caller does not say.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// What a caller asks a run to do, as given. [`Settings::check`] validates it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The command recorded in the run history and the lock holder (`tarn apply`).
    pub command: String,
    /// Who holds the lock while the run works.
    pub holder: LockHolder,
    /// The workspace (`tarn.workspace` in the language; saved plans are bound to it).
    pub workspace: String,
    /// The working directory: `path.cwd`, and where relative file names given by the user
    /// (variables files, the saved plan) are read from.
    pub cwd: PathBuf,
    /// The home directory of the user the run is for: `pathexpand("~/…")`. The CLI gives its
    /// `HOME`; `None` (a server's default) makes `pathexpand` of a `~` path an error. Core
    /// never reads the process's environment or current directory itself.
    pub home: Option<PathBuf>,
    pub mode: PlanMode,
    /// `--target`, `--exclude`, `--replace`: addresses as typed.
    pub targets: Vec<String>,
    pub excludes: Vec<String>,
    pub replace: Vec<String>,
    /// Read every object's real state before planning.
    pub refresh: bool,
    /// Concurrent provider calls, for refresh and apply alike; 0 is taken as 1. `None`:
    /// [`DEFAULT_REFRESH_PARALLELISM`] reads and [`DEFAULT_PARALLELISM`] changes.
    pub parallelism: Option<usize>,
    pub lock_timeout: Duration,
    /// The lock lease (renewed every third of it).
    pub lease: Duration,
    /// The limit on every single provider call (`--provider-timeout`). `None`:
    /// [`DEFAULT_CHANGE_DEADLINE`](crate::deadline::DEFAULT_CHANGE_DEADLINE) for calls that change something and
    /// [`DEFAULT_READ_DEADLINE`](crate::deadline::DEFAULT_READ_DEADLINE) for calls that only look.
    pub provider_timeout: Option<Duration>,
    pub on_failure: FailurePolicy,
    /// `None`: the configuration's `on_interrupt` setting, else keep.
    pub on_interrupt: Option<InterruptPolicy>,
    pub variables: VariableSources,
    /// A saved plan to apply instead of planning (`tarn apply FILE`).
    pub saved_plan: Option<PathBuf>,
    /// Whether the state has a key to seal sensitive values with: without one, a run refuses
    /// before any change to store a sensitive value.
    pub state_key: bool,
}

impl Request {
    /// A normal plan-and-apply request with the defaults.
    pub fn new(command: impl Into<String>, holder: LockHolder, cwd: PathBuf) -> Request {
        Request {
            command: command.into(),
            holder,
            workspace: "default".into(),
            cwd,
            home: None,
            mode: PlanMode::Normal,
            targets: Vec::new(),
            excludes: Vec::new(),
            replace: Vec::new(),
            refresh: true,
            parallelism: None,
            lock_timeout: Duration::ZERO,
            lease: DEFAULT_LEASE,
            provider_timeout: None,
            on_failure: FailurePolicy::Rollback,
            on_interrupt: None,
            variables: VariableSources::default(),
            saved_plan: None,
            state_key: false,
        }
    }
}

/// The addresses a plan is limited to or asked to replace.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub targets: Vec<Address>,
    pub excludes: Vec<Address>,
    pub replace: Vec<Address>,
}

/// A checked [`Request`], ready for [`Run::open`](super::Run::open). Built only by
/// [`Settings::check`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) command: String,
    pub(crate) holder: LockHolder,
    pub(crate) workspace: String,
    pub(crate) cwd: PathBuf,
    pub(crate) home: Option<PathBuf>,
    pub(crate) mode: PlanMode,
    pub(crate) selection: Selection,
    pub(crate) refresh: bool,
    /// Concurrent changes (apply).
    pub(crate) parallelism: usize,
    /// Concurrent reads (refresh).
    pub(crate) refresh_parallelism: usize,
    pub(crate) lock: LockOptions,
    /// The limits on one provider call, for setup, refresh, planning, apply and recovery.
    pub(crate) deadlines: CallDeadlines,
    pub(crate) on_failure: FailurePolicy,
    pub(crate) on_interrupt: InterruptPolicy,
    pub(crate) variables: RootVariables,
    pub(crate) saved_plan: Option<Plan>,
    pub(crate) state_key: bool,
}

impl Settings {
    /// Checks `request` against `config`, without the state and without any provider. Returns
    /// the settings and the warnings found (a variables file's undeclared name).
    pub fn check(request: Request, config: &Config) -> Result<(Settings, Diagnostics), RunError> {
        if request.mode == PlanMode::RefreshOnly && !request.refresh {
            return Err(RunError::Failed(
                "--refresh-only reads every object, so it cannot be combined with --refresh=false".into(),
            ));
        }
        if request.provider_timeout == Some(Duration::ZERO) {
            return Err(RunError::Failed(
                "--provider-timeout must be longer than zero: it is how long tarn waits for one provider call".into(),
            ));
        }
        let selection = Selection {
            targets: addresses(&request.targets, "--target")?,
            excludes: addresses(&request.excludes, "--exclude")?,
            replace: addresses(&request.replace, "--replace")?,
        };
        let (mode, variables, saved_plan, warnings) = match &request.saved_plan {
            Some(path) => {
                if request.variables.is_typed() {
                    return Err(RunError::Failed(format!(
                        "a saved plan is applied with the variable values it was made with, so --var and --var-file \
                         cannot change them: make a new plan with those values (`tarn plan --out FILE ...`), or apply \
                         {} without them. Sensitive variables, which plan files never hold, are read again from \
                         TARN_VAR_<name> or the variables files that load by themselves.",
                        path.display()
                    )));
                }
                let plan = planfile::load(&request.cwd, path)?;
                let (variables, warnings) = saved_variables(&plan, config, &request.cwd, &request.variables)?;
                (plan.mode, variables, Some(plan), warnings)
            }
            None => {
                let (variables, warnings) = variables::resolve(config, &request.cwd, &request.variables)?;
                (request.mode, variables, None, warnings)
            }
        };
        let settings = Settings {
            on_interrupt: request
                .on_interrupt
                .unwrap_or_else(|| config.root.module.settings.on_interrupt.unwrap_or_default()),
            command: request.command,
            holder: request.holder,
            workspace: request.workspace,
            cwd: request.cwd,
            home: request.home,
            mode,
            selection,
            refresh: request.refresh,
            parallelism: request.parallelism.map_or(DEFAULT_PARALLELISM, |n| n.max(1)),
            refresh_parallelism: request.parallelism.map_or(DEFAULT_REFRESH_PARALLELISM, |n| n.max(1)),
            lock: LockOptions { timeout: request.lock_timeout, lease: request.lease },
            deadlines: request.provider_timeout.map(CallDeadlines::uniform).unwrap_or_default(),
            on_failure: request.on_failure,
            variables,
            saved_plan,
            state_key: request.state_key,
        };
        Ok((settings, warnings))
    }

    /// What the run plans (or what its saved plan was made for).
    pub fn mode(&self) -> PlanMode {
        self.mode
    }
    pub fn command(&self) -> &str {
        &self.command
    }
    pub fn workspace(&self) -> &str {
        &self.workspace
    }
    /// What an interrupt does with what finished, the request's or the configuration's.
    pub fn on_interrupt(&self) -> InterruptPolicy {
        self.on_interrupt
    }
    /// Concurrent changes when applying.
    pub fn parallelism(&self) -> usize {
        self.parallelism
    }
    /// Concurrent reads when refreshing.
    pub fn refresh_parallelism(&self) -> usize {
        self.refresh_parallelism
    }
    /// The limits on one provider call.
    pub fn deadlines(&self) -> CallDeadlines {
        self.deadlines
    }
    /// Whether the run applies a saved plan rather than planning.
    pub fn applies_saved_plan(&self) -> bool {
        self.saved_plan.is_some()
    }
    pub fn variables(&self) -> &RootVariables {
        &self.variables
    }
    pub fn cwd(&self) -> &Path {
        &self.cwd
    }
    /// The home directory of the run's user, as the request gave it.
    pub fn home(&self) -> Option<&Path> {
        self.home.as_deref()
    }
    /// What provider setup needs from the settings: where blocks are evaluated, and the
    /// run's limit on one provider call.
    pub fn setup_context(&self) -> SetupContext<'_> {
        SetupContext {
            workspace: &self.workspace,
            cwd: &self.cwd,
            home: self.home.as_deref(),
            deadlines: self.deadlines,
        }
    }
}

fn addresses(list: &[String], flag: &str) -> Result<Vec<Address>, RunError> {
    list.iter().map(|s| s.parse::<Address>().map_err(|e| RunError::Failed(format!("{flag}: {e}")))).collect()
}

/// Variables of a saved plan: stored values, and sensitive ones (never stored) given again and
/// checked against the plan's digest.
fn saved_variables(
    plan: &Plan,
    config: &Config,
    cwd: &Path,
    sources: &VariableSources,
) -> Result<(RootVariables, Diagnostics), RunError> {
    let (given, warnings) = if plan.variables.values().any(|v| v.value.is_none()) {
        variables::resolve(config, cwd, sources)?
    } else {
        (RootVariables::new(), Diagnostics::default())
    };
    let mut out = RootVariables::new();
    for (name, pv) in &plan.variables {
        let value = match &pv.value {
            Some(v) => v.clone(),
            None => {
                let v = given.get(name).cloned().unwrap_or_default();
                if variable_digest(&v, &plan.binding.lineage) != pv.digest {
                    return Err(RunError::Failed(format!(
                        "the sensitive variable {name:?} has a different value than when the plan was made; give the same \
                         value (--var, --var-file or TARN_VAR_{name}) or make a new plan"
                    )));
                }
                v
            }
        };
        out.insert(name.clone(), value);
    }
    Ok((out, warnings))
}
