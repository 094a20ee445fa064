//! The dispatcher: owns the authoritative scheduling state of one phase — remaining
//! in-degrees, the ready queue, which addresses are busy, each job's status — and runs jobs as
//! tokio tasks. Workers report back through their task's result; nothing else is shared. It
//! knows nothing about providers or state: a [`Jobs`] implementation says how to start a job
//! and records how it ended.
//!
//! Concurrency is bounded by [`CallSlots`]: `parallelism` places for a provider call. A job
//! starts before it has one, so that what must precede its call (the journal intent) is done
//! while the slots are still busy, and its call begins the moment one is free; it gives the
//! slot back as soon as its call has returned, before its state writes. A latency-bound apply
//! so keeps `parallelism` calls in flight all the time, with the writes in the shadow of the
//! calls. A job counts as running (its address busy, its dependants waiting) until its task
//! ends; at most `2 × parallelism` tasks exist at once. When the phase stops (a failure under
//! `Stop`, or cancellation), the slots close: a job still waiting for one never calls and
//! reports [`Ended::NotRun`].
//!
//! Invariants: a job starts only after every job it depends on succeeded; never two jobs on
//! one address at once (the plan's graph serialises them; the dispatcher still holds a job
//! back while its address is busy); never more than `parallelism` slots held; a job that
//! panics is reported as failed, never lost (and its slot returns as its task unwinds).

use super::cancel::CancelToken;
use super::worker::panic_message;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

pub(crate) type JobFuture<R> = Pin<Box<dyn Future<Output = R> + Send + 'static>>;

/// Held by a job from the start of its provider call until the call has returned; dropping
/// it lets the next waiting job call.
pub(crate) type CallSlot = OwnedSemaphorePermit;

/// The phase's call slots, shared by its jobs.
#[derive(Clone)]
pub(crate) struct CallSlots {
    slots: Arc<Semaphore>,
    size: usize,
    max_held: Arc<AtomicUsize>,
    /// The phase's policy is `Stop`: a failed job closes the slots itself, before giving its
    /// own back, rather than leaving a window until the dispatcher hears of it.
    stop_on_failure: bool,
}

impl CallSlots {
    fn new(size: usize, on_failure: OnFailure) -> Self {
        let stop_on_failure = on_failure == OnFailure::Stop;
        CallSlots { slots: Arc::new(Semaphore::new(size)), size, max_held: Arc::default(), stop_on_failure }
    }

    /// The calling job failed. Under `Stop`, no job still waiting for a slot will call.
    pub fn failed(&self) {
        if self.stop_on_failure {
            self.close();
        }
    }

    /// Waits for a free slot, first come first served; `None` once the phase has stopped.
    pub async fn acquire(&self) -> Option<CallSlot> {
        let slot = Arc::clone(&self.slots).acquire_owned().await.ok()?;
        self.max_held.fetch_max(self.size - self.slots.available_permits(), Ordering::Relaxed);
        Some(slot)
    }

    fn close(&self) {
        self.slots.close();
    }
}

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
    pub fn new<K: std::hash::Hash + Eq>(
        slots: &[K],
        edges: impl IntoIterator<Item = (u32, u32)>,
    ) -> Result<Self, String> {
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
    /// Called by the dispatcher when `job` is ready, with the slots its provider call must
    /// take one of. `Err` fails the job without running it.
    fn start(&mut self, job: usize, slots: &CallSlots) -> Result<JobFuture<Self::Report>, String>;
    /// The job ended: with its report, or with the message of a panic. Says how.
    fn finish(&mut self, job: usize, report: Result<Self::Report, String>) -> Ended;
    /// A job failed to start (`start` returned `Err`).
    fn start_failed(&mut self, job: usize, message: String);
    /// The job was not run: a dependency failed (`dependency_failed`) or the phase stopped.
    fn not_run(&mut self, job: usize, dependency_failed: bool);
}

