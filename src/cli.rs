//! The command line as the user types it: clap definitions only (the raw, faithful form).
//! Validation into ready-to-use options happens in each command; nothing here does work.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success; no changes (plan), no drift
  1  error: nothing was changed (bad input, held lock, stale plan, provider refused)
  2  changes present (plan --detailed-exitcode); drift found (tarn drift)
  3  apply failed and every completed change was rolled back
  4  apply failed and rollback is incomplete: the state records exactly what exists";

#[derive(Debug, Parser)]
#[command(
    name = "tarn",
    version,
    about = "tarn: a declarative reconciler. Plan changes to infrastructure, apply them with rollback, find drift.",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    /// Run as if tarn was started in DIR.
    #[arg(short = 'C', long = "chdir", global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Also write logs (level from TARN_LOG, default info) to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub log_file: Option<PathBuf>,

    /// Never use colour in output.
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Run against the providers' built-in API emulators on 127.0.0.1 instead of the real
    /// APIs: no credentials, no network. State is kept apart in .tarn/sandbox/ (docs/sandbox.md).
    #[arg(long, global = true)]
    pub sandbox: bool,
    /// The workspace: a separate state of this configuration (default: the one selected with
    /// `tarn workspace select`, else `default`).
    #[arg(long, global = true, env = "TARN_WORKSPACE", value_name = "NAME")]
    pub workspace: Option<String>,

    /// Whether tarn may ask questions on the terminal. With --input=false (and with CI=true in
    /// the environment) it never prompts, and fails with exit 1 where an answer is needed.
    #[arg(long, global = true, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub input: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what apply would change.
    #[command(
        after_help = "Examples:\n  tarn plan\n  tarn plan --out plan.tarnplan\n  tarn plan --json | jq .changes\n  tarn plan --target null_resource.a --var env=prod\n\n"
    )]
    Plan(PlanArgs),
    /// Make the real objects match the configuration (or a saved plan).
    #[command(
        after_help = "Examples:\n  tarn apply\n  tarn apply --auto-approve --parallelism 20\n  tarn apply plan.tarnplan\n  tarn apply --on-failure halt\n\n"
    )]
    Apply(ApplyArgs),
    /// Destroy every object recorded in state.
    #[command(after_help = "Examples:\n  tarn destroy\n  tarn destroy --auto-approve --target local_file.x\n\n")]
    Destroy(ApplyArgs),
    /// Show the state, or a saved plan.
    #[command(after_help = "Examples:\n  tarn show\n  tarn show --json\n  tarn show plan.tarnplan\n\n")]
    Show(ShowArgs),
    /// Evaluate expressions against the configuration and the state (reads only, takes no lock).
    #[command(
        after_help = "Examples:\n  tarn console\n  echo 'upper(var.name)' | tarn console --var name=web\n  echo 'null_resource.a.id' | tarn console\n  echo '[for k, v in local.tags : \"${k}=${v}\"]' | tarn console\n\nOn a terminal: line editing, history in .tarn/console_history; `exit` or Ctrl-D leaves.\nOtherwise one expression per line of stdin, one result per line of stdout.\n\n"
    )]
    Console(ConsoleArgs),
    /// Show output values from the state.
    #[command(
        after_help = "Examples:\n  tarn output\n  tarn output greeting\n  tarn output db_password --raw   # a sensitive string, on explicit request\n  tarn output --json\n\n"
    )]
    Output(OutputArgs),
    /// Inspect the state.
    #[command(
        subcommand,
        after_help = "Examples:\n  tarn state list\n  tarn state list --json | jq -r '.resources[].address'\n  tarn state unlock LOCK_ID\n  tarn state migrate --to postgres://tarn@db/infra\n\n"
    )]
    State(StateCommand),
    /// Print the dependency graph in DOT format.
    #[command(after_help = "Examples:\n  tarn graph | dot -Tsvg > graph.svg\n\n")]
    Graph(ConfigArgs),
    /// Rewrite configuration files in canonical format.
    #[command(after_help = "Examples:\n  tarn fmt\n  tarn fmt --check   # in CI: exit 1 when a file would change\n\n")]
    Fmt(FmtArgs),
    /// Check the configuration without touching state or providers' objects.
    #[command(after_help = "Examples:\n  tarn validate\n  tarn validate --json\n\n")]
    Validate(ValidateArgs),
    /// Run the providers' API emulators standalone, for other tools and pipelines.
    #[command(
        subcommand,
        after_help = "Examples:\n  tarn sim serve\n  tarn sim serve --provider cloudflare --addr 127.0.0.1:8787\n  tarn sim serve --json --snapshot-dir .sim   # keep objects between runs\n  curl -X POST http://127.0.0.1:8787/__sim/faults -d '{\"fail_next\": {\"count\": 2, \"status\": 503}}'\n\n"
    )]
    Sim(SimCommand),
    /// List the runs that changed this state (apply, destroy, import, state commands), or show one run's operations.
    #[command(
        after_help = "Examples:\n  tarn history\n  tarn history --json | jq '.runs[] | select(.outcome != \"success\")'\n  tarn history 1a2b3c4d   # one run's operations (a unique prefix of its ID)\n\n"
    )]
    History(HistoryArgs),
    /// Manage workspaces: separate states of one configuration.
    #[command(
        subcommand,
        after_help = "Examples:\n  tarn workspace new staging\n  tarn workspace list\n  tarn workspace select default\n  TARN_WORKSPACE=staging tarn plan\n  tarn --workspace staging apply\n\n"
    )]
    Workspace(WorkspaceCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  tarn completions bash > /etc/bash_completion.d/tarn\n  tarn completions zsh > ~/.zfunc/_tarn\n\n"
    )]
    Completions { shell: clap_complete::Shell },
    /// Record an existing object in the state, under an address declared in configuration.
    #[command(
        after_help = "Examples:\n  tarn import null_resource.a 4521\n  tarn import local_file.motd ./motd.txt\n  tarn import 'fault_object.m[\"x\"]' f0000000000000001 --var-file prod.tfvars\n\nThe object is not changed. Run `tarn plan` afterwards to see how it differs from its configuration.\nTo import as part of a reviewed plan instead, write an `import { to = ADDR, id = \"ID\" }` block.\n\n"
    )]
    Import(ImportArgs),
    /// Find objects changed or deleted outside tarn, once or on a schedule. Read-only.
    #[command(after_help = DRIFT_HELP)]
    Drift(DriftArgs),
    /// Serve COGNIT's Provisioning Engine REST API: each request plans and applies one serverless runtime.
    #[command(
        after_help = "Examples:\n  tarn serve --sandbox --listen 127.0.0.1:1337\n  tarn serve --config /etc/provision-engine/engine.conf --state postgres://tarn@db/engine\n  curl -u cognit:sandbox -X POST -H 'content-type: application/json' -d @runtime.json http://127.0.0.1:1337/serverless-runtimes\n\nEvery request is a run in its runtime's workspace (sr-<key>): `tarn history --workspace sr-<key>` lists them (docs/serve.md).\n\n"
    )]
    Serve(ServeArgs),
    /// List providers (built-in and plugins) and their types; print schemas, write docs, check plugins.
    #[command(
        after_help = "Examples:\n  tarn providers\n  tarn providers --json\n  tarn providers schema --json | jq '.providers.local.resources | keys'\n  tarn providers docs --out docs/providers\n  tarn providers check ./plugins/tarn-provider-kv\n\nPlugins are found through `exec:` sources in required_providers and in TARN_PLUGIN_PATH (docs/plugin-protocol.md).\n\n"
    )]
    Providers(ProvidersArgs),
}

