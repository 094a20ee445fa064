//! What a run reports while it works: one event enum, sent to the [`Observer`] the caller gives
//! [`Run::open`](super::Run::open). The CLI renders events (lines, a progress bar, JSON); a
//! server forwards them to its client. A run never prints.

use crate::diag::Diagnostics;
use crate::exec::{Event, EventSink};
use std::sync::{Arc, Mutex};

/// Everything a run reports besides its result.
#[derive(Debug, Clone)]
pub enum RunEvent {
    /// Warnings found on the way (a variables file's undeclared name, a `check {}` that
    /// failed, a provider's deprecation); errors end the call instead. Spans point into the
    /// configuration's sources (`Run::config().sources`).
    Warnings(Diagnostics),
    /// Crash recovery resolved a call an interrupted run left open (an object adopted).
    Recovery(Event),
    /// The executor's progress during apply, destroy or import.
    Apply(Event),
}

/// Receives a run's events. Must be cheap and never block for long: the executor's workers
/// call it.
pub trait Observer: Send + Sync {
    fn event(&self, event: RunEvent);
}

/// Drops every event.
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: RunEvent) {}
}

/// Keeps every event, in order (tests, and servers that answer once the run is over).
#[derive(Default)]
pub struct Collect(Mutex<Vec<RunEvent>>);

impl Collect {
    pub fn events(&self) -> Vec<RunEvent> {
        self.0.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Observer for Collect {
    fn event(&self, event: RunEvent) {
        if let Ok(mut events) = self.0.lock() {
            events.push(event);
        }
    }
}

/// The executor's [`EventSink`] over an observer: each executor event wrapped as `wrap` says.
pub(crate) struct Forward {
    pub observer: Arc<dyn Observer>,
    pub wrap: fn(Event) -> RunEvent,
}

impl EventSink for Forward {
    fn emit(&self, event: Event) {
        self.observer.event((self.wrap)(event));
    }
}
