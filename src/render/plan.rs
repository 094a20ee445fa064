//! A plan for humans, in the shape Terraform users know: one block per changed instance with
//! `+ ~ - -/+ +/-` symbols and attribute diffs, imports ("will be imported"), drift found by
//! refresh, output changes, a summary line, and irreversible actions called out before the user
//! approves. Plans of thousands of changes are rendered in one slice per core, joined in order.

use super::diff::{self, DiffStyle};
use super::{paint, style};
use std::fmt::Write as _;
use tarn_core::plan::{Action, ChangeReason, Plan, ResourceChange};
use tarn_sdk::Mode;

/// Counts for the summary line and `--json` (the engine records the same in the run history).
pub use tarn_core::plan::Counts;

/// Whether applying the plan would change anything: objects, outputs, or addresses that
/// `moved {}` blocks rename in the state (a move alone is a change: until applied, removing
/// the block would destroy the object under its old name).
pub fn has_changes(plan: &Plan) -> bool {
    if plan.mode == tarn_core::plan::PlanMode::RefreshOnly {
        // A refresh-only plan changes no object: applying it records what refresh found.
        return !plan.drift.is_empty();
    }
    !Counts::of(plan).is_empty()
        || plan.outputs.iter().any(|o| o.action != Action::NoOp)
        || !moves_only(plan).is_empty()
        || plan.changes.iter().any(is_forget)
}

/// A `removed {}` block's object that apply takes out of the state without destroying it.
fn is_forget(c: &ResourceChange) -> bool {
    c.reasons.contains(&ChangeReason::Forget)
}

/// Unchanged objects whose address a `moved {}` block renames: (to, from).
fn moves_only(plan: &Plan) -> Vec<(&ResourceChange, &str)> {
    plan.changes
        .iter()
        .filter(|c| c.action == Action::NoOp)
        .filter_map(|c| {
            c.reasons.iter().find_map(|r| match r {
                ChangeReason::Moved { from } => Some((c, from.as_str())),
                _ => None,
            })
        })
        .collect()
}

pub fn render(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str(&paint("Objects have changed outside of tarn:", style::BOLD, color));
        out.push_str("\n\n");
        for d in &plan.drift {
            match &d.actual {
                None => out
                    .push_str(&format!("  # {} has been deleted\n", paint(&d.address.to_string(), style::BOLD, color))),
                Some(actual) => {
                    out.push_str(&format!("  # {} has changed\n", paint(&d.address.to_string(), style::BOLD, color)));
                    let style = DiffStyle { color, forces: Vec::new() };
                    diff::attributes(d.recorded.as_ref(), Some(actual), 6, &style, &mut out);
                }
            }
        }
        out.push('\n');
    }

    if plan.mode == tarn_core::plan::PlanMode::RefreshOnly {
        if plan.drift.is_empty() {
            out.push_str(&paint("No changes.", style::SUCCESS, color));
            out.push_str(" No objects have changed outside of tarn.\n");
        } else {
            out.push_str(
                "This is a refresh-only plan: tarn will not change any object to undo these changes. Apply it \
                 (`tarn apply --refresh-only`) to record them in the state.\n",
            );
        }
        return out;
    }
    let changed: Vec<&ResourceChange> =
        plan.changes.iter().filter(|c| c.action != Action::NoOp || c.import_id().is_some()).collect();
    let counts = Counts::of(plan);
    let moved = moves_only(plan);
    for (c, from) in &moved {
        out.push_str(&format!(
            "  # {} has moved to {}
",
            paint(from, style::BOLD, color),
            paint(&c.address.to_string(), style::BOLD, color)
        ));
    }
    if !moved.is_empty() {
        out.push('\n');
    }
    let forgotten: Vec<&ResourceChange> = plan.changes.iter().filter(|c| is_forget(c)).collect();
    for c in &forgotten {
        out.push_str(&format!(
            "  # {} will no longer be managed by tarn (removed block); the object will not be destroyed\n",
            paint(&c.address.to_string(), style::BOLD, color)
        ));
    }
    if !forgotten.is_empty() {
        out.push('\n');
    }
    if changed.is_empty() {
        if plan.outputs.iter().all(|o| o.action == Action::NoOp) && moved.is_empty() && forgotten.is_empty() {
            out.push_str(&paint("No changes.", style::SUCCESS, color));
            out.push_str(" The real objects match the configuration.\n");
            return out;
        }
    } else {
        out.push_str("tarn will perform the following actions:\n\n");
        changes(&changed, color, &mut out);
    }
    // Like Terraform, the import count shows only when there is something to import.
    let imports = if counts.import > 0 { format!("{} to import, ", counts.import) } else { String::new() };
    out.push_str(&format!(
        "{} {imports}{} to add, {} to change, {} to destroy.\n",
        paint("Plan:", style::BOLD, color),
        counts.add,
        counts.change,
        counts.destroy
    ));
    let final_deletes = changed.iter().filter(|c| c.irreversible_delete()).count();
    if final_deletes > 0 {
        out.push_str(&format!(
            "{final_deletes} of these changes cannot be undone by a rollback (marked above); they run after every \
             change that can be.\n"
        ));
    }
    outputs(plan, color, &mut out);
    let irreversible: Vec<_> = changed.iter().filter(|c| c.irreversible).collect();
    if !irreversible.is_empty() {
        out.push_str(&format!(
            "\n{} these actions cannot be rolled back if the apply fails later:\n",
            paint("Warning:", style::WARNING, color)
        ));
        for c in irreversible {
            let deposed = c.deposed.as_ref().map(|k| format!(" (deposed object {k})")).unwrap_or_default();
            out.push_str(&format!("  - {}{deposed} ({})\n", c.address, describe(c.action)));
        }
    }
    out
}

