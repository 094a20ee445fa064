//! `tarn apply [FILE]` and `tarn destroy`: plan (or load a saved plan and check it is still
//! valid), ask for approval, run the plan's execution graph, record outputs, and map the
//! outcome to exit codes 0, 3 or 4.

use super::plan as saved;
use super::workflow::{self, Session};
use crate::cli::{ApplyArgs, OnFailure, OnInterrupt};
use crate::error::CliError;
use crate::render::events::Renderer;
use crate::render::{self, Color};
use crate::stack;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use tarn_core::exec::{self, ApplyContext, ApplyOptions, ApplyOutcome, CancelToken, FailurePolicy, InterruptPolicy};
use tarn_core::plan::{ApplyEvaluator, Plan, PlanMode};
use tarn_state::{OutputRecord, RunStart};

pub async fn run(args: ApplyArgs, destroy: bool, color: Color) -> Result<(), CliError> {
    let command = if destroy { "tarn destroy" } else { "tarn apply" };
    if args.refresh_only && destroy {
        return Err(CliError::Failed(
            "tarn destroy does not take --refresh-only; use `tarn apply --refresh-only`".into(),
        ));
    }
    if args.refresh_only && !args.run.refresh {
        return Err(CliError::Failed(
            "--refresh-only reads every object, so it cannot be combined with --refresh=false".into(),
        ));
    }
    let config = workflow::load_config()?;
    // SIGINT and SIGTERM from here on: nothing new starts, what runs finishes, then what
    // finished is kept (or rolled back when asked).
    let on_interrupt = match args.on_interrupt {
        Some(OnInterrupt::Keep) => InterruptPolicy::Keep,
        Some(OnInterrupt::Rollback) => InterruptPolicy::Rollback,
        None => config.root.module.settings.on_interrupt.unwrap_or_default(),
    };
    let cancel = CancelToken::new();
    let doing = match on_interrupt {
        InterruptPolicy::Keep => "starting nothing new, letting running operations finish, then keeping what finished",
        InterruptPolicy::Rollback => {
            "starting nothing new, letting running operations finish, then rolling back what finished (on-interrupt: \
             rollback)"
        }
    };
    stack::watch_interrupts(cancel.clone(), doing)?;
    let (plan, variables) =
        match &args.plan_file {
            Some(path) if !destroy => {
                if !args.config.vars.is_empty() || !args.config.var_files.is_empty() {
                    return Err(CliError::Failed(format!(
                        "a saved plan is applied with the variable values it was made with, so --var and --var-file \
                         cannot change them: make a new plan with those values (`tarn plan --out FILE ...`), or apply \
                         {} without them. Sensitive variables, which plan files never hold, are read again from \
                         TARN_VAR_<name> or the variables files that load by themselves.",
                        path.display()
                    )));
                }
                let plan = saved::load(path)?;
                let variables = saved_variables(&plan, &config, &args)?;
                (Some(plan), variables)
            }
            Some(_) => return Err(CliError::Failed(
                "tarn destroy does not take a plan file; use `tarn plan --destroy --out FILE` then `tarn apply FILE`"
                    .into(),
            )),
            None => (None, workflow::resolve_variables(&config, &args.config)?),
        };
    let session = Session::open(&crate::location::locate()?, config, variables, &args.run, command).await?;
    let interrupt = Interrupt { cancel, policy: on_interrupt };
    let result = run_locked(&session, plan, &args, destroy, color, command, interrupt).await;
    // Whatever the run concluded, a lost lock is what the user must hear about.
    let result = match session.backend.lease_loss() {
        Some(loss) => Err(stack::lease_lost(&loss)),
        None => result,
    };
    session.close().await;
    result
}

/// The cancel token the signal watcher sets, and what an interrupt does with what finished.
struct Interrupt {
    cancel: CancelToken,
    policy: InterruptPolicy,
}

/// Said when a signal arrived before anything changed.
fn nothing_changed() -> CliError {
    CliError::Interrupted("Interrupted: nothing was changed.".into())
}

