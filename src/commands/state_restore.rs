//! `tarn state restore`: puts back the last verified copy of a SQLite state that tarn refused
//! as missing, empty, unreadable or older than its record (`tarn_state::sqlite::verified`).
//! The copy's digest is checked before anything moves, the damaged files are renamed aside,
//! and one run is recorded in the history (under the lock, like every state command).

use super::state_run::Locked;
use crate::cli::LockArgs;
use crate::error::CliError;
use crate::location::Location;
use tarn_state::StateError;
use tarn_state::sqlite::verified;

pub async fn run(lock: &LockArgs) -> Result<(), CliError> {
    let path = match crate::location::locate()? {
        Location::Sqlite(path) => path,
        Location::Postgres { .. } => {
            return Err(CliError::Failed(
                "tarn state restore puts back the verified copy tarn keeps beside a SQLite state; a PostgreSQL state \
                 is restored with the database's own backups (pg_dump, point-in-time recovery). Nothing was changed."
                    .into(),
            ));
        }
    };
    let restored = verified::restore(&path).map_err(|e| match e {
        StateError::Damaged(message) => CliError::Failed(message),
        e => CliError::Failed(format!("{e}. Nothing was restored.")),
    })?;
    let locked = Locked::open("tarn state restore", lock).await?;
    let serials: serde_json::Map<String, serde_json::Value> =
        restored.record.workspaces.iter().map(|(ws, m)| (ws.clone(), m.serial.into())).collect();
    let result = locked.record(serde_json::json!({ "restore": serials }), async { Ok(()) }).await;
    locked.close().await;
    result?;
    outln!(
        "Restored the state from {} (verified at {}).",
        verified::backup_path(&path).display(),
        restored.record.recorded_at
    );
    for aside in &restored.kept_aside {
        outln!("The damaged file was kept as {}.", aside.display());
    }
    Ok(())
}