#[derive(Debug, Args, Clone)]
pub struct ProvidersArgs {
    #[command(subcommand)]
    pub command: Option<ProvidersCommand>,
    /// Machine-readable list (schema: docs/provider-schemas.md).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand, Clone)]
pub enum ProvidersCommand {
    /// Print provider schemas: every attribute's type, and whether it is required, optional, computed, sensitive or forces replacement.
    #[command(
        after_help = "Examples:\n  tarn providers schema local\n  tarn providers schema --json\n\nThe JSON format is versioned and documented in docs/provider-schemas.md.\n\n"
    )]
    Schema {
        /// Only these providers (default: all).
        names: Vec<String>,
        /// JSON instead of Markdown.
        #[arg(long)]
        json: bool,
    },
    /// Write Markdown reference docs, one file per provider, generated from the schemas.
    #[command(
        after_help = "Examples:\n  tarn providers docs --out docs/providers\n  tarn providers docs --out docs/providers --check   # in CI: exit 1 when the docs are out of date\n  tarn providers docs --out docs/plugins --plugin ./plugins/tarn-provider-kv\n\n"
    )]
    Docs {
        /// The directory to write (one NAME.md per provider and a README.md index).
        #[arg(long, value_name = "DIR", default_value = "docs/providers")]
        out: PathBuf,
        /// Write nothing: exit 1 and list the files that differ from what would be generated.
        #[arg(long)]
        check: bool,
        /// Also document this plugin executable (repeatable). Built-in providers are always documented.
        #[arg(long = "plugin", value_name = "PATH")]
        plugins: Vec<PathBuf>,
    },
    /// Run the plugin conformance suite against a plugin executable, in a temporary directory.
    #[command(
        after_help = "Examples:\n  tarn providers check ./plugins/tarn-provider-kv\n  tarn providers check ./tarn-provider-acme --fixture acme-subject.json --timeout 2m\n\nThe test subject (a resource type, a provider configuration, and attributes to create and update to) comes from --fixture or from the plugin's handshake (docs/plugin-protocol.md).\n\n"
    )]
    Check {
        /// The plugin executable.
        path: PathBuf,
        /// A JSON file naming the test subject: {"type", "provider_config", "create", "update"}.
        #[arg(long, value_name = "FILE")]
        fixture: Option<PathBuf>,
        /// The provider name to use in messages (default: from the file name, tarn-provider-NAME).
        #[arg(long)]
        name: Option<String>,
        /// How long each call may take.
        #[arg(long, default_value = "30s", value_name = "DURATION")]
        timeout: String,
        /// One JSON report instead of lines.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// Set a root variable: NAME=VALUE (repeatable; later wins, --var and --var-file in command-line order). Also TARN_VAR_<name> (or TF_VAR_<name>) in the environment.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read root variables from a .tfvars-style HCL file or a JSON file (repeatable). tarn.tfvars, tarn.tfvars.json and *.auto.tfvars(.json) load by themselves.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
    /// `--var` and `--var-file` in the order they were typed (filled from clap's indices after
    /// parsing, by [`ConfigArgs::order_from`]): a later one wins, as in Terraform.
    #[arg(skip)]
    pub in_order: Vec<VarArg>,
}

