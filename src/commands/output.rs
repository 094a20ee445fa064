//! `tarn output [NAME] [--json]`: output values recorded by the last apply. Sensitive outputs
//! show as `(sensitive value)` in the listing. The state keeps only a digest of a sensitive
//! output, never its value, so asking for one by name is an error that says so rather than a
//! misleading `null`.

use crate::cli::OutputArgs;
use crate::error::CliError;
use crate::stack;

pub async fn run(args: &OutputArgs) -> Result<(), CliError> {
    let outputs = if stack::state_exists() { stack::open_backend()?.snapshot().await?.outputs } else { Vec::new() };
    if let Some(name) = &args.name {
        let Some(o) = outputs.iter().find(|o| &o.name == name) else {
            let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
            let hint = tarn_core::diag::did_you_mean(name, names.iter().copied())
                .map(|s| format!(" Did you mean {s:?}?"))
                .unwrap_or_default();
            return Err(CliError::Failed(format!(
                "no output named {name:?} in the state.{hint} Outputs are recorded by `tarn apply`."
            )));
        };
        if o.sensitive && crate::commands::workflow::is_output_digest(&o.value) {
            return Err(CliError::Failed(format!(
                "the output {name:?} is sensitive: this state has no key, so tarn recorded only a digest of it, never its value in clear text (`tarn state keygen` makes a key; the next apply then records it sealed). \
                 Read the secret from where it comes from (a variable, a secret store), or make the output \
                 non-sensitive if it is not a secret."
            )));
        }
        match (&o.value, args.json) {
            (v, true) => outln!("{v}"),
            (serde_json::Value::String(s), false) => outln!("{s}"),
            (v, false) => outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
        }
        return Ok(());
    }
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = outputs
            .iter()
            .map(|o| {
                let value = if o.sensitive { serde_json::Value::Null } else { o.value.clone() };
                (o.name.clone(), serde_json::json!({"sensitive": o.sensitive, "value": value}))
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&map).unwrap_or_default());
        return Ok(());
    }
    let width = outputs.iter().map(|o| o.name.len()).max().unwrap_or(0);
    for o in &outputs {
        let shown = if o.sensitive { "(sensitive value)".to_string() } else { tarn_core_display(&o.value) };
        outln!("{:width$} = {shown}", o.name);
    }
    Ok(())
}

fn tarn_core_display(v: &serde_json::Value) -> String {
    crate::render::diff::block(&tarn_sdk::Value::from_json(v), 4)
}
