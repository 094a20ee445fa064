//! The pipeline shared by plan, apply and destroy: load the configuration, resolve root
//! variables, open and lock the state, recover what an interrupted run left, set up providers,
//! refresh and plan. Each step's problems become a [`CliError`] before anything changes.

use crate::cli::{ConfigArgs, RunArgs, SelectArgs};
use crate::error::CliError;
use crate::location::Location;
use crate::providers::Builtins;
use crate::render::events::Renderer;
use crate::stack::{self, Lock};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tarn_core::config::Config;
use tarn_core::exec::{self, RecoverContext, Resolution};
use tarn_core::plan::{
    self, PlanBinding, PlanInput, PlanMode, PlanOptions, ProviderFactory, ProviderSet, RefreshOptions, RootVariables,
    VarInput,
};
use tarn_core::{Diagnostics, SourceMap};
use tarn_sdk::{Address, Value};
use tarn_state::{Backend, Snapshot};

/// Loads the configuration in the current directory; errors become diagnostics; warnings are
/// printed. A directory without configuration files is an error, not an empty configuration:
/// planning against nothing would destroy every recorded object, and without its provider
/// blocks a destroy cannot even reach them (it would forget objects that still exist).
pub fn load_config() -> Result<Arc<Config>, CliError> {
    let (config, diags) = tarn_core::config::load(Path::new("."));
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
    if !diags.is_empty() {
        eout!("{}", crate::render::diagnostics(&diags, sources, crate::render::Color::detect(false).stderr));
    }
    Ok(())
}

/// Root variable inputs from `TARN_VAR_*`, `--var-file` and `--var`, in increasing precedence.
pub fn variable_inputs(args: &ConfigArgs) -> Result<IndexMap<String, VarInput>, CliError> {
    let mut given = IndexMap::new();
    let mut env: Vec<(String, String)> =
        std::env::vars().filter_map(|(k, v)| k.strip_prefix("TARN_VAR_").map(|n| (n.to_string(), v))).collect();
    env.sort();
    for (name, v) in env {
        given.insert(name, VarInput::Text(v));
    }
    for file in &args.var_files {
        for (name, v) in read_var_file(file)? {
            given.insert(name, VarInput::Value(v));
        }
    }
    for pair in &args.vars {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(CliError::Failed(format!(
                "invalid --var {pair:?}: expected NAME=VALUE, for example --var environment=prod"
            )));
        };
        given.insert(name.trim().to_string(), VarInput::Text(value.to_string()));
    }
    Ok(given)
}

fn read_var_file(path: &Path) -> Result<Vec<(String, Value)>, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Failed(format!("cannot read variables file {}: {e}", path.display())))?;
    let json: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| CliError::Failed(format!("{}: not valid JSON: {e}", path.display())))?
    } else {
        hcl::from_str(&text).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?
    };
    let serde_json::Value::Object(map) = json else {
        return Err(CliError::Failed(format!("{}: expected an object of variable values", path.display())));
    };
    Ok(map.into_iter().map(|(k, v)| (k, Value::from_json(&v))).collect())
}

pub fn resolve_variables(config: &Config, args: &ConfigArgs) -> Result<RootVariables, CliError> {
    let given = variable_inputs(args)?;
    let (vars, diags) = plan::resolve_variables(config, &given);
    check(diags, &config.sources)?;
    Ok(vars)
}

pub fn parse_addresses(list: &[String], flag: &str) -> Result<Vec<Address>, CliError> {
    list.iter().map(|s| s.parse::<Address>().map_err(|e| CliError::Failed(format!("{flag}: {e}")))).collect()
}

/// The providers of the configuration, set up for `snapshot`: the one place plan, apply and
/// drift get them from.
pub async fn setup_providers(
    config: &Config,
    snapshot: &Snapshot,
    variables: &RootVariables,
    workspace: &str,
) -> Result<(ProviderSet, Option<crate::sandbox::Emulators>), CliError> {
    // Under --sandbox the providers talk to emulators started here; the caller keeps them
    // running as long as it uses the providers (dropping them stops them).
    let emulators = if crate::sandbox::active() { Some(crate::sandbox::Emulators::start().await?) } else { None };
    let result = match &emulators {
        Some(e) => setup_with(config, snapshot, variables, workspace, e.factory()).await,
        None => setup_with(config, snapshot, variables, workspace, Builtins).await,
    };
    let providers = result?;
    Ok((providers, emulators))
}

