//! The run type driven as a server would drive it: no CLI, no terminal, no environment. Real
//! SQLite state in a temporary directory and the null provider; events collected, results and
//! errors inspected.

use super::*;
use crate::exec::{ApplyOutcome, CancelToken, Event};
use crate::plan::{PlanMode, ProviderFactory};
use std::path::Path;
use tarn_sdk::Provider;
use tarn_state::{LockHolder, SqliteBackend};

struct Null;

impl ProviderFactory for Null {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        (name == "null").then(tarn_provider_null::provider)
    }
    fn names(&self) -> Vec<String> {
        vec!["null".into()]
    }
}

/// A stack directory with `main.tarn.hcl` and its state file (not created until opened).
struct Stack {
    dir: tempfile::TempDir,
}

impl Stack {
    fn new(config: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.tarn.hcl"), config).unwrap();
        Stack { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> Arc<Config> {
        let (config, diags) = crate::load::load(self.path());
        assert!(!diags.has_errors(), "{diags:?}");
        Arc::new(config.unwrap())
    }

    fn state_file(&self) -> std::path::PathBuf {
        self.path().join("state.db")
    }

    fn backend(&self) -> Arc<dyn Backend> {
        Arc::new(SqliteBackend::open(&self.state_file()).unwrap())
    }

    fn request(&self, command: &str) -> Request {
        let holder = LockHolder { user: "test".into(), host: "localhost".into(), pid: 1, command: command.into() };
        Request::new(command, holder, self.path().to_path_buf())
    }

    fn settings(&self, request: Request) -> Settings {
        Settings::check(request, &self.config()).unwrap().0
    }

    async fn open(&self, settings: Settings, observer: Arc<dyn Observer>) -> Result<Run, RunError> {
        Run::open(settings, self.config(), self.backend(), &FromFactory(Null), observer).await
    }
}

const TWO: &str = r#"
resource "null_resource" "a" {
  triggers = { v = "1" }
}
resource "null_resource" "b" {
  triggers = { a = null_resource.a.id }
}
output "b" {
  value = null_resource.b.id
}
"#;

fn applied_events(events: &[RunEvent]) -> Vec<&Event> {
    events.iter().filter_map(|e| if let RunEvent::Apply(e) = e { Some(e) } else { None }).collect()
}

#[tokio::test]
async fn plan_and_apply_report_through_events_and_record_outputs() {
    let stack = Stack::new(TWO);
    let events = Arc::new(Collect::default());
    let mut run = stack.open(stack.settings(stack.request("test apply")), events.clone()).await.unwrap();
    let plan = run.plan().await.unwrap();
    assert_eq!(plan.graph.ops.len(), 2);
    let Applied::Executed { report, outputs } = run.apply(&plan, CancelToken::new()).await.unwrap() else {
        panic!("a normal plan runs the executor");
    };
    assert_eq!(report.outcome, ApplyOutcome::Success);
    assert_eq!(outputs.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["b"]);
    assert!(run.close().await.is_none(), "the lock was held throughout");

    let events = events.events();
    let applied = applied_events(&events);
    assert!(matches!(applied.first(), Some(Event::ApplyStarted { operations: 2 })), "{applied:?}");
    assert_eq!(applied.iter().filter(|e| matches!(e, Event::OpFinished { .. })).count(), 2);
    assert!(matches!(applied.last(), Some(Event::ApplyFinished { outcome: ApplyOutcome::Success })));

    // The history records the run under the settings' command, with the plan's counts.
    let history = stack.backend().history().await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].command, "test apply");
}

#[tokio::test]
async fn a_second_run_finds_the_state_locked_until_the_first_closes() {
    let stack = Stack::new(TWO);
    let first = stack.open(stack.settings(stack.request("first")), Arc::new(Silent)).await.unwrap();
    let second = stack.open(stack.settings(stack.request("second")), Arc::new(Silent)).await;
    match second {
        Err(RunError::Locked(holder)) => assert_eq!(holder.holder.command, "first"),
        other => panic!("expected the lock to be held, got {:?}", other.map(|_| ())),
    }
    first.close().await;
    let third = stack.open(stack.settings(stack.request("third")), Arc::new(Silent)).await.unwrap();
    third.close().await;
}

