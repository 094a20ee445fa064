//! `tarn import ADDR ID`: one existing object recorded in the state under an address declared
//! in configuration, the object itself unchanged. [`ImportTarget::check`] checks what needs no
//! state (the address parses, is a managed resource, is declared; the ID is not empty) before
//! the run is opened; [`Run::import`] checks the rest before writing anything (the state does
//! not hold the address yet, configuration produces that instance, the provider finds the
//! object). The write is a one-operation plan run by the executor, so it is journaled,
//! written as one state row and recorded in the run history, exactly like an import planned
//! from an `import {}` block.

use super::Run;
use super::error::RunError;
use super::events::{Observer, RunEvent};
use super::settings::Selection;
use crate::config::Config;
use crate::exec::{self, ApplyContext, ApplyOptions, ApplyOutcome, CancelToken, Event, EventSink};
use crate::plan::{
    self, Action, ApplyEvaluator, ChangeReason, ExecGraph, Op, OpKind, Phase, Plan, PlanMode, ResourceChange,
};
use std::sync::{Arc, Mutex};
use tarn_sdk::{Address, Mode, Value};
use tarn_state::RunStart;

/// What to import: a checked address and the provider's ID for the object.
#[derive(Debug, Clone)]
pub struct ImportTarget {
    address: Address,
    id: String,
}

impl ImportTarget {
    /// Checks `address` and `id` against `config`, without the state or any provider.
    pub fn check(address: &str, id: &str, config: &Config) -> Result<ImportTarget, RunError> {
        let target = ImportTarget::parse(address, id)?;
        declared(config, &target.address)?;
        Ok(target)
    }

    /// Checks what needs not even the configuration: the address parses and names a managed
    /// resource, the ID is not empty. [`ImportTarget::check`] checks the configuration too.
    pub fn parse(address: &str, id: &str) -> Result<ImportTarget, RunError> {
        let parsed: Address = address.parse().map_err(|e| {
            RunError::Failed(format!(
                "invalid address {address:?}: {e}. Give a resource instance address, like null_resource.a or \
                 'local_file.f[\"x\"]'. Nothing was changed."
            ))
        })?;
        if parsed.mode == Mode::Data {
            return Err(RunError::Failed(format!(
                "{parsed} is a data source; data sources are read, not imported. Nothing was changed."
            )));
        }
        if id.is_empty() {
            return Err(RunError::Failed(
                "the import ID is empty; give the ID the provider knows the object by. Nothing was changed.".into(),
            ));
        }
        Ok(ImportTarget { address: parsed, id: id.to_string() })
    }

    /// Checks that the configuration declares the target's resource block.
    pub fn declared_in(self, config: &Config) -> Result<ImportTarget, RunError> {
        declared(config, &self.address)?;
        Ok(self)
    }

