//! `tarn state ...`: inspecting the recorded state.

use crate::cli::StateCommand;
use crate::error::CliError;
use crate::stack;

pub async fn run(cmd: StateCommand) -> Result<(), CliError> {
    match cmd {
        StateCommand::List { json } => {
            let resources = if stack::state_exists() { stack::open_backend()?.snapshot().await?.resources } else { Vec::new() };
            if json {
                let list: Vec<_> = resources
                    .iter()
                    .map(|r| serde_json::json!({"address": r.address, "mode": r.mode, "type": r.type_name, "provider": r.provider}))
                    .collect();
                println!("{}", serde_json::json!({"format_version": crate::render::json::FORMAT_VERSION, "resources": list}));
            } else {
                for r in resources {
                    println!("{}", r.address);
                }
            }
            Ok(())
        }
        StateCommand::Keygen => {
            let path = stack::key_path();
            if path.exists() {
                return Err(CliError::Failed(format!(
                    "{} already exists; tarn never overwrites a state key (the sensitive values in the state need it)",
                    path.display()
                )));
            }
            tarn_state::crypto::Sealer::generate_key_file(&path)?;
            println!(
                "Wrote a new state key to {}. Sensitive values in this state are now stored encrypted with it; keep it \
                 safe and out of version control — without it they cannot be read.",
                path.display()
            );
            Ok(())
        }
    }
}
