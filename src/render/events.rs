//! Rendering of executor events: a progress bar on a TTY (indicatif), one line per event
//! otherwise, or JSON lines with `--json`. The executor emits; this only draws.

use super::paint;
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::Mutex;
use tarn_core::exec::{ApplyOutcome, Event, EventSink};
use tarn_core::plan::OpKind;

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
}

impl Renderer {
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
        Renderer { mode: Mutex::new(mode) }
    }

    /// One line per event on stderr, whatever the command prints on stdout.
    pub fn notes(color: bool) -> Renderer {
        Renderer { mode: Mutex::new(Mode::Notes { color }) }
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
        Event::OpFailed { address, error, .. } => format!("{} {address}: {error}", paint("Error:", "1;31", color)),
        Event::OpSkipped { address, .. } => format!("{address}: skipped"),
        Event::RollbackStarted { operations } => {
            format!("{} undoing {operations} completed change(s).", paint("Rolling back:", "1;33", color))
        }
        Event::RollbackOpStarted { address, description } => format!("{address}: rollback: {description}..."),
        Event::RollbackOpFinished { address, description } => format!("{address}: rollback: {description} done"),
        Event::RollbackOpFailed { address, description, error } => {
            format!("{} {address}: rollback: {description} failed: {error}", paint("Error:", "1;31", color))
        }
        Event::RollbackKept { address, reason } => {
            format!("{address}: rollback: {} the new object: {reason}", paint("kept", "1;33", color))
        }
        Event::RollbackNotRestorable { address, reason } => {
            format!("{} {address}: rollback: cannot be restored: {reason}", paint("Warning:", "1;33", color))
        }
        Event::Adopted { address, correlation } => {
            format!("{address}: found an object an interrupted run created (tag {correlation}); recorded in state")
        }
        Event::Forgotten { address } => {
            format!("{address}: removed from the state; the object itself was not destroyed")
        }
        Event::ApplyFinished { outcome } => match outcome {
            ApplyOutcome::Success => paint("Apply complete.", "1;32", color),
            ApplyOutcome::RolledBack => paint("Apply failed; every completed change was rolled back.", "1;31", color),
            ApplyOutcome::RollbackIncomplete => {
                paint("Apply failed and the rollback is incomplete; see the state for what exists.", "1;31", color)
            }
            ApplyOutcome::Partial => {
                paint("Apply failed; the changes that succeeded are kept and recorded.", "1;31", color)
            }
        },
    })
}

impl EventSink for Renderer {
    fn emit(&self, event: Event) {
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
                Event::ApplyFinished { .. } => {
                    bar.finish_and_clear();
                    if let Some(l) = line(&event, *color) {
                        outln!("{l}");
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