async fn run_locked(
    session: &Session,
    saved_plan: Option<Plan>,
    args: &ApplyArgs,
    destroy: bool,
    color: Color,
    command: &str,
    interrupt: Interrupt,
) -> Result<(), CliError> {
    let Interrupt { cancel, policy: on_interrupt } = interrupt;
    // Interrupted while waiting for the lock: stop before reading anything.
    if cancel.is_cancelled() {
        return Err(nothing_changed());
    }
    let plan = match saved_plan {
        Some(plan) => {
            check_binding(&plan, session)?;
            plan
        }
        None => {
            let mode = match (destroy, args.refresh_only) {
                (true, _) => PlanMode::Destroy,
                (_, true) => PlanMode::RefreshOnly,
                _ => PlanMode::Normal,
            };
            let plan = session.planning.plan(mode, &args.select, args.run.refresh).await?;
            if !args.json {
                out!("{}", render::plan::render(&plan, color.stdout));
            }
            if !render::plan::has_changes(&plan) {
                return Ok(());
            }
            if !args.auto_approve {
                confirm(destroy, &cancel).await?;
            }
            plan
        }
    };
    if cancel.is_cancelled() {
        return Err(nothing_changed());
    }
    if plan.mode == PlanMode::RefreshOnly {
        return refresh_state(session, &plan, args.json, command).await;
    }
    refuse_secrets_without_key(&plan)?;
    let progress = std::io::stdout().is_terminal() && !args.json && !crate::pipeline::ci();
    let renderer = Renderer::new(args.json, color.stdout, progress).for_destroy(destroy).with_heartbeat(heartbeat()?);
    let finalizer = Arc::new(ApplyEvaluator::new(
        session.planning.config.clone(),
        session.planning.variables.clone(),
        session.planning.providers.schemas().clone(),
        &plan,
        std::env::current_dir().unwrap_or_default(),
    ));
    let ctx = ApplyContext {
        providers: session.planning.providers.to_map(),
        backend: session.backend.clone(),
        finalizer,
        schemas: session.planning.providers.schemas().clone(),
        options: ApplyOptions {
            parallelism: args.parallelism.max(1),
            on_failure: match args.on_failure {
                OnFailure::Rollback => FailurePolicy::Rollback,
                OnFailure::Halt => FailurePolicy::Halt,
                OnFailure::Continue => FailurePolicy::Continue,
            },
            on_interrupt,
            ..ApplyOptions::default()
        },
        events: renderer,
        cancel,
        run: RunStart {
            command: command.to_string(),
            holder: stack::holder(command),
            summary: serde_json::to_value(render::plan::Counts::of(&plan)).unwrap_or_default(),
        },
    };
    let report = exec::apply(&plan, ctx).await;
    let report = report.map_err(|e| CliError::Failed(format!("apply could not run: {e}")))?;
    match report.outcome {
        ApplyOutcome::Success => {
            let outputs = record_outputs(session, plan.mode == PlanMode::Destroy).await?;
            if !args.json && !outputs.is_empty() {
                out!("\n{}", render::outputs(&outputs));
            }
            Ok(())
        }
        ApplyOutcome::RolledBack => Err(CliError::RolledBack),
        ApplyOutcome::RollbackIncomplete | ApplyOutcome::Partial => Err(CliError::Incomplete),
        ApplyOutcome::Interrupted => Err(CliError::Interrupted(format!(
            "Interrupted: {} created, {} changed, {} destroyed, {} not started. Run `{command}` to continue.",
            report.created,
            report.changed,
            report.destroyed,
            report.skipped.len()
        ))),
    }
}

