//! Drift reports for humans (the attribute diff plan shows for "changed outside of tarn"),
//! for machines (`--json`, one versioned document, also the line written to `--report` and
//! the body POSTed to `--notify`), and as Markdown. Sensitive values appear as
//! `(sensitive value)`, or `null` with `"sensitive": true` in JSON: never their content.

use super::diff::{self, DiffStyle};
use super::{json, markdown, paint, style};
use serde_json::{Value as Json, json};
use tarn_core::plan::drift::{AttributeDrift, DriftKind, DriftReport, PathStep, ResourceDrift};
use tarn_sdk::Value;

/// Where and when a report was made, for the JSON document.
#[derive(Debug, Clone)]
pub struct Context {
    /// RFC 3339 UTC.
    pub checked_at: String,
    pub duration_ms: u64,
    pub workspace: String,
}

/// The outcome of one check, as reported.
pub enum Outcome<'a> {
    Checked { report: &'a DriftReport, lineage: &'a str, serial: i64, warnings: &'a [String] },
    Failed { error: String },
}

impl Outcome<'_> {
    /// `drift`, `no_drift` or `error`.
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Checked { report, .. } if report.has_drift() => "drift",
            Outcome::Checked { .. } => "no_drift",
            Outcome::Failed { .. } => "error",
        }
    }
}

/// The drift report document (docs/json-output.md, "tarn drift --json").
pub fn document(outcome: &Outcome, ctx: &Context) -> Json {
    let (state, summary, resources, warnings, error) = match outcome {
        Outcome::Checked { report, lineage, serial, warnings } => (
            json!({"lineage": lineage, "serial": serial, "workspace": ctx.workspace}),
            json!({
                "checked": report.checked,
                "drifted": report.resources.len(),
                "changed": report.count(DriftKind::Changed),
                "deleted": report.count(DriftKind::Deleted),
                "ignored": report.ignored,
            }),
            report.resources.iter().map(resource).collect::<Vec<_>>(),
            warnings.to_vec(),
            Json::Null,
        ),
        Outcome::Failed { error } => (Json::Null, Json::Null, Vec::new(), Vec::new(), json!(error)),
    };
    json!({
        "format_version": json::FORMAT_VERSION,
        "type": "drift_report",
        "tarn_version": env!("CARGO_PKG_VERSION"),
        "checked_at": ctx.checked_at,
        "duration_ms": ctx.duration_ms,
        "status": outcome.status(),
        "state": state,
        "summary": summary,
        "resources": resources,
        "warnings": warnings,
        "error": error,
    })
}

fn resource(r: &ResourceDrift) -> Json {
    json!({
        "address": r.address.to_string(),
        "type": r.address.type_name,
        "name": r.address.name,
        "index": r.address.key.as_ref().map(|k| match k {
            tarn_sdk::InstanceKey::Int(i) => json!(i),
            tarn_sdk::InstanceKey::Str(s) => json!(s),
        }),
        "provider": r.provider,
        "drift": r.kind,
        "changes": r.changes.iter().map(change).collect::<Vec<_>>(),
    })
}

fn change(c: &AttributeDrift) -> Json {
    let shown = |v: &Option<Value>| v.as_ref().map(|v| json::value(v).0).unwrap_or(Json::Null);
    json!({
        "path": c.display_path(),
        "pointer": c.pointer(),
        "recorded": shown(&c.recorded),
        "actual": shown(&c.actual),
        "sensitive": c.sensitive(),
    })
}

/// The report for a terminal.
pub fn human(report: &DriftReport, warnings: &[String], color: bool) -> String {
    let mut out = String::new();
    for w in warnings {
        out.push_str(&format!("{} {w}\n\n", paint("Warning:", style::WARNING, color)));
    }
    if !report.has_drift() {
        out.push_str(&paint("No drift.", style::SUCCESS, color));
        out.push_str(&format!(" {} recorded object(s) match the state.", report.checked));
        ignored_note(report, &mut out);
        out.push('\n');
        return out;
    }
    out.push_str(&paint("Objects have changed outside of tarn:", style::BOLD, color));
    out.push_str("\n\n");
    details(report, color, &mut out);
    out.push_str(&format!(
        "\n{} {} of {} object(s) drifted: {} changed, {} deleted.",
        paint("Drift:", style::WARNING, color),
        report.resources.len(),
        report.checked,
        report.count(DriftKind::Changed),
        report.count(DriftKind::Deleted)
    ));
    ignored_note(report, &mut out);
    out.push_str("\nRun tarn plan to see what apply would do about it.\n");
    out
}

fn ignored_note(report: &DriftReport, out: &mut String) {
    if report.ignored > 0 {
        out.push_str(&format!(" {} difference(s) ignored (ignore_changes, --ignore).", report.ignored));
    }
}

