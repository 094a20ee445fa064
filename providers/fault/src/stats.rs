//! Call counters and the overlap detector. Lock-free counters for the hot path; one small mutex
//! guards the per-object in-flight table. An [`InFlight`] guard leaves the table on drop, so a
//! cancelled or hung call is accounted for exactly while its future is alive.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the provider has seen, for test assertions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Create, update and delete calls (the ones `fail_on_call` counts).
    pub calls: u64,
    pub creates: u64,
    pub updates: u64,
    pub deletes: u64,
    pub reads: u64,
    /// Operations running right now.
    pub in_flight: u64,
    /// The most operations (of any kind, on any objects) seen running at once.
    pub max_in_flight: u64,
    /// Times an operation started on an object while another was still running on it.
    pub overlaps_detected: u64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Create,
    Update,
    Delete,
    Read,
}

#[derive(Debug, Default)]
pub(crate) struct Tracker {
    calls: AtomicU64,
    creates: AtomicU64,
    updates: AtomicU64,
    deletes: AtomicU64,
    reads: AtomicU64,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
    overlaps: AtomicU64,
    per_object: Mutex<HashMap<String, u32>>,
}

impl Tracker {
    /// Records the start of an operation on `object`. Returns the guard and, for mutating
    /// operations, this call's 1-based number among all create/update/delete calls.
    pub(crate) fn enter(&self, op: Op, object: &str) -> (InFlight<'_>, u64) {
        let number = match op {
            Op::Read => {
                self.reads.fetch_add(1, Ordering::Relaxed);
                0
            }
            Op::Create | Op::Update | Op::Delete => {
                let counter = match op {
                    Op::Create => &self.creates,
                    Op::Update => &self.updates,
                    _ => &self.deletes,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                self.calls.fetch_add(1, Ordering::SeqCst) + 1
            }
        };
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        {
            let mut table = self.per_object.lock().unwrap_or_else(|p| p.into_inner());
            let running = table.entry(object.to_string()).or_insert(0);
            if *running > 0 {
                self.overlaps.fetch_add(1, Ordering::SeqCst);
            }
            *running += 1;
        }
        (InFlight { tracker: self, object: object.to_string() }, number)
    }

    pub(crate) fn snapshot(&self) -> FaultStats {
        FaultStats {
            calls: self.calls.load(Ordering::SeqCst),
            creates: self.creates.load(Ordering::Relaxed),
            updates: self.updates.load(Ordering::Relaxed),
            deletes: self.deletes.load(Ordering::Relaxed),
            reads: self.reads.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::SeqCst),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
            overlaps_detected: self.overlaps.load(Ordering::SeqCst),
        }
    }
}

/// One running operation; dropping it ends the operation.
pub(crate) struct InFlight<'a> {
    tracker: &'a Tracker,
    object: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.tracker.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut table = self.tracker.per_object.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = table.get_mut(&self.object) {
            *running -= 1;
            if *running == 0 {
                table.remove(&self.object);
            }
        }
    }
}