/// Applies a refresh-only plan: what refresh found is written to the state in one atomic batch
/// (changed objects rewritten, objects gone removed), inside one history run. No provider is
/// called and no object changes.
async fn refresh_state(session: &Session, plan: &Plan, json: bool, command: &str) -> Result<(), CliError> {
    use tarn_state::{RunOutcome, StateBatch};
    let rows = &session.planning.snapshot.resources;
    let mut batch = StateBatch::default();
    for d in &plan.drift {
        let address = d.address.to_string();
        match &d.actual {
            None => batch.delete.push(address),
            Some(actual) => {
                if !actual.is_wholly_known() {
                    return Err(CliError::Failed(format!(
                        "{address} has sensitive values that a saved plan does not hold. Nothing was changed. Run                          `tarn apply --refresh-only` without a plan file."
                    )));
                }
                let Some(row) = rows.iter().find(|r| r.address == address && r.deposed.is_none()) else { continue };
                let mut row = row.clone();
                row.attributes = actual.to_json_unmarked();
                row.sensitive_paths = tarn_core::plan::statevalue::sensitive_paths(actual);
                batch.put.push(row);
            }
        }
    }
    if batch.put.iter().any(|r| !r.sensitive_paths.is_empty())
        && tarn_state::crypto::Sealer::load(&stack::key_path())?.is_none()
    {
        return Err(CliError::Failed(format!(
            "the refreshed objects have sensitive values, and tarn never stores a sensitive value in clear text.              Nothing was changed. {}",
            tarn_state::crypto::KEY_HELP
        )));
    }
    let summary = serde_json::json!({ "refreshed": batch.put.len(), "forgotten": batch.delete.len() });
    let run = RunStart {
        command: format!("{command} --refresh-only"),
        holder: stack::holder(command),
        summary: summary.clone(),
    };
    let run_id = session.backend.begin_run(run).await?;
    let (updated, removed) = (batch.put.len(), batch.delete.len());
    let result = session.backend.apply_batch(batch).await;
    let outcome = if result.is_ok() { RunOutcome::Success } else { RunOutcome::Failed };
    if let Err(e) = session.backend.finish_run(&run_id, outcome, summary).await {
        tracing::warn!(run = %run_id, error = %e, "could not record the end of the run");
    }
    result.map_err(|e| CliError::Failed(format!("cannot record the refreshed objects: {e}. Nothing was changed.")))?;
    record_outputs(session, false).await?;
    if json {
        let event = serde_json::json!({"type": "refresh_complete", "updated": updated, "removed": removed});
        outln!("{}", serde_json::json!({"format_version": render::json::FORMAT_VERSION, "event": event}));
    } else {
        outln!(
            "\nApply complete! The state now records what refresh found: {updated} object(s) updated, {removed} \
             removed. No object was changed."
        );
    }
    Ok(())
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

/// A saved plan applies only to the state and configuration it was made from.
fn check_binding(plan: &Plan, session: &Session) -> Result<(), CliError> {
    let now = session.planning.binding();
    let b = &plan.binding;
    let stale = |why: String| {
        Err(CliError::Failed(format!(
            "the saved plan is stale: {why}. Nothing was changed. Make a new plan with `tarn plan --out FILE` and review it."
        )))
    };
    if b.workspace != now.workspace {
        return stale(format!(
            "it was made for workspace {:?}, and this is workspace {:?} (select it with --workspace {} or TARN_WORKSPACE)",
            b.workspace, now.workspace, b.workspace
        ));
    }
    // A plan made against an empty state (where none existed yet, its lineage is one no state
    // has) holds only creates: they mean the same in any state that is still empty.
    let empty_now = now.serial == 0 && session.planning.snapshot.resources.is_empty();
    if b.lineage != now.lineage && b.serial == 0 && !empty_now {
        return stale(format!("the state changed since it was made (serial 0 then, {} now)", now.serial));
    }
    if b.lineage != now.lineage && b.serial != 0 {
        return Err(CliError::Failed(format!(
            "the saved plan was made for another stack: its state has lineage {}, and the state here has lineage {}. \
             Nothing was changed. A plan applies only to the state it was made from; it was probably made in another \
             directory, or before this state was recreated. Run `tarn plan --out FILE` here and apply that file, or \
             apply this one in the directory (and workspace) where it was made.",
            b.lineage, now.lineage
        )));
    }
    if b.serial != now.serial {
        return stale(format!("the state changed since it was made (serial {} then, {} now)", b.serial, now.serial));
    }
    if b.config_hash != now.config_hash {
        return stale("the configuration files changed since it was made".into());
    }
    Ok(())
}

/// Variables of a saved plan: stored values, and sensitive ones (never stored) given again
/// and checked against the plan's digest.
fn saved_variables(
    plan: &Plan,
    config: &tarn_core::config::Config,
    args: &ApplyArgs,
) -> Result<tarn_core::plan::RootVariables, CliError> {
    let given = if plan.variables.values().any(|v| v.value.is_none()) {
        workflow::resolve_variables(config, &args.config)?
    } else {
        tarn_core::plan::RootVariables::new()
    };
    let mut out = tarn_core::plan::RootVariables::new();
    for (name, pv) in &plan.variables {
        let value = match &pv.value {
            Some(v) => v.clone(),
            None => {
                let v = given.get(name).cloned().unwrap_or_default();
                if tarn_core::plan::variable_digest(&v, &plan.binding.lineage) != pv.digest {
                    return Err(CliError::Failed(format!(
                        "the sensitive variable {name:?} has a different value than when the plan was made; give the same \
                         value (--var, --var-file or TARN_VAR_{name}) or make a new plan"
                    )));
                }
                v
            }
        };
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// After a successful apply every value is known: evaluate the outputs once more from the new
/// state and record them. Sensitive outputs are recorded as such and never in clear text: only
/// a salted digest, so the next plan can tell whether they changed.
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

/// Records the root module's outputs after a successful apply, and returns them.
async fn record_outputs(session: &Session, destroyed: bool) -> Result<Vec<OutputRecord>, CliError> {
    // After an apply, `check {}` blocks are judged again with every value known: the plan
    // made here prints their warnings.
    if destroyed || (session.planning.config.root.module.outputs.is_empty() && !has_checks(&session.planning.config)) {
        // Nothing to evaluate (and no need for another snapshot and plan): any outputs
        // recorded before go.
        session.backend.set_outputs(Vec::new()).await?;
        return Ok(Vec::new());
    }
    let snapshot = session.backend.snapshot().await?;
    let has_key = tarn_state::crypto::Sealer::load(&stack::key_path())?.is_some();
    let plan = session.planning.plan_from(&snapshot, PlanMode::Normal, &Default::default(), false).await?;
    let records = plan
        .outputs
        .iter()
        .filter(|o| o.action != tarn_core::plan::Action::Delete)
        .map(|o| OutputRecord {
            name: o.name.clone(),
            // Sensitive outputs: sealed by the encrypting backend when the state has a key;
            // without one, only a salted digest is recorded. Never the clear text.
            value: match (&o.after, o.sensitive) {
                (Some(v), true) if has_key => v.to_json_unmarked(),
                (Some(v), true) => workflow::sensitive_output_digest(v, &snapshot.lineage),
                (Some(v), false) => v.to_json_unmarked(),
                (None, _) => serde_json::Value::Null,
            },
            sensitive: o.sensitive,
        })
        .collect::<Vec<_>>();
    session.backend.set_outputs(records.clone()).await?;
    Ok(records)
}

fn has_checks(config: &tarn_core::config::Config) -> bool {
    let mut stack = vec![&config.root];
    while let Some(t) = stack.pop() {
        if !t.module.checks.is_empty() {
            return true;
        }
        stack.extend(t.children.values());
    }
    false
}

/// Sensitive values are stored only encrypted. Without a key, say so before anything changes,
/// rather than after a provider created an object the state then cannot record.
pub(super) fn refuse_secrets_without_key(plan: &Plan) -> Result<(), CliError> {
    let secret = plan.changes.iter().find(|c| {
        // An import stores the object it finds, even when nothing else changes.
        let stores = !matches!(c.action, tarn_core::plan::Action::Delete | tarn_core::plan::Action::NoOp)
            || c.import_id().is_some();
        let found = if c.import_id().is_some() { c.before.as_ref() } else { None };
        stores && [c.after.as_ref(), found].into_iter().flatten().any(|v| v.contains_sensitive())
    });
    let Some(change) = secret else { return Ok(()) };
    if tarn_state::crypto::Sealer::load(&stack::key_path())?.is_some() {
        return Ok(());
    }
    Err(CliError::Failed(format!(
        "{} has sensitive values, and tarn never stores a sensitive value in clear text. Nothing was changed. {}",
        change.address,
        tarn_state::crypto::KEY_HELP
    )))
}
