//! The dispatcher: owns the authoritative scheduling state of one phase — remaining
//! in-degrees, the ready queue, which addresses are busy, each job's status — and runs jobs as
//! tokio tasks, at most `parallelism` at a time. Workers report back through their task's
//! result; nothing else is shared. It knows nothing about providers or state: a [`Jobs`]
//! implementation says how to start a job and records how it ended.
//!
//! Invariants: a job starts only after every job it depends on succeeded; never two jobs on
//! one address at once (the plan's graph serialises them; the dispatcher still holds a job
//! back while its address is busy); a job that panics is reported as failed, never lost.

use super::cancel::CancelToken;
use super::worker::panic_message;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use tokio::task::JoinSet;

pub(crate) type JobFuture<R> = Pin<Box<dyn Future<Output = R> + Send + 'static>>;

/// Dependencies between jobs and the address slot each job occupies.
#[derive(Debug)]
pub(crate) struct JobGraph {
    succ: Vec<Vec<u32>>,
    indeg: Vec<u32>,
    slot: Vec<u32>,
    slots: usize,
}

impl JobGraph {
    /// `slots[j]`: any key identifying job `j`'s address; `edges`: `(before, after)`.
    /// Fails on an out-of-range index or a cycle.
    pub fn new<K: std::hash::Hash + Eq>(slots: &[K], edges: impl IntoIterator<Item = (u32, u32)>) -> Result<Self, String> {
        let n = slots.len();
        let mut succ = vec![Vec::new(); n];
        let mut indeg = vec![0u32; n];
        for (a, b) in edges {
            if a as usize >= n || b as usize >= n {
                return Err(format!("edge ({a}, {b}) names an operation that does not exist ({n} operations)"));
            }
            if a == b {
                return Err(format!("operation {a} depends on itself"));
            }
            succ[a as usize].push(b);
            indeg[b as usize] += 1;
        }
        let mut intern: HashMap<&K, u32> = HashMap::with_capacity(n);
        let slot = slots
            .iter()
            .map(|k| {
                let next = intern.len() as u32;
                *intern.entry(k).or_insert(next)
            })
            .collect();
        let graph = JobGraph { succ, indeg, slot, slots: intern.len() };
        graph.check_acyclic()?;
        Ok(graph)
    }

    pub fn len(&self) -> usize {
        self.indeg.len()
    }

    fn check_acyclic(&self) -> Result<(), String> {
        let mut indeg = self.indeg.clone();
        let mut queue: Vec<usize> = (0..self.len()).filter(|&j| indeg[j] == 0).collect();
        let mut seen = 0;
        while let Some(j) = queue.pop() {
            seen += 1;
            for &s in &self.succ[j] {
                indeg[s as usize] -= 1;
                if indeg[s as usize] == 0 {
                    queue.push(s as usize);
                }
            }
        }
        if seen == self.len() { Ok(()) } else { Err(format!("{} operations are in a cycle", self.len() - seen)) }
    }
}

/// What to do when a job fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// Start nothing more; let running jobs finish.
    Stop,
    /// Skip the failed job's dependants (transitively); run everything else.
    SkipDependants,
}