/// How a job that was started ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    Succeeded,
    Failed,
    /// It never called: the phase stopped while it waited for a slot. `finish` has recorded
    /// it as not run.
    NotRun,
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
    /// The most call slots held at once.
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
    let slots = CallSlots::new(parallelism, on_failure);
    let max_tasks = parallelism * 2;
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
        while !stopping && tasks.len() < max_tasks {
            let Some(job) = ready.pop_front() else { break };
            let slot = graph.slot[job];
            if busy[slot as usize] {
                tracing::warn!(
                    job,
                    "two operations on one address are not ordered by the plan; serialising them (this is a bug in tarn's planner)"
                );
                held_back.entry(slot).or_default().push_back(job);
                continue;
            }
            match jobs.start(job, &slots) {
                Ok(fut) => {
                    busy[slot as usize] = true;
                    status[job] = Status::Running;
                    let handle = tasks.spawn(async move { (job, fut.await) });
                    task_job.insert(handle.id(), job);
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
        if stopping {
            // Jobs waiting for a slot give up; those holding one finish.
            slots.close();
        }
        if tasks.is_empty() {
            break;
        }
        let joined = tokio::select! {
            r = tasks.join_next_with_id() => r,
            () = cancel.cancelled(), if !stopping => continue,
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
        match jobs.finish(job, result) {
            Ended::Succeeded => {
                status[job] = Status::Done;
                for &s in &graph.succ[job] {
                    let s = s as usize;
                    indeg[s] -= 1;
                    if indeg[s] == 0 && status[s] == Status::Pending {
                        ready.push_back(s);
                    }
                }
            }
            Ended::Failed => {
                status[job] = Status::Failed;
                summary.failed += 1;
                match on_failure {
                    OnFailure::Stop => stopping = true,
                    OnFailure::SkipDependants => skip_dependants(graph, job, &mut status, jobs, &mut summary),
                }
            }
            Ended::NotRun => {
                status[job] = Status::Skipped;
                summary.not_run += 1;
            }
        }
    }
    summary.max_in_flight = slots.max_held.load(Ordering::Relaxed);
    for (job, st) in status.iter().enumerate() {
        if *st == Status::Pending {
            jobs.not_run(job, false);
            summary.not_run += 1;
        }
    }
    summary
}

fn skip_dependants<J: Jobs>(
    graph: &JobGraph,
    failed: usize,
    status: &mut [Status],
    jobs: &mut J,
    summary: &mut Summary,
) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// How a probe job's future ended.
    #[derive(Debug, PartialEq)]
    enum Called {
        Ok,
        Failed,
        GaveUp,
    }

    /// Jobs that record their order; job `panics` panics and job `fails` fails, both while
    /// holding their slot (as a worker's provider call would).
    struct Probe {
        panics: usize,
        fails: usize,
        ended: Vec<(usize, Result<Called, String>)>,
        not_run: Vec<(usize, bool)>,
    }

    impl Jobs for Probe {
        type Report = Called;
        fn start(&mut self, job: usize, slots: &CallSlots) -> Result<JobFuture<Called>, String> {
            let (panics, fails) = (job == self.panics, job == self.fails);
            let slots = slots.clone();
            Ok(Box::pin(async move {
                let Some(_slot) = slots.acquire().await else { return Called::GaveUp };
                tokio::task::yield_now().await;
                assert!(!panics, "job panicked");
                if fails {
                    slots.failed();
                    return Called::Failed;
                }
                Called::Ok
            }))
        }
        fn finish(&mut self, job: usize, report: Result<Called, String>) -> Ended {
            let ended = match &report {
                Ok(Called::Ok) => Ended::Succeeded,
                Ok(Called::GaveUp) => {
                    self.not_run.push((job, false));
                    Ended::NotRun
                }
                Ok(Called::Failed) | Err(_) => Ended::Failed,
            };
            self.ended.push((job, report));
            ended
        }
        fn start_failed(&mut self, job: usize, message: String) {
            self.ended.push((job, Err(message)));
        }
        fn not_run(&mut self, job: usize, dependency_failed: bool) {
            self.not_run.push((job, dependency_failed));
        }
    }

    fn probe(panics: usize, fails: usize) -> Probe {
        Probe { panics, fails, ended: Vec::new(), not_run: Vec::new() }
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_its_dependants_skipped() {
        // 0 → 1 → 2, and 3 independent.
        let graph = JobGraph::new(&[0, 1, 2, 3], [(0, 1), (1, 2)]).unwrap();
        let mut jobs = probe(1, usize::MAX);
        let summary = dispatch(&graph, &mut jobs, 2, OnFailure::SkipDependants, &CancelToken::new()).await;
        assert_eq!(summary.failed, 1);
        let (_, panicked) = jobs.ended.iter().find(|(j, _)| *j == 1).unwrap();
        assert!(panicked.as_ref().unwrap_err().contains("job panicked"));
        assert_eq!(jobs.not_run, vec![(2, true)]);
        assert!(jobs.ended.iter().any(|(j, r)| *j == 3 && *r == Ok(Called::Ok)));
    }

    #[tokio::test]
    async fn stop_runs_nothing_new_after_a_failure() {
        let graph = JobGraph::new(&[0, 1, 2], [(0, 1), (1, 2)]).unwrap();
        let mut jobs = probe(usize::MAX, 0);
        let summary = dispatch(&graph, &mut jobs, 4, OnFailure::Stop, &CancelToken::new()).await;
        assert_eq!((summary.failed, summary.not_run), (1, 2));
        assert_eq!(jobs.not_run, vec![(1, false), (2, false)]);
    }

    #[tokio::test]
    async fn jobs_on_one_slot_never_overlap_even_without_an_edge() {
        let graph = JobGraph::new(&["a", "a", "a", "b"], []).unwrap();
        let mut jobs = probe(usize::MAX, usize::MAX);
        let summary = dispatch(&graph, &mut jobs, 4, OnFailure::Stop, &CancelToken::new()).await;
        assert_eq!(summary.failed, 0);
        assert_eq!(jobs.ended.len(), 4);
        assert!(summary.max_in_flight <= 2, "only one job per slot at a time");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_waiting_for_a_slot_never_call_after_a_failure_under_stop() {
        // Independent jobs, one slot: job 0 calls and fails while job 1 already waits.
        let graph = JobGraph::new(&[0, 1, 2, 3], []).unwrap();
        let mut jobs = probe(usize::MAX, 0);
        let summary = dispatch(&graph, &mut jobs, 1, OnFailure::Stop, &CancelToken::new()).await;
        assert_eq!((summary.failed, summary.not_run), (1, 3));
        assert_eq!(jobs.ended.len(), 2, "only jobs 0 and 1 were started: {:?}", jobs.ended);
        assert_eq!(jobs.ended[0], (0, Ok(Called::Failed)));
        assert_eq!(jobs.ended[1], (1, Ok(Called::GaveUp)), "job 1 gave up without calling");
        let mut not_run = jobs.not_run.clone();
        not_run.sort_unstable();
        assert_eq!(not_run, vec![(1, false), (2, false), (3, false)]);
    }

    /// Job 0 gives its slot back and then waits for job 1 to have called: possible only if a
    /// slot returns before the job holding it ends.
    struct HandOver(Arc<tokio::sync::Notify>);

    impl Jobs for HandOver {
        type Report = ();
        fn start(&mut self, job: usize, slots: &CallSlots) -> Result<JobFuture<()>, String> {
            let (slots, called) = (slots.clone(), Arc::clone(&self.0));
            Ok(Box::pin(async move {
                let slot = slots.acquire().await.expect("a slot");
                drop(slot);
                if job == 0 {
                    // Its "state writes": they wait for the next job's call.
                    tokio::time::timeout(std::time::Duration::from_secs(10), called.notified())
                        .await
                        .expect("job 1 called while job 0 was still writing");
                } else {
                    called.notify_one();
                }
            }))
        }
        fn finish(&mut self, _: usize, report: Result<(), String>) -> Ended {
            if report.is_ok() { Ended::Succeeded } else { Ended::Failed }
        }
        fn start_failed(&mut self, _: usize, _: String) {}
        fn not_run(&mut self, _: usize, _: bool) {}
    }

    #[tokio::test]
    async fn a_slot_returns_as_soon_as_its_call_is_done() {
        let graph = JobGraph::new(&[0, 1], []).unwrap();
        let summary = dispatch(&graph, &mut HandOver(Arc::default()), 1, OnFailure::Stop, &CancelToken::new()).await;
        assert_eq!((summary.failed, summary.not_run, summary.max_in_flight), (0, 0, 1));
    }

    #[test]
    fn cycles_and_bad_indices_are_refused() {
        assert!(JobGraph::new(&[0, 1], [(0, 1), (1, 0)]).is_err());
        assert!(JobGraph::new(&[0], [(0, 3)]).is_err());
    }
}
