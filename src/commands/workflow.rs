//! What plan, apply, destroy, import and drift share on the command line's side of a run: the
//! configuration loaded from the working directory, the run's [`Request`] built from flags and
//! environment (then checked by core, before any lock or provider), the providers a run sets
//! up (built-ins or the sandbox's emulators, plus plugins), and [`Printer`], which renders the
//! run's events. The run itself — lock, recovery, refresh, plan, apply — is `tarn_core::run`.

use crate::cli::{ConfigArgs, RunArgs, SelectArgs, VarArg};
use crate::error::CliError;
use crate::providers::Builtins;
use crate::render::events::Renderer;
use crate::stack;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tarn_core::config::Config;
use tarn_core::exec::EventSink;
use tarn_core::plan::{self, ProviderFactory, ProviderSet, RootVariables};
use tarn_core::run::{Observer, ProviderSetup, Request, RunError, RunEvent, Settings, VariableSources};
use tarn_core::{Diagnostics, SourceMap};
use tarn_state::Snapshot;

/// Loads the configuration in the current directory; errors become diagnostics; warnings are
/// printed. A directory without configuration files is an error, not an empty configuration:
/// planning against nothing would destroy every recorded object, and without its provider
/// blocks a destroy cannot even reach them (it would forget objects that still exist).
pub fn load_config() -> Result<Arc<Config>, CliError> {
    let (config, diags) = tarn_core::load::load(Path::new("."));
    match config {
        Some(config) if config.sources.files.is_empty() && !diags.has_errors() => {
            let here = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_else(|_| ".".into());
            Err(CliError::Failed(format!(
                "there are no configuration files (*.tarn.hcl or *.tarn.json) in {here}. Run tarn in the directory \
                 of your configuration, or point at it with -C DIR."
            )))
        }
        Some(config) => {
            let mut diags = diags;
            if !diags.has_errors() {
                diags.extend(tarn_core::config::version::check_required_version(&config, env!("CARGO_PKG_VERSION")));
            }
            check(diags, &config.sources)?;
            Ok(Arc::new(config))
        }
        None => Err(CliError::Diagnostics { diags, sources: Box::new(SourceMap::default()) }),
    }
}

/// Errors stop the command; warnings are printed to stderr and the command goes on.
pub fn check(diags: Diagnostics, sources: &SourceMap) -> Result<(), CliError> {
    if diags.has_errors() {
        return Err(CliError::Diagnostics { diags, sources: Box::new(sources.clone()) });
    }
    warn(&diags, sources);
    Ok(())
}

/// Prints warnings to stderr.
fn warn(diags: &Diagnostics, sources: &SourceMap) {
    if !diags.is_empty() {
        eout!("{}", crate::render::diagnostics(diags, sources, crate::render::Color::detect(false).stderr));
    }
}

/// Where root variables come from: `TF_VAR_*` and `TARN_VAR_*` in the environment, then
/// `--var-file` and `--var` in the order typed (clap's indices, recorded by
/// `cli::Cli::record_var_order`); core adds the variables files that load by themselves.
pub fn variable_sources(args: &ConfigArgs) -> VariableSources {
    let env = std::env::vars().filter(|(k, _)| k.starts_with("TF_VAR_") || k.starts_with("TARN_VAR_")).collect();
    let typed = if args.in_order.is_empty() {
        // Parsed without clap's indices (not from the command line): files, then flags.
        args.var_files.iter().cloned().map(VarArg::File).chain(args.vars.iter().cloned().map(VarArg::Var)).collect()
    } else {
        args.in_order.clone()
    };
    VariableSources { env, typed }
}

/// The root variables of `config` from `args` and the environment (for commands that are
/// not runs: console); warnings printed.
pub fn resolve_variables(config: &Config, args: &ConfigArgs) -> Result<RootVariables, CliError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let (variables, warnings) = tarn_core::run::resolve_variables(config, &cwd, &variable_sources(args))?;
    warn(&warnings, &config.sources);
    Ok(variables)
}

/// The user's home directory (`HOME`), which `pathexpand` expands `~` to: the CLI reads the
/// environment, core never does.
pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// A run's request from the flags every run command shares; the command sets its own
/// (mode, parallelism, policies, saved plan, state key) on the result.
pub fn request(command: &str, config: &ConfigArgs, select: &SelectArgs, run: &RunArgs) -> Result<Request, CliError> {
    let cwd =
        std::env::current_dir().map_err(|e| CliError::Failed(format!("cannot read the working directory: {e}")))?;
    let mut request = Request::new(command, stack::holder(command), cwd);
    request.home = home();
    request.workspace = stack::workspace()?;
    request.targets = select.targets.clone();
    request.excludes = select.excludes.clone();
    request.replace = select.replace.clone();
    request.refresh = run.refresh;
    request.lock_timeout = stack::parse_duration(&run.lock_timeout)?;
    request.provider_timeout = run.provider_timeout.as_deref().map(stack::parse_duration).transpose()?;
    request.lease = stack::lease()?;
    request.variables = variable_sources(config);
    Ok(request)
}