/// Below this many changes one thread renders them all: starting another costs more than it saves.
const PARALLEL_FROM: usize = 1024;

/// The blocks of `changed`, in order. Large plans are rendered in as many slices as there are
/// cores, side by side, and joined: each block depends only on its own change.
fn changes(changed: &[&ResourceChange], color: bool, out: &mut String) {
    let render = |slice: &[&ResourceChange], out: &mut String| {
        for ch in slice {
            change(ch, color, out);
            out.push('\n');
        }
    };
    // About two hundred bytes a block: grown once, not by doubling (and copying) through a
    // megabyte.
    out.reserve(changed.len() * 224);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(changed.len() / PARALLEL_FROM);
    if threads < 2 {
        render(changed, out);
        return;
    }
    let per = changed.len().div_ceil(threads);
    let mut slices = changed.chunks(per);
    let first = slices.next().unwrap_or_default();
    std::thread::scope(|scope| {
        // A slice whose thread could not be started is rendered here, in its turn.
        let rest: Vec<_> = slices
            .map(|slice| {
                let part = std::thread::Builder::new().spawn_scoped(scope, move || {
                    let mut part = String::with_capacity(slice.len() * 224);
                    render(slice, &mut part);
                    part
                });
                (slice, part.ok())
            })
            .collect();
        render(first, out);
        for (slice, handle) in rest {
            match handle.map(|h| h.join()) {
                Some(Ok(part)) => out.push_str(&part),
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => render(slice, out),
            }
        }
    });
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::Create => "will be created",
        Action::Read => "will be read during apply",
        Action::Update => "will be updated in-place",
        Action::DeleteThenCreate => "must be replaced",
        Action::CreateThenDelete => "must be replaced (create before destroy)",
        Action::Delete => "will be destroyed",
        Action::NoOp => "is unchanged",
    }
}

