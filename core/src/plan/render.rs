//! A compact, stable text rendering of a plan: actions with reasons and dependencies, output
//! changes, and the execution graph's operations and edges. Used by the planner's
//! data-driven tests and handy for debugging; the user-facing renderer lives in the CLI.

use super::execgraph::reason_text;
use super::model::{Action, OpKind, Phase, Plan};
use std::fmt::Write;

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "mode: {:?}", plan.mode);
    out.push_str("changes:\n");
    for c in &plan.changes {
        let sym = if c.action == Action::NoOp { "=" } else { c.action.symbol() };
        let _ = write!(out, "  {sym} {}", c.address);
        if let Some(key) = &c.deposed {
            let _ = write!(out, " (deposed {key})");
        }
        if c.action == Action::Update
            && let (Some(b), Some(a)) = (&c.before, &c.after)
        {
            let changed: Vec<&str> = a
                .as_map()
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| !b.get(k).is_some_and(|w| super::diff::same(v, w)))
                        .map(|(k, _)| k.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(out, " ({})", changed.join(", "));
        }
        if !c.reasons.is_empty() {
            let _ = write!(out, " [{}]", c.reasons.iter().map(reason_text).collect::<Vec<_>>().join("; "));
        }
        if c.irreversible {
            out.push_str(" !irreversible");
        }
        if c.irreversible_delete() {
            out.push_str(" !cannot-undo");
        }
        out.push('\n');
        if !c.dependencies.is_empty() {
            let deps: Vec<String> = c.dependencies.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "      deps: {}", deps.join(", "));
        }
    }
    if !plan.outputs.is_empty() {
        out.push_str("outputs:\n");
        for o in &plan.outputs {
            let sym = if o.action == Action::NoOp { "=" } else { o.action.symbol() };
            let shown = match &o.after {
                Some(v) if o.sensitive => {
                    format!("(sensitive value){}", if v.is_wholly_known() { "" } else { " (known after apply)" })
                }
                Some(v) => v.to_string(),
                None => "null".into(),
            };
            let _ = writeln!(out, "  {sym} {} = {shown}", o.name);
        }
    }
    if !plan.drift.is_empty() {
        out.push_str("drift:\n");
        for d in &plan.drift {
            let what = if d.actual.is_none() { "gone" } else { "changed" };
            let _ = writeln!(out, "  {} {what}", d.address);
        }
    }
    let op_name = |i: u32| -> String {
        let op = &plan.graph.ops[i as usize];
        let kind = match op.kind {
            OpKind::Create => "create",
            OpKind::Update => "update",
            OpKind::Delete => "delete",
            OpKind::ReadData => "read",
            OpKind::Import => "import",
        };
        let phase = match op.phase {
            Phase::Main => "",
            Phase::Replace => "replace-phase ",
            Phase::FinalDestroy => "final ",
        };
        let change = &plan.changes[op.change as usize];
        let deposed = change.deposed.as_ref().map(|k| format!(" (deposed {k})")).unwrap_or_default();
        // Shown only for a move to another provider configuration, where ops of one change
        // go to different configurations.
        let via = change
            .prior_provider
            .as_ref()
            .map(|_| format!(" via {}", change.provider_for(op.kind)))
            .unwrap_or_default();
        format!("{phase}{kind} {}{deposed}{via}", change.address)
    };
    if !plan.graph.ops.is_empty() {
        out.push_str("ops:\n");
        for i in 0..plan.graph.ops.len() {
            let _ = writeln!(out, "  {}", op_name(i as u32));
        }
    }
    if !plan.graph.edges.is_empty() {
        out.push_str("edges:\n");
        let mut lines: Vec<String> =
            plan.graph.edges.iter().map(|&(a, b)| format!("  {} -> {}", op_name(a), op_name(b))).collect();
        lines.sort();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    out
}
