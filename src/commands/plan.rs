//! `tarn plan`: refresh, plan, render (human or `--json`), optionally save to `--out`. Where
//! no state exists yet, the plan is made against an empty one and creates none.

use super::workflow::{self, Planning, Session};
use crate::cli::PlanArgs;
use crate::error::CliError;
use crate::render::{self, Color};
use tarn_core::plan::{Plan, PlanMode};

pub async fn run(args: PlanArgs, color: Color) -> Result<(), CliError> {
    let config = workflow::load_config()?;
    let variables = workflow::resolve_variables(&config, &args.config)?;
    let mode = match (args.destroy, args.refresh_only) {
        (true, _) => PlanMode::Destroy,
        (_, true) => PlanMode::RefreshOnly,
        _ => PlanMode::Normal,
    };
    if args.refresh_only && !args.run.refresh {
        return Err(CliError::Failed(
            "--refresh-only reads every object, so it cannot be combined with --refresh=false".into(),
        ));
    }
    let location = crate::location::locate()?;
    let plan = if location.may_exist() {
        let session = Session::open(&location, config, variables, &args.run, "tarn plan").await?;
        let result = session.planning.plan(mode, &args.select, args.run.refresh).await;
        session.close().await;
        result?
    } else {
        let planning = Planning::without_state(config, variables).await?;
        let result = planning.plan(mode, &args.select, args.run.refresh).await;
        planning.close().await;
        result?
    };
    if let Some(path) = &args.out {
        save(&plan, path)?;
    }
    if args.json {
        outln!(
            "{}",
            render::json::plan_text(&plan)
                .map_err(|e| CliError::Failed(format!("cannot encode the plan as JSON: {e}")))?
        );
    } else {
        out!("{}", render::plan::render(&plan, color.stdout));
        if let Some(path) = &args.out {
            outln!(
                "\nSaved the plan to {}. Apply exactly this plan with:\n  tarn apply {}",
                path.display(),
                path.display()
            );
        }
    }
    let changes = render::plan::has_changes(&plan);
    // The process ends right after this command: freeing a plan of thousands of instances
    // piece by piece would only delay the exit.
    std::mem::forget(plan);
    if args.detailed_exitcode && changes {
        return Err(CliError::ChangesPresent);
    }
    Ok(())
}

/// Writes the plan atomically. Values go through the redacting wire form: a saved plan never
/// holds a sensitive value in clear text.
pub fn save(plan: &Plan, path: &std::path::Path) -> Result<(), CliError> {
    let bytes = serde_json::to_vec(plan).map_err(|e| CliError::Failed(format!("cannot encode the plan: {e}")))?;
    let tmp = path.with_extension("tarn-tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::Failed(format!("cannot write the plan to {}: {e}", path.display())))
}

/// Reads a saved plan, refusing files that are not tarn plans or are of another format version.
pub fn load(path: &std::path::Path) -> Result<Plan, CliError> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::Failed(format!("cannot read the plan {}: {e}", path.display())))?;
    let raw: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| CliError::Failed(format!("{} is not a saved tarn plan (not JSON)", path.display())))?;
    let version = raw.get("format_version").and_then(|v| v.as_u64());
    if version != Some(tarn_core::plan::PLAN_FORMAT_VERSION as u64) {
        return Err(CliError::Failed(format!(
            "{} is not a saved plan this tarn can apply (format version {}, expected {}); make a new one with `tarn plan --out`",
            path.display(),
            version.map(|v| v.to_string()).unwrap_or_else(|| "missing".into()),
            tarn_core::plan::PLAN_FORMAT_VERSION
        )));
    }
    serde_json::from_value(raw).map_err(|e| CliError::Failed(format!("{} is a damaged plan file: {e}", path.display())))
}