/// Sets the providers up through `base` plus the plugins the configuration names; the plugin
/// processes started only to read schemas are stopped before returning.
async fn setup_with<B: ProviderFactory>(
    config: &Config,
    snapshot: &Snapshot,
    variables: &RootVariables,
    workspace: &str,
    base: B,
) -> Result<ProviderSet, CliError> {
    let (factory, mut diags) = crate::plugins::Factory::load(config, Some(snapshot), base).await;
    diags.extend(tarn_core::config::version::check_provider_versions(config, &|n| factory.version_of(n)));
    if let Err(e) = check(diags, &config.sources) {
        factory.close().await;
        return Err(e);
    }
    let (providers, diags) = plan::setup_providers(config, Some(snapshot), variables, &factory, workspace).await;
    factory.close().await;
    check(diags, &config.sources)?;
    Ok(providers)
}

/// What planning needs: the configuration, its variables, set-up providers and the state
/// they plan against.
pub struct Planning {
    pub config: Arc<Config>,
    pub variables: RootVariables,
    pub providers: ProviderSet,
    pub snapshot: Snapshot,
    /// Under `--sandbox`: the emulators the providers talk to, stopped by `close`.
    pub emulators: Option<crate::sandbox::Emulators>,
    /// The workspace this state belongs to (`tarn.workspace` in the language).
    pub workspace: String,
}

/// Everything a run holds between planning and applying: planning, plus the state it is
/// recorded in and the lock held on it.
pub struct Session {
    pub planning: Planning,
    pub backend: Arc<dyn Backend>,
    pub lock: Lock,
}

impl Session {
    /// Opens the state at `location`, takes the lock, sets up providers and recovers
    /// interrupted runs.
    pub async fn open(
        location: &Location,
        config: Arc<Config>,
        variables: RootVariables,
        run: &RunArgs,
        command: &str,
    ) -> Result<Session, CliError> {
        let backend = stack::open_backend_at(location)?;
        let timeout = stack::parse_duration(&run.lock_timeout)?;
        let lock = Lock::acquire(backend.clone(), command, timeout).await?;
        match Session::prepare(config, variables, backend, lock).await {
            Ok(s) => Ok(s),
            Err((e, lock)) => {
                lock.release().await;
                Err(e)
            }
        }
    }

    async fn prepare(
        config: Arc<Config>,
        variables: RootVariables,
        backend: Arc<dyn Backend>,
        lock: Lock,
    ) -> Result<Session, (CliError, Lock)> {
        let snapshot = match backend.snapshot().await {
            Ok(s) => s,
            Err(e) => return Err((e.into(), lock)),
        };
        let planning = match Planning::new(config, variables, snapshot).await {
            Ok(p) => p,
            Err(e) => return Err((e, lock)),
        };
        let mut session = Session { planning, backend, lock };
        if let Err(e) = session.recover().await {
            return Err((e, session.lock));
        }
        Ok(session)
    }

    /// Adopts or forgets what an interrupted run left (journal intents without outcome).
    async fn recover(&mut self) -> Result<(), CliError> {
        let open = self.backend.open_intents().await?;
        if open.is_empty() {
            return Ok(());
        }
        let ctx = RecoverContext {
            providers: self.planning.providers.to_map(),
            backend: self.backend.clone(),
            schemas: self.planning.providers.schemas().clone(),
            events: Arc::new(Renderer::notes(crate::render::Color::detect(false).stderr)),
        };
        let recovered =
            exec::recover(ctx).await.map_err(|e| CliError::Failed(format!("recovering an interrupted run: {e}")))?;
        for r in &recovered {
            if let Resolution::Unresolved { reason } = &r.resolution {
                return Err(CliError::Failed(format!(
                    "an interrupted run left {} ({}) in an unknown state and it cannot be checked now: {reason}. \
                     Fix the cause and run tarn again; nothing was changed.",
                    r.address, r.op
                )));
            }
        }
        self.planning.snapshot = self.backend.snapshot().await?;
        Ok(())
    }

    pub async fn close(self) {
        self.lock.release().await;
        self.planning.close().await;
    }
}

impl Planning {
    /// Sets up the providers for `snapshot`.
    async fn new(config: Arc<Config>, variables: RootVariables, snapshot: Snapshot) -> Result<Planning, CliError> {
        let workspace = stack::workspace()?;
        let (providers, emulators) = setup_providers(&config, &snapshot, &variables, &workspace).await?;
        Ok(Planning { config, variables, providers, snapshot, emulators, workspace })
    }

