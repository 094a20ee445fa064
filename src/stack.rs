//! A stack is the configuration in the working directory plus its state. This opens the state
//! backend, takes the lock for state commands (the engine's `run::Lease` with its heartbeat,
//! which runs take themselves) and words a held lock, releases it on every exit path —
//! including a first SIGINT/SIGTERM, which lets in-flight operations finish (`watch_interrupts`)
//! — describes the holder, and words the error of a run that lost its lease.

use crate::error::CliError;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tarn_core::exec::CancelToken;
use tarn_core::run::Lease;
use tarn_state::crypto::{EncryptedBackend, Sealer};
use tarn_state::{Backend, LeaseLoss, LockHolder, LockInfo, LockOptions, StateError};

pub const STATE_DIR: &str = ".tarn";

/// The state database; under `--sandbox`, the sandbox's own (see `sandbox`).
pub fn state_path() -> PathBuf {
    if crate::sandbox::active() {
        return crate::sandbox::state_path();
    }
    PathBuf::from(STATE_DIR).join("state.db")
}

pub fn key_path() -> PathBuf {
    PathBuf::from(STATE_DIR).join("state.key")
}

/// The state backend of the current workspace (see `location`: TARN_BACKEND_URL, the backend
/// block, or .tarn/state.db), wrapped so that sensitive values are sealed at rest.
pub fn open_backend() -> Result<Arc<dyn Backend>, CliError> {
    open_backend_at(&crate::location::locate()?)
}

/// [`open_backend`] at a location already found (finding it reads the configuration).
pub fn open_backend_at(location: &crate::location::Location) -> Result<Arc<dyn Backend>, CliError> {
    Ok(open_layers_at(location, &workspace()?)?.sealed)
}

/// The two views of one workspace's state: `raw` stores values as they are at rest (sealed
/// values stay ciphertext: `state pull`, `rekey`), `sealed` seals and opens them.
pub struct Layers {
    pub raw: Arc<dyn Backend>,
    pub sealed: Arc<dyn Backend>,
}

/// Opens `workspace` of this stack's state, wherever it lives (SQLite or PostgreSQL).
pub fn open_layers(workspace: &str) -> Result<Layers, CliError> {
    open_layers_at(&crate::location::locate()?, workspace)
}

fn open_layers_at(location: &crate::location::Location, workspace: &str) -> Result<Layers, CliError> {
    let raw: Arc<dyn Backend> = location.open(workspace)?;
    let sealer = Sealer::load(&key_path())?;
    Ok(Layers { sealed: Arc::new(EncryptedBackend::new(raw.clone(), sealer)), raw })
}

/// `--workspace NAME` and `TARN_WORKSPACE` are one setting (main puts the flag here).
pub const WORKSPACE_ENV: &str = "TARN_WORKSPACE";

/// Where `tarn workspace select` records the selection.
pub fn selection_path() -> PathBuf {
    PathBuf::from(STATE_DIR).join("workspace")
}

/// The current workspace: `--workspace` / `TARN_WORKSPACE`, else the one selected with
/// `tarn workspace select`, else `default`.
pub fn workspace() -> Result<String, CliError> {
    if let Ok(name) = std::env::var(WORKSPACE_ENV) {
        if !name.is_empty() {
            check_workspace_name(&name)?;
            return Ok(name);
        }
    }
    match std::fs::read_to_string(selection_path()) {
        Ok(text) if !text.trim().is_empty() => {
            let name = text.trim().to_string();
            check_workspace_name(&name).map_err(|e| {
                CliError::Failed(format!("{} names an invalid workspace: {e}", selection_path().display()))
            })?;
            Ok(name)
        }
        _ => Ok(tarn_state::SqliteBackend::DEFAULT_WORKSPACE.to_string()),
    }
}

/// Workspace names are what a file name, a URL path segment and a shell word all take.
pub fn check_workspace_name(name: &str) -> Result<(), CliError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "invalid workspace name {name:?}: use up to 64 letters, digits, `-`, `_` and `.`, not starting with `.` \
             (for example `staging` or `eu-west-1`)"
        )))
    }
}

/// Whether a state may exist here yet (commands that only read must not create a file).
pub fn state_exists() -> bool {
    crate::location::locate().map(|l| l.may_exist()).unwrap_or(true)
}

pub fn holder(command: &str) -> LockHolder {
    LockHolder { user: user(), host: hostname(), pid: std::process::id(), command: command.to_string() }
}

/// The user this process runs as, from the OS account database (not `$USER`, which a
/// pipeline may leave unset or set to anything); its numeric id when it has no account name.
pub fn user() -> String {
    whoami::username().unwrap_or_else(|_| "unknown".into())
}

/// This machine's host name, from the OS.
pub fn hostname() -> String {
    whoami::hostname().unwrap_or_else(|_| "localhost".into())
}

/// Parses a duration: `30s`, `2m`, `1h30m`, `90s`, `1d`, `500ms`, `0` (humantime's grammar;
/// units may also be spelled out, `2 minutes`).
pub fn parse_duration(s: &str) -> Result<Duration, CliError> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(s).map_err(|e| {
        CliError::Failed(format!("invalid duration {s:?} ({e}): use numbers with units, like 30s, 2m, 1h30m or 1d"))
    })
}

