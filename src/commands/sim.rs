//! `tarn sim serve`: the providers' API emulators, standalone, until Ctrl-C. Prints one line
//! (or JSON object) per emulator with its API base URL and its fault-control URL, so scripts
//! and pipelines can read where to point their clients. `--provider pond` serves the web
//! servers of the sandbox's Pond servers instead (`sandbox::pond`), to browse between runs.

use std::io::Write;

use crate::cli::{SimCommand, SimServeArgs};
use crate::error::CliError;
use tarn_sdk::sim::EmulatorOptions;

pub async fn run(command: SimCommand) -> Result<(), CliError> {
    match command {
        SimCommand::Serve(args) => serve(args).await,
    }
}

async fn serve(args: SimServeArgs) -> Result<(), CliError> {
    if args.providers.iter().any(|p| p == "pond") {
        return serve_pond(args).await;
    }
    let all = crate::providers::emulators();
    let known: Vec<String> = all.iter().map(|e| e.provider_name().to_string()).collect();
    for wanted in &args.providers {
        if !known.contains(wanted) {
            return Err(CliError::Failed(format!(
                "there is no emulator for provider \"{wanted}\"; providers with one: {}",
                known.join(", ")
            )));
        }
    }
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|e| args.providers.is_empty() || args.providers.iter().any(|p| p == e.provider_name()))
        .collect();
    if chosen.len() > 1 && args.addr.is_some_and(|a| a.port() != 0) {
        return Err(CliError::Failed(
            "--addr with a fixed port serves one emulator: add --provider NAME, or use port 0".into(),
        ));
    }
    let mut running = Vec::new();
    for emulated in chosen {
        let name = emulated.provider_name().to_string();
        let snapshot = args.snapshot_dir.as_ref().map(|d| d.join(format!("{name}.json")));
        let emulator = emulated
            .start(EmulatorOptions { snapshot, addr: args.addr })
            .await
            .map_err(|e| CliError::Failed(format!("cannot start the {name} emulator: {e}")))?;
        let faults = format!("http://{}{}", emulator.server.addr(), tarn_sdk::sim::admin::FAULTS_PATH);
        let line = if args.json {
            serde_json::json!({"provider": name, "base_url": emulator.base_url, "faults_url": faults}).to_string()
        } else {
            format!("{name}\t{}\tfaults: {faults}", emulator.base_url)
        };
        outln!("{line}");
        running.push(emulator);
    }
    if !args.json {
        outln!("Serving {} emulator(s); press Ctrl-C to stop.", running.len());
    }
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c().await.map_err(|e| CliError::Failed(format!("cannot wait for Ctrl-C: {e}")))?;
    for emulator in running {
        emulator.server.shutdown().await;
    }
    eoutln!("Emulators stopped.");
    Ok(())
}

/// The web servers of the sandbox's Pond servers in this directory, until Ctrl-C.
async fn serve_pond(args: SimServeArgs) -> Result<(), CliError> {
    if args.providers.len() > 1 || args.addr.is_some() {
        return Err(CliError::Failed(
            "--provider pond serves the sandbox's Pond web servers on their own addresses: give it alone, without --addr"
                .into(),
        ));
    }
    let (lines, web) = tokio::task::spawn_blocking(crate::sandbox::pond::start_web)
        .await
        .map_err(|e| CliError::Failed(format!("starting the web servers panicked: {e}")))?
        .map_err(|e| CliError::Failed(format!("cannot serve the sandbox's Pond web servers: {e}")))?;
    for line in lines {
        outln!("{line}");
    }
    outln!("Serving the sandbox's Pond web servers; press Ctrl-C to stop.");
    let _ = std::io::stdout().flush();
    tokio::signal::ctrl_c().await.map_err(|e| CliError::Failed(format!("cannot wait for Ctrl-C: {e}")))?;
    tokio::task::spawn_blocking(move || drop(web)).await.ok();
    eoutln!("Web servers stopped.");
    Ok(())
}
