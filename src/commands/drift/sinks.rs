//! Where drift reports go besides stdout: `--report FILE` (one JSON line appended per check)
//! and `--notify URL` (the report POSTed when drift appears, changes or clears). Also the
//! memory of the previous check that decides those transitions: in a long-running
//! `--every` process, the last check; for a one-shot run from cron, the last line of the
//! report file, so both schedule styles notify alike.

use crate::error::CliError;
use crate::render::drift::Outcome;
use serde_json::{Value as Json, json};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tarn_core::plan::drift::DriftReport;
use tokio::sync::mpsc;

/// What changed since the previous check, when something did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Drift found where the previous check found none.
    Detected,
    /// Still drift, but other objects.
    Changed,
    /// No drift any more.
    Cleared,
}

impl Transition {
    pub fn event(self) -> &'static str {
        match self {
            Transition::Detected => "drift_detected",
            Transition::Changed => "drift_changed",
            Transition::Cleared => "drift_cleared",
        }
    }
}

/// The drifted addresses of the last successful check (empty: no drift).
#[derive(Debug, Default)]
pub struct Memory {
    drifted: BTreeSet<String>,
}

impl Memory {
    /// From the last conclusive line of a report file; no drift when there is none.
    pub fn from_report_file(path: &Path) -> Memory {
        let Ok(text) = std::fs::read_to_string(path) else { return Memory::default() };
        for line in text.lines().rev() {
            let Ok(doc) = serde_json::from_str::<Json>(line) else { continue };
            if doc["status"] == "drift" || doc["status"] == "no_drift" {
                let drifted = doc["resources"]
                    .as_array()
                    .map(|rs| rs.iter().filter_map(|r| r["address"].as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                return Memory { drifted };
            }
        }
        Memory::default()
    }

    /// Records a successful check; returns the transition it makes, if any.
    pub fn update(&mut self, report: &DriftReport) -> Option<Transition> {
        let now: BTreeSet<String> = report.resources.iter().map(|r| r.address.to_string()).collect();
        let t = match (self.drifted.is_empty(), now.is_empty()) {
            (true, false) => Some(Transition::Detected),
            (false, true) => Some(Transition::Cleared),
            (false, false) if now != self.drifted => Some(Transition::Changed),
            _ => None,
        };
        self.drifted = now;
        t
    }
}

/// `--report FILE`: appends one line per check. Each line is written with one `write` on a
/// file opened for appending, so concurrent writers (two cron jobs) never interleave lines.
pub struct ReportFile {
    path: PathBuf,
    file: std::fs::File,
}

impl ReportFile {
    pub fn open(path: &Path) -> Result<ReportFile, CliError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                CliError::Failed(format!("--report: cannot create the directory {}: {e}", parent.display()))
            })?;
        }
        let file =
            std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| {
                CliError::Failed(format!("--report: cannot open {} for appending: {e}", path.display()))
            })?;
        Ok(ReportFile { path: path.to_path_buf(), file })
    }

    pub fn append(&mut self, doc: &Json) -> Result<(), CliError> {
        let mut line = doc.to_string();
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|_| self.file.flush())
            .map_err(|e| CliError::Failed(format!("--report: cannot append to {}: {e}", self.path.display())))
    }
}

/// `--notify URL`: POSTs notifications in order from a background task, so a slow or dead
/// receiver never delays a check. Failures are logged, never fatal. The URL is never printed
/// whole: webhook URLs often carry their secret in the path.
pub struct Notifier {
    queue: mpsc::UnboundedSender<Json>,
    task: tokio::task::JoinHandle<()>,
}