/// The held lock of a state command: the engine's [`Lease`] (renewed by a heartbeat task),
/// taken with the lease [`lease`] says. Release with [`Lock::release`].
pub struct Lock(Lease);

/// How long the lock lease lasts without renewal, unless `TARN_LOCK_LEASE` says otherwise.
pub const LEASE: Duration = tarn_core::run::DEFAULT_LEASE;

/// Sets the lease (a duration such as `90s`, at least 1s): longer where machines stall for
/// long, shorter in tests. The holder renews it every third of it.
pub const LEASE_ENV: &str = "TARN_LOCK_LEASE";

/// The lease length: [`LEASE`], or `TARN_LOCK_LEASE`.
pub fn lease() -> Result<Duration, CliError> {
    let Ok(text) = std::env::var(LEASE_ENV) else { return Ok(LEASE) };
    let lease = parse_duration(&text).map_err(|e| CliError::Failed(format!("{LEASE_ENV}: {e}")))?;
    if lease < Duration::from_secs(1) {
        return Err(CliError::Failed(format!("{LEASE_ENV}={text} is too short: the lock lease lasts at least 1s")));
    }
    Ok(lease)
}

impl Lock {
    pub async fn acquire(backend: Arc<dyn Backend>, command: &str, timeout: Duration) -> Result<Lock, CliError> {
        let options = LockOptions { timeout, lease: lease()? };
        match Lease::acquire(backend, holder(command), options).await {
            Ok(lease) => Ok(Lock(lease)),
            Err(StateError::Locked { holder }) => Err(locked(&holder)),
            Err(e) => Err(e.into()),
        }
    }

    /// Stops the heartbeat without releasing: for when the lease itself was deleted (the
    /// workspace that held it is gone).
    pub fn forget(self) {
        self.0.forget();
    }

    pub async fn release(self) {
        self.0.release().await;
    }
}

/// The error of a command that found the state locked by `holder`.
pub fn locked(holder: &LockInfo) -> CliError {
    CliError::Failed(format!(
        "the state is locked by {holder}.\n\nAnother tarn is working on this stack. Wait for it, retry with \
         --lock-timeout 5m to wait up to five minutes, or, if you are sure that run is gone, release its lock with \
         `tarn state unlock {}`.",
        holder.id
    ))
}

/// The error that ends a run which lost its lock (`backend.lease_loss()`): why, and the
/// provider calls whose effects the state may be missing, so that the user can check them.
pub fn lease_lost(loss: &LeaseLoss) -> CliError {
    let mut text = format!(
        "this run lost the state lock: {}. It stopped at once: it started nothing more and wrote nothing further to \
         the state, which belongs to the new holder now.",
        loss.reason
    );
    if loss.calls.is_empty() {
        text.push_str(&format!(
            "\nIt made no provider call after its lease was last confirmed ({}): the state misses nothing it did.",
            loss.confirmed_at
        ));
    } else {
        text.push_str(&format!(
            "\nProvider calls it made after its lease was last confirmed ({}), which the state may not record:",
            loss.confirmed_at
        ));
        for call in &loss.calls {
            text.push_str(&format!("\n  - {call}"));
        }
        text.push_str(
            "\nCheck each of these objects: import what exists (`tarn import`), or delete it by hand; created objects \
             carry the correlation tag shown.",
        );
    }
    text.push_str(&format!(
        "\nA tarn that is suspended or stalled for longer than its lock lease loses it (set {LEASE_ENV} for a longer lease)."
    ));
    CliError::LeaseLost(text)
}

/// SIGINT (Ctrl-C) and SIGTERM (what CI systems send on cancel) alike. The first cancels
/// `cancel`: the executor stops scheduling, lets running provider calls finish, then keeps
/// what finished (or rolls it back when `rollback`); `doing` says what the command does now
/// ("letting running operations finish, then keeping what finished").
/// A second signal exits at once with 130 (the lock lease then expires on its own, or its dead
/// holder is recognised, and the journal lets the next run adopt what was in flight).
/// It watches until the process ends.
pub fn watch_interrupts(cancel: CancelToken, doing: &'static str) -> Result<(), CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| CliError::Failed(format!("cannot watch for SIGTERM: {e}")))?;
    let mut int =
        signal(SignalKind::interrupt()).map_err(|e| CliError::Failed(format!("cannot watch for SIGINT: {e}")))?;
    tokio::spawn(async move {
        let mut seen = 0;
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            seen += 1;
            if seen > 1 {
                eoutln!("Second interrupt ({name}): exiting now. The next run will recover from the journal.");
                std::process::exit(INTERRUPTED_EXIT);
            }
            eoutln!(
                "\nInterrupt received ({name}): {doing}. Press Ctrl-C again (or send another SIGTERM) to exit at once."
            );
            cancel.cancel();
        }
    });
    Ok(())
}

/// The exit code of a command stopped by SIGINT or SIGTERM (the shell's 128 + SIGINT).
pub const INTERRUPTED_EXIT: i32 = 130;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5x").is_err());
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
    }
}
