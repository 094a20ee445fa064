//! `tarn workspace list|show|new|select|delete`: separate states of one configuration, kept
//! in the same state file under their own lineage, lock, journal and history. The selection is
//! `.tarn/workspace`; `--workspace` and `TARN_WORKSPACE` override it for one command.

use super::state_run::Locked;
use crate::cli::WorkspaceCommand;
use crate::error::CliError;
use crate::render;
use crate::stack;
use tarn_state::SqliteBackend;

pub async fn run(cmd: WorkspaceCommand) -> Result<(), CliError> {
    match cmd {
        WorkspaceCommand::Show => {
            outln!("{}", stack::workspace()?);
            Ok(())
        }
        WorkspaceCommand::List { json } => {
            let current = stack::workspace()?;
            let mut names = existing().await?;
            if !names.contains(&current) {
                names.push(current.clone());
                names.sort();
            }
            if json {
                outln!(
                    "{}",
                    serde_json::json!({"format_version": render::json::FORMAT_VERSION, "current": current, "workspaces": names})
                );
            } else {
                for n in names {
                    outln!("{} {n}", if n == current { "*" } else { " " });
                }
            }
            Ok(())
        }
        WorkspaceCommand::New { name } => {
            stack::check_workspace_name(&name)?;
            if existing().await?.contains(&name) {
                return Err(CliError::Failed(format!(
                    "workspace {name:?} already exists; select it with `tarn workspace select {name}`"
                )));
            }
            stack::open_layers(&name)?.raw.snapshot().await?; // creates its lineage
            select(&name)?;
            outln!(
                "Created and selected workspace {name:?}. Its state is empty: `tarn apply` builds this configuration anew in it."
            );
            Ok(())
        }
        WorkspaceCommand::Select { name } => {
            stack::check_workspace_name(&name)?;
            if name != SqliteBackend::DEFAULT_WORKSPACE && !existing().await?.contains(&name) {
                return Err(CliError::Failed(format!(
                    "there is no workspace {name:?}; create it with `tarn workspace new {name}` (`tarn workspace list` shows those there are)"
                )));
            }
            select(&name)?;
            outln!("Selected workspace {name:?}.");
            if let Ok(over) = std::env::var(stack::WORKSPACE_ENV) {
                eoutln!(
                    "Warning: TARN_WORKSPACE (or --workspace) is set to {over:?} and overrides the selection while it is set."
                );
            }
            Ok(())
        }
        WorkspaceCommand::Delete { name, force, lock } => delete(&name, force, &lock).await,
    }
}

/// Workspaces that have a state in this directory's state file.
async fn existing() -> Result<Vec<String>, CliError> {
    if !stack::state_exists() {
        return Ok(Vec::new());
    }
    Ok(stack::open_layers(SqliteBackend::DEFAULT_WORKSPACE)?.raw.workspaces().await?)
}

fn select(name: &str) -> Result<(), CliError> {
    let path = stack::selection_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{name}\n"))
        .and_then(|_| std::fs::rename(&tmp, &path))
        .map_err(|e| CliError::Failed(format!("cannot record the selected workspace in {}: {e}", path.display())))
}

async fn delete(name: &str, force: bool, lock: &crate::cli::LockArgs) -> Result<(), CliError> {
    stack::check_workspace_name(name)?;
    if name == SqliteBackend::DEFAULT_WORKSPACE {
        return Err(CliError::Failed(
            "the default workspace cannot be deleted (it is where tarn works when none is selected)".into(),
        ));
    }
    if stack::workspace()? == name {
        return Err(CliError::Failed(format!(
            "workspace {name:?} is the current one; select another first (`tarn workspace select default`)"
        )));
    }
    if !existing().await?.iter().any(|n| n == name) {
        return Err(CliError::Failed(format!(
            "there is no workspace {name:?}; `tarn workspace list` shows those there are"
        )));
    }
    let locked = Locked::open_workspace(&format!("tarn workspace delete {name}"), lock, name).await?;
    let snapshot = match locked.layers.raw.snapshot().await {
        Ok(s) => s,
        Err(e) => {
            locked.close().await;
            return Err(e.into());
        }
    };
    if !snapshot.resources.is_empty() && !force {
        locked.close().await;
        return Err(CliError::Failed(format!(
            "workspace {name:?} still records {} object(s) that exist: deleting it would leave them unmanaged. Destroy them \
             first (`tarn --workspace {name} destroy`), or delete anyway with --force (the objects stay, forgotten).",
            snapshot.resources.len()
        )));
    }
    if let Err(e) = locked.layers.raw.delete_workspace().await {
        locked.close().await;
        return Err(e.into());
    }
    locked.close_deleted();
    outln!(
        "Deleted workspace {name:?}{}.",
        if snapshot.resources.is_empty() {
            String::new()
        } else {
            format!(" ({} object(s) forgotten, not destroyed)", snapshot.resources.len())
        }
    );
    Ok(())
}
