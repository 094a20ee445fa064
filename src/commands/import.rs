//! `tarn import ADDR ID`: records one existing object in the state under an address declared in
//! configuration, without changing the object. Checks everything before writing anything: the
//! address parses and names an instance configuration produces, the state does not hold it yet,
//! the provider finds the object (`import`, then `read`). The write itself is a one-operation
//! plan run by the executor, so it is journaled, written as one state row, and recorded in the
//! run history as "tarn import", exactly like an import planned from an `import {}` block.

use super::apply::refuse_secrets_without_key;
use super::workflow::{self, Session};
use crate::cli::{ImportArgs, SelectArgs};
use crate::error::CliError;
use crate::stack;
use std::sync::Arc;
use tarn_core::exec::{self, ApplyContext, ApplyOptions, ApplyOutcome, CancelToken, Event, EventSink};
use tarn_core::plan::{
    self, Action, ApplyEvaluator, ChangeReason, ExecGraph, Op, OpKind, Phase, Plan, PlanMode, ResourceChange,
};
use tarn_sdk::{Address, Mode};
use tarn_state::RunStart;

const COMMAND: &str = "tarn import";

pub async fn run(args: ImportArgs) -> Result<(), CliError> {
    let address: Address = args.address.parse().map_err(|e| {
        CliError::Failed(format!(
            "invalid address {:?}: {e}. Give a resource instance address, like null_resource.a or 'local_file.f[\"x\"]'. \
             Nothing was changed.",
            args.address
        ))
    })?;
    if address.mode == Mode::Data {
        return Err(CliError::Failed(format!(
            "{address} is a data source; data sources are read, not imported. Nothing was changed."
        )));
    }
    if args.id.is_empty() {
        return Err(CliError::Failed(
            "the import ID is empty; give the ID the provider knows the object by. Nothing was changed.".into(),
        ));
    }
    let config = workflow::load_config()?;
    declared(&config, &address)?;
    // SIGINT and SIGTERM: a provider call already made finishes; nothing is imported after.
    let cancel = CancelToken::new();
    stack::watch_interrupts(cancel.clone(), "letting the running provider call finish, then stopping")?;
    let variables = workflow::resolve_variables(&config, &args.config)?;
    let session = Session::open(&crate::location::locate()?, config, variables, &args.run, COMMAND).await?;
    let result = run_locked(&session, &address, &args.id, &cancel).await;
    // As for apply: a lost lock is what the user must hear about, with the calls it made.
    let result = match session.backend.lease_loss() {
        Some(loss) => Err(crate::stack::lease_lost(&loss)),
        None => result,
    };
    session.close().await;
    result
}

/// The address must name a managed resource block of the configuration.
fn declared(config: &tarn_core::config::Config, address: &Address) -> Result<(), CliError> {
    let path: Vec<String> = address.module.iter().map(|s| s.name.clone()).collect();
    let key = format!("{}.{}", address.type_name, address.name);
    let block = tarn_core::graph::module_at(config, &path).and_then(|t| t.module.resources.get(&key));
    if block.is_none() {
        return Err(CliError::Failed(format!(
            "{address} is not in the configuration: there is no `resource \"{}\" \"{}\"` block{}. Add a resource block \
             describing the object first; tarn imports only into declared resources. Nothing was changed.",
            address.type_name,
            address.name,
            if path.is_empty() { String::new() } else { format!(" in module.{}", path.join(".module.")) }
        )));
    }
    Ok(())
}

