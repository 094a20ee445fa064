//! `tarn output [NAME] [--json | --raw]`: output values recorded by the last apply.
//!
//! As Terraform decides: a sensitive output shows as `(sensitive value)` in the listing and when
//! named, and is printed in clear only on explicit request: `--json` (all outputs, or the one
//! named) or `NAME --raw` (the bare string, number or bool). The state keeps only a digest of a
//! sensitive output when it has no key, so asking for its value is then an error that says so
//! rather than a misleading `null`.

use crate::cli::OutputArgs;
use crate::error::CliError;
use crate::stack;
use tarn_state::OutputRecord;

/// What a sensitive value shows as when it was not asked for explicitly.
const HIDDEN: &str = "(sensitive value)";

pub async fn run(args: &OutputArgs) -> Result<(), CliError> {
    let outputs = if stack::state_exists() { stack::open_backend()?.snapshot().await?.outputs } else { Vec::new() };
    if let Some(name) = &args.name {
        return named(&outputs, name, args);
    }
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = outputs
            .iter()
            .map(|o| {
                // A digest is not the value: `null` says "not recorded", never a fake value.
                let value = if is_digest(o) { serde_json::Value::Null } else { o.value.clone() };
                (o.name.clone(), serde_json::json!({"sensitive": o.sensitive, "value": value}))
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&map).unwrap_or_default());
        return Ok(());
    }
    out!("{}", crate::render::output_lines(&outputs));
    Ok(())
}

/// `tarn output NAME`, with `--json` or `--raw` if given.
fn named(outputs: &[OutputRecord], name: &str, args: &OutputArgs) -> Result<(), CliError> {
    let Some(o) = outputs.iter().find(|o| o.name == name) else {
        let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
        let hint = tarn_core::diag::did_you_mean(name, names.iter().copied())
            .map(|s| format!(" Did you mean {s:?}?"))
            .unwrap_or_default();
        return Err(CliError::Failed(format!(
            "no output named {name:?} in the state.{hint} Outputs are recorded by `tarn apply`."
        )));
    };
    let explicit = args.json || args.raw;
    if o.sensitive && !explicit {
        outln!("{HIDDEN}");
        return Ok(());
    }
    if is_digest(o) {
        return Err(CliError::Failed(format!(
            "the output {name:?} is sensitive: this state has no key, so tarn recorded only a digest of it, never its value in clear text (`tarn state keygen` makes a key; the next apply then records it sealed). \
             Read the secret from where it comes from (a variable, a secret store), or make the output \
             non-sensitive if it is not a secret."
        )));
    }
    if args.json {
        outln!("{}", o.value);
        return Ok(());
    }
    if args.raw {
        return match &o.value {
            serde_json::Value::String(s) => {
                out!("{s}");
                Ok(())
            }
            serde_json::Value::Number(_) | serde_json::Value::Bool(_) => {
                out!("{}", o.value);
                Ok(())
            }
            other => Err(CliError::Failed(format!(
                "the output {name:?} is {}, and --raw prints only a string, a number or a bool; use --json for other values.",
                json_type(other)
            ))),
        };
    }
    match &o.value {
        serde_json::Value::String(s) => outln!("{s}"),
        v => outln!("{}", serde_json::to_string_pretty(v).unwrap_or_default()),
    }
    Ok(())
}

fn is_digest(o: &OutputRecord) -> bool {
    o.sensitive && tarn_core::run::is_output_digest(&o.value)
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a map",
        _ => "a value",
    }
}
