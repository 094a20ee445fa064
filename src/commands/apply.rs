//! `tarn apply [FILE]` and `tarn destroy`: a run that plans (or takes a saved plan, which the
//! run checks is still valid), shows the plan and asks for approval here, applies, and maps the
//! outcome to exit codes 0, 3 or 4. The rules (staleness, secrets without a key, outputs,
//! refresh-only plans) are the run's (`tarn_core::run`); this file is flags, prompt and words.

use super::workflow::{self, ApplyView, Printer, Setup};
use crate::cli::{ApplyArgs, OnFailure, OnInterrupt};
use crate::error::CliError;
use crate::render::{self, Color};
use crate::stack;
use std::io::{BufRead, IsTerminal, Write};
use tarn_core::exec::{ApplyOutcome, CancelToken, FailurePolicy, InterruptPolicy};
use tarn_core::plan::PlanMode;
use tarn_core::run::{Applied, Run};

pub async fn run(args: ApplyArgs, destroy: bool, color: Color) -> Result<(), CliError> {
    let command = if destroy { "tarn destroy" } else { "tarn apply" };
    if args.refresh_only && destroy {
        return Err(CliError::Failed(
            "tarn destroy does not take --refresh-only; use `tarn apply --refresh-only`".into(),
        ));
    }
    if destroy && args.plan_file.is_some() {
        return Err(CliError::Failed(
            "tarn destroy does not take a plan file; use `tarn plan --destroy --out FILE` then `tarn apply FILE`"
                .into(),
        ));
    }
    let config = workflow::load_config()?;
    let mut request = workflow::request(command, &args.config, &args.select, &args.run)?;
    request.mode = match (destroy, args.refresh_only) {
        (true, _) => PlanMode::Destroy,
        (_, true) => PlanMode::RefreshOnly,
        _ => PlanMode::Normal,
    };
    request.parallelism = args.parallelism;
    request.on_failure = match args.on_failure {
        OnFailure::Rollback => FailurePolicy::Rollback,
        OnFailure::Halt => FailurePolicy::Halt,
        OnFailure::Continue => FailurePolicy::Continue,
    };
    request.on_interrupt = args.on_interrupt.map(|p| match p {
        OnInterrupt::Keep => InterruptPolicy::Keep,
        OnInterrupt::Rollback => InterruptPolicy::Rollback,
    });
    request.saved_plan = args.plan_file.clone();
    request.state_key = workflow::state_key()?;
    let settings = workflow::settings(request, &config)?;
    // SIGINT and SIGTERM from here on: nothing new starts, what runs finishes, then what
    // finished is kept (or rolled back when asked).
    let cancel = CancelToken::new();
    let doing = match settings.on_interrupt() {
        InterruptPolicy::Keep => "starting nothing new, letting running operations finish, then keeping what finished",
        InterruptPolicy::Rollback => {
            "starting nothing new, letting running operations finish, then rolling back what finished (on-interrupt: \
             rollback)"
        }
    };
    stack::watch_interrupts(cancel.clone(), doing)?;
    let view = ApplyView {
        json: args.json,
        color: color.stdout,
        progress: std::io::stdout().is_terminal() && !args.json && !crate::pipeline::ci(),
        destroy,
        heartbeat: heartbeat()?,
    };
    let backend = stack::open_backend_at(&crate::location::locate()?)?;
    let printer = Printer::new(config.clone(), Some(view));
    let setup = Setup::default();
    let result = match Run::open(settings, config, backend, &setup, printer).await {
        Ok(mut run) => {
            let result = run_locked(&mut run, &args, destroy, color, cancel).await;
            // Whatever the run concluded, a lost lock is what the user must hear about.
            match run.close().await {
                Some(loss) => Err(stack::lease_lost(&loss)),
                None => result,
            }
        }
        Err(e) => Err(e.into()),
    };
    setup.close().await;
    result
}

/// Said when a signal arrived before anything changed.
fn nothing_changed() -> CliError {
    CliError::Interrupted("Interrupted: nothing was changed.".into())
}

async fn run_locked(
    run: &mut Run,
    args: &ApplyArgs,
    destroy: bool,
    color: Color,
    cancel: CancelToken,
) -> Result<(), CliError> {
    // Interrupted while waiting for the lock: stop before reading anything.
    if cancel.is_cancelled() {
        return Err(nothing_changed());
    }
    let saved = run.settings().applies_saved_plan();
    let plan = run.plan().await?;
    if !saved {
        if !args.json {
            out!("{}", render::plan::render(&plan, color.stdout));
        }
        if !render::plan::has_changes(&plan) {
            return Ok(());
        }
        if !args.auto_approve {
            confirm(destroy, &cancel).await?;
        }
    }
    match run.apply(&plan, cancel).await? {
        Applied::Refreshed { updated, removed, .. } => {
            if args.json {
                let event = serde_json::json!({"type": "refresh_complete", "updated": updated, "removed": removed});
                outln!("{}", serde_json::json!({"format_version": render::json::FORMAT_VERSION, "event": event}));
            } else {
                outln!(
                    "\nApply complete! The state now records what refresh found: {updated} object(s) updated, \
                     {removed} removed. No object was changed."
                );
            }
            Ok(())
        }
        Applied::Executed { report, outputs } => match report.outcome {
            ApplyOutcome::Success => {
                if !args.json && !outputs.is_empty() {
                    out!("\n{}", render::outputs(&outputs));
                }
                Ok(())
            }
            ApplyOutcome::RolledBack => Err(CliError::RolledBack),
            ApplyOutcome::RollbackIncomplete | ApplyOutcome::Partial => Err(CliError::Incomplete),
            ApplyOutcome::Interrupted => Err(CliError::Interrupted(format!(
                "Interrupted: {} created, {} changed, {} destroyed, {} not started. Run `{}` to continue.",
                report.created,
                report.changed,
                report.destroyed,
                report.skipped.len(),
                run.settings().command()
            ))),
        },
    }
}

async fn confirm(destroy: bool, cancel: &CancelToken) -> Result<(), CliError> {
    if let Some(why) = crate::pipeline::no_input_reason() {
        return Err(CliError::Failed(format!(
            "apply needs approval, and {why}. Nothing was changed. Review the plan above, then run again with \
             --auto-approve, or save it with `tarn plan --out FILE` and apply that file."
        )));
    }
    let what = if destroy { "destroy every object listed above" } else { "perform these actions" };
    out!("\nDo you want to {what}? Only 'yes' will be accepted.\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    // Read on a thread of its own, so that an interrupt at the prompt ends the command.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = tx.send(std::io::stdin().lock().read_line(&mut line).map(|_| line));
    });
    let line = tokio::select! {
        read = rx => read.map_err(|_| CliError::Failed("cannot read the answer".into()))??,
        () = cancel.cancelled() => return Err(nothing_changed()),
    };
    if line.trim() != "yes" {
        return Err(CliError::Failed("apply cancelled: nothing was changed".into()));
    }
    Ok(())
}

/// How often a long operation is reported as still running: [`render::events::HEARTBEAT`],
/// or `TARN_HEARTBEAT` (a duration; tests use a short one).
fn heartbeat() -> Result<std::time::Duration, CliError> {
    match std::env::var("TARN_HEARTBEAT") {
        Ok(text) => stack::parse_duration(&text)
            .map(|d| d.max(std::time::Duration::from_millis(100)))
            .map_err(|e| CliError::Failed(format!("TARN_HEARTBEAT: {e}"))),
        Err(_) => Ok(render::events::HEARTBEAT),
    }
}
