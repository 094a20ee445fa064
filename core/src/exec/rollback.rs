//! Rollback: compensates the operations an apply completed before it failed, in reverse
//! dependency order — created → delete, updated → update back to the prior values,
//! create_before_destroy replacement → delete the new object, make the old (deposed) object
//! current again and remove its deposed row, imported → forget it (its row goes; the object
//! existed before tarn and is never deleted).
//!
//! A rollback never leaves fewer objects than the run found. Deletes cannot be undone (the plan
//! flags them and orders them last): a replacement whose old object this run deleted keeps its
//! new object (reported *kept*), and so does an update of an object that refers to such a new
//! one (updating it back would point it at an object that is gone); an address whose object was
//! deleted with nothing in its place is reported *not restorable*. Both are decided before any
//! compensation starts, from what completed, and announced per address.
//!
//! The exception is a type whose schema is `restorable` (the provider can create the object
//! again from its recorded state, e.g. a container whose data lives outside it): there the old
//! half of a delete-then-create replacement is undone too, by `Provider::restore` after the new
//! object is deleted, journaled as "rollback-restore" with a correlation tag so that recovery
//! adopts it after a crash. When the provider cannot restore it, the failure says what is left.
//!
//! Compensations run through the same dispatcher and workers as forward operations (journaled
//! as "rollback-delete" / "rollback-update", state written row by row), so that when a
//! compensation fails, state still says exactly what exists. A compensation whose dependants'
//! compensations failed is not attempted (deleting a parent under a live child would fail or
//! orphan it).

use super::cancel::CancelToken;
use super::dispatch::{self, CallSlots, Ended, JobFuture, JobGraph, Jobs, OnFailure};
use super::model::Event;
use super::ops::{Completed, OpProblem, Shared};
use super::values::{RowMeta, deposed_key, from_record};
use super::worker::{self, AfterDelete, Call, OpFailure, OpReport, OpRequest};
use crate::plan::{Action, OpKind, ResourceChange};
use std::collections::HashMap;
use tarn_sdk::Address;
use tarn_state::ResourceRecord;

#[derive(Debug, Default)]
pub(crate) struct RollbackResult {
    pub failed: Vec<OpProblem>,
    pub not_restorable: Vec<Address>,
    pub kept: Vec<Address>,
}

/// What becomes of one completed op when the apply is rolled back.
#[derive(Debug, Clone, PartialEq)]
enum Fate {
    /// Compensated.
    Undo,
    /// Nothing to do: another op's fate covers it.
    Nothing,
    /// Left as the run made it; the reason is reported.
    Keep(String),
    /// An irreversible delete with nothing in its place; the reason is reported.
    Lost(String),
}

/// What to do to undo one completed op.
enum Compensation {
    Nothing,
    Run {
        request: Box<OpRequest>,
        description: &'static str,
    },
    /// Only the state row changes back (a data source read touched nothing outside).
    Row {
        previous: Option<Box<ResourceRecord>>,
    },
    /// An imported object existed before this apply: it stays, only its row goes.
    Forget,
}

struct RollbackJobs<'s, 'a> {
    shared: &'s Shared<'a>,
    completed: &'s [Completed],
    /// Per completed op: compensate it, keep it, or report it lost.
    fates: Vec<Fate>,
    result: RollbackResult,
    descriptions: HashMap<usize, &'static str>,
}

/// Whether the old object of `change`, a delete-then-create replacement, can be created again by
/// its provider (`Provider::restore`), so that a rollback brings it back.
pub(crate) fn restorable(shared: &Shared<'_>, change: &ResourceChange) -> bool {
    change.action == Action::DeleteThenCreate
        && shared.schemas.get(change.provider_for(OpKind::Delete), &change.address).is_some_and(|s| s.restorable)
}

