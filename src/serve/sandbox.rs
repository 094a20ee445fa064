//! `tarn serve --sandbox`: the OpenNebula emulator on 127.0.0.1 (its objects kept in
//! `.tarn/sandbox/opennebula.json`, as for `tarn --sandbox apply`), and the configuration's
//! endpoints pointed at it. Unlike a sandboxed `tarn apply`, the credentials are not
//! replaced: each request's own are passed through, so the emulator's users decide (`cognit` /
//! `sandbox`), as OpenNebula would.

use tarn_sdk::sim::{EmulatorOptions, RunningEmulator};

use super::conf::EngineConf;
use crate::error::CliError;

/// Starts the emulator and points `conf` at it.
pub async fn start(conf: &mut EngineConf) -> Result<RunningEmulator, CliError> {
    let snapshot = crate::sandbox::snapshot_path("opennebula");
    let emulator = tarn_provider_opennebula::emulated()
        .start(EmulatorOptions { snapshot: Some(snapshot.clone()), addr: None })
        .await
        .map_err(|e| CliError::Failed(format!("cannot start the opennebula emulator for --sandbox: {e}")))?;
    let base = emulator.base_url.trim_end_matches('/').to_string();
    conf.set_endpoints(&format!("{base}/RPC2"), &base);
    eoutln!(
        "Sandbox: OpenNebula emulator at {base} (objects kept in {}; user cognit, password sandbox).",
        snapshot.display()
    );
    Ok(emulator)
}
