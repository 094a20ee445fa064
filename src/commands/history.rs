//! `tarn history [RUN_ID]`: the runs that changed this state — apply, destroy, import and the
//! state commands — with who, when, the plan's counts and the outcome; or one run's operations
//! from the journal (intent paired with outcome: ok, error, or none when the run died).
//! Reads only: no lock, and an absent state is an empty history.

use crate::cli::HistoryArgs;
use crate::error::CliError;
use crate::render::{self, Color, style};
use crate::stack;
use serde_json::{Value as Json, json};
use tarn_state::{JournalPhase, JournalRecord, RunOutcome, RunRecord};

pub async fn run(args: &HistoryArgs, color: Color) -> Result<(), CliError> {
    let backend = if stack::state_exists() { Some(stack::open_layers(&stack::workspace()?)?.raw) } else { None };
    let mut runs = match &backend {
        Some(b) => b.history().await?,
        None => Vec::new(),
    };
    if let Some(id) = &args.run_id {
        let run = find(&runs, id)?;
        let journal = match &backend {
            Some(b) => b.run_journal(&run.id).await?,
            None => Vec::new(),
        };
        let ops = operations(&journal);
        if args.json {
            outln!(
                "{}",
                json!({"format_version": render::json::FORMAT_VERSION, "run": run_json(run), "operations": ops})
            );
        } else {
            out!("{}", render_run(run, &ops, color.stdout));
        }
        return Ok(());
    }
    if let Some(n) = args.limit {
        runs.truncate(n);
    }
    if args.json {
        outln!(
            "{}",
            json!({"format_version": render::json::FORMAT_VERSION, "runs": runs.iter().map(run_json).collect::<Vec<_>>()})
        );
        return Ok(());
    }
    if runs.is_empty() {
        outln!("No runs yet: nothing has changed this state.");
        return Ok(());
    }
    outln!("{:<8}  {:<20}  {:<20}  {:<19}  {:<14}  SERIAL", "RUN", "STARTED", "OUTCOME", "BY", "PLAN");
    for r in &runs {
        outln!(
            "{:<8}  {:<20}  {:<20}  {:<19}  {:<14}  {}",
            short(&r.id),
            r.started_at.split('.').next().unwrap_or(&r.started_at).trim_end_matches('Z'),
            paint_outcome(r.outcome, color.stdout),
            format!("{}@{}", r.holder.user, r.holder.host),
            counts_text(&plan_counts(r)),
            r.serial
        );
        outln!("          {}", r.holder.command);
    }
    Ok(())
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn find<'a>(runs: &'a [RunRecord], id: &str) -> Result<&'a RunRecord, CliError> {
    let hits: Vec<_> = runs.iter().filter(|r| r.id.starts_with(id)).collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::Failed(format!("no run {id:?} in this state's history; `tarn history` lists the runs"))),
        many => Err(CliError::Failed(format!(
            "{id:?} is the start of {} run IDs ({}); give more of it",
            many.len(),
            many.iter().map(|r| short(&r.id)).collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// The outcome as its persisted, documented name (`rolled_back`): RunOutcome's serde form.
fn outcome_str(o: RunOutcome) -> String {
    serde_json::to_value(o).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| format!("{o:?}"))
}

fn paint_outcome(o: RunOutcome, color: bool) -> String {
    let text = format!("{:<20}", outcome_str(o).replace('_', " "));
    let code = match o {
        RunOutcome::Success => style::GREEN,
        RunOutcome::Running => style::CYAN,
        RunOutcome::RolledBack | RunOutcome::Halted => style::YELLOW,
        _ => style::RED,
    };
    render::paint(&text, code, color)
}

/// The plan's counts: `summary.plan` once a run finished, the summary itself while it runs.
fn plan_counts(r: &RunRecord) -> Json {
    match r.summary.get("plan") {
        Some(p) => p.clone(),
        None if r.outcome == RunOutcome::Running => r.summary.clone(),
        None => Json::Null,
    }
}

/// `+2 ~1 -0` for plan counts, `move 2` for the state commands' own counts.
fn counts_text(counts: &Json) -> String {
    let Some(map) = counts.as_object() else { return "-".into() };
    if map.contains_key("add") || map.contains_key("destroy") {
        let n = |k: &str| map.get(k).and_then(Json::as_i64).unwrap_or(0);
        return format!("+{} ~{} -{}", n("add"), n("change"), n("destroy"));
    }
    let parts: Vec<String> = map.iter().filter_map(|(k, v)| v.as_i64().map(|n| format!("{k} {n}"))).collect();
    if parts.is_empty() { "-".into() } else { parts.join(", ") }
}

fn run_json(r: &RunRecord) -> Json {
    json!({
        "id": r.id, "command": r.holder.command, "kind": r.command,
        "user": r.holder.user, "host": r.holder.host, "pid": r.holder.pid,
        "started_at": r.started_at, "finished_at": r.finished_at,
        "outcome": outcome_str(r.outcome), "plan": plan_counts(r), "summary": r.summary, "serial": r.serial,
    })
}

/// Each intent with its outcome: one entry per provider call (a retried call has one per attempt).
fn operations(journal: &[JournalRecord]) -> Vec<Json> {
    let mut out = Vec::new();
    for rec in journal.iter().filter(|r| r.entry.phase == JournalPhase::Intent) {
        let outcome =
            journal.iter().find(|o| o.entry.phase == JournalPhase::Outcome && o.entry.intent_seq == Some(rec.seq));
        let result = match outcome {
            Some(o) => o.entry.detail.get("result").and_then(Json::as_str).unwrap_or("ok").to_string(),
            None if rec.closed => "closed".to_string(),
            None => "none".to_string(),
        };
        out.push(json!({
            "seq": rec.seq, "at": rec.at, "address": rec.entry.address, "op": rec.entry.op,
            "attempt": rec.entry.detail.get("attempt"),
            "result": result,
            "error": outcome.and_then(|o| o.entry.detail.get("message")).cloned().unwrap_or(Json::Null),
            "finished_at": outcome.map(|o| o.at.clone()),
        }));
    }
    // Outcomes with no intent (renames of `moved {}` blocks are journaled this way).
    for rec in journal.iter().filter(|r| r.entry.phase == JournalPhase::Outcome && r.entry.intent_seq.is_none()) {
        out.push(json!({
            "seq": rec.seq, "at": rec.at, "address": rec.entry.address, "op": rec.entry.op, "attempt": Json::Null,
            "result": rec.entry.detail.get("result").and_then(Json::as_str).unwrap_or("ok"),
            "error": rec.entry.detail.get("message").cloned().unwrap_or(Json::Null), "finished_at": rec.at,
        }));
    }
    out.sort_by_key(|o| o["seq"].as_i64());
    out
}

fn render_run(r: &RunRecord, ops: &[Json], color: bool) -> String {
    let mut s = format!(
        "Run {}\n  command:  {}\n  by:       {}@{} (pid {})\n  started:  {}\n  finished: {}\n  outcome:  {}\n  plan:     {}\n  serial:   {}\n",
        r.id,
        r.holder.command,
        r.holder.user,
        r.holder.host,
        r.holder.pid,
        r.started_at,
        r.finished_at.as_deref().unwrap_or("-"),
        paint_outcome(r.outcome, color).trim_end(),
        counts_text(&plan_counts(r)),
        r.serial
    );
    if ops.is_empty() {
        s.push_str("\nNo provider operations were journaled for this run.\n");
        return s;
    }
    s.push_str("\nOperations:\n");
    let width = ops.iter().filter_map(|o| o["address"].as_str()).map(str::len).max().unwrap_or(0);
    for o in ops {
        let result = o["result"].as_str().unwrap_or("?");
        let shown = match result {
            "ok" => render::paint("ok", style::GREEN, color),
            "none" => render::paint("no outcome (the run stopped during this call)", style::RED, color),
            other => render::paint(other, style::RED, color),
        };
        let error = o["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default();
        s.push_str(&format!(
            "  {:<width$}  {:<16}  {shown}{error}\n",
            o["address"].as_str().unwrap_or(""),
            o["op"].as_str().unwrap_or("")
        ));
    }
    s
}