/// Decides, in completion order, which completed ops a rollback cannot undo. A replacement's
/// create is kept when its old object's delete completed; an update is kept when its object
/// depends on an address kept so (transitively); a completed delete is lost unless its
/// replacement's create completed (that create is kept instead).
fn fates(shared: &Shared<'_>, completed: &[Completed]) -> Vec<Fate> {
    let ops = &shared.plan.graph.ops;
    // Ops that succeeded (a partially created object also counts: it exists).
    let done: HashMap<(u32, OpKind), usize> =
        completed.iter().enumerate().map(|(i, c)| ((ops[c.op].change, c.kind), i)).collect();
    let mut kept: HashMap<&Address, &Address> = HashMap::new();
    completed
        .iter()
        .map(|c| {
            let change_index = ops[c.op].change;
            let change = change_of(shared, c);
            let replaced = matches!(change.action, Action::DeleteThenCreate | Action::CreateThenDelete);
            let restorable = restorable(shared, change);
            match c.kind {
                // The new object goes and the old one is restored (see `compensation`).
                OpKind::Create | OpKind::Delete if restorable => Fate::Undo,
                OpKind::Create if replaced && done.contains_key(&(change_index, OpKind::Delete)) => {
                    kept.insert(&change.address, &change.address);
                    Fate::Keep("its previous object was deleted by this run and cannot come back".into())
                }
                OpKind::Update => match change.dependencies.iter().find_map(|d| kept.get(d).map(|&k| (d, k))) {
                    Some((dep, root)) => {
                        kept.insert(&change.address, root);
                        let why = if dep == root { String::new() } else { format!(" (through {dep})") };
                        Fate::Keep(format!(
                            "it refers to the new object of {root}{why}, which stays; updating it back would point \
                             it at an object that is gone"
                        ))
                    }
                    None => Fate::Undo,
                },
                // The replacement's create is kept; its delete and, for an imported object, the
                // import (whose row now holds the new object) have nothing left to undo.
                OpKind::Delete | OpKind::Import
                    if replaced
                        && done.contains_key(&(change_index, OpKind::Create))
                        && done.contains_key(&(change_index, OpKind::Delete)) =>
                {
                    Fate::Nothing
                }
                OpKind::Delete if replaced => {
                    Fate::Lost("its previous object was deleted by this run and the replacement was not created".into())
                }
                OpKind::Delete => Fate::Lost("this run deleted it; a deleted object cannot be brought back".into()),
                _ => Fate::Undo,
            }
        })
        .collect()
}

pub(crate) async fn rollback(shared: &Shared<'_>, completed: &[Completed], parallelism: usize) -> RollbackResult {
    let done_ops: HashMap<usize, usize> = completed.iter().enumerate().map(|(i, c)| (c.op, i)).collect();
    let fates = fates(shared, completed);
    // Reverse every plan edge between completed ops; ops on one address are undone last
    // completed first.
    let mut edges: Vec<(u32, u32)> = shared
        .plan
        .graph
        .edges
        .iter()
        .filter_map(|&(a, b)| Some((*done_ops.get(&(b as usize))? as u32, *done_ops.get(&(a as usize))? as u32)))
        .collect();
    let addresses: Vec<&Address> = completed.iter().map(|c| &change_of(shared, c).address).collect();
    let mut last_on: HashMap<&Address, usize> = HashMap::new();
    for (i, address) in addresses.iter().enumerate() {
        if let Some(prev) = last_on.insert(address, i) {
            edges.push((i as u32, prev as u32));
        }
    }
    edges.sort_unstable();
    edges.dedup();
    let mut jobs =
        RollbackJobs { shared, completed, fates, result: RollbackResult::default(), descriptions: HashMap::new() };
    let graph = match JobGraph::new(&addresses, edges) {
        Ok(g) => g,
        Err(e) => {
            // Cannot happen for a graph that was acyclic forward; refuse rather than guess.
            for c in completed {
                let change = change_of(shared, c);
                jobs.result.failed.push(OpProblem {
                    address: change.address.clone(),
                    op: c.kind,
                    message: format!("not compensated: {e}; this is a bug in tarn"),
                    kind: None,
                });
            }
            return jobs.result;
        }
    };
    shared.sink.emit(Event::RollbackStarted { operations: completed.len() });
    for (c, fate) in completed.iter().zip(&jobs.fates) {
        let address = change_of(shared, c).address.clone();
        match fate {
            Fate::Undo | Fate::Nothing => {}
            Fate::Keep(reason) => {
                shared.sink.emit(Event::RollbackKept { address: address.clone(), reason: reason.clone() });
                jobs.result.kept.push(address);
            }
            Fate::Lost(reason) => {
                shared.sink.emit(Event::RollbackNotRestorable { address: address.clone(), reason: reason.clone() });
                jobs.result.not_restorable.push(address);
            }
        }
    }
    // Rollback is not interruptible: a second Ctrl-C must not leave half-compensated state.
    dispatch::dispatch(&graph, &mut jobs, parallelism, OnFailure::SkipDependants, &CancelToken::new()).await;
    jobs.result.not_restorable.sort();
    jobs.result.not_restorable.dedup();
    jobs.result.kept.sort();
    jobs.result.kept.dedup();
    jobs.result
}

fn change_of<'a>(shared: &Shared<'a>, c: &Completed) -> &'a ResourceChange {
    let op = &shared.plan.graph.ops[c.op];
    &shared.plan.changes[op.change as usize]
}