/// Checks `request` against `config` (before any lock or provider) and prints its warnings.
pub fn settings(request: Request, config: &Config) -> Result<Settings, CliError> {
    let (settings, warnings) = Settings::check(request, config)?;
    warn(&warnings, &config.sources);
    Ok(settings)
}

/// Whether the state has a key to seal sensitive values with (`.tarn/state.key` or the
/// environment).
pub fn state_key() -> Result<bool, CliError> {
    Ok(tarn_state::crypto::Sealer::load(&stack::key_path())?.is_some())
}

/// The providers of a run: built-ins, or under `--sandbox` the emulators (started at the first
/// setup and kept until [`Setup::close`]), plus the plugins the configuration and its state
/// use. The one place plan, apply, import and drift get them from.
#[derive(Default)]
pub struct Setup {
    emulators: tokio::sync::Mutex<Option<crate::sandbox::Emulators>>,
}

impl Setup {
    /// Stops what setting up started (the sandbox's emulators).
    pub async fn close(self) {
        if let Some(emulators) = self.emulators.into_inner() {
            emulators.stop().await;
        }
    }
}

#[async_trait::async_trait]
impl ProviderSetup for Setup {
    async fn setup(
        &self,
        config: &Config,
        snapshot: &Snapshot,
        variables: &RootVariables,
        at: &plan::SetupContext<'_>,
    ) -> Result<(ProviderSet, Diagnostics), RunError> {
        if !crate::sandbox::active() {
            return setup_with(config, snapshot, variables, at, Builtins).await;
        }
        let mut emulators = self.emulators.lock().await;
        let factory = match emulators.as_ref() {
            Some(e) => e.factory(),
            None => emulators.insert(crate::sandbox::Emulators::start().await?).factory(),
        };
        drop(emulators);
        setup_with(config, snapshot, variables, at, factory).await
    }
}

/// Sets the providers up through `base` plus the plugins the configuration names; the plugin
/// processes started only to read schemas are stopped before returning.
async fn setup_with<B: ProviderFactory>(
    config: &Config,
    snapshot: &Snapshot,
    variables: &RootVariables,
    at: &plan::SetupContext<'_>,
    base: B,
) -> Result<(ProviderSet, Diagnostics), RunError> {
    let (factory, mut diags) = crate::plugins::Factory::load(config, Some(snapshot), base).await;
    diags.extend(tarn_core::config::version::check_provider_versions(config, &|n| factory.version_of(n)));
    if diags.has_errors() {
        factory.close().await;
        return Err(RunError::Diagnostics { diags, sources: Box::new(config.sources.clone()) });
    }
    let (providers, more) = plan::setup_providers(config, Some(snapshot), variables, &factory, at).await;
    factory.close().await;
    diags.extend(more);
    if diags.has_errors() {
        return Err(RunError::Diagnostics { diags, sources: Box::new(config.sources.clone()) });
    }
    Ok((providers, diags))
}

/// How an apply's progress is shown.
#[derive(Debug, Clone, Copy)]
pub struct ApplyView {
    pub json: bool,
    pub color: bool,
    /// A progress bar (a terminal, not `--json`, not CI), else one line per event.
    pub progress: bool,
    pub destroy: bool,
    pub heartbeat: Duration,
}

/// Renders a run's events: warnings on stderr with source snippets, crash recovery as notes on
/// stderr (stdout may be a JSON document), and an apply's progress as [`ApplyView`] says
/// (nothing without one: `tarn import` prints only its summary). The apply's renderer starts
/// with the first apply event, so nothing is drawn for an apply refused before it began.
pub struct Printer {
    config: Arc<Config>,
    notes: Renderer,
    view: Option<ApplyView>,
    apply: OnceLock<Arc<Renderer>>,
}

impl Printer {
    pub fn new(config: Arc<Config>, view: Option<ApplyView>) -> Arc<Printer> {
        let notes = Renderer::notes(crate::render::Color::detect(false).stderr);
        Arc::new(Printer { config, notes, view, apply: OnceLock::new() })
    }
}

impl Observer for Printer {
    fn event(&self, event: RunEvent) {
        match event {
            RunEvent::Warnings(diags) => warn(&diags, &self.config.sources),
            RunEvent::Recovery(event) => self.notes.emit(event),
            RunEvent::Apply(event) => {
                let Some(view) = self.view else { return };
                let renderer = self.apply.get_or_init(|| {
                    Renderer::new(view.json, view.color, view.progress)
                        .for_destroy(view.destroy)
                        .with_heartbeat(view.heartbeat)
                });
                renderer.emit(event);
            }
        }
    }
}
