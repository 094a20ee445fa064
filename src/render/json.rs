//! Machine output (`--json`). Versioned: every document carries `format_version`; fields are
//! added in minor versions and never change meaning (docs/json-output.md). Values appear with
//! unknowns and sensitive values as `null`, and their locations listed as JSON pointers in
//! `*_unknown` / `*_sensitive`, so nothing secret is ever printed.

use super::plan::Counts;
use serde_json::{Value as Json, json};
use tarn_core::plan::{Plan, ResourceChange};
use tarn_sdk::Value;

/// 1.1: `deposed` on plan changes, plan operations and state resources; imports
/// (`importing` on plan changes, `summary.import`, the `import` op kind). 1.2: `prior_provider`
/// on plan changes and the `provider_changed` reason (a move to another provider configuration).
pub const FORMAT_VERSION: &str = "1.2";

/// A value as JSON with marks removed (unknown and sensitive → null), plus the pointers of
/// the unknown and the sensitive parts.
pub fn value(v: &Value) -> (Json, Vec<String>, Vec<String>) {
    let mut unknown = Vec::new();
    let mut sensitive = Vec::new();
    let j = walk(v, String::new(), &mut unknown, &mut sensitive);
    (j, unknown, sensitive)
}

fn walk(v: &Value, path: String, unknown: &mut Vec<String>, sensitive: &mut Vec<String>) -> Json {
    match v {
        Value::Unknown => {
            unknown.push(path);
            Json::Null
        }
        Value::Sensitive(_) => {
            sensitive.push(path);
            Json::Null
        }
        Value::List(l) => Json::Array(
            l.iter().enumerate().map(|(i, e)| walk(e, format!("{path}/{i}"), unknown, sensitive)).collect(),
        ),
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, e)| (k.clone(), walk(e, format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), unknown, sensitive)))
                .collect(),
        ),
        other => other.to_json_unmarked(),
    }
}

fn opt_value(v: &Option<Value>) -> (Json, Vec<String>, Vec<String>) {
    v.as_ref().map(value).unwrap_or((Json::Null, Vec::new(), Vec::new()))
}

fn change(c: &ResourceChange) -> Json {
    let (before, _, before_sensitive) = opt_value(&c.before);
    let (after, after_unknown, after_sensitive) = opt_value(&c.after);
    json!({
        "address": c.address.to_string(),
        "mode": c.address.mode,
        "type": c.address.type_name,
        "name": c.address.name,
        "index": c.address.key.as_ref().map(|k| match k {
            tarn_sdk::InstanceKey::Int(i) => json!(i),
            tarn_sdk::InstanceKey::Str(s) => json!(s),
        }),
        "deposed": c.deposed,
        "provider": c.provider,
        "prior_provider": c.prior_provider,
        "action": c.action,
        "reasons": c.reasons,
        "irreversible": c.irreversible,
        "before": before,
        "before_sensitive": before_sensitive,
        "after": after,
        "after_unknown": after_unknown,
        "after_sensitive": after_sensitive,
        "dependencies": c.dependencies.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "importing": c.import_id().map(|id| json!({"id": id})),
    })
}

pub fn plan(p: &Plan) -> Json {
    json!({
        "format_version": FORMAT_VERSION,
        "tarn_version": p.tarn_version,
        "created_at": p.created_at,
        "mode": p.mode,
        "binding": p.binding,
        "summary": Counts::of(p),
        "changes": p.changes.iter().map(change).collect::<Vec<_>>(),
        "outputs": p.outputs.iter().map(|o| {
            let (after, after_unknown, _) = if o.sensitive { (Json::Null, Vec::new(), Vec::new()) } else { opt_value(&o.after) };
            json!({"name": o.name, "action": o.action, "sensitive": o.sensitive, "after": after, "after_unknown": after_unknown})
        }).collect::<Vec<_>>(),
        "drift": p.drift.iter().map(|d| {
            let (recorded, _, _) = opt_value(&d.recorded);
            let (actual, _, _) = opt_value(&d.actual);
            json!({"address": d.address.to_string(), "recorded": recorded, "actual": actual, "gone": d.actual.is_none()})
        }).collect::<Vec<_>>(),
        "graph": {
            "operations": p.graph.ops.iter().map(|op| json!({
                "kind": op.kind,
                "address": p.changes.get(op.change as usize).map(|c| c.address.to_string()),
                "deposed": p.changes.get(op.change as usize).and_then(|c| c.deposed.clone()),
                "provider": p.changes.get(op.change as usize).map(|c| c.provider_for(op.kind)),
                "phase": op.phase,
            })).collect::<Vec<_>>(),
            "edges": p.graph.edges,
        },
    })
}

/// One recorded instance as `tarn show --json` and `tarn state show --json` print it:
/// sensitive values `null`, their pointers in `sensitive_values`.
pub fn state_resource(r: &tarn_state::ResourceRecord) -> Json {
    let (values, _, sensitive) = value(&tarn_core::plan::value_from_record(r));
    json!({
        "address": r.address, "deposed": r.deposed, "mode": r.mode, "type": r.type_name, "provider": r.provider,
        "values": values, "sensitive_values": sensitive, "dependencies": r.dependencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_become_pointers_and_secrets_vanish() {
        let v = Value::map([
            ("id", Value::Unknown),
            ("cfg", Value::map([("pw", Value::string("hunter2").sensitive())])),
            ("n", Value::Number(3.0)),
        ]);
        let (j, unknown, sensitive) = value(&v);
        assert_eq!(unknown, vec!["/id"]);
        assert_eq!(sensitive, vec!["/cfg/pw"]);
        assert!(!j.to_string().contains("hunter2"));
        assert_eq!(j["n"], json!(3));
    }
}
