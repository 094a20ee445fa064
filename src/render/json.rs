//! Machine output (`--json`). Versioned: every document carries `format_version`; fields are
//! added in minor versions and never change meaning (docs/json-output.md). Values appear with
//! unknowns and sensitive values as `null`, and their locations listed as JSON pointers in
//! `*_unknown` / `*_sensitive`, so nothing secret is ever printed.

use super::plan::Counts;
use serde::Serialize;
use serde_json::{Value as Json, json};
use tarn_core::plan::{Action, ChangeReason, OpKind, Phase, Plan, PlanBinding, PlanMode, ResourceChange};
use tarn_sdk::{Mode, Value};

/// 1.1: `deposed` on plan changes, plan operations and state resources; imports
/// (`importing` on plan changes, `summary.import`, the `import` op kind). 1.2: `prior_provider`
/// on plan changes and the `provider_changed` reason (a move to another provider configuration).
/// 1.3: `irreversible_delete` on plan changes, the `replace` phase, and the `rollback_kept` and
/// `rollback_not_restorable` events. 1.4: the `forget` reason, the `forgotten` event and the
/// `refresh_complete` line. 1.5: `notes` on plan changes (what an update does beyond the change), the `interrupted`
/// outcome.
pub const FORMAT_VERSION: &str = "1.5";

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
        Value::List(l) | Value::Set(l) => {
            Json::Array(l.iter().enumerate().map(|(i, e)| walk(e, format!("{path}/{i}"), unknown, sensitive)).collect())
        }
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, e)| {
                    (
                        k.clone(),
                        walk(e, format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")), unknown, sensitive),
                    )
                })
                .collect(),
        ),
        other => other.to_json_unmarked(),
    }
}

fn opt_value(v: &Option<Value>) -> (Json, Vec<String>, Vec<String>) {
    v.as_ref().map(value).unwrap_or((Json::Null, Vec::new(), Vec::new()))
}

/// One change as `--json` shows it (field order is the document's).
#[derive(Serialize)]
struct ChangeDoc<'a> {
    address: String,
    mode: Mode,
    #[serde(rename = "type")]
    type_name: &'a str,
    name: &'a str,
    index: Option<Json>,
    deposed: &'a Option<String>,
    provider: &'a str,
    prior_provider: &'a Option<String>,
    action: Action,
    reasons: &'a [ChangeReason],
    irreversible: bool,
    irreversible_delete: bool,
    notes: &'a [String],
    before: Json,
    before_sensitive: Vec<String>,
    after: Json,
    after_unknown: Vec<String>,
    after_sensitive: Vec<String>,
    dependencies: Vec<String>,
    importing: Option<Json>,
}

fn change(c: &ResourceChange) -> ChangeDoc<'_> {
    let (before, _, before_sensitive) = opt_value(&c.before);
    let (after, after_unknown, after_sensitive) = opt_value(&c.after);
    ChangeDoc {
        address: c.address.to_string(),
        mode: c.address.mode,
        type_name: &c.address.type_name,
        name: &c.address.name,
        index: c.address.key.as_ref().map(|k| match k {
            tarn_sdk::InstanceKey::Int(i) => json!(i),
            tarn_sdk::InstanceKey::Str(s) => json!(s),
        }),
        deposed: &c.deposed,
        provider: &c.provider,
        prior_provider: &c.prior_provider,
        action: c.action,
        reasons: &c.reasons,
        irreversible: c.irreversible,
        irreversible_delete: c.irreversible_delete(),
        notes: &c.notes,
        before,
        before_sensitive,
        after,
        after_unknown,
        after_sensitive,
        dependencies: c.dependencies.iter().map(|a| a.to_string()).collect(),
        importing: c.import_id().map(|id| json!({"id": id})),
    }
}

/// A plan as `--json` shows it: serialized straight from the plan (a plan of thousands of
/// changes is not built as a JSON tree first).
#[derive(Serialize)]
pub struct PlanDoc<'a> {
    format_version: &'static str,
    tarn_version: &'a str,
    created_at: &'a str,
    mode: PlanMode,
    binding: &'a PlanBinding,
    summary: Counts,
    changes: Vec<ChangeDoc<'a>>,
    outputs: Vec<Json>,
    drift: Vec<Json>,
    graph: GraphDoc<'a>,
}

#[derive(Serialize)]
struct GraphDoc<'a> {
    operations: Vec<OpDoc<'a>>,
    edges: &'a [(u32, u32)],
}