#[tokio::test]
async fn bad_addresses_and_variables_are_refused_before_any_state_is_opened() {
    let stack = Stack::new("variable \"n\" {\n  type = number\n}\nresource \"null_resource\" \"a\" {}\n");
    let config = stack.config();
    let mut request = stack.request("test");
    request.targets = vec!["not an address!".into()];
    request.variables.typed = vec![VarArg::Var("n=1".into())];
    let err = Settings::check(request, &config).unwrap_err();
    assert!(err.to_string().starts_with("--target: "), "{err}");

    let mut request = stack.request("test");
    request.variables.typed = vec![VarArg::Var("n=lots".into())];
    assert!(matches!(Settings::check(request, &config), Err(RunError::Diagnostics { .. })));

    let mut request = stack.request("test");
    request.variables.typed = vec![VarArg::File("missing.tfvars".into())];
    let err = Settings::check(request, &config).unwrap_err();
    assert!(err.to_string().contains("cannot read variables file missing.tfvars"), "{err}");
    assert!(!stack.state_file().exists(), "checking settings never touches the state");
}

#[tokio::test]
async fn parallelism_is_clamped_once() {
    let stack = Stack::new(TWO);
    let mut request = stack.request("test");
    request.parallelism = Some(0);
    let settings = stack.settings(request);
    assert_eq!((settings.parallelism(), settings.refresh_parallelism()), (1, 1));
    let mut request = stack.request("test");
    request.parallelism = Some(20);
    let settings = stack.settings(request);
    assert_eq!((settings.parallelism(), settings.refresh_parallelism()), (20, 20), "a given value is used for both");
}

#[tokio::test]
async fn reads_run_wider_than_changes_by_default() {
    let stack = Stack::new(TWO);
    let settings = stack.settings(stack.request("test"));
    assert_eq!(settings.parallelism(), DEFAULT_PARALLELISM);
    assert_eq!(settings.refresh_parallelism(), DEFAULT_REFRESH_PARALLELISM);
}

#[tokio::test]
async fn a_saved_plan_applies_only_to_the_state_it_was_made_from() {
    let stack = Stack::new(TWO);
    let mut run = stack.open(stack.settings(stack.request("plan")), Arc::new(Silent)).await.unwrap();
    let plan = run.plan().await.unwrap();
    planfile::save(&plan, stack.path(), Path::new("saved.tarnplan")).unwrap();
    // Another apply moves the state on before the saved plan is applied.
    run.apply(&plan, CancelToken::new()).await.unwrap();
    run.close().await;

    let mut request = stack.request("apply");
    request.saved_plan = Some("saved.tarnplan".into());
    let mut run = stack.open(stack.settings(request), Arc::new(Silent)).await.unwrap();
    let err = run.plan().await.unwrap_err();
    assert!(err.to_string().contains("the saved plan is stale"), "{err}");
    run.close().await;
}

#[tokio::test]
async fn a_sensitive_value_is_not_stored_without_a_state_key() {
    let config = "variable \"s\" {\n  sensitive = true\n  default = \"hush\"\n}\n\
                  resource \"null_resource\" \"a\" {\n  triggers = { s = var.s }\n}\n";
    let stack = Stack::new(config);
    let mut run = stack.open(stack.settings(stack.request("apply")), Arc::new(Silent)).await.unwrap();
    let plan = run.plan().await.unwrap();
    let err = run.apply(&plan, CancelToken::new()).await.unwrap_err();
    assert!(matches!(&err, RunError::NoStateKey(m) if m.starts_with("null_resource.a has sensitive values")), "{err}");
    run.close().await;
    assert!(stack.backend().history().await.unwrap().is_empty(), "refused before any run began");
}

#[tokio::test]
async fn import_records_an_object_and_refuses_an_address_already_managed() {
    let stack = Stack::new("resource \"null_resource\" \"a\" {}\n");
    let target = ImportTarget::check("null_resource.a", "42", &stack.config()).unwrap();
    let run = stack.open(stack.settings(stack.request("import")), Arc::new(Silent)).await.unwrap();
    run.import(&target, &CancelToken::new()).await.unwrap();
    run.close().await;
    let snapshot = stack.backend().snapshot().await.unwrap();
    assert_eq!(snapshot.resources.iter().map(|r| r.address.as_str()).collect::<Vec<_>>(), ["null_resource.a"]);

    let run = stack.open(stack.settings(stack.request("import")), Arc::new(Silent)).await.unwrap();
    let err = run.import(&target, &CancelToken::new()).await.unwrap_err();
    assert!(err.to_string().contains("already managed by tarn"), "{err}");
    run.close().await;

    let undeclared = ImportTarget::check("null_resource.b", "1", &stack.config()).unwrap_err();
    assert!(undeclared.to_string().contains("is not in the configuration"), "{undeclared}");
}