/// One `--var` or `--var-file`, in command-line order.
pub use tarn_core::run::VarArg;

impl ConfigArgs {
    /// Records the command-line order of `--var` and `--var-file` from the matches of the
    /// (sub)command that holds these arguments.
    pub fn order_from(&mut self, matches: &clap::ArgMatches) {
        let mut typed: Vec<(usize, VarArg)> = Vec::new();
        if let (Some(at), Some(values)) = (matches.indices_of("vars"), matches.get_many::<String>("vars")) {
            typed.extend(at.zip(values).map(|(i, v)| (i, VarArg::Var(v.clone()))));
        }
        if let (Some(at), Some(values)) = (matches.indices_of("var_files"), matches.get_many::<PathBuf>("var_files")) {
            typed.extend(at.zip(values).map(|(i, v)| (i, VarArg::File(v.clone()))));
        }
        typed.sort_by_key(|(i, _)| *i);
        self.in_order = typed.into_iter().map(|(_, a)| a).collect();
    }
}

impl Cli {
    /// The `--var`/`--var-file` arguments of the command, if it takes them, with the leaf
    /// subcommand's matches.
    pub fn record_var_order(&mut self, matches: &clap::ArgMatches) {
        let Some((_, sub)) = matches.subcommand() else { return };
        let config = match &mut self.command {
            Command::Plan(a) => &mut a.config,
            Command::Apply(a) | Command::Destroy(a) => &mut a.config,
            Command::Graph(a) => a,
            Command::Console(a) => &mut a.config,
            Command::Import(a) => &mut a.config,
            Command::Drift(a) => &mut a.config,
            _ => return,
        };
        config.order_from(sub);
    }
}

