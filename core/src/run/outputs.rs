//! The root module's outputs in the state. After a successful apply every value is known: the
//! outputs are evaluated once more, by a plan against the new state without refresh (which
//! also judges `check {}` blocks again, with every value known), and recorded. A sensitive
//! output is recorded sealed when the state has a key, else as a digest salted with the
//! lineage — never in clear text; a plan compares its new value with that digest.

use super::Run;
use super::error::RunError;
use super::settings::Selection;
use crate::config::Config;
use crate::plan::{self, Action, PlanMode};
use tarn_sdk::Value;
use tarn_state::{OutputRecord, Snapshot};

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
pub(crate) fn settle_sensitive_outputs(plan: &mut plan::Plan, snapshot: &Snapshot) {
    for o in plan.outputs.iter_mut().filter(|o| o.sensitive && o.action == Action::Update) {
        let Some(after) = o.after.as_ref().filter(|v| v.is_wholly_known()) else { continue };
        let recorded = snapshot.outputs.iter().find(|r| r.name == o.name && r.sensitive);
        if recorded.is_some_and(|r| r.value == sensitive_output_digest(after, &snapshot.lineage)) {
            o.action = Action::NoOp;
        }
    }
}

impl Run {
    /// Records the root module's outputs after a successful apply, and returns them. After a
    /// destroy, or without outputs and `check {}` blocks, nothing is evaluated and any outputs
    /// recorded before go.
    pub(crate) async fn record_outputs(&self, destroyed: bool) -> Result<Vec<OutputRecord>, RunError> {
        let backend = &self.held()?.backend;
        if destroyed || (self.config.root.module.outputs.is_empty() && !has_checks(&self.config)) {
            backend.set_outputs(Vec::new()).await?;
            return Ok(Vec::new());
        }
        let snapshot = backend.snapshot().await?;
        let plan = self.plan_from(&snapshot, PlanMode::Normal, &Selection::default(), false).await?;
        let records = plan
            .outputs
            .iter()
            .filter(|o| o.action != Action::Delete)
            .map(|o| OutputRecord {
                name: o.name.clone(),
                // Sensitive outputs: sealed by the encrypting backend when the state has a
                // key; without one, only a salted digest is recorded. Never the clear text.
                value: match (&o.after, o.sensitive) {
                    (Some(v), true) if self.settings.state_key => v.to_json_unmarked(),
                    (Some(v), true) => sensitive_output_digest(v, &snapshot.lineage),
                    (Some(v), false) => v.to_json_unmarked(),
                    (None, _) => serde_json::Value::Null,
                },
                sensitive: o.sensitive,
            })
            .collect::<Vec<_>>();
        backend.set_outputs(records.clone()).await?;
        Ok(records)
    }
}

pub(crate) fn has_checks(config: &Config) -> bool {
    let mut stack = vec![&config.root];
    while let Some(t) = stack.pop() {
        if !t.module.checks.is_empty() {
            return true;
        }
        stack.extend(t.children.values());
    }
    false
}