#[tokio::test]
async fn drift_check_reads_without_locking_or_writing() {
    let stack = Stack::new(TWO);
    let mut run = stack.open(stack.settings(stack.request("apply")), Arc::new(Silent)).await.unwrap();
    let plan = run.plan().await.unwrap();
    run.apply(&plan, CancelToken::new()).await.unwrap();
    run.close().await;
    let before = stack.backend().snapshot().await.unwrap();

    let backend = stack.backend();
    let settings = stack.settings(stack.request("drift"));
    let checked = Run::check_drift(&settings, &stack.config(), &backend, &FromFactory(Null), &[], Arc::new(Silent))
        .await
        .unwrap();
    assert!(!checked.report.has_drift());
    assert_eq!(checked.serial, before.serial);
    assert_eq!(stack.backend().snapshot().await.unwrap(), before);
    assert!(backend.current_lock().await.unwrap().is_none());
}

#[tokio::test]
async fn a_plan_without_state_creates_none() {
    let stack = Stack::new(TWO);
    let mut request = stack.request("plan");
    request.mode = PlanMode::Destroy;
    let mut run = Run::without_state(stack.settings(request), stack.config(), &FromFactory(Null), Arc::new(Silent))
        .await
        .unwrap();
    assert!(run.plan().await.unwrap().changes.is_empty());
    assert!(run.backend().is_none());
    run.close().await;
    assert!(!stack.state_file().exists());
}

/// A server spawns each run's work on its runtime: the run and its futures are `Send`.
#[allow(dead_code)]
fn runs_can_move_between_threads(mut run: Run, plan: crate::plan::Plan, settings: Settings, config: Arc<Config>) {
    fn send<T: Send>(_: T) {}
    send(Run::open(
        settings.clone(),
        config.clone(),
        run.backend().unwrap().clone(),
        &FromFactory(Null),
        Arc::new(Silent),
    ));
    send(run.apply(&plan, CancelToken::new()));
    send(run.plan());
    send(run);
}

#[tokio::test]
async fn warnings_are_returned_by_the_settings_check_and_sent_as_events_by_the_run() {
    let config = "resource \"null_resource\" \"a\" {}\n\
                  check \"never\" {\n  assert {\n    condition     = false\n    error_message = \"not yet\"\n  }\n}\n";
    let stack = Stack::new(config);
    std::fs::write(stack.path().join("extra.tfvars"), "nobody = 1\n").unwrap();
    let mut request = stack.request("plan");
    request.variables.typed = vec![VarArg::File("extra.tfvars".into())];
    let (settings, warnings) = Settings::check(request, &stack.config()).unwrap();
    assert!(warnings.iter().any(|d| d.detail.contains("extra.tfvars:1")), "{warnings:?}");

    let events = Arc::new(Collect::default());
    let mut run = stack.open(settings, events.clone()).await.unwrap();
    run.plan().await.unwrap();
    run.close().await;
    let warned = events
        .events()
        .into_iter()
        .any(|e| matches!(e, RunEvent::Warnings(d) if d.iter().any(|d| d.summary == crate::plan::CHECK_FAILED)));
    assert!(warned, "the failed check is reported as a warning event");
}

#[tokio::test]
async fn an_apply_interrupted_before_it_starts_changes_nothing() {
    let stack = Stack::new(TWO);
    let mut run = stack.open(stack.settings(stack.request("apply")), Arc::new(Silent)).await.unwrap();
    let plan = run.plan().await.unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    assert!(matches!(run.apply(&plan, cancel).await, Err(RunError::Interrupted(_))));
    run.close().await;
    assert!(stack.backend().snapshot().await.unwrap().resources.is_empty());
    assert!(stack.backend().history().await.unwrap().is_empty());
}

/// The null provider, except that `read` never answers.
struct ReadNeverAnswers(Arc<dyn Provider>);

#[async_trait::async_trait]
impl Provider for ReadNeverAnswers {
    fn name(&self) -> &str {
        self.0.name()
    }
    fn schema(&self) -> tarn_sdk::ProviderSchema {
        self.0.schema()
    }
    async fn read(&self, _req: tarn_sdk::ReadRequest) -> Result<Option<tarn_sdk::Value>, tarn_sdk::ProviderError> {
        std::future::pending().await
    }
    async fn create(&self, req: tarn_sdk::CreateRequest) -> Result<tarn_sdk::Value, tarn_sdk::ProviderError> {
        self.0.create(req).await
    }
    async fn update(&self, req: tarn_sdk::UpdateRequest) -> Result<tarn_sdk::Value, tarn_sdk::ProviderError> {
        self.0.update(req).await
    }
    async fn delete(&self, req: tarn_sdk::DeleteRequest) -> Result<(), tarn_sdk::ProviderError> {
        self.0.delete(req).await
    }
    async fn adopt(&self, req: tarn_sdk::AdoptRequest) -> Result<Option<tarn_sdk::Value>, tarn_sdk::ProviderError> {
        self.0.adopt(req).await
    }
}

