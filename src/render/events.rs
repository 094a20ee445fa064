//! Rendering of executor events: a progress bar on a TTY (indicatif), one line per event
//! otherwise, or JSON lines with `--json`. The executor emits; this only draws. It counts
//! what finished for the closing summary (`Apply complete! Resources: 3 added, ...`) and, for
//! people watching a CI log, says every [`HEARTBEAT`] that a long operation is still running
//! (`fault_object.x: Still creating... [20s elapsed]`), as Terraform does.

use super::{paint, style};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tarn_core::exec::{ApplyOutcome, Event, EventSink};
use tarn_core::plan::OpKind;
use tarn_sdk::Address;

/// How often a running operation is reported as still running (`TARN_HEARTBEAT` overrides it,
/// for tests).
pub const HEARTBEAT: Duration = Duration::from_secs(10);

pub enum Mode {
    Lines {
        color: bool,
    },
    /// Lines on stderr: notes that must not mix with stdout, which may be JSON (recovery of
    /// an interrupted run happens before `plan --json` prints its document).
    Notes {
        color: bool,
    },
    Progress {
        bar: ProgressBar,
        color: bool,
    },
    Json,
}

pub struct Renderer {
    mode: Mutex<Mode>,
    /// What finished, for the summary line.
    counts: Mutex<Counts>,
    /// Whether this run is a `tarn destroy` (its summary says "Destroy complete!").
    destroy: bool,
    /// Operations running now, with when they started and how many heartbeats they had.
    running: Arc<Mutex<Vec<Running>>>,
}

/// A running operation: its address and kind, when it started, how many heartbeats it had.
type Running = (Address, OpKind, Instant, u32);

#[derive(Default, Clone, Copy)]
struct Counts {
    imported: usize,
    added: usize,
    changed: usize,
    destroyed: usize,
}

impl Counts {
    fn summary(&self, destroy: bool) -> String {
        if destroy {
            return format!("Destroy complete! Resources: {} destroyed.", self.destroyed);
        }
        let imported = if self.imported > 0 { format!("{} imported, ", self.imported) } else { String::new() };
        format!(
            "Apply complete! Resources: {imported}{} added, {} changed, {} destroyed.",
            self.added, self.changed, self.destroyed
        )
    }
}

impl Renderer {
    /// A renderer for a `tarn destroy`.
    pub fn for_destroy(mut self, destroy: bool) -> Renderer {
        self.destroy = destroy;
        self
    }