#[derive(Serialize)]
struct OpDoc<'a> {
    kind: OpKind,
    address: Option<String>,
    deposed: Option<&'a String>,
    provider: Option<&'a str>,
    phase: Phase,
}

pub fn plan(p: &Plan) -> PlanDoc<'_> {
    PlanDoc {
        format_version: FORMAT_VERSION,
        tarn_version: &p.tarn_version,
        created_at: &p.created_at,
        mode: p.mode,
        binding: &p.binding,
        summary: Counts::of(p),
        changes: p.changes.iter().map(change).collect(),
        outputs: p.outputs.iter().map(|o| {
            let (after, after_unknown, _) = if o.sensitive { (Json::Null, Vec::new(), Vec::new()) } else { opt_value(&o.after) };
            json!({"name": o.name, "action": o.action, "sensitive": o.sensitive, "after": after, "after_unknown": after_unknown})
        }).collect(),
        drift: p.drift.iter().map(|d| {
            let (recorded, _, _) = opt_value(&d.recorded);
            let (actual, _, _) = opt_value(&d.actual);
            json!({"address": d.address.to_string(), "recorded": recorded, "actual": actual, "gone": d.actual.is_none()})
        }).collect(),
        graph: GraphDoc {
            operations: p.graph.ops.iter().map(|op| {
                let c = p.changes.get(op.change as usize);
                OpDoc {
                    kind: op.kind,
                    address: c.map(|c| c.address.to_string()),
                    deposed: c.and_then(|c| c.deposed.as_ref()),
                    provider: c.map(|c| c.provider_for(op.kind)),
                    phase: op.phase,
                }
            }).collect(),
            edges: &p.graph.edges,
        },
    }
}

/// A plan's `--json` text, in one piece (written with one call, not line by line).
pub fn plan_text(p: &Plan) -> Result<String, serde_json::Error> {
    serde_json::to_string(&plan(p))
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
    fn a_plan_document_keeps_its_documented_field_order() {
        let change = ResourceChange {
            after: Some(Value::map([("id", Value::Unknown), ("s", Value::string("x").sensitive())])),
            ..ResourceChange::new("null_resource.a[0]".parse().expect("address"), "null", Action::Create)
        };
        let p = Plan {
            format_version: tarn_core::plan::PLAN_FORMAT_VERSION,
            tarn_version: "0".into(),
            created_at: "t".into(),
            binding: PlanBinding {
                lineage: "l".into(),
                serial: 0,
                config_hash: "h".into(),
                workspace: "default".into(),
            },
            mode: PlanMode::Normal,
            variables: Default::default(),
            changes: vec![change],
            outputs: Vec::new(),
            drift: Vec::new(),
            graph: Default::default(),
        };
        let text = plan_text(&p).expect("encodes");
        let doc: Json = serde_json::from_str(&text).expect("JSON");
        let keys = |j: &Json| j.as_object().expect("object").keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            keys(&doc),
            [
                "format_version",
                "tarn_version",
                "created_at",
                "mode",
                "binding",
                "summary",
                "changes",
                "outputs",
                "drift",
                "graph"
            ]
        );
        assert_eq!(
            keys(&doc["changes"][0]),
            [
                "address",
                "mode",
                "type",
                "name",
                "index",
                "deposed",
                "provider",
                "prior_provider",
                "action",
                "reasons",
                "irreversible",
                "irreversible_delete",
                "notes",
                "before",
                "before_sensitive",
                "after",
                "after_unknown",
                "after_sensitive",
                "dependencies",
                "importing"
            ]
        );
        assert_eq!(doc["changes"][0]["index"], json!(0));
        assert_eq!(doc["changes"][0]["after_unknown"], json!(["/id"]));
        assert_eq!(doc["changes"][0]["after_sensitive"], json!(["/s"]));
        assert_eq!(doc["summary"]["add"], json!(1));
        assert!(!text.contains("\"x\""), "a sensitive value was printed: {text}");
    }

    #[test]
    fn marks_become_pointers_and_secrets_vanish() {
        let v = Value::map([
            ("id", Value::Unknown),
            ("cfg", Value::map([("pw", Value::string("hunter2").sensitive())])),
            ("n", Value::number(3.0)),
        ]);
        let (j, unknown, sensitive) = value(&v);
        assert_eq!(unknown, vec!["/id"]);
        assert_eq!(sensitive, vec!["/cfg/pw"]);
        assert!(!j.to_string().contains("hunter2"));
        assert_eq!(j["n"], json!(3));
    }
}