async fn run_locked(session: &Session, address: &Address, id: &str, cancel: &CancelToken) -> Result<(), CliError> {
    let wanted = address.to_string();
    if session.planning.snapshot.resources.iter().any(|r| r.address == wanted) {
        return Err(CliError::Failed(format!(
            "{address} is already managed by tarn (it is in the state). To import another object there, remove it from \
             the state first (`tarn state rm {address}`). Nothing was changed."
        )));
    }
    // Plan the target alone (without refresh) to learn whether configuration produces this
    // instance, which provider configuration serves it, and what it depends on.
    let block = Address { key: None, ..address.clone() };
    let select = SelectArgs { targets: vec![block.to_string()], ..SelectArgs::default() };
    let planned = session.planning.plan(PlanMode::Normal, &select, false).await?;
    let Some(target) = planned.changes.iter().find(|c| c.address == *address) else {
        let instances: Vec<String> =
            planned.changes.iter().filter(|c| c.address.is_within(&block)).map(|c| c.address.to_string()).collect();
        let has = if instances.is_empty() { "no instances".to_string() } else { instances.join(", ") };
        return Err(CliError::Failed(format!(
            "{address} is not an instance the configuration produces ({block} has {has}). Nothing was changed."
        )));
    };
    let provider = session.planning.providers.get(&target.provider).ok_or_else(|| {
        CliError::Failed(format!(
            "{address} needs provider configuration {:?}, which is not available",
            target.provider
        ))
    })?;
    let found = plan::import_object(provider.as_ref(), &address.type_name, id).await.map_err(|e| {
        CliError::Failed(format!(
            "{} Check the ID; nothing was changed.",
            plan::import_failed(address, &target.provider, id, &e)
        ))
    })?;
    let value = match session
        .planning
        .providers
        .schemas()
        .get(plan::parse_provider_key(&target.provider).name.as_str())
        .and_then(|s| s.resources.get(&address.type_name))
    {
        Some(schema) => plan::mark_sensitive(found, schema),
        None => found,
    };
    let one = single_import_plan(&planned, target, id, value);
    refuse_secrets_without_key(&one)?;
    if cancel.is_cancelled() {
        return Err(CliError::Interrupted(format!("Interrupted: {address} was not imported; nothing was changed.")));
    }
    let events = Arc::new(Quiet::default());
    let ctx = ApplyContext {
        providers: session.planning.providers.to_map(),
        backend: session.backend.clone(),
        finalizer: Arc::new(ApplyEvaluator::new(
            session.planning.config.clone(),
            session.planning.variables.clone(),
            session.planning.providers.schemas().clone(),
            &one,
            std::env::current_dir().unwrap_or_default(),
        )),
        schemas: session.planning.providers.schemas().clone(),
        options: ApplyOptions { parallelism: 1, ..ApplyOptions::default() },
        events: events.clone(),
        cancel: cancel.clone(),
        run: RunStart {
            command: COMMAND.to_string(),
            holder: stack::holder(COMMAND),
            summary: serde_json::json!({ "import": 1, "address": wanted, "id": id }),
        },
    };
    let report = exec::apply(&one, ctx).await.map_err(|e| CliError::Failed(format!("import could not run: {e}")))?;
    match report.outcome {
        // Interrupted while its one operation ran: that operation finished, so it is imported.
        ApplyOutcome::Success | ApplyOutcome::Interrupted if report.failed.is_empty() && report.skipped.is_empty() => {
            outln!("{address}: imported from ID {id:?}.");
            outln!(
                "\nImport successful: {address} is now in the state and tarn manages it. The object was not changed; \
                 run `tarn plan` to see how it differs from its configuration."
            );
            Ok(())
        }
        ApplyOutcome::Interrupted if report.failed.is_empty() => {
            Err(CliError::Interrupted(format!("Interrupted: {address} was not imported; nothing was changed.")))
        }
        _ => {
            let why = report.failed.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; ");
            let errors = events.errors();
            Err(CliError::Failed(format!(
                "importing {address} failed: {}. Nothing was imported.",
                if why.is_empty() { errors.join("; ") } else { why }
            )))
        }
    }
}

/// A plan with one change: import `id` into the target, nothing else.
fn single_import_plan(planned: &Plan, target: &ResourceChange, id: &str, value: tarn_sdk::Value) -> Plan {
    let change = ResourceChange {
        address: target.address.clone(),
        provider: target.provider.clone(),
        action: Action::NoOp,
        before: Some(value.clone()),
        after: Some(value),
        reasons: vec![ChangeReason::Import { id: id.to_string() }],
        irreversible: false,
        notes: Vec::new(),
        dependencies: target.dependencies.clone(),
        deposed: None,
        prior_provider: None,
    };
    Plan {
        changes: vec![change],
        outputs: Vec::new(),
        drift: Vec::new(),
        graph: ExecGraph { ops: vec![Op { kind: OpKind::Import, change: 0, phase: Phase::Main }], edges: Vec::new() },
        ..planned.clone()
    }
}

/// Collects failures; the command prints its own summary.
#[derive(Default)]
struct Quiet {
    errors: std::sync::Mutex<Vec<String>>,
}

impl Quiet {
    fn errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl EventSink for Quiet {
    fn emit(&self, event: Event) {
        if let Event::OpFailed { error, .. } | Event::RollbackOpFailed { error, .. } = event
            && let Ok(mut e) = self.errors.lock()
        {
            e.push(error);
        }
    }
}
