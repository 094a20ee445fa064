//! `tarn state ...`: inspecting the recorded state, and releasing a lock left by a run that
//! is gone (only the lock named by its ID, so a newer holder is never released by mistake).
//! Surgery (show/mv/rm), pull/push and rekey live in their own files; this dispatches.

use crate::cli::StateCommand;
use crate::error::CliError;
use crate::render::Color;
use crate::stack;

pub async fn run(cmd: StateCommand, color: Color) -> Result<(), CliError> {
    match cmd {
        StateCommand::List { json } => {
            let resources =
                if stack::state_exists() { stack::open_backend()?.snapshot().await?.resources } else { Vec::new() };
            if json {
                let list: Vec<_> = resources
                    .iter()
                    .map(|r| serde_json::json!({"address": r.address, "deposed": r.deposed, "mode": r.mode, "type": r.type_name, "provider": r.provider}))
                    .collect();
                outln!(
                    "{}",
                    serde_json::json!({"format_version": crate::render::json::FORMAT_VERSION, "resources": list})
                );
            } else {
                for r in resources {
                    match r.deposed {
                        Some(key) => outln!("{} (deposed object {key})", r.address),
                        None => outln!("{}", r.address),
                    }
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
            outln!(
                "Wrote a new state key to {}. Sensitive values in this state are now stored encrypted with it; keep it \
                 safe and out of version control — without it they cannot be read.",
                path.display()
            );
            Ok(())
        }
        StateCommand::Unlock { lock_id } => unlock(&lock_id).await,
        StateCommand::Show { address, json } => super::state_edit::show(&address, json, color).await,
        StateCommand::Mv { source, destination, dry_run, json, lock } => {
            super::state_edit::mv(super::state_edit::MoveArgs {
                source: &source,
                destination: &destination,
                dry_run,
                json,
                lock: &lock,
            })
            .await
        }
        StateCommand::Rm { addresses, dry_run, json, lock } => {
            super::state_edit::rm(&addresses, dry_run, json, &lock).await
        }
        StateCommand::Pull => super::state_transfer::pull().await,
        StateCommand::Push { file, force, json, lock } => super::state_transfer::push(&file, force, json, &lock).await,
        StateCommand::Rekey { new_key_file, json, lock } => {
            super::rekey::run(new_key_file.as_deref(), json, &lock).await
        }
        StateCommand::Migrate { to, lock_timeout } => super::migrate::run(&to, &lock_timeout).await,
        StateCommand::Restore { lock } => super::state_restore::run(&lock).await,
    }
}

async fn unlock(lock_id: &str) -> Result<(), CliError> {
    let current = if stack::state_exists() { stack::open_backend()?.current_lock().await? } else { None };
    let Some(current) = current else {
        return Err(CliError::Failed(format!("the state is not locked (lock {lock_id} was released or has expired)")));
    };
    if current.id != lock_id {
        return Err(CliError::Failed(format!(
            "the state is locked by {current}, not by lock {lock_id}. Nothing was released; give the ID of the lock to release."
        )));
    }
    stack::open_backend()?.force_unlock(lock_id).await?;
    outln!("Released the state lock held by {current}.");
    Ok(())
}
