//! `tarn show [FILE] [--json | --markdown]`: the recorded state, or a saved plan (also as
//! Markdown for a pull-request comment). Sensitive values are shown
//! as `(sensitive value)` and are `null` in JSON, with their locations listed.

use crate::cli::ShowArgs;
use crate::error::CliError;
use crate::render::{self, Color};
use crate::stack;

pub async fn run(args: &ShowArgs, color: Color) -> Result<(), CliError> {
    if let Some(path) = &args.plan_file {
        let plan = super::plan::load(path)?;
        if args.json {
            outln!(
                "{}",
                render::json::plan_text(&plan)
                    .map_err(|e| CliError::Failed(format!("cannot encode the plan as JSON: {e}")))?
            );
        } else if args.markdown {
            out!("{}", render::markdown::plan(&plan));
        } else {
            out!("{}", render::plan::render(&plan, color.stdout));
        }
        return Ok(());
    }
    let snapshot = if stack::state_exists() { Some(stack::open_backend()?.snapshot().await?) } else { None };
    let Some(snapshot) = snapshot else {
        if args.json {
            outln!(
                "{}",
                serde_json::json!({"format_version": render::json::FORMAT_VERSION, "resources": [], "outputs": {}})
            );
        } else {
            outln!("The state is empty: nothing has been applied here yet.");
        }
        return Ok(());
    };
    if args.json {
        let resources: Vec<_> = snapshot.resources.iter().map(render::json::state_resource).collect();
        let outputs: serde_json::Map<_, _> = snapshot
            .outputs
            .iter()
            .map(|o| (o.name.clone(), serde_json::json!({"sensitive": o.sensitive, "value": if o.sensitive { serde_json::Value::Null } else { o.value.clone() }})))
            .collect();
        outln!(
            "{}",
            serde_json::json!({
                "format_version": render::json::FORMAT_VERSION, "lineage": snapshot.lineage, "serial": snapshot.serial,
                "resources": resources, "outputs": outputs,
            })
        );
        return Ok(());
    }
    for r in &snapshot.resources {
        out!("{}", render::state_resource(r, color.stdout));
    }
    if !snapshot.outputs.is_empty() {
        out!("{}", render::outputs(&snapshot.outputs));
    }
    Ok(())
}