    /// Planning where no state exists yet: against an empty state, with nothing to lock or
    /// recover, and without creating one (a plan changes nothing, not even the disk). Its
    /// lineage is new: a plan saved from it applies to a state that is still empty
    /// (`apply::check_binding`).
    pub async fn without_state(config: Arc<Config>, variables: RootVariables) -> Result<Planning, CliError> {
        let snapshot = Snapshot {
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            resources: Vec::new(),
            outputs: Vec::new(),
        };
        Planning::new(config, variables, snapshot).await
    }

    pub fn binding(&self) -> PlanBinding {
        PlanBinding {
            lineage: self.snapshot.lineage.clone(),
            serial: self.snapshot.serial,
            config_hash: self.config.hash.clone(),
            workspace: self.workspace.clone(),
        }
    }

    /// Refreshes (unless disabled) and plans.
    pub async fn plan(&self, mode: PlanMode, select: &SelectArgs, refresh: bool) -> Result<plan::Plan, CliError> {
        self.plan_from(&self.snapshot, mode, select, refresh).await
    }

    /// Plans against `snapshot` (after an apply: the state it produced).
    pub async fn plan_from(
        &self,
        snapshot: &Snapshot,
        mode: PlanMode,
        select: &SelectArgs,
        refresh: bool,
    ) -> Result<plan::Plan, CliError> {
        let (prior, diags) = plan::prior_from_snapshot(snapshot);
        check(diags, &self.config.sources)?;
        let (prior, drift) = if refresh && !prior.objects.is_empty() {
            let (prior, drift, diags) = plan::refresh(prior, &self.providers, RefreshOptions::default()).await;
            check(diags, &self.config.sources)?;
            (prior, drift)
        } else {
            (prior, Vec::new())
        };
        let options = PlanOptions {
            mode,
            targets: parse_addresses(&select.targets, "--target")?,
            excludes: parse_addresses(&select.excludes, "--exclude")?,
            replace: parse_addresses(&select.replace, "--replace")?,
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            validate: false,
        };
        let binding = PlanBinding { serial: snapshot.serial, ..self.binding() };
        let data = Default::default();
        let input = PlanInput {
            config: &self.config,
            prior: &prior,
            drift: &drift,
            schemas: self.providers.schemas(),
            variables: &self.variables,
            data: &data,
            imported: &Default::default(),
            options: &options,
            binding: &binding,
        };
        let outcome = plan::plan_with_data(input, &self.providers).await;
        check(outcome.diagnostics, &self.config.sources)?;
        let mut plan =
            outcome.plan.ok_or_else(|| CliError::Failed("planning produced no plan; this is a bug in tarn".into()))?;
        settle_sensitive_outputs(&mut plan, snapshot);
        Ok(plan)
    }

    /// Stops what planning started (the sandbox's emulators).
    pub async fn close(self) {
        if let Some(emulators) = self.emulators {
            emulators.stop().await;
        }
    }
}

/// What the state records for a sensitive output instead of its value: a digest salted with the
/// lineage (like a saved plan's sensitive variables), never the clear text.
pub fn sensitive_output_digest(value: &Value, lineage: &str) -> serde_json::Value {
    serde_json::json!({ "sha256": plan::variable_digest(value, lineage) })
}

/// Whether a recorded sensitive output is only its digest (the state had no key).
pub fn is_output_digest(value: &serde_json::Value) -> bool {
    value.as_object().is_some_and(|o| o.len() == 1 && o.contains_key("sha256"))
}

/// The planner sees only a sensitive output's digest in the state, never its value, so it
/// reports every sensitive output as changed. Those whose new value has the recorded digest
/// are unchanged: mark them so, or no plan would ever be empty.
fn settle_sensitive_outputs(plan: &mut plan::Plan, snapshot: &Snapshot) {
    for o in plan.outputs.iter_mut().filter(|o| o.sensitive && o.action == plan::Action::Update) {
        let Some(after) = o.after.as_ref().filter(|v| v.is_wholly_known()) else { continue };
        let recorded = snapshot.outputs.iter().find(|r| r.name == o.name && r.sensitive);
        if recorded.is_some_and(|r| r.value == sensitive_output_digest(after, &snapshot.lineage)) {
            o.action = plan::Action::NoOp;
        }
    }
}
