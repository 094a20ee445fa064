//! `tarn drift`: compare every recorded object with the real one, report the differences, and
//! exit 0 (no drift), 2 (drift) or 1 (error). Once, or every `--every` until stopped, with
//! reports appended to `--report`, transitions POSTed to `--notify` and Prometheus metrics on
//! `--metrics-addr`. Never changes an object or the state (see `check`).
//!
//! `check` runs one check, `sinks` keeps the report file, notifier and transition memory,
//! `metrics` serves Prometheus, `schedule` is the loop; this file validates arguments and
//! renders one report.

mod check;
mod metrics;
mod schedule;
mod sinks;

use crate::cli::DriftArgs;
use crate::error::CliError;
use crate::render::drift::{self as report, Context, Outcome};
use crate::render::{self, Color};
use crate::stack;
use check::{CheckOptions, Checked};
use std::time::{Duration, Instant};
use tarn_core::plan::drift::IgnoreRule;

/// How a report is printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

pub async fn run(args: DriftArgs, color: Color) -> Result<(), CliError> {
    let ignore = args
        .ignore
        .iter()
        .map(|s| IgnoreRule::parse(s).map_err(|e| CliError::Failed(format!("--ignore {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let opts = CheckOptions {
        config: args.config.clone(),
        ignore,
        lock_timeout: stack::parse_duration(&args.lock_timeout)?,
        parallelism: args.parallelism,
        provider_timeout: args.provider_timeout.clone(),
    };
    let format = if args.json {
        Format::Json
    } else if args.markdown {
        Format::Markdown
    } else {
        Format::Human
    };
    let every = args.every.as_deref().map(stack::parse_duration).transpose()?;
    if every.is_some_and(|d| d < Duration::from_secs(1)) {
        return Err(CliError::Failed("--every must be at least 1s (for example 15m or 1h)".into()));
    }
    let sinks = sinks::Sinks::open(args.report.as_deref(), args.notify.as_deref())?;
    match every {
        Some(every) => {
            schedule::run(schedule::Schedule { opts, every, format, color, metrics_addr: args.metrics_addr }, sinks)
                .await
        }
        None => once(&opts, format, color, sinks).await,
    }
}

/// One check: print it, record it, exit 0/2/1.
async fn once(opts: &CheckOptions, format: Format, color: Color, mut sinks: sinks::Sinks) -> Result<(), CliError> {
    // SIGINT and SIGTERM: a check only reads, so it stops where it is; nothing is recorded.
    let cancel = tarn_core::exec::CancelToken::new();
    stack::watch_interrupts(cancel.clone(), "stopping the check (it only reads)")?;
    let (result, ctx) = tokio::select! {
        checked = timed_check(opts) => checked,
        () = cancel.cancelled() => {
            sinks.close().await;
            return Err(CliError::Interrupted(
                "Interrupted: the drift check stopped before it finished; nothing was changed and no report was \
                 recorded."
                    .into(),
            ));
        }
    };
    let outcome = outcome(&result);
    let doc = report::document(&outcome, &ctx);
    let recorded = sinks.record(&outcome, &doc);
    sinks.close().await;
    match (&result, format) {
        (Ok(c), Format::Human) => out!("{}", report::human(&c.report, &c.warnings, color.stdout)),
        (Ok(c), Format::Markdown) => out!("{}", report::markdown(&c.report, &c.warnings)),
        // A pipeline reading --json gets a document for a failed check too (status "error").
        (_, Format::Json) => outln!("{doc}"),
        (Err(_), _) => {}
    }
    recorded?;
    match result {
        Ok(c) if c.report.has_drift() => Err(CliError::ChangesPresent),
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs a check and notes when and for how long.
pub async fn timed_check(opts: &CheckOptions) -> (Result<Checked, CliError>, Context) {
    let checked_at = tarn_state::clock::now_string();
    let started = Instant::now();
    let result = check::check(opts).await;
    let ctx = Context {
        checked_at,
        duration_ms: started.elapsed().as_millis() as u64,
        workspace: crate::stack::workspace().unwrap_or_else(|_| "default".to_string()),
    };
    (result, ctx)
}

/// What to report for a check's result (an error as its message, diagnostics rendered plain).
pub fn outcome(result: &Result<Checked, CliError>) -> Outcome<'_> {
    match result {
        Ok(c) => Outcome::Checked { report: &c.report, lineage: &c.lineage, serial: c.serial, warnings: &c.warnings },
        Err(CliError::Diagnostics { diags, sources }) => {
            Outcome::Failed { error: render::diagnostics(diags, sources, false).trim_end().to_string() }
        }
        Err(other) => Outcome::Failed { error: other.to_string() },
    }
}
