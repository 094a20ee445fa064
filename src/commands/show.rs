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
            println!("{}", render::json::plan(&plan));
        } else if args.markdown {
            print!("{}", render::markdown::plan(&plan));
        } else {
            print!("{}", render::plan::render(&plan, color.stdout));
        }
        return Ok(());
    }
    let snapshot = if stack::state_exists() { Some(stack::open_backend()?.snapshot().await?) } else { None };
    let Some(snapshot) = snapshot else {
        if args.json {
            println!("{}", serde_json::json!({"format_version": render::json::FORMAT_VERSION, "resources": [], "outputs": {}}));
        } else {
            println!("The state is empty: nothing has been applied here yet.");
        }
        return Ok(());
    };
    if args.json {
        let resources: Vec<_> = snapshot
            .resources
            .iter()
            .map(|r| {
                let (values, _, sensitive) = render::json::value(&tarn_core::plan::value_from_record(r));
                serde_json::json!({
                    "address": r.address, "deposed": r.deposed, "mode": r.mode, "type": r.type_name, "provider": r.provider,
                    "values": values, "sensitive_values": sensitive, "dependencies": r.dependencies,
                })
            })
            .collect();
        let outputs: serde_json::Map<_, _> = snapshot
            .outputs
            .iter()
            .map(|o| (o.name.clone(), serde_json::json!({"sensitive": o.sensitive, "value": if o.sensitive { serde_json::Value::Null } else { o.value.clone() }})))
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "format_version": render::json::FORMAT_VERSION, "lineage": snapshot.lineage, "serial": snapshot.serial,
                "resources": resources, "outputs": outputs,
            })
        );
        return Ok(());
    }
    for r in &snapshot.resources {
        let value = tarn_core::plan::value_from_record(r);
        let kind = if r.mode == "data" { "data" } else { "resource" };
        match &r.deposed {
            Some(key) => println!("# {} (deposed object {key}):", render::paint(&r.address, "1", color.stdout)),
            None => println!("# {}:", render::paint(&r.address, "1", color.stdout)),
        }
        println!("{kind} {:?} {:?} {}\n", r.type_name, r.address.rsplit('.').next().unwrap_or("").split('[').next().unwrap_or(""), render::diff::block(&value, 4));
    }
    if !snapshot.outputs.is_empty() {
        println!("Outputs:\n");
        for o in &snapshot.outputs {
            let v = if o.sensitive { "(sensitive value)".to_string() } else { render::diff::block(&tarn_sdk::Value::from_json(&o.value), 4) };
            println!("{} = {v}", o.name);
        }
    }
    Ok(())
}