impl RollbackJobs<'_, '_> {
    fn compensation(&mut self, job: usize) -> Result<Compensation, String> {
        let c = &self.completed[job];
        let sh = self.shared;
        let change = change_of(sh, c);
        // Every compensation acts on what this apply made or changed, which lives behind the
        // change's (new) provider configuration: a replacement's new object is deleted there.
        // The old object of a replacement moving to another configuration keeps its own row
        // (and provider key) in the `Restore` record.
        let provider = sh.providers.get(&change.provider).cloned().ok_or("its provider is not configured")?;
        let prior_record = sh.view.prior_record(&change.address);
        let meta = RowMeta {
            address: change.address.clone(),
            provider: change.provider.clone(),
            dependencies: prior_record.map(|r| r.dependencies.clone()).unwrap_or_default(),
            correlation: prior_record.and_then(|r| r.correlation.clone()),
        };
        let schema = sh.schemas.get(&change.provider, &change.address).cloned();
        let request = |kind, journal_op, call, after_delete| OpRequest {
            provider,
            kind,
            journal_op,
            meta,
            call,
            schema,
            after_delete,
            depose: None,
            announce: None,
        };
        if self.fates[job] != Fate::Undo {
            return Ok(Compensation::Nothing);
        }
        Ok(match (c.kind, change.action) {
            (OpKind::Create, action) => {
                let Some(value) = c.value.clone() else { return Ok(Compensation::Nothing) };
                let (after_delete, description) = match (action, prior_record) {
                    (Action::CreateThenDelete, Some(old)) => (
                        AfterDelete::Restore {
                            record: Box::new(old.clone()),
                            // The create set the old object aside under this key.
                            deposed: Some(deposed_key(&sh.env.run_id, sh.plan.graph.ops[c.op].change)),
                        },
                        "delete the replacement and restore the previous object",
                    ),
                    _ => (AfterDelete::RemoveRow, "delete the object this apply created"),
                };
                let old_known = prior_record.is_some() || change.import_id().is_some();
                if matches!(action, Action::DeleteThenCreate | Action::CreateThenDelete) && !old_known {
                    self.result.not_restorable.push(change.address.clone());
                }
                Compensation::Run {
                    request: Box::new(request(
                        OpKind::Delete,
                        "rollback-delete",
                        Call::Delete { state: value },
                        after_delete,
                    )),
                    description,
                }
            }
            (OpKind::Update, _) => {
                let current = c.value.clone().ok_or("the update left no object to update back")?;
                let prior = self
                    .imported_value(c.op)
                    .or_else(|| sh.view.prior_value(&change.address))
                    .or_else(|| change.before.clone())
                    .ok_or("the prior values are not known")?;
                Compensation::Run {
                    request: Box::new(request(
                        OpKind::Update,
                        "rollback-update",
                        Call::Update { prior: current, planned: prior },
                        AfterDelete::RemoveRow,
                    )),
                    description: "update back to the prior values",
                }
            }
            // The old half of a restorable replacement: created again from its recorded state,
            // through the configuration it lived behind, after the new object is deleted.
            (OpKind::Delete, Action::DeleteThenCreate) => {
                let state = prior_record
                    .map(from_record)
                    .or_else(|| change.before.clone())
                    .ok_or("the deleted object's recorded state is not known")?;
                let key = change.provider_for(OpKind::Delete).to_string();
                let provider = sh.providers.get(&key).cloned().ok_or("its provider is not configured")?;
                let correlation = prior_record
                    .and_then(|r| r.correlation.clone())
                    .unwrap_or_else(|| format!("{}-restore-{}", sh.env.run_id, sh.plan.graph.ops[c.op].change));
                Compensation::Run {
                    request: Box::new(OpRequest {
                        provider,
                        kind: OpKind::Create,
                        journal_op: "rollback-restore",
                        meta: RowMeta {
                            address: change.address.clone(),
                            dependencies: prior_record.map(|r| r.dependencies.clone()).unwrap_or_default(),
                            correlation: Some(correlation.clone()),
                            provider: key.clone(),
                        },
                        call: Call::Restore { state, correlation },
                        schema: sh.schemas.get(&key, &change.address).cloned(),
                        after_delete: AfterDelete::RemoveRow,
                        depose: None,
                        announce: None,
                    }),
                    description: "create the previous object again from its recorded state",
                }
            }
            // Any other delete's fate is `Lost` or `Nothing`; it never gets here.
            (OpKind::Delete, _) => Compensation::Nothing,
            // A data source read changed nothing outside: put its previous row back.
            (OpKind::ReadData, _) => Compensation::Row { previous: prior_record.cloned().map(Box::new) },
            // Never deleted: tarn did not create it. The state forgets it, as before the apply.
            (OpKind::Import, _) => Compensation::Forget,
        })
    }

    /// The object the Import op of `op`'s change recorded, when this apply imported it: the
    /// values an update after the import is undone to.
    fn imported_value(&self, op: usize) -> Option<tarn_sdk::Value> {
        let ops = &self.shared.plan.graph.ops;
        let change = ops[op].change;
        self.completed
            .iter()
            .find(|c| c.kind == OpKind::Import && ops[c.op].change == change)
            .and_then(|c| c.value.clone())
    }