/// One block per drifted object, as in a plan's "changed outside of tarn" section.
fn details(report: &DriftReport, color: bool, out: &mut String) {
    for r in &report.resources {
        match r.kind {
            DriftKind::Deleted => {
                out.push_str(&format!("  # {} has been deleted\n", paint(&r.address.to_string(), style::BOLD, color)))
            }
            DriftKind::Changed => {
                out.push_str(&format!("  # {} has changed\n", paint(&r.address.to_string(), style::BOLD, color)));
                let recorded = r.recorded.clone().unwrap_or(Value::Map(Default::default()));
                let shown = only_reported(&recorded, &r.changes);
                diff::attributes(Some(&recorded), Some(&shown), 6, &DiffStyle { color, forces: Vec::new() }, out);
            }
        }
    }
}

/// The recorded value with only the reported changes applied, so that the plan's diff
/// renderer shows exactly those (ignored differences stay out of sight).
fn only_reported(recorded: &Value, changes: &[AttributeDrift]) -> Value {
    let mut v = recorded.clone();
    for c in changes {
        set_path(&mut v, &c.path, c.actual.clone());
    }
    v
}

fn set_path(v: &mut Value, path: &[PathStep], to: Option<Value>) {
    let Some((first, rest)) = path.split_first() else {
        *v = to.unwrap_or(Value::Null);
        return;
    };
    match (v, first) {
        (Value::Map(m), PathStep::Key(k)) if rest.is_empty() && to.is_none() => {
            m.shift_remove(k);
        }
        (Value::Map(m), PathStep::Key(k)) => set_path(m.entry(k.clone()).or_insert(Value::Null), rest, to),
        (Value::List(l) | Value::Set(l), PathStep::Index(i)) if *i < l.len() => set_path(&mut l[*i], rest, to),
        // The shape differs from what the path says: the change was recorded at a parent.
        _ => {}
    }
}

/// The report as Markdown: a summary table, then the attribute diffs in a collapsed block.
pub fn markdown(report: &DriftReport, warnings: &[String]) -> String {
    let mut out = String::new();
    if !report.has_drift() {
        out.push_str(&format!(
            "### tarn drift: no drift\n\nAll {} recorded objects match the state.\n",
            report.checked
        ));
    } else {
        out.push_str(&format!(
            "### tarn drift: {} of {} objects changed outside tarn\n\n| Object | Drift | Attributes |\n|---|---|---|\n",
            report.resources.len(),
            report.checked
        ));
        for r in &report.resources {
            let (kind, attrs) = match r.kind {
                DriftKind::Deleted => ("**deleted**", String::new()),
                DriftKind::Changed => (
                    "changed",
                    r.changes.iter().map(|c| markdown::code(&c.display_path())).collect::<Vec<_>>().join(", "),
                ),
            };
            out.push_str(&format!(
                "| {} | {kind} | {} |\n",
                markdown::code(&r.address.to_string()),
                markdown::cell(&attrs)
            ));
        }
        let mut text = String::new();
        details(report, false, &mut text);
        out.push('\n');
        out.push_str(&markdown::collapsed("Attribute differences", &markdown::diff_block(&text)));
    }
    if report.ignored > 0 {
        out.push_str(&format!("\n{} difference(s) ignored (`ignore_changes`, `--ignore`).\n", report.ignored));
    }
    for w in warnings {
        out.push_str(&format!("\n> [!WARNING]\n> {}\n", markdown::cell(w)));
    }
    markdown::fit(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_core::plan::drift::attribute_changes;

    fn changed(before: Value, after: Value) -> DriftReport {
        let changes = attribute_changes(&before, &after);
        DriftReport {
            checked: 2,
            resources: vec![ResourceDrift {
                address: "local_sensitive_file.s".parse().unwrap(),
                provider: "local".into(),
                kind: DriftKind::Changed,
                changes,
                recorded: Some(before),
                actual: Some(after),
            }],
            ignored: 0,
        }
    }

    #[test]
    fn secrets_appear_in_no_format() {
        let report = changed(
            Value::map([("content", Value::string("hunter2").sensitive()), ("id", Value::string("a"))]),
            Value::map([("content", Value::string("correct horse").sensitive()), ("id", Value::string("b"))]),
        );
        let ctx = Context { checked_at: "t".into(), duration_ms: 1, workspace: "default".into() };
        let doc =
            document(&Outcome::Checked { report: &report, lineage: "l", serial: 1, warnings: &[] }, &ctx).to_string();
        for text in [human(&report, &[], false), markdown(&report, &[]), doc.clone()] {
            assert!(!text.contains("hunter2") && !text.contains("correct horse"), "{text}");
        }
        assert!(human(&report, &[], false).contains("~ content = (sensitive value) -> (sensitive value)"));
        assert!(
            doc.contains(r#""path":"content","pointer":"/content","recorded":null,"actual":null,"sensitive":true"#),
            "{doc}"
        );
    }

    #[test]
    fn ignored_differences_are_not_rendered() {
        let mut report = changed(
            Value::map([("a", Value::string("1")), ("b", Value::string("1"))]),
            Value::map([("a", Value::string("2")), ("b", Value::string("2"))]),
        );
        report.resources[0].changes.retain(|c| c.display_path() == "a");
        let text = human(&report, &[], false);
        assert!(text.contains("~ a = \"1\" -> \"2\""), "{text}");
        assert!(!text.contains("~ b"), "{text}");
    }
}