    /// Starts the heartbeat: each operation is reported as still running once per `every`
    /// since it started (at 10s, 20s, ... by default); lines on stdout, or above the progress
    /// bar. It stops when the renderer is dropped.
    pub fn with_heartbeat(self, every: Duration) -> Arc<Renderer> {
        let this = Arc::new(self);
        if matches!(this.mode.lock().as_deref(), Ok(Mode::Json)) {
            return this;
        }
        let weak = Arc::downgrade(&this);
        let tick = (every / 10).clamp(Duration::from_millis(20), Duration::from_secs(1));
        std::thread::Builder::new()
            .name("tarn-heartbeat".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(tick);
                    let Some(r) = weak.upgrade() else { return };
                    r.beat(every);
                }
            })
            .ok();
        this
    }

    fn beat(&self, every: Duration) {
        let now = Instant::now();
        let mut due = Vec::new();
        if let Ok(mut running) = self.running.lock() {
            for (address, op, at, reported) in running.iter_mut() {
                let beats = (now.duration_since(*at).as_millis() / every.as_millis().max(1)) as u32;
                if beats > *reported {
                    *reported = beats;
                    let secs = (every * beats).as_secs();
                    due.push(format!("{address}: Still {}... [{secs}s elapsed]", still(*op)));
                }
            }
        }
        let Ok(mode) = self.mode.lock() else { return };
        for l in due {
            match &*mode {
                Mode::Lines { .. } => outln!("{l}"),
                Mode::Notes { .. } => eoutln!("{l}"),
                Mode::Progress { bar, .. } => bar.println(l),
                Mode::Json => {}
            }
        }
    }

    fn track(&self, event: &Event) {
        match event {
            Event::OpStarted { address, op, .. } => {
                if let Ok(mut r) = self.running.lock() {
                    r.push((address.clone(), *op, Instant::now(), 0));
                }
            }
            Event::OpFinished { address, op, .. } | Event::OpFailed { address, op, .. } => {
                if let Ok(mut r) = self.running.lock() {
                    r.retain(|(a, o, _, _)| !(a == address && o == op));
                }
                if let (Event::OpFinished { .. }, Ok(mut c)) = (event, self.counts.lock()) {
                    match op {
                        OpKind::Create => c.added += 1,
                        OpKind::Update => c.changed += 1,
                        OpKind::Delete => c.destroyed += 1,
                        OpKind::Import => c.imported += 1,
                        OpKind::ReadData => {}
                    }
                }
            }
            _ => {}
        }
    }

    pub fn new(json: bool, color: bool, tty: bool) -> Renderer {
        let mode = if json {
            Mode::Json
        } else if tty {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            Mode::Progress { bar, color }
        } else {
            Mode::Lines { color }
        };
        Renderer::with_mode(mode)
    }

    fn with_mode(mode: Mode) -> Renderer {
        Renderer { mode: Mutex::new(mode), counts: Mutex::default(), destroy: false, running: Arc::default() }
    }

    /// One line per event on stderr, whatever the command prints on stdout.
    pub fn notes(color: bool) -> Renderer {
        Renderer::with_mode(Mode::Notes { color })
    }

    /// The line that closes a run: the summary with counts on success, what happened otherwise.
    fn finished(&self, outcome: &ApplyOutcome, color: bool) -> String {
        match outcome {
            ApplyOutcome::Success => {
                let counts = self.counts.lock().map(|c| *c).unwrap_or_default();
                paint(&counts.summary(self.destroy), style::SUCCESS, color)
            }
            _ => line(&Event::ApplyFinished { outcome: *outcome }, color).unwrap_or_default(),
        }
    }
}

/// The verb of a heartbeat: "Still creating...".
fn still(op: OpKind) -> &'static str {
    match op {
        OpKind::Create => "creating",
        OpKind::Update => "modifying",
        OpKind::Delete => "destroying",
        OpKind::ReadData => "reading",
        OpKind::Import => "importing",
    }
}

fn verb(op: OpKind) -> (&'static str, &'static str) {
    match op {
        OpKind::Create => ("Creating...", "Creation complete"),
        OpKind::Update => ("Modifying...", "Modifications complete"),
        OpKind::Delete => ("Destroying...", "Destruction complete"),
        OpKind::ReadData => ("Reading...", "Read complete"),
        OpKind::Import => ("Importing...", "Import complete"),
    }
}

/// One human line for an event, or `None` for events that only move the progress bar.
pub fn line(event: &Event, color: bool) -> Option<String> {
    Some(match event {
        Event::ApplyStarted { operations } => format!("Applying {operations} operation(s)."),
        Event::OpStarted { address, op, .. } => format!("{address}: {}", verb(*op).0),
        Event::OpRetrying { address, attempt, error, .. } => {
            format!("{address}: retrying (attempt {attempt}) after a transient error: {error}")
        }
        Event::OpFinished { address, op, elapsed_ms, .. } => {
            format!("{address}: {} after {:.1}s", verb(*op).1, *elapsed_ms as f64 / 1000.0)
        }
        Event::OpFailed { address, error, .. } => {
            format!("{} {address}: {error}", paint("Error:", style::ERROR, color))
        }
        Event::OpSkipped { address, .. } => format!("{address}: skipped"),
        Event::RollbackStarted { operations } => {
            format!("{} undoing {operations} completed change(s).", paint("Rolling back:", style::WARNING, color))
        }
        Event::RollbackOpStarted { address, description } => format!("{address}: rollback: {description}..."),
        Event::RollbackOpFinished { address, description } => format!("{address}: rollback: {description} done"),
        Event::RollbackOpFailed { address, description, error } => {
            format!("{} {address}: rollback: {description} failed: {error}", paint("Error:", style::ERROR, color))
        }
        Event::RollbackKept { address, reason } => {
            format!("{address}: rollback: {} the new object: {reason}", paint("kept", style::WARNING, color))
        }
        Event::RollbackNotRestorable { address, reason } => {
            format!("{} {address}: rollback: cannot be restored: {reason}", paint("Warning:", style::WARNING, color))
        }
        Event::Adopted { address, correlation } => {
            format!("{address}: found an object an interrupted run created (tag {correlation}); recorded in state")
        }
        Event::Forgotten { address } => {
            format!("{address}: removed from the state; the object itself was not destroyed")
        }
        Event::ApplyFinished { outcome } => match outcome {
            ApplyOutcome::Success => paint("Apply complete.", style::SUCCESS, color),
            ApplyOutcome::RolledBack => {
                paint("Apply failed; every completed change was rolled back.", style::ERROR, color)
            }
            ApplyOutcome::RollbackIncomplete => paint(
                "Apply failed and the rollback is incomplete; see the state for what exists.",
                style::ERROR,
                color,
            ),
            ApplyOutcome::Partial => {
                paint("Apply failed; the changes that succeeded are kept and recorded.", style::ERROR, color)
            }
            ApplyOutcome::Interrupted => {
                paint("Apply interrupted; the changes that finished are kept and recorded.", style::WARNING, color)
            }
        },
    })
}

