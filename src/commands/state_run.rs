//! The frame every state-changing `tarn state`/`workspace` command runs in: open the
//! workspace's state, take the lock, decide (refusals leave no trace), then record a history
//! run around the one atomic write, and release the lock on every path.

use crate::cli::LockArgs;
use crate::error::CliError;
use crate::stack::{self, Layers, Lock};
use std::future::Future;
use tarn_state::{RunOutcome, RunStart, StateError};

pub struct Locked {
    pub layers: Layers,
    lock: Lock,
    command: String,
}

impl Locked {
    /// Opens the current workspace's state and takes its lock (waiting up to `--lock-timeout`).
    pub async fn open(command: &str, args: &LockArgs) -> Result<Locked, CliError> {
        Locked::open_workspace(command, args, &stack::workspace()?).await
    }

    pub async fn open_workspace(command: &str, args: &LockArgs, workspace: &str) -> Result<Locked, CliError> {
        let layers = stack::open_layers(workspace)?;
        let timeout = stack::parse_duration(&args.lock_timeout)?;
        let lock = Lock::acquire(layers.sealed.clone(), command, timeout).await?;
        Ok(Locked { layers, lock, command: command.to_string() })
    }

    /// Records a run in history (bumping the serial once; `counts` is its plan summary, e.g.
    /// `{"move": 2}`), performs `write`, and records its outcome: `success`, or `failed` with the error (the write is atomic, so nothing of it
    /// remains).
    pub async fn record<F>(&self, counts: serde_json::Value, write: F) -> Result<(), CliError>
    where
        F: Future<Output = Result<(), StateError>>,
    {
        let summary = serde_json::json!({ "plan": counts });
        let run =
            RunStart { command: self.command.clone(), holder: stack::holder(&self.command), summary: summary.clone() };
        let run_id = self.layers.sealed.begin_run(run).await?;
        let result = write.await;
        let (outcome, summary) = match &result {
            Ok(()) => (RunOutcome::Success, summary),
            Err(e) => (RunOutcome::Failed, serde_json::json!({ "plan": summary["plan"], "error": e.to_string() })),
        };
        if let Err(e) = self.layers.sealed.finish_run(&run_id, outcome, summary).await {
            tracing::warn!(run = %run_id, error = %e, "could not record the end of the run");
        }
        result.map_err(|e| CliError::Failed(format!("{e}. Nothing was changed.")))
    }

    pub async fn close(self) {
        self.lock.release().await;
    }

    /// For a command that deleted its own lease with the workspace.
    pub fn close_deleted(self) {
        self.lock.forget();
    }
}
