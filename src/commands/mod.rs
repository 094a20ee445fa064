//! One file per command. Each turns validated arguments into calls on the engine and the
//! state backend, and hands results to `render`. Commands that touch state run on a tokio
//! runtime; the rest are synchronous.

mod apply;
mod completions;
mod console;
mod drift;
mod fmt;
mod graph;
mod history;
mod import;
mod migrate;
mod output;
mod plan;
mod providers;
mod rekey;
mod show;
mod sim;
mod state;
mod state_edit;
mod state_restore;
mod state_run;
mod state_select;
mod state_transfer;
mod validate;
mod workflow;
mod workspace;

use crate::cli::Command;
use crate::error::CliError;
use crate::render::Color;

pub fn run(command: Command, color: Color) -> Result<(), CliError> {
    match command {
        Command::Completions { shell } => completions::run(shell),
        Command::Fmt(args) => fmt::run(&args),
        Command::Validate(args) => validate::run(&args, color),
        Command::Graph(args) => graph::run(&args),
        Command::Plan(args) => runtime()?.block_on(plan::run(args, color)),
        Command::Apply(args) => runtime()?.block_on(apply::run(args, false, color)),
        Command::Destroy(args) => runtime()?.block_on(apply::run(args, true, color)),
        Command::Show(args) => runtime()?.block_on(show::run(&args, color)),
        Command::Output(args) => runtime()?.block_on(output::run(&args)),
        Command::Console(args) => runtime()?.block_on(console::run(&args, color)),
        Command::State(cmd) => runtime()?.block_on(state::run(cmd, color)),
        Command::History(args) => runtime()?.block_on(history::run(&args, color)),
        Command::Workspace(cmd) => runtime()?.block_on(workspace::run(cmd)),
        Command::Import(args) => runtime()?.block_on(import::run(args)),
        Command::Sim(cmd) => runtime()?.block_on(sim::run(cmd)),
        Command::Drift(args) => runtime()?.block_on(drift::run(args, color)),
        Command::Providers(args) => runtime()?.block_on(providers::run(args)),
        Command::Serve(args) => runtime()?.block_on(crate::serve::run(args)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Apply's workers run the finalizer (evaluation) too.
        .thread_stack_size(tarn_core::ENGINE_STACK_BYTES)
        .build()
        .map_err(|e| CliError::Failed(format!("cannot start the async runtime: {e}")))
}
