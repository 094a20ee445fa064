//! Crash recovery, run before the next plan: resolves every journal intent that has no outcome
//! (left by a run that was killed, or by a call whose effect was unknown). Creates are looked
//! up by their correlation tag (`Provider::adopt`) and recorded when found — an object the
//! address's row held until then is kept as a *deposed* object, which the next plan deletes;
//! updates and deletes are re-read and their state row fixed. Runs left "running" are marked
//! interrupted. Last, a deposed row that duplicates its address's current row (a run killed
//! between deposing and creating) is dropped. It never creates or updates an object; it
//! deletes only what an interrupted rollback was deleting, or an object of an older run's
//! journal that no row can hold, so that no object is left that tarn does not know about.
//!
//! Its provider calls are fenced like the worker's (`Backend::confirm_lease` before each): a
//! run that lost its lock recovers nothing more.
//!
//! Intent details hold planned attributes redacted of secrets, so a provider that adopts by
//! content rather than by tag cannot match on sensitive attributes.

use super::error::ExecError;
use super::journal::{self, IntentDetail, Outcome};
use super::model::{Event, EventSink};
use super::values::SchemaIndex;
use super::values::{RowMeta, deposed_key, from_record, remark, same_object, to_record};
use crate::deadline::{self, CallDeadlines};
use crate::plan::Schemas;
use std::collections::HashMap;
use std::sync::Arc;
use tarn_sdk::{Address, AdoptRequest, DeleteRequest, Provider, ReadRequest, ResourceSchema, Value};
use tarn_state::{Backend, JournalEntry, JournalRecord, ResourceRecord, RunOutcome};

pub struct RecoverContext {
    /// Configured providers by provider configuration key.
    pub providers: HashMap<String, Arc<dyn Provider>>,
    pub backend: Arc<dyn Backend>,
    /// Provider schemas by provider name (the planner's `Schemas`), to mark sensitive
    /// attributes of adopted objects.
    pub schemas: Schemas,
    pub events: Arc<dyn EventSink>,
    /// The limits on one provider call (adoption lookups and reads take the read limit, the
    /// clean-up delete the change limit).
    pub deadlines: CallDeadlines,
}

/// One open intent and how it was resolved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Recovered {
    pub run_id: String,
    pub address: String,
    pub op: String,
    pub resolution: Resolution,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolution {
    /// The interrupted create made the object; it is now recorded.
    Adopted { correlation: String },
    /// The interrupted create made nothing.
    NotCreated,
    /// The object was re-read and its row rewritten.
    Refreshed,
    /// The object is gone; its row was removed.
    Gone,
    /// An interrupted rollback of a create_before_destroy replacement: the replacement is gone
    /// and the previous object's row is back.
    Restored,
    /// An object no state row can hold (the old or new half of an interrupted
    /// create_before_destroy replacement) was deleted.
    RemovedUntracked,
    /// Nothing to do (a data source read, or a row already removed).
    NothingToDo,
    /// Could not be resolved now (provider unreachable, not configured); the intent stays
    /// open. The CLI must not apply until it is resolved.
    Unresolved { reason: String },
}

/// Resolves open intents and marks interrupted runs. Call with the state lock held, before
/// planning.
pub async fn recover(ctx: RecoverContext) -> Result<Vec<Recovered>, ExecError> {
    let backend = ctx.backend.as_ref();
    for run in backend.history().await.map_err(ExecError::state("reading the run history"))? {
        if run.outcome == RunOutcome::Running {
            backend
                .finish_run(&run.id, RunOutcome::Interrupted, serde_json::json!({"found_by": "recover"}))
                .await
                .map_err(ExecError::state("marking an interrupted run"))?;
        }
    }
    let intents = backend.open_intents().await.map_err(ExecError::state("reading open journal intents"))?;
    if intents.is_empty() {
        return Ok(Vec::new());
    }
    let snapshot = backend.snapshot().await.map_err(ExecError::state("reading the state snapshot"))?;
    let mut rows = Rows::default();
    for r in snapshot.resources {
        match r.deposed.clone() {
            Some(key) => rows.deposed.insert((r.address.clone(), key), r),
            None => rows.current.insert(r.address.clone(), r),
        };
    }
    let schemas = SchemaIndex::new(&ctx.schemas);
    let mut out = Vec::with_capacity(intents.len());
    for intent in intents {
        let resolution = match resolve(&ctx, &schemas, &intent, &mut rows).await {
            Ok(r) => r,
            Err(reason) => Resolution::Unresolved { reason },
        };
        if !matches!(resolution, Resolution::Unresolved { .. }) {
            let note = serde_json::to_string(&resolution).unwrap_or_default();
            backend.close_intent(intent.seq, &note).await.map_err(ExecError::state("closing a recovered intent"))?;
        }
        out.push(Recovered {
            run_id: intent.entry.run_id.clone(),
            address: intent.entry.address.clone(),
            op: intent.entry.op.clone(),
            resolution,
        });
    }
    drop_duplicate_deposed(backend, &mut rows).await?;
    Ok(out)
}

