//! Provider calls at plan time: planning is pure, so a data source whose configuration is known
//! is reported as a pending read, a managed instance whose provider refines plans (a create
//! with computed attributes to predict, or any update) as a pending `Provider::plan`, and an
//! `import {}` target as a pending import; this driver makes the pending calls (in parallel) and
//! plans again with the answers, until nothing new is pending. Reads whose configuration depends on unknowns stay deferred to
//! apply (`Action::Read`); imports are never deferred.

use super::providers::ProviderSet;
use super::{Answer, DataResults, PlanInput, PlanOutcome, plan};
use crate::diag::Diagnostic;
use tarn_sdk::{Mode, PlanRequest, ReadDataRequest};
use tokio::task::JoinSet;

/// Rounds of reading before giving up (each round resolves at least one level of data
/// sources that depend on other data sources).
const MAX_ROUNDS: usize = 32;

/// Plans, reading data sources as their configurations become known.
pub async fn plan_with_data(input: PlanInput<'_>, providers: &ProviderSet) -> PlanOutcome {
    let mut data: DataResults = input.data.clone();
    let mut imported = input.imported.clone();
    let mut round = 0;
    loop {
        let mut outcome = plan(PlanInput { data: &data, imported: &imported, ..input });
        round += 1;
        if (outcome.pending_reads.is_empty() && outcome.pending_imports.is_empty()) || round > MAX_ROUNDS {
            return outcome;
        }
        let pending_imports = std::mem::take(&mut outcome.pending_imports);
        if !pending_imports.is_empty() {
            let diags = super::import::read_imports(pending_imports, providers, &mut imported).await;
            if diags.has_errors() {
                outcome.diagnostics.extend(diags);
                outcome.plan = None;
                return outcome;
            }
        }
        let mut tasks = JoinSet::new();
        for read in std::mem::take(&mut outcome.pending_reads) {
            let Some(provider) = providers.get(&read.provider) else {
                outcome.diagnostics.push(
                    Diagnostic::error(
                        "Missing provider",
                        format!(
                            "{} needs provider configuration \"{}\", which is not available.",
                            read.address, read.provider
                        ),
                    )
                    .for_address(&read.address),
                );
                continue;
            };
            tasks.spawn(async move {
                let result = match read.address.mode {
                    Mode::Data => {
                        let req =
                            ReadDataRequest { type_name: read.type_name.clone(), config: read.config.unmark_deep() };
                        provider.read_data(req).await.map(|v| (v, Vec::new()))
                    }
                    Mode::Managed => {
                        let req = PlanRequest {
                            type_name: read.type_name.clone(),
                            prior: read.prior.as_ref().map(|p| p.unmark_deep()),
                            proposed: read.config.unmark_deep(),
                        };
                        provider.plan(req).await.map(|r| (r.planned, r.requires_replace))
                    }
                };
                (read, result)
            });
        }
        let mut failed = false;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((read, Ok((value, requires_replace)))) => {
                    let with_prior = read.prior.is_some();
                    let answers = data.entry(read.address).or_default();
                    answers.retain(|a| a.with_prior != with_prior || a.asked != read.config);
                    answers.push(Answer { asked: read.config, with_prior, value, requires_replace });
                }
                Ok((read, Err(e))) => {
                    failed = true;
                    let (summary, doing) = match read.address.mode {
                        Mode::Data => ("Failed to read data source", "Reading"),
                        Mode::Managed => ("Provider could not plan", "Planning"),
                    };
                    outcome.diagnostics.push(
                        Diagnostic::error(summary, format!("{doing} {} failed: {}", read.address, e.message))
                            .for_address(&read.address)
                            .because(e.kind),
                    );
                }
                Err(e) => {
                    failed = true;
                    outcome.diagnostics.push(Diagnostic::error(
                        "Failed to read data source",
                        format!("A data source read panicked: {e}. This is a bug in the provider."),
                    ));
                }
            }
        }
        if failed {
            outcome.plan = None;
            return outcome;
        }
    }
}
