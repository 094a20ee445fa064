//! The phases of an apply as the executor runs them: the plan's ops split by
//! [`Phase`](crate::plan::Phase) (checked: no op waits for one of a later phase), the
//! dependency graph among one phase's ops, the ops a phase must skip because something they
//! wait for in an earlier phase did not succeed (policy `continue`), and — before a rollback —
//! the delete-then-create replacements whose old object is already gone but whose create was
//! never attempted, which are finished rather than left with nothing. Decides no order of its
//! own: every order comes from the plan's graph.

use super::dispatch::JobGraph;
use super::error::ExecError;
use super::ops::PhaseJobs;
use crate::plan::{Action, OpKind, Phase, Plan};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tarn_sdk::{Address, Provider};

/// The phases in the order they run.
pub(crate) const ORDER: [Phase; 3] = [Phase::Main, Phase::Replace, Phase::FinalDestroy];

/// Plan op indices of each phase (in [`ORDER`]), after checking indices, providers and that no
/// edge leads from a later phase to an earlier one.
pub(crate) fn split(plan: &Plan, providers: &HashMap<String, Arc<dyn Provider>>) -> Result<[Vec<usize>; 3], ExecError> {
    let mut phases: [Vec<usize>; 3] = Default::default();
    for (i, op) in plan.graph.ops.iter().enumerate() {
        let change = plan.changes.get(op.change as usize).ok_or_else(|| {
            ExecError::InvalidGraph(format!("operation {i} refers to change {} of {}", op.change, plan.changes.len()))
        })?;
        let provider = change.provider_for(op.kind);
        if !providers.contains_key(provider) {
            return Err(ExecError::MissingProvider {
                address: change.address.to_string(),
                provider: provider.to_string(),
            });
        }
        phases[index(op.phase)].push(i);
    }
    let ops = &plan.graph.ops;
    for &(a, b) in &plan.graph.edges {
        let (Some(oa), Some(ob)) = (ops.get(a as usize), ops.get(b as usize)) else {
            return Err(ExecError::InvalidGraph(format!("edge ({a}, {b}) names an operation that does not exist")));
        };
        if oa.phase > ob.phase {
            return Err(ExecError::InvalidGraph(format!(
                "{:?}-phase operation {b} waits for {:?}-phase operation {a}",
                ob.phase, oa.phase
            )));
        }
    }
    Ok(phases)
}

fn index(phase: Phase) -> usize {
    match phase {
        Phase::Main => 0,
        Phase::Replace => 1,
        Phase::FinalDestroy => 2,
    }
}

/// The dependency graph among one phase's ops (edges into the phase from earlier phases are
/// implied by running the phases in order).
pub(crate) fn graph(plan: &Plan, phase_ops: &[usize]) -> Result<JobGraph, ExecError> {
    let local: HashMap<usize, u32> = phase_ops.iter().enumerate().map(|(j, &op)| (op, j as u32)).collect();
    let edges =
        plan.graph.edges.iter().filter_map(|&(a, b)| Some((*local.get(&(a as usize))?, *local.get(&(b as usize))?)));
    // A deposed object is another object than the current one of its address.
    let addresses: Vec<(&Address, Option<&str>)> = phase_ops
        .iter()
        .map(|&op| &plan.changes[plan.graph.ops[op].change as usize])
        .map(|c| (&c.address, c.deposed.as_deref()))
        .collect();
    JobGraph::new(&addresses, edges).map_err(ExecError::InvalidGraph)
}

/// Of `phase_ops`, those that wait (transitively) for an op of an earlier phase that failed or
/// was not run.
pub(crate) fn blocked(plan: &Plan, earlier: &[PhaseJobs<'_, '_>], phase_ops: &[usize]) -> HashSet<usize> {
    let mut succ: Vec<Vec<u32>> = vec![Vec::new(); plan.graph.ops.len()];
    for &(a, b) in &plan.graph.edges {
        succ[a as usize].push(b);
    }
    let mut reached: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> =
        earlier.iter().flat_map(|p| p.failed_ops.iter().chain(&p.not_run_ops).copied()).collect();
    while let Some(op) = stack.pop() {
        for &b in &succ[op] {
            if reached.insert(b as usize) {
                stack.push(b as usize);
            }
        }
    }
    let ours: HashSet<usize> = phase_ops.iter().copied().collect();
    reached.retain(|op| ours.contains(op));
    reached
}

/// Creates of delete-then-create replacements that were not run although their old object was
/// deleted and everything they wait for succeeded. The old object cannot come back, so before a
/// rollback these are finished: otherwise the address would be left with no object at all.
pub(crate) fn unfinished_replacements(plan: &Plan, phases: &[PhaseJobs<'_, '_>]) -> Vec<usize> {
    let failed: HashSet<usize> = phases.iter().flat_map(|p| p.failed_ops.iter().copied()).collect();
    let succeeded: HashSet<usize> =
        phases.iter().flat_map(|p| p.completed.iter().map(|c| c.op)).filter(|op| !failed.contains(op)).collect();
    let mut preds: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(a, b) in &plan.graph.edges {
        preds.entry(b as usize).or_default().push(a as usize);
    }
    phases
        .iter()
        .flat_map(|p| p.not_run_ops.iter().copied())
        .filter(|&op| {
            let o = &plan.graph.ops[op];
            o.kind == OpKind::Create
                && plan.changes[o.change as usize].action == Action::DeleteThenCreate
                && preds.get(&op).is_some_and(|ps| {
                    // Its own delete is one of them (the graph orders the pair).
                    ps.iter().all(|p| succeeded.contains(p))
                        && ps
                            .iter()
                            .any(|&p| plan.graph.ops[p].kind == OpKind::Delete && plan.graph.ops[p].change == o.change)
                })
        })
        .collect()
}
