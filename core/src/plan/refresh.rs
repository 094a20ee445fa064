//! Refresh: reading every recorded managed object through its provider, in parallel with a
//! bound, to learn what exists now. Produces the refreshed prior state the planner diffs
//! against and the drift list (recorded vs actual, or gone). Reads only: it never writes
//! state and never changes an object. `--refresh=false` uses [`prior_from_snapshot`] alone.

use super::model::Drift;
use super::providers::ProviderSet;
use super::statevalue::{apply_sensitive_paths, mark_sensitive, value_from_record};
use crate::diag::{Diagnostic, Diagnostics};
use indexmap::IndexMap;
use std::collections::HashMap;
use tarn_sdk::{Address, Mode, ReadRequest, Value};
use tarn_state::Snapshot;
use tokio::task::JoinSet;

/// One recorded object, as the planner sees it.
#[derive(Debug, Clone)]
pub struct PriorObject {
    pub address: Address,
    /// Provider configuration key.
    pub provider: String,
    /// The current value; `None` when refresh found the object gone.
    pub value: Option<Value>,
    pub dependencies: Vec<Address>,
    pub sensitive_paths: Vec<String>,
    /// The deposed key of a deposed object (see `ResourceRecord::deposed`); `None` for the
    /// address's current object.
    pub deposed: Option<String>,
}

/// The prior state: recorded objects (refreshed when refresh ran) and outputs.
#[derive(Debug, Clone, Default)]
pub struct PriorState {
    pub lineage: String,
    pub serial: i64,
    pub objects: Vec<PriorObject>,
    pub outputs: IndexMap<String, Value>,
}

impl PriorState {
    /// Index of the current objects by address (deposed objects left out).
    pub fn index(&self) -> HashMap<&Address, usize> {
        self.objects.iter().enumerate().filter(|(_, o)| o.deposed.is_none()).map(|(i, o)| (&o.address, i)).collect()
    }
}

/// The recorded state, unrefreshed.
pub fn prior_from_snapshot(snapshot: &Snapshot) -> (PriorState, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut objects = Vec::with_capacity(snapshot.resources.len());
    for rec in &snapshot.resources {
        let address: Address = match rec.address.parse() {
            Ok(a) => a,
            Err(e) => {
                diags.push(Diagnostic::error("Corrupt state record", format!("The state holds an object with an unreadable address: {e}. This is a bug in tarn or a damaged state.")));
                continue;
            }
        };
        let dependencies = rec.dependencies.iter().filter_map(|d| d.parse().ok()).collect();
        objects.push(PriorObject {
            address,
            provider: rec.provider.clone(),
            value: Some(value_from_record(rec)),
            dependencies,
            sensitive_paths: rec.sensitive_paths.clone(),
            deposed: rec.deposed.clone(),
        });
    }
    let outputs = snapshot
        .outputs
        .iter()
        .map(|o| {
            let v = Value::from_json(&o.value);
            (o.name.clone(), if o.sensitive { v.sensitive() } else { v })
        })
        .collect();
    (PriorState { lineage: snapshot.lineage.clone(), serial: snapshot.serial, objects, outputs }, diags)
}

#[derive(Debug, Clone, Copy)]
pub struct RefreshOptions {
    /// Reads in flight at once.
    pub parallelism: usize,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        RefreshOptions { parallelism: 32 }
    }
}

/// Reads every managed object; returns the refreshed prior state and the drift found.
/// A failed read is an error diagnostic and keeps the recorded value.
pub async fn refresh(
    mut prior: PriorState,
    providers: &ProviderSet,
    opts: RefreshOptions,
) -> (PriorState, Vec<Drift>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut tasks = JoinSet::new();
    let mut results: Vec<Option<Result<Option<Value>, tarn_sdk::ProviderError>>> = vec![None; prior.objects.len()];
    let mut next = 0usize;
    let limit = opts.parallelism.max(1);
    loop {
        while tasks.len() < limit && next < prior.objects.len() {
            let i = next;
            next += 1;
            let obj = &prior.objects[i];
            if obj.address.mode == Mode::Data {
                continue;
            }
            let Some(provider) = providers.get(&obj.provider) else {
                diags.push(
                    Diagnostic::error(
                        "Missing provider",
                        format!(
                            "{} is managed by provider configuration \"{}\", which is not available.",
                            obj.address, obj.provider
                        ),
                    )
                    .for_address(&obj.address),
                );
                continue;
            };
            let req = ReadRequest {
                type_name: obj.address.type_name.clone(),
                state: obj.value.as_ref().map(Value::unmark_deep).unwrap_or(Value::Null),
            };
            // The marks the provider no longer sees still mask its logs.
            let read = tarn_sdk::call::with_secrets(obj.value.as_ref(), async move { provider.read(req).await });
            tasks.spawn(async move { (i, read.await) });
        }
        match tasks.join_next().await {
            Some(Ok((i, r))) => results[i] = Some(r),
            Some(Err(e)) => diags.push(Diagnostic::error(
                "Refresh failed",
                format!("A provider read panicked or was cancelled: {e}. This is a bug in the provider."),
            )),
            None => break,
        }
    }
    let mut drift = Vec::new();
    for (obj, result) in prior.objects.iter_mut().zip(results) {
        let Some(result) = result else { continue };
        match result {
            Err(e) => diags.push(
                Diagnostic::error("Refresh failed", format!("Reading {} failed: {}", obj.address, e.message))
                    .for_address(&obj.address)
                    .because(e.kind),
            ),
            Ok(actual) => {
                let schema = providers
                    .schemas()
                    .get(super::providers::parse_provider_key(&obj.provider).name.as_str())
                    .and_then(|s| s.resources.get(&obj.address.type_name));
                let actual = actual.map(|v| {
                    let v = apply_sensitive_paths(v, &obj.sensitive_paths);
                    match schema {
                        Some(s) => mark_sensitive(v, s),
                        None => v,
                    }
                });
                let recorded = obj.value.clone();
                let same = match (&recorded, &actual) {
                    (Some(r), Some(a)) => r.to_json_unmarked() == a.to_json_unmarked(),
                    (None, None) => true,
                    _ => false,
                };
                // A deposed object is deleted by the plan whatever it looks like now.
                if !same && obj.deposed.is_none() {
                    drift.push(Drift { address: obj.address.clone(), recorded, actual: actual.clone() });
                }
                obj.value = actual;
            }
        }
    }
    (prior, drift, diags)
}