/// How a phase's jobs are started and how their ends are recorded.
pub(crate) trait Jobs {
    type Report: Send + 'static;
    /// Called by the dispatcher when `job` is ready. `Err` fails the job without running it.
    fn start(&mut self, job: usize) -> Result<JobFuture<Self::Report>, String>;
    /// The job ended: with its report, or with the message of a panic. Returns whether it
    /// succeeded.
    fn finish(&mut self, job: usize, report: Result<Self::Report, String>) -> bool;
    /// A job failed to start (`start` returned `Err`).
    fn start_failed(&mut self, job: usize, message: String);
    /// The job was not run: a dependency failed (`dependency_failed`) or the phase stopped.
    fn not_run(&mut self, job: usize, dependency_failed: bool);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Summary {
    pub failed: usize,
    pub not_run: usize,
    pub cancelled: bool,
    pub max_in_flight: usize,
}

pub(crate) async fn dispatch<J: Jobs>(
    graph: &JobGraph,
    jobs: &mut J,
    parallelism: usize,
    on_failure: OnFailure,
    cancel: &CancelToken,
) -> Summary {
    let parallelism = parallelism.max(1);
    let mut summary = Summary::default();
    let mut status = vec![Status::Pending; graph.len()];
    let mut indeg = graph.indeg.clone();
    let mut ready: VecDeque<usize> = (0..graph.len()).filter(|&j| indeg[j] == 0).collect();
    let mut busy = vec![false; graph.slots];
    let mut held_back: HashMap<u32, VecDeque<usize>> = HashMap::new();
    let mut tasks: JoinSet<(usize, J::Report)> = JoinSet::new();
    let mut task_job: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut stopping = false;

    loop {
        if !stopping && cancel.is_cancelled() {
            stopping = true;
            summary.cancelled = true;
        }
        while !stopping && tasks.len() < parallelism {
            let Some(job) = ready.pop_front() else { break };
            let slot = graph.slot[job];
            if busy[slot as usize] {
                held_back.entry(slot).or_default().push_back(job);
                continue;
            }
            match jobs.start(job) {
                Ok(fut) => {
                    busy[slot as usize] = true;
                    status[job] = Status::Running;
                    let handle = tasks.spawn(async move { (job, fut.await) });
                    task_job.insert(handle.id(), job);
                    summary.max_in_flight = summary.max_in_flight.max(tasks.len());
                }
                Err(message) => {
                    jobs.start_failed(job, message);
                    status[job] = Status::Failed;
                    summary.failed += 1;
                    stopping |= on_failure == OnFailure::Stop;
                    if on_failure == OnFailure::SkipDependants {
                        skip_dependants(graph, job, &mut status, jobs, &mut summary);
                    }
                }
            }
        }
        if tasks.is_empty() {
            break;
        }
        let joined = if stopping {
            tasks.join_next_with_id().await
        } else {
            tokio::select! {
                r = tasks.join_next_with_id() => r,
                () = cancel.cancelled() => continue,
            }
        };
        let Some(joined) = joined else { break };
        let (job, result) = match joined {
            Ok((id, (job, report))) => {
                task_job.remove(&id);
                (job, Ok(report))
            }
            Err(join) => {
                let Some(job) = task_job.remove(&join.id()) else { continue };
                (job, Err(panic_message(join)))
            }
        };
        let slot = graph.slot[job];
        busy[slot as usize] = false;
        if let Some(waiting) = held_back.get_mut(&slot).and_then(VecDeque::pop_front) {
            ready.push_front(waiting);
        }
        if jobs.finish(job, result) {
            status[job] = Status::Done;
            for &s in &graph.succ[job] {
                let s = s as usize;
                indeg[s] -= 1;
                if indeg[s] == 0 && status[s] == Status::Pending {
                    ready.push_back(s);
                }
            }
        } else {
            status[job] = Status::Failed;
            summary.failed += 1;
            match on_failure {
                OnFailure::Stop => stopping = true,
                OnFailure::SkipDependants => skip_dependants(graph, job, &mut status, jobs, &mut summary),
            }
        }
    }
    for (job, st) in status.iter().enumerate() {
        if *st == Status::Pending {
            jobs.not_run(job, false);
            summary.not_run += 1;
        }
    }
    summary
}

fn skip_dependants<J: Jobs>(graph: &JobGraph, failed: usize, status: &mut [Status], jobs: &mut J, summary: &mut Summary) {
    let mut stack: Vec<usize> = graph.succ[failed].iter().map(|&s| s as usize).collect();
    while let Some(j) = stack.pop() {
        if status[j] != Status::Pending {
            continue;
        }
        status[j] = Status::Skipped;
        summary.not_run += 1;
        jobs.not_run(j, true);
        stack.extend(graph.succ[j].iter().map(|&s| s as usize));
    }
}
