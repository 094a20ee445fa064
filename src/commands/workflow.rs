//! The pipeline shared by plan, apply and destroy: load the configuration, resolve root
//! variables, open and lock the state, recover what an interrupted run left, set up providers,
//! refresh and plan. Each step's problems become a [`CliError`] before anything changes.

use crate::cli::{ConfigArgs, RunArgs, SelectArgs, VarArg};
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
use tarn_core::{Diagnostic, Diagnostics, SourceMap};
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

/// Where a root variable's value came from.
enum Origin {
    /// `TF_VAR_name`: a Terraform pipeline's variable, ignored when no `variable` declares it.
    TerraformEnv,
    /// `TARN_VAR_name`.
    Env,
    /// A variables file, loaded by itself or named by `--var-file`: an undeclared name is a
    /// warning naming the file and line, as in Terraform.
    File(PathBuf, String),
    /// `--var`.
    Flag,
}

/// The variables files that load by themselves from `dir`, in Terraform's order:
/// `tarn.tfvars`, `tarn.tfvars.json`, then `*.auto.tfvars` and `*.auto.tfvars.json` in
/// lexical order.
pub fn automatic_var_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        ["tarn.tfvars", "tarn.tfvars.json"].iter().map(|n| dir.join(n)).filter(|p| p.is_file()).collect();
    let mut auto: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json"))
        })
        .collect();
    auto.sort();
    files.extend(auto);
    files
}

/// Root variable inputs, in increasing precedence: `TF_VAR_*`, `TARN_VAR_*`, the variables
/// files that load by themselves (`tarn.tfvars`, `tarn.tfvars.json`, `*.auto.tfvars[.json]`),
/// then `--var-file` and `--var` in command-line order.
fn variable_inputs(dir: &Path, args: &ConfigArgs) -> Result<Vec<(String, VarInput, Origin)>, CliError> {
    let mut given = Vec::new();
    for prefix in ["TF_VAR_", "TARN_VAR_"] {
        let mut env: Vec<(String, String)> =
            std::env::vars().filter_map(|(k, v)| k.strip_prefix(prefix).map(|n| (n.to_string(), v))).collect();
        env.sort();
        for (name, v) in env {
            let origin = if prefix == "TF_VAR_" { Origin::TerraformEnv } else { Origin::Env };
            given.push((name, VarInput::Text(v), origin));
        }
    }
    let typed = if args.in_order.is_empty() {
        // Parsed without clap's indices (not from the command line): files, then flags.
        args.var_files.iter().cloned().map(VarArg::File).chain(args.vars.iter().cloned().map(VarArg::Var)).collect()
    } else {
        args.in_order.clone()
    };
    let files = automatic_var_files(dir).into_iter().map(VarArg::File);
    for arg in files.chain(typed) {
        match arg {
            VarArg::File(file) => {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| CliError::Failed(format!("cannot read variables file {}: {e}", file.display())))?;
                for (name, v) in read_var_file(&file, &text)? {
                    given.push((name, VarInput::Value(v), Origin::File(file.clone(), text.clone())));
                }
            }
            VarArg::Var(pair) => {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(CliError::Failed(format!(
                        "invalid --var {pair:?}: expected NAME=VALUE, for example --var environment=prod"
                    )));
                };
                given.push((name.trim().to_string(), VarInput::Text(value.to_string()), Origin::Flag));
            }
        }
    }
    Ok(given)
}

fn read_var_file(path: &Path, text: &str) -> Result<Vec<(String, Value)>, CliError> {
    let json: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(text).map_err(|e| CliError::Failed(format!("{}: not valid JSON: {e}", path.display())))?
    } else {
        hcl::from_str(text).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?
    };
    let serde_json::Value::Object(map) = json else {
        return Err(CliError::Failed(format!("{}: expected an object of variable values", path.display())));
    };
    Ok(map.into_iter().map(|(k, v)| (k, Value::from_json(&v))).collect())
}

/// The 1-based line of a variables file where `name` is given (`name =` in HCL, `"name":` in
/// JSON), or 1.
fn line_of(text: &str, name: &str) -> usize {
    let quoted = format!("\"{name}\"");
    text.lines()
        .position(|line| {
            let t = line.trim_start();
            t.strip_prefix(name).is_some_and(|r| r.trim_start().starts_with('='))
                || t.strip_prefix(&quoted).is_some_and(|r| r.trim_start().starts_with(':'))
                || t.contains(&format!("{{{quoted}")) && t.contains(':')
        })
        .map_or(1, |i| i + 1)
}

pub fn resolve_variables(config: &Config, args: &ConfigArgs) -> Result<RootVariables, CliError> {
    let declared = &config.root.module.variables;
    let mut given = IndexMap::new();
    let mut warnings = Diagnostics::default();
    for (name, input, origin) in variable_inputs(&config.root.module.dir, args)? {
        if !declared.contains_key(&name) {
            match origin {
                Origin::TerraformEnv => continue,
                Origin::File(file, text) => {
                    warnings.push(Diagnostic::warning(
                        "Value for undeclared variable",
                        format!(
                            "{}:{}: the root module declares no variable named \"{name}\", so this value is ignored. \
                             To use it, add a `variable \"{name}\" {{}}` block to the configuration.",
                            file.display(),
                            line_of(&text, &name)
                        ),
                    ));
                    continue;
                }
                Origin::Env | Origin::Flag => {}
            }
        }
        given.shift_remove(&name);
        given.insert(name, input);
    }
    let (vars, mut diags) = plan::resolve_variables(config, &given);
    diags.extend(warnings);
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
