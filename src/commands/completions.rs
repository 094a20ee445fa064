//! `tarn completions SHELL`: shell completion scripts generated from the clap definitions.

use crate::cli::Cli;
use crate::error::CliError;
use clap::CommandFactory;

pub fn run(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "tarn", &mut std::io::stdout());
    Ok(())
}