#[derive(Debug, Args, Clone)]
pub struct ConsoleArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Save the plan to FILE for `tarn apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Machine-readable output (schema: docs/json-output.md).
    #[arg(long)]
    pub json: bool,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Plan to destroy everything.
    #[arg(long, conflicts_with = "refresh_only")]
    pub destroy: bool,
    /// Only record what changed outside tarn in the state; plan no change to any object.
    #[arg(long, conflicts_with_all = ["destroy", "replace"])]
    pub refresh_only: bool,
    /// Maximum concurrent provider reads while refreshing (0 counts as 1; default 32).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Only this address and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDR")]
    pub targets: Vec<String>,
    /// Leave out this address and what depends on it (repeatable).
    #[arg(long = "exclude", value_name = "ADDR")]
    pub excludes: Vec<String>,
    /// Replace this instance even if nothing changed (repeatable).
    #[arg(long = "replace", value_name = "ADDR")]
    pub replace: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Read every object's real state first (default true).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// How long to wait for the state lock, e.g. 30s, 2m.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
    /// How long to wait for one provider call before giving up on it, e.g. 5m, 2h (default:
    /// 30m for creates, updates and deletes, 10m for reads).
    #[arg(long, value_name = "DURATION")]
    pub provider_timeout: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    /// A plan saved with `tarn plan --out`.
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Maximum concurrent provider calls, for refresh and apply alike (0 counts as 1; default:
    /// 32 reads, 10 changes).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    /// What to do when an action fails.
    #[arg(long, value_enum, default_value_t = OnFailure::Rollback)]
    pub on_failure: OnFailure,
    /// What the first SIGINT/SIGTERM does with what finished: keep it (default; also
    /// `on_interrupt` in the `tarn {}` block) or roll it back.
    #[arg(long, value_enum, value_name = "POLICY")]
    pub on_interrupt: Option<OnInterrupt>,
    /// Stream events as JSON lines (schema: docs/json-output.md).
    #[arg(long)]
    pub json: bool,
    /// Only record what changed outside tarn in the state; change no object.
    #[arg(long, conflicts_with_all = ["plan_file", "replace"])]
    pub refresh_only: bool,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OnInterrupt {
    /// Keep what finished, recorded; `tarn apply` continues (default).
    Keep,
    /// Undo what finished, as after a failure.
    Rollback,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OnFailure {
    /// Undo completed changes in reverse order (default).
    Rollback,
    /// Stop and record; undo nothing.
    Halt,
    /// Go on with everything that does not depend on the failure.
    Continue,
}

#[derive(Debug, Args, Clone)]
pub struct ShowArgs {
    /// A saved plan to show instead of the state.
    pub plan_file: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
    /// A saved plan as Markdown, for a pull-request comment (sensitive values hidden).
    #[arg(long, conflicts_with = "json", requires = "plan_file")]
    pub markdown: bool,
}

#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Only this output. A sensitive one shows as `(sensitive value)` unless `--raw` or `--json`.
    pub name: Option<String>,
    /// JSON, sensitive values included (an explicit request, as `terraform output -json`).
    #[arg(long)]
    pub json: bool,
    /// The output's value alone, sensitive or not: a string without quotes, a number or a bool
    /// (a list, map or null is refused; use `--json`).
    #[arg(long, requires = "name", conflicts_with = "json")]
    pub raw: bool,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses recorded in state.
    #[command(after_help = "Examples:\n  tarn state list\n  tarn state list --json\n\n")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Create the key that encrypts sensitive values in the state (.tarn/state.key, mode 0600).
    #[command(
        after_help = "Examples:\n  tarn state keygen\n  TARN_STATE_KEY=$(head -c32 /dev/urandom | base64) tarn apply   # key from the environment instead\n\n"
    )]
    Keygen,
    /// Show the recorded attributes of one instance (sensitive values hidden).
    #[command(
        after_help = "Examples:\n  tarn state show local_file.motd\n  tarn state show 'null_resource.n[\"web\"]' --json\n\n"
    )]
    Show {
        /// The instance address, as `tarn state list` prints it.
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Rename an instance, a resource (all its instances) or a module in the state, without touching the real objects.
    #[command(
        after_help = "Examples:\n  tarn state mv null_resource.old null_resource.new\n  tarn state mv 'null_resource.n[0]' 'null_resource.n[\"web\"]'\n  tarn state mv module.app module.web\n  tarn state mv --dry-run local_file.a module.files.local_file.a\n\nRefuses when the destination exists or the types differ; all rows move in one transaction.\n\n"
    )]
    Mv {
        /// What to move: an instance, a resource or a module address.
        source: String,
        /// Its new address (same kind, same resource type).
        destination: String,
        /// Only print what would move.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Forget objects: remove them from the state without destroying them.
    #[command(
        after_help = "Examples:\n  tarn state rm local_file.scratch\n  tarn state rm module.legacy 'null_resource.n[2]'\n  tarn state rm --dry-run null_resource.n\n\nThe real objects stay; tarn no longer manages them (a later plan would create new ones).\n\n"
    )]
    Rm {
        /// Instance, resource or module addresses.
        #[arg(required = true)]
        addresses: Vec<String>,
        /// Only print what would be removed.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Print the whole state as a versioned JSON document (sealed secrets stay sealed).
    #[command(
        after_help = "Examples:\n  tarn state pull > backup.tarnstate.json\n  tarn state pull | jq '.resources[].address'\n\nSchema: docs/json-output.md. Sensitive values stay sealed ciphertext: pull never prints them in clear text.\n\n"
    )]
    Pull,
    /// Replace the state with a document written by `tarn state pull`.
    #[command(
        after_help = "Examples:\n  tarn state pull > s.json && $EDITOR s.json && tarn state push s.json\n  tarn state push --force backup.tarnstate.json   # restore an older or foreign state\n\nRefuses a document of another lineage (another stack) or with a lower serial (older than the state) unless --force.\n\n"
    )]
    Push {
        /// The document (`-` for standard input).
        file: PathBuf,
        /// Push even when the lineage differs or the serial is lower.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Put back the last verified copy of a damaged SQLite state (.tarn/state.db.backup).
    #[command(
        after_help = "Examples:\n  tarn state restore\n\nOnly when tarn refused the state as missing, empty, unreadable or older than its last verified copy. The copy's SHA-256 is checked first; the damaged files are renamed aside (.tarn/state.db.damaged-TIME), never deleted; one run is recorded in the history.\n\n"
    )]
    Restore {
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Re-encrypt every sealed value in the state with a new key, atomically.
    #[command(
        after_help = "Examples:\n  tarn state rekey                          # new random key replaces .tarn/state.key\n  tarn state rekey --new-key-file new.key   # use (or create) new.key\n\nWith the key in TARN_STATE_KEY, give --new-key-file, then set TARN_STATE_KEY to its content.\n\n"
    )]
    Rekey {
        /// The new key: read from FILE when it exists, otherwise generated and written there (mode 0600).
        #[arg(long, value_name = "FILE")]
        new_key_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Release a lock left by a run that is gone, by the lock ID its error message gave.
    #[command(
        after_help = "Examples:\n  tarn state unlock 2ae680f1-56c2-450a-b08d-cabbb1d86bfa\n\nOnly release a lock whose run you know has stopped: two runs at once can corrupt what the state says.\n\n"
    )]
    Unlock {
        /// The lock ID, as printed by the command that found the state locked.
        lock_id: String,
    },
    /// Copy this stack's state (the current workspace, whole: rows, outputs, history, journal) to another backend.
    #[command(
        after_help = "Examples:\n  tarn state migrate --to 'postgres://tarn@db.internal:5432/infra?sslmode=verify-full&schema=web'\n  PGPASSWORD=... tarn state migrate --to postgres://tarn@127.0.0.1/infra\n  TARN_BACKEND_URL=postgres://... tarn state migrate --to sqlite://backup/state.db\n\nThe target workspace must be empty; the source is left as it was. Sensitive values are copied sealed, so keep the same state key. Then point tarn at the target: the backend block or TARN_BACKEND_URL.\n\n"
    )]
    Migrate {
        /// Where to copy the state: postgres://USER:PASSWORD@HOST:PORT/DATABASE?schema=NAME, or a SQLite file (sqlite://PATH or PATH).
        #[arg(long, value_name = "URL", env = "TARN_MIGRATE_TO", hide_env_values = true)]
        to: String,
        /// How long to wait for the locks of source and target, e.g. 30s, 2m.
        #[arg(long, default_value = "0s", value_name = "DURATION")]
        lock_timeout: String,
    },
}

#[derive(Debug, Args, Clone)]
pub struct FmtArgs {
    /// Do not write: exit 1 and list the files that are not formatted.
    #[arg(long)]
    pub check: bool,
    /// Files or directories (default: the current directory).
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args, Clone)]
pub struct LockArgs {
    /// How long to wait for the state lock, e.g. 30s, 2m.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// Show this run's operations (its ID, or a unique prefix of it).
    pub run_id: Option<String>,
    /// Only the newest N runs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// List the workspaces; the current one is marked with `*`.
    #[command(after_help = "Examples:\n  tarn workspace list\n  tarn workspace list --json\n\n")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print the current workspace's name.
    #[command(after_help = "Examples:\n  tarn workspace show\n\n")]
    Show,
    /// Create a workspace and select it.
    #[command(after_help = "Examples:\n  tarn workspace new staging\n\n")]
    New { name: String },
    /// Select the workspace later commands use here (written to .tarn/workspace).
    #[command(
        after_help = "Examples:\n  tarn workspace select staging\n\nTARN_WORKSPACE and --workspace override the selection.\n\n"
    )]
    Select { name: String },
    /// Delete a workspace's state. Refuses one that still records objects unless --force.
    #[command(
        after_help = "Examples:\n  tarn workspace delete staging\n  tarn workspace delete --force scratch   # forgets its objects, does not destroy them\n\n"
    )]
    Delete {
        name: String,
        /// Delete even though the state still records objects (they are not destroyed).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
}

#[derive(Debug, Args, Clone)]
pub struct ImportArgs {
    /// The address to import into, as declared in configuration: `TYPE.NAME`, `TYPE.NAME[KEY]`,
    /// `module.NAME.TYPE.NAME`.
    pub address: String,
    /// The object's ID, as its provider knows it (for local_file: the file name).
    pub id: String,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve the emulators until Ctrl-C, printing each one's API base URL (docs/sandbox.md).
    #[command(
        after_help = "Examples:\n  tarn sim serve\n  tarn sim serve --provider cloudflare --addr 127.0.0.1:8787\n  CLOUDFLARE_BASE_URL=http://127.0.0.1:8787/client/v4 CLOUDFLARE_API_TOKEN=tarn-sandbox-token tarn apply\n\nFault controls: GET/POST/DELETE <server>/__sim/faults, e.g.\n  curl -X POST http://127.0.0.1:8787/__sim/faults -d '{\"throttle_next\": {\"count\": 1, \"retry_after\": \"2\"}}'\n\n"
    )]
    Serve(SimServeArgs),
}

#[derive(Debug, Args, Clone)]
pub struct SimServeArgs {
    /// Only this provider's emulator (repeatable; default: all of them).
    #[arg(long = "provider", value_name = "NAME")]
    pub providers: Vec<String>,
    /// Serve on this address (default 127.0.0.1 on a free port). A fixed port needs one --provider.
    #[arg(long, value_name = "IP:PORT")]
    pub addr: Option<std::net::SocketAddr>,
    /// Keep each emulator's objects in DIR/<provider>.json between runs (default: memory only).
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// Print one JSON object per emulator instead of text.
    #[arg(long)]
    pub json: bool,
}

pub const DRIFT_HELP: &str = "\
Examples:
  tarn drift                                  # exit 0 no drift, 2 drift, 1 error
  tarn drift --json | jq '.resources[].address'
  tarn drift --markdown > drift.md
  tarn drift --ignore local_file.motd.file_permission --ignore null_resource.cache
  tarn drift --report drift.jsonl --notify https://hooks.example.com/tarn   # from cron
  tarn drift --every 15m --report /var/log/tarn/drift.jsonl --metrics-addr 127.0.0.1:9464

tarn drift reads every recorded object through its provider and compares it with the state.
It never changes an object or the state, and does not take the state lock (a running apply is
waited for or reported instead, see --lock-timeout). Formats: docs/drift.md, docs/json-output.md.

";

#[derive(Debug, Args, Clone)]
pub struct DriftArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The report as one JSON document (schema: docs/json-output.md); with --every, one line per check.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// The report as Markdown, for an issue or a chat message.
    #[arg(long, conflicts_with = "every")]
    pub markdown: bool,
    /// Leave out a difference: ADDR (the whole object) or ADDR.ATTRIBUTE (repeatable).
    #[arg(long = "ignore", value_name = "ADDR[.ATTR]")]
    pub ignore: Vec<String>,
    /// Maximum concurrent provider reads (0 counts as 1; default 32).
    #[arg(long, value_name = "N")]
    pub parallelism: Option<usize>,
    /// How long to wait for a running apply to finish before checking, e.g. 30s, 5m.
    #[arg(long, default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
    /// How long to wait for one provider read before giving up on it, e.g. 2m (default: 10m).
    #[arg(long, value_name = "DURATION")]
    pub provider_timeout: Option<String>,
    /// Check again every DURATION (15m, 1h) until stopped with Ctrl-C or SIGTERM.
    #[arg(long, value_name = "DURATION")]
    pub every: Option<String>,
    /// Append each report to FILE as one JSON line.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// POST the JSON report to URL when drift appears, changes or clears.
    #[arg(long, value_name = "URL")]
    pub notify: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (with --every).
    #[arg(long, value_name = "ADDR", requires = "every")]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The engine configuration (engine.conf's YAML keys: one_xmlrpc, oneflow_server, host, port, timeout, capacity, mapping). Default: the original engine's defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen on this address instead of the configuration's host and port (port 0: a free one).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Where the runtimes' state lives: a SQLite file (default .tarn/state.db, under --sandbox .tarn/sandbox/state.db) or postgres://USER:PASSWORD@HOST/DB for several replicas. Default also from TARN_BACKEND_URL.
    #[arg(long, value_name = "LOCATION")]
    pub state: Option<String>,
}