impl Notifier {
    pub fn new(url: &str) -> Result<Notifier, CliError> {
        let bad = || {
            CliError::Failed(
                "--notify: expected an http:// or https:// URL, like https://hooks.example.com/tarn".into(),
            )
        };
        let client = tarn_sdk::http::Client::builder(url)
            .connect_timeout(Duration::from_secs(5))
            .request_timeout(Duration::from_secs(10))
            .max_attempts(3)
            .build()
            .map_err(|_| bad())?;
        let base = client.base_url();
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(bad());
        }
        let shown = format!(
            "{}://{}{}/…",
            base.scheme(),
            base.host_str().unwrap_or(""),
            base.port().map(|p| format!(":{p}")).unwrap_or_default()
        );
        let (queue, mut rx) = mpsc::unbounded_channel::<Json>();
        let url = url.to_string();
        let task = tokio::spawn(async move {
            while let Some(body) = rx.recv().await {
                let event = body["event"].as_str().unwrap_or("").to_string();
                match client.post(&url, &body).await {
                    Ok(_) => tracing::info!("notified {shown} of {event}"),
                    Err(e) => {
                        let message = e.message.replace(client.base_url().path().trim_end_matches('/'), "/…");
                        tracing::warn!("could not notify {shown} of {event}: {message}");
                        eoutln!("Warning: could not notify {shown} of {event}: {message}");
                    }
                }
            }
        });
        Ok(Notifier { queue, task })
    }

    pub fn send(&self, transition: Transition, report: &Json) {
        let body = json!({
            "format_version": crate::render::json::FORMAT_VERSION,
            "type": "drift_notification",
            "event": transition.event(),
            "report": report,
        });
        // The task only ends when the queue closes, in `close`.
        let _ = self.queue.send(body);
    }

    /// Sends what is queued (up to `grace`), then stops.
    pub async fn close(self, grace: Duration) {
        drop(self.queue);
        let mut task = self.task;
        if tokio::time::timeout(grace, &mut task).await.is_err() {
            eoutln!("Warning: gave up sending drift notifications after {}s", grace.as_secs());
            task.abort();
        }
    }
}

/// Report file, notifier and memory together: what every check's outcome is handed to.
pub struct Sinks {
    pub report: Option<ReportFile>,
    pub notifier: Option<Notifier>,
    pub memory: Memory,
}

impl Sinks {
    pub fn open(report: Option<&Path>, notify: Option<&str>) -> Result<Sinks, CliError> {
        let memory = report.map(Memory::from_report_file).unwrap_or_default();
        let report = report.map(ReportFile::open).transpose()?;
        let notifier = notify.map(Notifier::new).transpose()?;
        Ok(Sinks { report, notifier, memory })
    }

    /// Appends the report line and notifies on a transition. Returns the transition.
    pub fn record(&mut self, outcome: &Outcome, doc: &Json) -> Result<Option<Transition>, CliError> {
        let transition = match outcome {
            Outcome::Checked { report, .. } => self.memory.update(report),
            Outcome::Failed { .. } => None,
        };
        if let (Some(t), Some(n)) = (transition, &self.notifier) {
            n.send(t, doc);
        }
        if let Some(file) = &mut self.report {
            file.append(doc)?;
        }
        Ok(transition)
    }

    pub async fn close(self) {
        if let Some(n) = self.notifier {
            n.close(Duration::from_secs(30)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_core::plan::drift::{DriftKind, ResourceDrift};

    fn report(addresses: &[&str]) -> DriftReport {
        DriftReport {
            checked: 3,
            resources: addresses
                .iter()
                .map(|a| ResourceDrift {
                    address: a.parse().unwrap(),
                    provider: "local".into(),
                    kind: DriftKind::Deleted,
                    changes: Vec::new(),
                    recorded: None,
                    actual: None,
                })
                .collect(),
            ignored: 0,
        }
    }

    #[test]
    fn transitions_fire_on_appear_change_and_clear_only() {
        let mut m = Memory::default();
        assert_eq!(m.update(&report(&[])), None);
        assert_eq!(m.update(&report(&["local_file.a"])), Some(Transition::Detected));
        assert_eq!(m.update(&report(&["local_file.a"])), None);
        assert_eq!(m.update(&report(&["local_file.a", "local_file.b"])), Some(Transition::Changed));
        assert_eq!(m.update(&report(&[])), Some(Transition::Cleared));
        assert_eq!(m.update(&report(&[])), None);
    }

    #[test]
    fn memory_comes_from_the_last_conclusive_report_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.jsonl");
        std::fs::write(
            &path,
            concat!(
                r#"{"status":"no_drift","resources":[]}"#,
                "\n",
                r#"{"status":"drift","resources":[{"address":"local_file.a"}]}"#,
                "\n",
                r#"{"status":"error","resources":[]}"#,
                "\n",
                "not json\n",
            ),
        )
        .unwrap();
        let mut m = Memory::from_report_file(&path);
        assert_eq!(m.update(&report(&["local_file.a"])), None, "still the same drift: no notification");
        assert_eq!(
            Memory::from_report_file(&dir.path().join("missing")).update(&report(&["x_y.z"])),
            Some(Transition::Detected)
        );
    }
}
