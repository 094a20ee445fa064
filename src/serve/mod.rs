//! `tarn serve`: COGNIT's Provisioning Engine REST API (`specs/provisioning-engine/api.yaml`)
//! backed by tarn, so that device clients of the original engine work unchanged. Each request
//! is a plan and apply of one serverless runtime through `tarn_core::run` (no second code
//! path), in the runtime's own workspace of the state; the `opennebula` provider does the work.
//!
//! Code map: `conf` (engine.conf's keys), `contract` (the schemas, the error answer),
//! `document` (SERVERLESS_RUNTIME ↔ the runtime's stack), `engine` (the runs and their locks),
//! `gate` (PUT: every function it names RUNNING), `status` (a failure's HTTP code), `routes`
//! (the API), `metrics` (`/metrics` and request logs), `sandbox` (`--sandbox`: the OpenNebula
//! emulator). This file starts and stops it:
//! SIGTERM or Ctrl-C stops accepting, lets running requests finish, then exits.

mod conf;
mod contract;
mod document;
mod engine;
mod gate;
mod metrics;
mod routes;
mod sandbox;
mod status;

use std::io::Write;
use std::sync::Arc;

use crate::cli::ServeArgs;
use crate::error::CliError;
use crate::location::Location;

pub async fn run(args: ServeArgs) -> Result<(), CliError> {
    let mut conf = conf::EngineConf::load(args.config.as_deref())?;
    let emulator = if crate::sandbox::active() { Some(sandbox::start(&mut conf).await?) } else { None };
    let location = match args.state.as_deref().or(std::env::var(crate::location::URL_ENV).ok().as_deref()) {
        Some(text) if !text.trim().is_empty() => Location::parse(text)?,
        _ => Location::Sqlite(crate::stack::state_path()),
    };
    let work = crate::stack::state_path().with_file_name("serve");
    let metrics = Arc::new(metrics::Metrics::new());
    let engine = Arc::new(engine::Engine::new(location, &conf, work, metrics)?);
    let known = engine.reindex().await.map_err(|e| CliError::Failed(format!("cannot read the state: {e}")))?;
    let addr = match args.listen {
        Some(a) => a,
        None => conf.addr()?,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    let app = routes::App { engine: engine.clone(), conf: Arc::new(conf.document.clone()) };
    outln!(
        "tarn serve: Provisioning Engine API {} on http://{bound} (state: {}, {known} runtime(s) known)",
        contract::API_VERSION,
        engine.describe_state()
    );
    let _ = std::io::stdout().flush();
    let served = axum::serve(listener, routes::router(app)).with_graceful_shutdown(stop_signal()).await;
    eoutln!("tarn serve: stopping; waiting for running requests to finish.");
    engine.drain().await;
    if let Some(emulator) = emulator {
        emulator.server.shutdown().await;
    }
    eoutln!("tarn serve: stopped.");
    served.map_err(|e| CliError::Failed(format!("the server failed: {e}")))
}

/// The first SIGTERM or SIGINT.
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
