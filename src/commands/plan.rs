//! `tarn plan`: a run that refreshes and plans, then renders the plan (human or `--json`) and
//! optionally saves it to `--out`. Where no state exists yet, the plan is made against an empty
//! one and creates none.

use super::workflow::{self, Printer, Setup};
use crate::cli::PlanArgs;
use crate::error::CliError;
use crate::render::{self, Color};
use std::path::Path;
use tarn_core::plan::{Plan, PlanMode};
use tarn_core::run::{Run, planfile};

pub async fn run(args: PlanArgs, color: Color) -> Result<(), CliError> {
    let config = workflow::load_config()?;
    let mut request = workflow::request("tarn plan", &args.config, &args.select, &args.run)?;
    request.mode = match (args.destroy, args.refresh_only) {
        (true, _) => PlanMode::Destroy,
        (_, true) => PlanMode::RefreshOnly,
        _ => PlanMode::Normal,
    };
    request.parallelism = args.parallelism;
    let settings = workflow::settings(request, &config)?;
    let location = crate::location::locate()?;
    let printer = Printer::new(config.clone(), None);
    let setup = Setup::default();
    let planned = async {
        let mut run = if location.may_exist() {
            let backend = crate::stack::open_backend_at(&location)?;
            Run::open(settings, config, backend, &setup, printer).await?
        } else {
            Run::without_state(settings, config, &setup, printer).await?
        };
        let plan = run.plan().await;
        run.close().await;
        Ok::<_, CliError>(plan?)
    }
    .await;
    setup.close().await;
    let plan = planned?;
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

/// Writes the plan atomically; a saved plan never holds a sensitive value in clear text.
pub fn save(plan: &Plan, path: &Path) -> Result<(), CliError> {
    Ok(planfile::save(plan, Path::new("."), path)?)
}

/// Reads a saved plan, refusing files that are not tarn plans or are of another format version.
pub fn load(path: &Path) -> Result<Plan, CliError> {
    Ok(planfile::load(Path::new("."), path)?)
}