    fn address(&self, job: usize) -> Address {
        change_of(self.shared, &self.completed[job]).address.clone()
    }
}

impl Jobs for RollbackJobs<'_, '_> {
    type Report = Option<OpReport>;

    fn start(&mut self, job: usize, slots: &CallSlots) -> Result<JobFuture<Option<OpReport>>, String> {
        match self.compensation(job)? {
            Compensation::Nothing => Ok(Box::pin(async { None })),
            Compensation::Row { previous } => {
                self.descriptions.insert(job, "restore the data source's previous row");
                let backend = self.shared.env.backend.clone();
                let address = self.address(job).to_string();
                Ok(Box::pin(async move {
                    let started = std::time::Instant::now();
                    let written = match previous {
                        Some(record) => backend.put_resource(*record).await,
                        None => backend.delete_resource(&address).await,
                    };
                    let result = written
                        .map(|()| None)
                        .map_err(|e| OpFailure::new(format!("restoring the data source's previous row failed: {e}")));
                    Some(OpReport { result, elapsed: started.elapsed() })
                }))
            }
            Compensation::Forget => {
                let description = "forget the imported object (it existed before this apply and is left in place)";
                self.descriptions.insert(job, description);
                let address = self.address(job);
                self.shared
                    .sink
                    .emit(Event::RollbackOpStarted { address: address.clone(), description: description.to_string() });
                let backend = self.shared.env.backend.clone();
                // A create_before_destroy replacement after the import set the imported object
                // aside as deposed; its row goes too (the object itself is left in place).
                let op = &self.shared.plan.graph.ops[self.completed[job].op];
                let replaced = self.shared.plan.changes[op.change as usize].action == Action::CreateThenDelete;
                let deposed = replaced.then(|| deposed_key(&self.shared.env.run_id, op.change));
                Ok(Box::pin(async move {
                    let started = std::time::Instant::now();
                    let address = address.to_string();
                    let mut written = backend.delete_resource(&address).await;
                    if let (Ok(()), Some(key)) = (&written, &deposed) {
                        written = backend.delete_deposed(&address, key).await;
                    }
                    let result = written
                        .map(|()| None)
                        .map_err(|e| OpFailure::new(format!("removing the imported object's row failed: {e}")));
                    Some(OpReport { result, elapsed: started.elapsed() })
                }))
            }
            Compensation::Run { mut request, description } => {
                self.descriptions.insert(job, description);
                let address = self.address(job);
                request.announce = Some(Event::RollbackOpStarted { address, description: description.to_string() });
                let (env, slots) = (self.shared.env.clone(), slots.clone());
                Ok(Box::pin(async move { Some(worker::run(env, *request, slots).await) }))
            }
        }
    }

    fn finish(&mut self, job: usize, report: Result<Option<OpReport>, String>) -> Ended {
        let address = self.address(job);
        let description = self.descriptions.get(&job).copied().unwrap_or("compensate").to_string();
        let error = match report {
            Ok(None) => return Ended::Succeeded,
            Ok(Some(OpReport { result: Ok(_), .. })) => {
                self.shared.sink.emit(Event::RollbackOpFinished { address, description });
                return Ended::Succeeded;
            }
            Ok(Some(OpReport { result: Err(f), .. })) if f.stopped => {
                // Rollback never stops early; should it ever, what was not compensated says so.
                self.not_run(job, false);
                return Ended::NotRun;
            }
            Ok(Some(OpReport { result: Err(f), .. })) => (f.message, f.kind),
            Err(panic) => (format!("the executor's worker panicked: {panic}; this is a bug in tarn"), None),
        };
        let (error, kind) = error;
        self.shared.sink.emit(Event::RollbackOpFailed { address: address.clone(), description, error: error.clone() });
        self.result.failed.push(OpProblem { address, op: self.completed[job].kind, message: error, kind });
        Ended::Failed
    }

    fn start_failed(&mut self, job: usize, message: String) {
        let address = self.address(job);
        let message = format!("cannot compensate: {message}");
        self.shared.sink.emit(Event::RollbackOpFailed {
            address: address.clone(),
            description: "compensate".into(),
            error: message.clone(),
        });
        self.result.failed.push(OpProblem { address, op: self.completed[job].kind, message, kind: None });
    }

    fn not_run(&mut self, job: usize, _dependency_failed: bool) {
        let address = self.address(job);
        let message = "not compensated: the compensation of an object depending on it failed".to_string();
        self.shared.sink.emit(Event::RollbackOpFailed {
            address: address.clone(),
            description: "compensate".into(),
            error: message.clone(),
        });
        self.result.failed.push(OpProblem { address, op: self.completed[job].kind, message, kind: None });
    }
}