impl EventSink for Renderer {
    fn emit(&self, event: Event) {
        self.track(&event);
        if let (Event::ApplyFinished { outcome }, Ok(mode)) = (&event, self.mode.lock()) {
            // The closing line carries this renderer's counts; in JSON the event says it all.
            match &*mode {
                Mode::Json => {}
                Mode::Lines { color } => {
                    outln!("{}", self.finished(outcome, *color));
                    return;
                }
                Mode::Notes { color } => {
                    eoutln!("{}", self.finished(outcome, *color));
                    return;
                }
                Mode::Progress { bar, color } => {
                    // The bar goes; the summary stays on screen.
                    bar.finish_and_clear();
                    outln!("{}", self.finished(outcome, *color));
                    return;
                }
            }
        }
        let Ok(mut mode) = self.mode.lock() else { return };
        match &mut *mode {
            Mode::Json => {
                let mut json = serde_json::to_value(&event).unwrap_or_default();
                // Addresses in the user's syntax, as in every other JSON document tarn prints.
                if let Some(addr) = json.get_mut("address") {
                    if let Ok(a) = serde_json::from_value::<tarn_sdk::Address>(addr.clone()) {
                        *addr = serde_json::Value::String(a.to_string());
                    }
                }
                if let Ok(s) = serde_json::to_string(
                    &serde_json::json!({"format_version": super::json::FORMAT_VERSION, "event": json}),
                ) {
                    outln!("{s}");
                }
            }
            Mode::Lines { color } => {
                if let Some(l) = line(&event, *color) {
                    outln!("{l}");
                }
            }
            Mode::Notes { color } => {
                if let Some(l) = line(&event, *color) {
                    eoutln!("{l}");
                }
            }
            Mode::Progress { bar, color } => match &event {
                Event::ApplyStarted { operations } => bar.set_length(*operations as u64),
                Event::OpStarted { address, .. } => bar.set_message(address.to_string()),
                Event::OpFinished { .. } | Event::OpSkipped { .. } => bar.inc(1),
                Event::RollbackStarted { operations } => {
                    // The bar now counts the rollback's own operations, from zero.
                    bar.set_length(*operations as u64);
                    bar.set_position(0);
                    bar.set_message("rolling back");
                    if let Some(l) = line(&event, *color) {
                        bar.println(l);
                    }
                }
                Event::RollbackOpStarted { address, .. } => bar.set_message(format!("rolling back {address}")),
                Event::RollbackOpFinished { .. } | Event::RollbackOpFailed { .. } => {
                    bar.inc(1);
                    if let Some(l) = line(&event, *color) {
                        bar.println(l);
                    }
                }
                other => {
                    if let Some(l) = line(other, *color) {
                        bar.println(l);
                    }
                }
            },
        }
    }
}