/// The rows recovery works on, kept up to date as it writes.
#[derive(Default)]
struct Rows {
    /// Current objects by address.
    current: HashMap<String, ResourceRecord>,
    /// Deposed objects by (address, deposed key).
    deposed: HashMap<(String, String), ResourceRecord>,
}

/// Drops every deposed row that holds the same object as its address's current row: a run
/// killed after deposing the old object but before recording the new one (or after restoring
/// the old one but before removing its deposed copy) leaves one. The object keeps its current
/// row; deleting it through the provider would be wrong.
async fn drop_duplicate_deposed(backend: &dyn Backend, rows: &mut Rows) -> Result<(), ExecError> {
    let duplicates: Vec<(String, String)> = rows
        .deposed
        .iter()
        .filter(|((address, _), d)| rows.current.get(address).is_some_and(|c| same_object(c, d)))
        .map(|(k, _)| k.clone())
        .collect();
    for (address, key) in duplicates {
        backend.delete_deposed(&address, &key).await.map_err(ExecError::state("dropping a duplicate deposed row"))?;
        rows.deposed.remove(&(address, key));
    }
    Ok(())
}

/// Resolves one intent; `Err` leaves it open.
async fn resolve(
    ctx: &RecoverContext,
    schemas: &SchemaIndex,
    intent: &JournalRecord,
    rows: &mut Rows,
) -> Result<Resolution, String> {
    let entry = &intent.entry;
    if entry.op == super::moves::OP {
        // A renamed row: no provider is involved.
        let done =
            super::moves::recover_move(ctx.backend.as_ref(), &entry.address, &entry.detail, &mut rows.current).await?;
        return Ok(if done { Resolution::Refreshed } else { Resolution::NothingToDo });
    }
    if entry.op == "import" {
        // An import only reads: whether or not its row was written, nothing exists that tarn
        // does not know about (an unrecorded import is imported again by the next plan).
        return Ok(Resolution::NothingToDo);
    }
    let address: Address = entry.address.parse().map_err(|e| format!("{e}"))?;
    let detail = &entry.detail;
    let provider_key =
        detail.get("provider").and_then(|p| p.as_str()).unwrap_or_else(|| address.implied_provider()).to_string();
    let provider = ctx
        .providers
        .get(&provider_key)
        .ok_or_else(|| format!("the provider configuration `{provider_key}` is not configured"))?;
    let it = Pending {
        ctx,
        provider: provider.as_ref(),
        schema: schemas.get(&provider_key, &address).map(|s| s.as_ref()),
        type_name: detail.get("type").and_then(|t| t.as_str()).unwrap_or(&address.type_name).to_string(),
        journaled: detail.get("planned").cloned().unwrap_or_default(),
        deposed: detail.get("deposed").and_then(|d| d.as_str()).map(str::to_string),
        seq: intent.seq,
        provider_key,
        address,
        entry,
    };
    match entry.op.as_str() {
        // A restore is a create from the recorded state, tagged the same way.
        "create" | "rollback-restore" => it.create(rows).await,
        "update" | "rollback-update" => it.refresh_row(rows, None).await,
        "delete" | "rollback-delete" => it.delete(rows).await,
        _ => Ok(Resolution::NothingToDo),
    }
}

/// One open intent being resolved.
struct Pending<'a> {
    ctx: &'a RecoverContext,
    provider: &'a dyn Provider,
    schema: Option<&'a ResourceSchema>,
    provider_key: String,
    type_name: String,
    address: Address,
    entry: &'a JournalEntry,
    /// The value sent with the interrupted call, redacted.
    journaled: serde_json::Value,
    /// The deposed key the call concerned (see `IntentDetail::deposed`).
    deposed: Option<String>,
    seq: i64,
}

