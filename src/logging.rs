//! Logging through tracing: level from `TARN_LOG` (e.g. `debug`, `tarn_core=trace`), to stderr
//! and optionally to `--log-file`. Secrets never reach logs: values are logged only through
//! their redacting Display/JSON forms.

use crate::error::CliError;
use std::path::Path;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Keeps the log file open for the life of the process.
pub struct LogGuard;

pub fn init(log_file: Option<&Path>) -> Result<LogGuard, CliError> {
    // `tarn serve`'s request lines (target tarn::serve) are its access log: on by default.
    let filter = || EnvFilter::try_from_env("TARN_LOG").unwrap_or_else(|_| EnvFilter::new("warn,tarn::serve=info"));
    let stderr_layer = fmt::layer().with_writer(std::io::stderr).with_target(false).with_filter(filter());
    let file_layer = match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| CliError::Failed(format!("cannot open log file {}: {e}", path.display())))?;
            let filter = EnvFilter::try_from_env("TARN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
            Some(fmt::layer().with_writer(std::sync::Mutex::new(file)).with_ansi(false).with_filter(filter))
        }
        None => None,
    };
    let _ = tracing_subscriber::registry().with(stderr_layer).with(file_layer).try_init();
    Ok(LogGuard)
}