fn change(ch: &ResourceChange, color: bool, out: &mut String) {
    let code = match ch.action {
        Action::Create => style::GREEN,
        Action::Delete => style::RED,
        Action::Update => style::YELLOW,
        _ => style::MAGENTA,
    };
    let does =
        if ch.action == Action::NoOp && ch.import_id().is_some() { "will be imported" } else { describe(ch.action) };
    out.push_str("  # ");
    let mut heading = ch.address.to_string();
    if let Some(key) = &ch.deposed {
        let _ = write!(heading, " (deposed object {key})");
    }
    out.push_str(&paint(&heading, style::BOLD, color));
    out.push(' ');
    out.push_str(does);
    for reason in &ch.reasons {
        match reason {
            ChangeReason::ReplaceByRequest => out.push_str(", as requested"),
            ChangeReason::ReplaceTriggeredBy { by } => out.push_str(&format!(", because of a change to {by}")),
            ChangeReason::GoneOutsideTarn => out.push_str(" (it was deleted outside tarn)"),
            ChangeReason::NotInConfig => out.push_str(" (not in configuration)"),
            ChangeReason::KeyNotInConfig => out.push_str(" (its key is no longer in count/for_each)"),
            ChangeReason::Moved { from } => out.push_str(&format!(" (moved from {from})")),
            ChangeReason::ReadDeferred => out.push_str(" (its configuration depends on values known after apply)"),
            ChangeReason::ProviderChanged { from, to } => {
                out.push_str(&format!(" (provider configuration changes from {from} to {to})"))
            }
            ChangeReason::ReplaceBecauseOf { .. }
            | ChangeReason::DestroyRequested
            | ChangeReason::Import { .. }
            | ChangeReason::Forget => {}
        }
    }
    out.push('\n');
    if let Some(id) = ch.import_id().filter(|_| ch.action != Action::NoOp) {
        out.push_str(&format!("  # (imported from {id:?})\n"));
    }
    if ch.irreversible {
        out.push_str(&format!(
            "  {}\n",
            paint("# irreversible: a rollback cannot restore what this deletes", style::RED, color)
        ));
    }
    if ch.irreversible_delete() {
        let note = if ch.action == Action::DeleteThenCreate {
            "# cannot be undone: the old object is deleted first, after every change a rollback can undo"
        } else {
            "# cannot be undone: deleted after every change a rollback can undo"
        };
        out.push_str(&format!("  {}\n", paint(note, style::YELLOW, color)));
    }
    for note in &ch.notes {
        out.push_str(&format!("  {}\n", paint(&format!("# note: {note}"), style::YELLOW, color)));
    }
    let kind = if ch.address.mode == Mode::Data { "data" } else { "resource" };
    let symbol = ch.action.symbol();
    // Right-aligned in three columns; with colour, the escapes take no column.
    out.push_str(&"   "[symbol.len().min(3)..]);
    out.push_str(&paint(symbol, code, color));
    out.push(' ');
    out.push_str(kind);
    out.push(' ');
    diff::quote(&ch.address.type_name, out);
    out.push(' ');
    diff::quote(&ch.address.name, out);
    out.push_str(" {\n");
    let forces = ch
        .reasons
        .iter()
        .flat_map(|r| match r {
            ChangeReason::ReplaceBecauseOf { attributes } => attributes.clone(),
            _ => Vec::new(),
        })
        .collect();
    let style = DiffStyle { color, forces };
    let (before, after) = match ch.action {
        Action::Delete => (ch.before.as_ref(), None),
        Action::Create | Action::Read => (None, ch.after.as_ref()),
        _ => (ch.before.as_ref(), ch.after.as_ref()),
    };
    diff::attributes(before, after, 6, &style, out);
    out.push_str("    }\n");
}

fn outputs(plan: &Plan, color: bool, out: &mut String) {
    let changed: Vec<_> = plan.outputs.iter().filter(|o| o.action != Action::NoOp).collect();
    if changed.is_empty() {
        return;
    }
    out.push_str("\nChanges to outputs:\n");
    let width = changed.iter().map(|o| o.name.len()).max().unwrap_or(0);
    for o in changed {
        let (sym, code) = match o.action {
            Action::Create => ("+", style::GREEN),
            Action::Delete => ("-", style::RED),
            _ => ("~", style::YELLOW),
        };
        let shown = |v: &Option<tarn_sdk::Value>| match v {
            _ if o.sensitive => "(sensitive value)".to_string(),
            Some(v) => diff::inline(v),
            None => "null".to_string(),
        };
        let value = match o.action {
            Action::Create => shown(&o.after),
            Action::Delete => shown(&o.before),
            _ => format!("{} -> {}", shown(&o.before), shown(&o.after)),
        };
        out.push_str(&format!("  {} {:width$} = {value}\n", paint(sym, code, color), o.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_sdk::{Address, Value};

    fn create(i: usize) -> ResourceChange {
        ResourceChange {
            after: Some(Value::map([("name", Value::string(format!("n{i}"))), ("id", Value::Unknown)])),
            ..ResourceChange::new(
                format!("null_resource.a[{i}]").parse::<Address>().expect("address"),
                "null",
                Action::Create,
            )
        }
    }

    #[test]
    fn a_large_plan_rendered_in_slices_reads_as_one_rendered_in_order() {
        let all: Vec<ResourceChange> = (0..PARALLEL_FROM * 3 + 7).map(create).collect();
        let changed: Vec<&ResourceChange> = all.iter().collect();
        let mut sliced = String::new();
        changes(&changed, false, &mut sliced);
        let mut one = String::new();
        for ch in &changed {
            change(ch, false, &mut one);
            one.push('\n');
        }
        assert_eq!(sliced, one);
        let last = format!("null_resource.a[{}] will be created", all.len() - 1);
        assert!(
            sliced.trim_end().rsplit("\n\n").next().is_some_and(|b| b.contains(&last)),
            "the last block comes last"
        );
    }
}