    pub fn address(&self) -> &Address {
        &self.address
    }
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The address must name a managed resource block of the configuration.
fn declared(config: &Config, address: &Address) -> Result<(), RunError> {
    let path: Vec<String> = address.module.iter().map(|s| s.name.clone()).collect();
    let key = format!("{}.{}", address.type_name, address.name);
    let block = crate::graph::module_at(config, &path).and_then(|t| t.module.resources.get(&key));
    if block.is_none() {
        return Err(RunError::Failed(format!(
            "{address} is not in the configuration: there is no `resource \"{}\" \"{}\"` block{}. Add a resource block \
             describing the object first; tarn imports only into declared resources. Nothing was changed.",
            address.type_name,
            address.name,
            if path.is_empty() { String::new() } else { format!(" in module.{}", path.join(".module.")) }
        )));
    }
    Ok(())
}

impl Run {
    /// Imports the object. `cancel`: a provider call already made finishes; nothing is
    /// imported after it.
    pub async fn import(&self, target: &ImportTarget, cancel: &CancelToken) -> Result<(), RunError> {
        let (address, id) = (&target.address, target.id.as_str());
        let held = self.held()?;
        let wanted = address.to_string();
        if self.snapshot.resources.iter().any(|r| r.address == wanted) {
            return Err(RunError::Failed(format!(
                "{address} is already managed by tarn (it is in the state). To import another object there, remove it \
                 from the state first (`tarn state rm {address}`). Nothing was changed."
            )));
        }
        // Plan the target alone (without refresh) to learn whether configuration produces this
        // instance, which provider configuration serves it, and what it depends on.
        let block = Address { key: None, ..address.clone() };
        let selection = Selection { targets: vec![block.clone()], ..Selection::default() };
        let planned = self.plan_from(&self.snapshot, PlanMode::Normal, &selection, false).await?;
        let Some(target) = planned.changes.iter().find(|c| c.address == *address) else {
            let instances: Vec<String> =
                planned.changes.iter().filter(|c| c.address.is_within(&block)).map(|c| c.address.to_string()).collect();
            let has = if instances.is_empty() { "no instances".to_string() } else { instances.join(", ") };
            return Err(RunError::Failed(format!(
                "{address} is not an instance the configuration produces ({block} has {has}). Nothing was changed."
            )));
        };
        let provider = self.providers.get(&target.provider).ok_or_else(|| {
            RunError::Failed(format!(
                "{address} needs provider configuration {:?}, which is not available",
                target.provider
            ))
        })?;
        let found = plan::import_object(provider.as_ref(), &address.type_name, id).await.map_err(|e| {
            RunError::Failed(format!(
                "{} Check the ID; nothing was changed.",
                plan::import_failed(address, &target.provider, id, &e)
            ))
        })?;
        let value = match self
            .providers
            .schemas()
            .get(plan::parse_provider_key(&target.provider).name.as_str())
            .and_then(|s| s.resources.get(&address.type_name))
        {
            Some(schema) => plan::mark_sensitive(found, schema),
            None => found,
        };
        let one = single_import_plan(&planned, target, id, value);
        self.refuse_secrets_without_key(&one)?;
        let not_imported =
            || RunError::Interrupted(format!("Interrupted: {address} was not imported; nothing was changed."));
        if cancel.is_cancelled() {
            return Err(not_imported());
        }
        let events = Arc::new(Failures { errors: Mutex::default(), observer: self.observer.clone() });
        let ctx = ApplyContext {
            providers: self.providers.to_map(),
            backend: held.backend.clone(),
            finalizer: Arc::new(
                ApplyEvaluator::new(
                    self.config.clone(),
                    self.settings.variables.clone(),
                    self.providers.schemas().clone(),
                    &one,
                    self.settings.cwd.clone(),
                )
                .with_home(self.settings.home.clone()),
            ),
            schemas: self.providers.schemas().clone(),
            options: ApplyOptions { parallelism: 1, ..ApplyOptions::default() },
            events: events.clone(),
            cancel: cancel.clone(),
            run: RunStart {
                command: self.settings.command.clone(),
                holder: self.settings.holder.clone(),
                summary: serde_json::json!({ "import": 1, "address": wanted, "id": id }),
            },
        };
        let report =
            exec::apply(&one, ctx).await.map_err(|e| RunError::Failed(format!("import could not run: {e}")))?;
        match report.outcome {
            // Interrupted while its one operation ran: that operation finished, so it is imported.
            ApplyOutcome::Success | ApplyOutcome::Interrupted
                if report.failed.is_empty() && report.skipped.is_empty() =>
            {
                Ok(())
            }
            ApplyOutcome::Interrupted if report.failed.is_empty() => Err(not_imported()),
            _ => {
                let why = report.failed.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; ");
                let errors = events.errors.lock().map(|e| e.join("; ")).unwrap_or_default();
                Err(RunError::Failed(format!(
                    "importing {address} failed: {}. Nothing was imported.",
                    if why.is_empty() { errors } else { why }
                )))
            }
        }
    }
}

/// A plan with one change: import `id` into the target, nothing else.
fn single_import_plan(planned: &Plan, target: &ResourceChange, id: &str, value: Value) -> Plan {
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

/// Keeps the failures (the error names them) and forwards every event.
struct Failures {
    errors: Mutex<Vec<String>>,
    observer: Arc<dyn Observer>,
}

impl EventSink for Failures {
    fn emit(&self, event: Event) {
        if let Event::OpFailed { error, .. } | Event::RollbackOpFailed { error, .. } = &event
            && let Ok(mut e) = self.errors.lock()
        {
            e.push(error.clone());
        }
        self.observer.event(RunEvent::Apply(event));
    }
}
