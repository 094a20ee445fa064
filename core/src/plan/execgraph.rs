//! The execution graph: typed operations for every change that does something, and the order
//! between them. Creates, updates and data reads run after those of what they depend on;
//! deletes run in reverse dependency order; a replacement is Delete → Create, or with
//! create_before_destroy Create → (dependants' creates and updates) → Delete. An import is
//! an Import op before any of these. O(changes + dependencies).
//!
//! The phases put what a rollback can undo before what it cannot
//! ([`ResourceChange::irreversible_delete`]): `Main` holds every op that is undoable and does
//! not wait for an irreversible one; `Replace` the delete-then-create replacements (whose
//! delete must precede their create) and everything that waits for them; `FinalDestroy` the
//! deletes of removed and deposed objects and the old halves of create_before_destroy
//! replacements, which run only once every create and update succeeded.

use super::model::{Action, ChangeReason, ExecGraph, Op, OpKind, Phase, ResourceChange};

/// Replacements that a create_before_destroy replacement depends on must also create first,
/// or the order would be circular (Terraform does the same). Promotes them in place.
pub fn promote_create_before_destroy(changes: &mut [ResourceChange], deps: &[Vec<u32>]) {
    let mut stack: Vec<usize> = (0..changes.len()).filter(|&i| changes[i].action == Action::CreateThenDelete).collect();
    while let Some(i) = stack.pop() {
        for &j in &deps[i] {
            let j = j as usize;
            if changes[j].action == Action::DeleteThenCreate {
                changes[j].action = Action::CreateThenDelete;
                stack.push(j);
            }
        }
    }
}

/// Builds the graph. `deps[i]`: indices of the changes the new object of change `i` depends
/// on (configuration); `delete_deps[i]`: what its old object depended on (recorded).
pub fn build(changes: &[ResourceChange], deps: &[Vec<u32>], delete_deps: &[Vec<u32>]) -> ExecGraph {
    let mut g = ExecGraph::default();
    let mut main_op: Vec<Option<u32>> = vec![None; changes.len()];
    let mut delete_op: Vec<Option<(u32, Phase)>> = vec![None; changes.len()];
    let push = |g: &mut ExecGraph, kind, change: usize, phase| -> u32 {
        g.ops.push(Op { kind, change: change as u32, phase });
        (g.ops.len() - 1) as u32
    };
    for (i, c) in changes.iter().enumerate() {
        // An import records the existing object first; whatever the diff asks follows it.
        let import = match (c.import_id(), c.action) {
            (Some(_), Action::NoOp | Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete) => {
                Some(push(&mut g, OpKind::Import, i, Phase::Main))
            }
            _ => None,
        };
        let first = g.ops.len() as u32;
        match c.action {
            Action::NoOp => main_op[i] = import,
            Action::Create => main_op[i] = Some(push(&mut g, OpKind::Create, i, Phase::Main)),
            Action::Update => main_op[i] = Some(push(&mut g, OpKind::Update, i, Phase::Main)),
            Action::Read => main_op[i] = Some(push(&mut g, OpKind::ReadData, i, Phase::Main)),
            Action::Delete => {
                delete_op[i] = Some((push(&mut g, OpKind::Delete, i, Phase::FinalDestroy), Phase::FinalDestroy))
            }
            Action::DeleteThenCreate => {
                let d = push(&mut g, OpKind::Delete, i, Phase::Replace);
                let c = push(&mut g, OpKind::Create, i, Phase::Replace);
                g.edges.push((d, c));
                delete_op[i] = Some((d, Phase::Replace));
                main_op[i] = Some(c);
            }
            Action::CreateThenDelete => {
                let c = push(&mut g, OpKind::Create, i, Phase::Main);
                // The old object goes last: until then a rollback can make it current again.
                let d = push(&mut g, OpKind::Delete, i, Phase::FinalDestroy);
                g.edges.push((c, d));
                delete_op[i] = Some((d, Phase::FinalDestroy));
                main_op[i] = Some(c);
            }
        }
        if let Some(imp) = import
            && (first as usize) < g.ops.len()
        {
            g.edges.push((imp, first));
        }
    }
    for (i, ds) in deps.iter().enumerate() {
        for &j in ds {
            let j = j as usize;
            if i == j {
                continue;
            }
            if let (Some(cj), Some(ci)) = (main_op[j], main_op[i]) {
                g.edges.push((cj, ci));
            }
            if changes[j].action == Action::CreateThenDelete
                && let (Some(ci), Some((dj, _))) = (main_op[i], delete_op[j])
            {
                g.edges.push((ci, dj));
            }
        }
    }
    for (i, ds) in delete_deps.iter().enumerate() {
        for &j in ds {
            let j = j as usize;
            if let (Some((di, pi)), Some((dj, pj))) = (delete_op[i], delete_op[j])
                && i != j
                && pi == pj
            {
                g.edges.push((di, dj));
            }
        }
    }
    g.edges.sort_unstable();
    g.edges.dedup();
    defer_dependants_of_replacements(&mut g);
    g
}

/// Moves every main-phase op that waits (transitively) for a delete-then-create replacement
/// into the `Replace` phase, so that no phase waits for a later one.
fn defer_dependants_of_replacements(g: &mut ExecGraph) {
    let mut succ: Vec<Vec<u32>> = vec![Vec::new(); g.ops.len()];
    for &(a, b) in &g.edges {
        succ[a as usize].push(b);
    }
    let mut stack: Vec<usize> = (0..g.ops.len()).filter(|&i| g.ops[i].phase == Phase::Replace).collect();
    while let Some(i) = stack.pop() {
        for &b in &succ[i] {
            let op = &mut g.ops[b as usize];
            if op.phase == Phase::Main {
                op.phase = Phase::Replace;
                stack.push(b as usize);
            }
        }
    }
}

/// True when the graph has a cycle (a bug in the planner, reported as such).
pub fn has_cycle(g: &ExecGraph) -> bool {
    let n = g.ops.len();
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); n];
    for &(a, b) in &g.edges {
        out[a as usize].push(b);
        indegree[b as usize] += 1;
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = ready.pop() {
        seen += 1;
        for &b in &out[i] {
            indegree[b as usize] -= 1;
            if indegree[b as usize] == 0 {
                ready.push(b as usize);
            }
        }
    }
    seen != n
}

/// Reason text helper for tests and renderers.
pub fn reason_text(r: &ChangeReason) -> String {
    match r {
        ChangeReason::ReplaceBecauseOf { attributes } => format!("replace because of {}", attributes.join(", ")),
        ChangeReason::ReplaceByRequest => "replace requested".into(),
        ChangeReason::ReplaceTriggeredBy { by } => format!("replace triggered by {by}"),
        ChangeReason::GoneOutsideTarn => "gone outside tarn".into(),
        ChangeReason::NotInConfig => "not in configuration".into(),
        ChangeReason::KeyNotInConfig => "key not in configuration".into(),
        ChangeReason::DestroyRequested => "destroy requested".into(),
        ChangeReason::Moved { from } => format!("moved from {from}"),
        ChangeReason::ReadDeferred => "read deferred to apply".into(),
        ChangeReason::Import { id } => format!("import id {id:?}"),
        ChangeReason::ProviderChanged { from, to } => format!("provider configuration changes from {from} to {to}"),
        ChangeReason::Forget => "forgotten by a removed block".into(),
    }
}
