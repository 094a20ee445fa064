//! PUT's precondition, as the original server's `update_sr` checks it: every function the body
//! names (`FAAS`, `DAAS`) must be RUNNING, whatever the body changes, a PUT that changes
//! nothing included. The original reads each function's VM and answers 423 while it is PENDING
//! or UPDATING, and 500 while it is in an ERROR state. A VM terminated outside tarn (DONE in
//! OpenNebula, LCM_INIT, which the original maps to PENDING) is refused with 423 as well: the
//! runtime keeps its ID and nothing is changed.
//!
//! The states are those the run's refresh just read (the plan's `before` of the runtime), so
//! the check sees OpenNebula as it is now, under the runtime's lock, before anything is applied.
//! Pure: a plan in, a verdict out.

use serde_json::Value as Json;
use tarn_core::plan::Plan;
use tarn_sdk::ErrorKind;

use super::document::ADDRESS;

/// The tarn attribute of a contract function name.
fn attr(function: &str) -> Option<&'static str> {
    match function {
        "FAAS" => Some("faas"),
        "DAAS" => Some("daas"),
        _ => None,
    }
}

/// `Err((why, kind))` when a function the PUT body names is not RUNNING in `plan`'s refreshed
/// prior: kind `NotReady` (423) for PENDING, UPDATING or a VM gone, `Failed` (500) for ERROR.
pub fn functions_running(plan: &Plan, body: &Json) -> Result<(), (String, ErrorKind)> {
    let Some(before) = plan.changes.iter().find(|c| c.address.to_string() == ADDRESS).and_then(|c| c.before.as_ref())
    else {
        return Ok(());
    };
    let before = before.to_json_unmarked();
    let named = body.get("SERVERLESS_RUNTIME").and_then(Json::as_object);
    for (function, _) in named.into_iter().flatten().filter(|(_, v)| v.is_object()) {
        let Some(attr) = attr(function) else { continue };
        let Some(actual) = before.get("functions").and_then(|f| f.get(attr)) else { continue };
        let state = actual.get("state").and_then(Json::as_str).unwrap_or("unknown");
        if state == "RUNNING" {
            continue;
        }
        let vm = actual.get("vm_id").and_then(Json::as_str).unwrap_or("?");
        let vm_state = actual.get("vm_state").and_then(Json::as_str).unwrap_or("?");
        return Err(match state {
            "ERROR" => (
                format!(
                    "the {function} function's VM {vm} is in an error state ({vm_state}), not RUNNING: it cannot be updated"
                ),
                ErrorKind::Failed,
            ),
            "GONE" => (
                format!(
                    "the {function} function's VM {vm} is gone ({vm_state}), not RUNNING: it cannot be updated; delete the runtime and create it again"
                ),
                ErrorKind::NotReady,
            ),
            other => (
                format!("the {function} function's VM {vm} is {other} ({vm_state}), not RUNNING: try again when it is"),
                ErrorKind::NotReady,
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tarn_core::plan::{Action, ResourceChange};
    use tarn_sdk::Value;

    fn plan_with(functions: Json) -> Plan {
        let before = Value::from_json(&json!({"name": "n", "functions": functions}));
        let change = ResourceChange {
            before: Some(before.clone()),
            after: Some(before),
            ..ResourceChange::new(ADDRESS.parse().unwrap(), "opennebula", Action::NoOp)
        };
        let mut plan: Plan = serde_json::from_value(json!({
            "format_version": 3, "tarn_version": "t", "created_at": "now",
            "binding": {"lineage": "l", "serial": 1, "config_hash": "h", "workspace": "w"},
            "mode": "normal", "variables": {}, "changes": [], "outputs": [], "drift": [],
            "graph": {"ops": [], "edges": []}
        }))
        .unwrap();
        plan.changes.push(change);
        plan
    }

    fn f(state: &str) -> Json {
        json!({"vm_id": "7", "state": state, "vm_state": "X"})
    }

    #[test]
    fn a_put_is_refused_unless_every_function_it_names_is_running() {
        let faas_only = json!({"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "Function"}}});
        let both = json!({"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "F"}, "DAAS": {"FLAVOUR": "D"}}});
        let ok = plan_with(json!({"faas": f("RUNNING"), "daas": f("PENDING")}));
        assert!(functions_running(&ok, &faas_only).is_ok(), "DAAS is not named: not checked (as the original)");
        let (why, kind) = functions_running(&ok, &both).unwrap_err();
        assert_eq!(kind, ErrorKind::NotReady);
        assert!(why.contains("DAAS function's VM 7 is PENDING"), "{why}");
        for (state, want) in
            [("UPDATING", ErrorKind::NotReady), ("GONE", ErrorKind::NotReady), ("ERROR", ErrorKind::Failed)]
        {
            let p = plan_with(json!({"faas": f(state)}));
            assert_eq!(functions_running(&p, &faas_only).unwrap_err().1, want, "{state}");
        }
        assert!(functions_running(&plan_with(json!({"faas": f("RUNNING")})), &faas_only).is_ok());
    }
}