impl Pending<'_> {
    async fn create(&self, rows: &mut Rows) -> Result<Resolution, String> {
        let Some(correlation) = self.entry.correlation.clone() else {
            return Err("the create intent has no correlation tag".into());
        };
        let planned = Value::from_json(&self.journaled);
        let req = AdoptRequest { type_name: self.type_name.clone(), correlation: correlation.clone(), planned };
        let lease = self.fence("adopt").await?;
        let adopted = deadline::bounded(self.ctx.deadlines.read, "adopt", self.provider.adopt(req)).await;
        drop(lease);
        let Some(value) = adopted.map_err(|e| format!("adopt failed: {e}"))? else {
            // A deposed copy of the object it was to replace is dropped at the end.
            return Ok(Resolution::NotCreated);
        };
        let existing = rows.current.get(&self.entry.address).cloned();
        if let Some(old) = existing.clone().filter(|r| r.correlation.as_deref() != Some(correlation.as_str())) {
            // The row holds another object: the one a create_before_destroy replacement was
            // replacing (or, from an older tarn's journal, any object there). It stays known,
            // as deposed, and the next plan deletes it.
            let key = self.deposed.clone().unwrap_or_else(|| deposed_key(&self.entry.run_id, self.seq as u32));
            if !rows.deposed.contains_key(&(self.entry.address.clone(), key.clone())) {
                let mut old = old;
                old.deposed = Some(key.clone());
                self.put_row(old, rows).await?;
            }
        }
        let meta = RowMeta {
            address: self.address.clone(),
            provider: self.provider_key.clone(),
            // A replaced object's row keeps its dependencies; a new one takes those its create
            // journaled (none in an older tarn's journal).
            dependencies: existing.map(|r| r.dependencies).unwrap_or_else(|| self.journaled_dependencies()),
            correlation: Some(correlation.clone()),
        };
        let record = to_record(&meta, &remark(value, self.schema, None));
        self.put_row(record, rows).await?;
        self.ctx.events.emit(Event::Adopted { address: self.address.clone(), correlation: correlation.clone() });
        Ok(Resolution::Adopted { correlation })
    }

    /// The dependencies the interrupted call journaled for the object's row.
    fn journaled_dependencies(&self) -> Vec<String> {
        let listed = self.entry.detail.get("dependencies").and_then(|d| d.as_array());
        listed.map(|l| l.iter().filter_map(|a| a.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    /// Re-reads the recorded object (the deposed one when `deposed` is set) and rewrites (or
    /// removes) its row.
    async fn refresh_row(&self, rows: &mut Rows, deposed: Option<&str>) -> Result<Resolution, String> {
        let address = self.entry.address.clone();
        let row = match deposed {
            Some(key) => rows.deposed.get(&(address.clone(), key.to_string())),
            None => rows.current.get(&address),
        };
        let Some(row) = row.cloned() else { return Ok(Resolution::NothingToDo) };
        let recorded = from_record(&row);
        match self.read(&recorded).await? {
            Some(value) => {
                let meta = RowMeta {
                    address: self.address.clone(),
                    provider: row.provider.clone(),
                    dependencies: row.dependencies.clone(),
                    correlation: row.correlation.clone(),
                };
                let mut record = to_record(&meta, &remark(value, self.schema, Some(&recorded)));
                record.deposed = row.deposed.clone();
                self.put_row(record, rows).await?;
                Ok(Resolution::Refreshed)
            }
            None => {
                self.remove_row(rows, deposed).await?;
                Ok(Resolution::Gone)
            }
        }
    }

    async fn delete(&self, rows: &mut Rows) -> Result<Resolution, String> {
        let restores = self.entry.detail.get("restores").filter(|r| !r.is_null());
        if let (Some(key), None) = (&self.deposed, restores) {
            // The delete of a deposed object: if it is still there, its row stays and the
            // next plan deletes it again.
            return self.refresh_row(rows, Some(key)).await;
        }
        let Some(row) = rows.current.get(&self.entry.address) else { return Ok(Resolution::NothingToDo) };
        if from_record(row).to_json_redacted() == self.journaled {
            if let Some(old) = restores {
                // A rollback was deleting a create_before_destroy replacement to put the
                // previous object back: finish it.
                if let Some(new) = self.read(&from_record(row)).await? {
                    self.delete_untracked(new).await?;
                }
                return self.restore(old, rows).await;
            }
            return self.refresh_row(rows, None).await;
        }
        if self.deposed.is_some() {
            // A rollback that had already put the previous object back: only its deposed copy
            // may be left, and the duplicate check at the end drops it.
            return Ok(Resolution::NothingToDo);
        }
        // From an older tarn's journal: the row holds another object (the create_before_destroy
        // replacement) and the object being deleted is tracked nowhere else, so finish the
        // delete the plan approved.
        match self.read(&Value::from_json(&self.journaled)).await? {
            Some(value) => {
                self.delete_untracked(value).await?;
                Ok(Resolution::RemovedUntracked)
            }
            None => Ok(Resolution::NothingToDo),
        }
    }

    /// Records the previous object as current again: from its deposed row when the apply kept
    /// one (every field intact), else — an older tarn's journal — if it still exists, read by
    /// its journaled, redacted identity (providers read by id).
    async fn restore(&self, old: &serde_json::Value, rows: &mut Rows) -> Result<Resolution, String> {
        if let Some(key) = &self.deposed
            && let Some(mut record) = rows.deposed.get(&(self.entry.address.clone(), key.clone())).cloned()
        {
            record.deposed = None;
            self.put_row(record, rows).await?;
            self.remove_row(rows, Some(key)).await?;
            return Ok(Resolution::Restored);
        }
        let Some(value) = self.read(&Value::from_json(old)).await? else {
            self.remove_row(rows, None).await?;
            return Ok(Resolution::Gone);
        };
        let meta = RowMeta {
            address: self.address.clone(),
            provider: self.provider_key.clone(),
            dependencies: Vec::new(),
            correlation: None,
        };
        self.put_row(to_record(&meta, &remark(value, self.schema, None)), rows).await?;
        Ok(Resolution::Restored)
    }

    /// Reads the object `state` (marks kept) describes; the provider gets it unmarked, its logs
    /// still mask what was marked.
    async fn read(&self, state: &Value) -> Result<Option<Value>, String> {
        let req = ReadRequest { type_name: self.type_name.clone(), state: state.unmark_deep() };
        let lease = self.fence("read").await?;
        let read = deadline::bounded(
            self.ctx.deadlines.read,
            "read",
            tarn_sdk::call::with_secrets([state], self.provider.read(req)),
        )
        .await;
        drop(lease);
        read.map_err(|e| format!("read failed: {e}"))
    }

    /// Fencing, as for every provider call of a run: the call is made only while the lock is
    /// still this run's, and is counted as made under it until it returns.
    async fn fence(&self, op: &str) -> Result<tarn_state::LeaseUse, String> {
        let what = match &self.entry.correlation {
            Some(tag) => format!("recover-{op} {} (correlation tag {tag})", self.entry.address),
            None => format!("recover-{op} {}", self.entry.address),
        };
        self.ctx.backend.confirm_lease(&what).await.map_err(|e| format!("not attempted: {e}"))
    }

    /// Writes a row (current or deposed, as the record says) and keeps `rows` in step.
    async fn put_row(&self, record: ResourceRecord, rows: &mut Rows) -> Result<(), String> {
        let backend = self.ctx.backend.as_ref();
        backend.put_resource(record.clone()).await.map_err(|e| format!("writing the row failed: {e}"))?;
        match record.deposed.clone() {
            Some(key) => rows.deposed.insert((self.entry.address.clone(), key), record),
            None => rows.current.insert(self.entry.address.clone(), record),
        };
        Ok(())
    }

    /// Removes the current row of the address, or its deposed row `deposed`.
    async fn remove_row(&self, rows: &mut Rows, deposed: Option<&str>) -> Result<(), String> {
        let backend = self.ctx.backend.as_ref();
        let address = &self.entry.address;
        match deposed {
            Some(key) => {
                backend
                    .delete_deposed(address, key)
                    .await
                    .map_err(|e| format!("removing the deposed row failed: {e}"))?;
                rows.deposed.remove(&(address.clone(), key.to_string()));
            }
            None => {
                backend.delete_resource(address).await.map_err(|e| format!("removing the row failed: {e}"))?;
                rows.current.remove(address);
            }
        }
        Ok(())
    }

    /// Deletes an object state does not track, journaled like any provider call.
    async fn delete_untracked(&self, value: Value) -> Result<(), String> {
        let backend = self.ctx.backend.as_ref();
        let run = &self.entry.run_id;
        let detail = IntentDetail {
            type_name: &self.type_name,
            provider: &self.provider_key,
            attempt: 1,
            value: &value,
            correlation: None,
            restores: None,
            deposed: None,
            dependencies: &[],
        };
        let seq = journal::intent(backend, run, &self.entry.address, "recover-delete", detail)
            .await
            .map_err(|e| format!("journaling the clean-up failed: {e}"))?;
        let req = DeleteRequest { type_name: self.type_name.clone(), state: value };
        let lease = self.fence("delete").await?;
        let result = deadline::bounded(self.ctx.deadlines.change, "delete", self.provider.delete(req)).await;
        drop(lease);
        let outcome = match &result {
            Ok(()) => Outcome::Ok,
            Err(error) => Outcome::Error { error, retrying: false },
        };
        let _ = journal::outcome(backend, run, &self.entry.address, "recover-delete", Some(seq), outcome).await;
        result.map_err(|e| format!("deleting the untracked object failed: {e}"))
    }
}
