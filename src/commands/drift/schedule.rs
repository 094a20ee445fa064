//! `tarn drift --every DURATION`: one check per interval until Ctrl-C or SIGTERM. A signal
//! while waiting ends the process at once; a signal during a check lets the check finish and
//! be recorded first (it only reads, so this is quick), and a second signal exits at once.
//! Checks never overlap: an interval missed because a check ran long is skipped, not made up.
//!
//! Each check prints one line on stdout (its JSON document with `--json`) and the full report
//! when drift appears, changes or clears; its outcome goes to the sinks and the metrics.

use super::metrics::{self, Metrics};
use super::sinks::Sinks;
use super::{Format, outcome, timed_check};
use crate::commands::drift::check::{CheckOptions, Checked};
use crate::error::CliError;
use crate::render::drift::{self as report};
use crate::render::{Color, paint, style};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tarn_core::plan::drift::DriftKind;
use tokio::sync::watch;

pub struct Schedule {
    pub opts: CheckOptions,
    pub every: Duration,
    pub format: Format,
    pub color: Color,
    pub metrics_addr: Option<SocketAddr>,
}

pub async fn run(s: Schedule, mut sinks: Sinks) -> Result<(), CliError> {
    let metrics = Arc::new(Metrics::new());
    let server = match s.metrics_addr {
        Some(addr) => {
            let (task, bound) = metrics::serve(addr, metrics.clone()).await?;
            eoutln!("Serving drift metrics at http://{bound}/metrics");
            Some(task)
        }
        None => None,
    };
    let mut stop = watch_signals()?;
    eoutln!("Checking for drift every {}; stop with Ctrl-C or SIGTERM.", human_duration(s.every));
    let mut ticker = tokio::time::interval(s.every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        let (result, ctx) = timed_check(&s.opts).await;
        let outcome = outcome(&result);
        let doc = report::document(&outcome, &ctx);
        let transition = match sinks.record(&outcome, &doc) {
            Ok(t) => t,
            Err(e) => {
                eoutln!("Warning: {e}");
                None
            }
        };
        let unix_now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9;
        let drift = result.as_ref().ok().map(|c| (c.report.resources.len(), c.report.checked));
        metrics.observe(drift, ctx.duration_ms as f64 / 1000.0, unix_now);
        match s.format {
            Format::Json => outln!("{doc}"),
            _ => {
                outln!("{}", summary(&ctx.checked_at, &result, s.color.stdout));
                if let (Some(_), Ok(c)) = (transition, &result) {
                    out!("{}", report::human(&c.report, &c.warnings, s.color.stdout));
                }
            }
        }
        if let Err(e) = &result {
            tracing::warn!("drift check failed: {e}");
        }
        if *stop.borrow() {
            break;
        }
    }
    eoutln!("Stopped checking for drift.");
    sinks.close().await;
    if let Some(task) = server {
        task.abort();
    }
    Ok(())
}

/// One line per check: `2026-11-22T01:00:00.000Z drift: 2 of 3 objects (local_file.a changed, …)`.
fn summary(at: &str, result: &Result<Checked, CliError>, color: bool) -> String {
    match result {
        Ok(c) if !c.report.has_drift() => {
            format!("{at} {} ({} objects checked)", paint("no drift", style::GREEN, color), c.report.checked)
        }
        Ok(c) => {
            let list: Vec<String> = c
                .report
                .resources
                .iter()
                .map(|r| format!("{} {}", r.address, if r.kind == DriftKind::Deleted { "deleted" } else { "changed" }))
                .collect();
            format!(
                "{at} {}: {} of {} objects ({})",
                paint("drift", style::WARNING, color),
                c.report.resources.len(),
                c.report.checked,
                list.join(", ")
            )
        }
        Err(e) => format!("{at} {}: {}", paint("check failed", style::ERROR, color), first_line(e)),
    }
}

fn first_line(e: &CliError) -> String {
    match e {
        CliError::Diagnostics { diags, .. } => {
            diags.iter().next().map(|d| d.summary.to_string()).unwrap_or_else(|| "the configuration has errors".into())
        }
        other => other.to_string().lines().next().unwrap_or_default().to_string(),
    }
}

fn human_duration(d: Duration) -> String {
    // Whole seconds (or whole milliseconds below a second), as humantime spells them: `1h 30m`.
    let d = if d >= Duration::from_secs(1) { Duration::from_secs(d.as_secs()) } else { d };
    humantime::format_duration(d).to_string()
}

/// `true` once Ctrl-C or SIGTERM arrived; a second one exits at once.
fn watch_signals() -> Result<watch::Receiver<bool>, CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| CliError::Failed(format!("cannot watch for SIGTERM: {e}")))?;
    let mut int =
        signal(SignalKind::interrupt()).map_err(|e| CliError::Failed(format!("cannot watch for SIGINT: {e}")))?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            seen += 1;
            if seen > 1 {
                eoutln!("Second signal: exiting now.");
                std::process::exit(130);
            }
            eoutln!("Stopping after the current check (a second Ctrl-C exits at once).");
            let _ = tx.send(true);
        }
    });
    Ok(rx)
}
