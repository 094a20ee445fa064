//! Crash recovery, run before the next plan: resolves every journal intent that has no outcome
//! (left by a run that was killed, or by a call whose effect was unknown). Creates are looked
//! up by their correlation tag (`Provider::adopt`) and recorded when found; updates and deletes
//! are re-read and their state row fixed. Runs left "running" are marked interrupted. It
//! never creates, updates or deletes an object: it only makes state say what exists.
//!
//! Intent details hold planned attributes redacted of secrets, so a provider that adopts by
//! content rather than by tag cannot match on sensitive attributes.

use super::error::ExecError;
use super::model::{Event, EventSink};
use super::values::{RowMeta, from_record, remark, to_record};
use std::collections::HashMap;
use std::sync::Arc;
use tarn_sdk::{AdoptRequest, Address, Provider, ReadRequest, ResourceSchema, Value};
use tarn_state::{Backend, JournalRecord, ResourceRecord, RunOutcome};

pub struct RecoverContext {
    /// Configured providers by provider configuration key.
    pub providers: HashMap<String, Arc<dyn Provider>>,
    pub backend: Arc<dyn Backend>,
    /// Resource schemas by type name, to mark sensitive attributes of adopted objects.
    pub schemas: HashMap<String, ResourceSchema>,
    pub events: Arc<dyn EventSink>,
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
    let mut rows: HashMap<String, ResourceRecord> = snapshot.resources.into_iter().map(|r| (r.address.clone(), r)).collect();
    let mut out = Vec::with_capacity(intents.len());
    for intent in intents {
        let resolution = match resolve(&ctx, &intent, &mut rows).await {
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
    Ok(out)
}

/// Resolves one intent; `Err` leaves it open.
async fn resolve(ctx: &RecoverContext, intent: &JournalRecord, rows: &mut HashMap<String, ResourceRecord>) -> Result<Resolution, String> {
    let entry = &intent.entry;
    if entry.op == super::moves::OP {
        // A renamed row: no provider is involved.
        let done = super::moves::recover_move(ctx.backend.as_ref(), &entry.address, &entry.detail, rows).await?;
        return Ok(if done { Resolution::Refreshed } else { Resolution::NothingToDo });
    }
    let address: Address = entry.address.parse().map_err(|e| format!("{e}"))?;
    let detail = &entry.detail;
    let provider_key = detail.get("provider").and_then(|p| p.as_str()).unwrap_or_else(|| address.implied_provider()).to_string();
    let type_name = detail.get("type").and_then(|t| t.as_str()).unwrap_or(&address.type_name).to_string();
    let provider = ctx
        .providers
        .get(&provider_key)
        .ok_or_else(|| format!("the provider configuration `{provider_key}` is not configured"))?;
    let schema = ctx.schemas.get(&type_name);
    let backend = ctx.backend.as_ref();

    match entry.op.as_str() {
        "create" => {
            let Some(correlation) = entry.correlation.clone() else {
                return Err("the create intent has no correlation tag".into());
            };
            let planned = detail.get("planned").map(Value::from_json).unwrap_or(Value::Null);
            let found = provider
                .adopt(AdoptRequest { type_name, correlation: correlation.clone(), planned })
                .await
                .map_err(|e| format!("adopt failed: {e}"))?;
            let Some(value) = found else { return Ok(Resolution::NotCreated) };
            let existing = rows.get(&entry.address);
            let meta = RowMeta {
                address: address.clone(),
                provider: provider_key,
                dependencies: existing.map(|r| r.dependencies.clone()).unwrap_or_default(),
                correlation: Some(correlation.clone()),
            };
            let record = to_record(&meta, &remark(value, schema, None));
            backend.put_resource(record.clone()).await.map_err(|e| format!("recording the adopted object failed: {e}"))?;
            rows.insert(entry.address.clone(), record);
            ctx.events.emit(Event::Adopted { address, correlation: correlation.clone() });
            Ok(Resolution::Adopted { correlation })
        }
        "update" | "delete" | "rollback-update" | "rollback-delete" => {
            let Some(row) = rows.get(&entry.address).cloned() else { return Ok(Resolution::NothingToDo) };
            let recorded = from_record(&row);
            let current = provider
                .read(ReadRequest { type_name, state: recorded.unmark_deep() })
                .await
                .map_err(|e| format!("read failed: {e}"))?;
            match current {
                Some(value) => {
                    let meta = RowMeta {
                        address,
                        provider: row.provider.clone(),
                        dependencies: row.dependencies.clone(),
                        correlation: row.correlation.clone(),
                    };
                    let record = to_record(&meta, &remark(value, schema, Some(&recorded)));
                    backend.put_resource(record.clone()).await.map_err(|e| format!("rewriting the row failed: {e}"))?;
                    rows.insert(entry.address.clone(), record);
                    Ok(Resolution::Refreshed)
                }
                None => {
                    backend.delete_resource(&entry.address).await.map_err(|e| format!("removing the row failed: {e}"))?;
                    rows.remove(&entry.address);
                    Ok(Resolution::Gone)
                }
            }
        }
        _ => Ok(Resolution::NothingToDo),
    }
}