struct Unanswering;

impl ProviderFactory for Unanswering {
    fn instantiate(&self, name: &str) -> Option<Arc<dyn Provider>> {
        (name == "null").then(|| Arc::new(ReadNeverAnswers(tarn_provider_null::provider())) as Arc<dyn Provider>)
    }
    fn names(&self) -> Vec<String> {
        vec!["null".into()]
    }
}

#[tokio::test]
async fn a_refresh_read_that_never_answers_fails_at_the_runs_provider_timeout() {
    let stack = Stack::new(TWO);
    let mut run = stack.open(stack.settings(stack.request("apply")), Arc::new(Silent)).await.unwrap();
    let plan = run.plan().await.unwrap();
    run.apply(&plan, CancelToken::new()).await.unwrap();
    run.close().await;

    let mut request = stack.request("plan");
    request.provider_timeout = Some(std::time::Duration::from_millis(200));
    let settings = stack.settings(request);
    let mut run = Run::open(settings, stack.config(), stack.backend(), &FromFactory(Unanswering), Arc::new(Silent))
        .await
        .unwrap();
    let err = run.plan().await.map(|_| ()).unwrap_err();
    run.close().await;
    let RunError::Diagnostics { diags, .. } = err else { panic!("expected diagnostics, got {err:?}") };
    let details: Vec<&str> = diags.iter().map(|d| d.detail.as_str()).collect();
    assert!(
        details
            .iter()
            .any(|d| d.starts_with("Reading null_resource.a failed:")
                && d.contains("did not answer `read` within 200ms")),
        "{details:?}"
    );
}

#[test]
fn a_zero_provider_timeout_is_refused_before_the_lock() {
    let stack = Stack::new(TWO);
    let mut request = stack.request("apply");
    request.provider_timeout = Some(std::time::Duration::ZERO);
    let err = Settings::check(request, &stack.config()).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("--provider-timeout must be longer than zero"), "{err}");
}

/// Core reads no environment: `pathexpand` and `abspath` use the home and working directory
/// the request gives, not the process's `HOME` and current directory, at plan time (a known
/// trigger) and at apply time (an output known only once `a` exists).
#[tokio::test]
async fn path_functions_use_the_requests_home_and_cwd_not_the_processs() {
    let stack = Stack::new(
        r#"
resource "null_resource" "a" {
  triggers = { home = pathexpand("~/x"), abs = abspath("sub/../y") }
}
output "later" {
  value = pathexpand("~/${null_resource.a.id}")
}
"#,
    );
    let home = stack.path().join("the-requests-home");
    let process_home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    assert_ne!(process_home.as_deref(), Some(home.as_path()), "the test needs a home unlike the process's");
    assert_ne!(
        std::env::current_dir().ok().as_deref(),
        Some(stack.path()),
        "the test needs a cwd unlike the process's"
    );
    let mut request = stack.request("test apply");
    request.home = Some(home.clone());
    let mut run = stack.open(stack.settings(request), Arc::new(Silent)).await.unwrap();
    let plan = run.plan().await.unwrap();
    let after = plan.changes[0].after.as_ref().unwrap();
    let trigger = |name: &str| after.get("triggers").and_then(|t| t.get(name)).cloned();
    assert_eq!(trigger("home"), Some(tarn_sdk::Value::string(format!("{}/x", home.display()))));
    assert_eq!(trigger("abs"), Some(tarn_sdk::Value::string(format!("{}/y", stack.path().display()))));
    let Applied::Executed { outputs, .. } = run.apply(&plan, CancelToken::new()).await.unwrap() else {
        panic!("a normal plan runs the executor");
    };
    let later = outputs[0].value.as_str().unwrap();
    assert!(later.starts_with(&format!("{}/", home.display())), "{later}");
    run.close().await;
}

/// A request without a home (a server's default) does not fall back to the process's `HOME`:
/// `pathexpand("~")` is an error the plan reports.
#[tokio::test]
async fn without_a_home_in_the_request_pathexpand_of_a_tilde_fails() {
    let stack = Stack::new(
        r#"
resource "null_resource" "a" {
  triggers = { home = pathexpand("~/x") }
}
"#,
    );
    let mut run = stack.open(stack.settings(stack.request("test plan")), Arc::new(Silent)).await.unwrap();
    let err = run.plan().await.unwrap_err();
    let err = format!("{err} {err:?}");
    assert!(err.contains("cannot find the home directory"), "{err}");
    run.close().await;
}
