//! `tarn graph`: the dependency graph of the configuration in DOT.

use super::workflow;
use crate::cli::ConfigArgs;
use crate::error::CliError;

pub fn run(_args: &ConfigArgs) -> Result<(), CliError> {
    let config = workflow::load_config()?;
    let (graph, diags) = tarn_core::graph::build(&config);
    workflow::check(diags, &config.sources)?;
    out!("{}", tarn_core::graph::to_dot(&graph));
    Ok(())
}
