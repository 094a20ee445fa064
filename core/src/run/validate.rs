//! Validation (`tarn validate`): one plan in validation mode against an empty state, with
//! every root variable unknown (a sensitive one marked so), an unknown `count` or `for_each`
//! standing for one instance, and nothing read from providers; only their schemas, which the
//! caller found by name, are used. No lock, no state, no provider call. Its findings are the
//! plan's diagnostics minus what the caller's own checks already reported.

use crate::config::Config;
use crate::diag::{Diagnostics, Span};
use crate::plan::{self, PlanBinding, PlanInput, PlanOptions, PriorState, RootVariables, Schemas};
use std::collections::HashSet;
use std::path::Path;
use tarn_sdk::Value;

/// What a validation plans with.
pub struct Validation<'a> {
    pub config: &'a Config,
    /// The schemas of the providers the configuration uses (a missing one is the caller's to
    /// report, by name; this plan does not repeat it).
    pub schemas: &'a Schemas,
    /// `tarn.workspace` in the language.
    pub workspace: &'a str,
    /// `path.cwd` in the language, and `abspath`'s base.
    pub cwd: &'a Path,
    /// The user's home directory, for `pathexpand`.
    pub home: Option<&'a Path>,
}

/// Plans `v` in validation mode and returns the problems found that are not in `reported`
/// already (same span and detail).
pub fn validate(v: Validation, reported: &Diagnostics) -> Diagnostics {
    let variables: RootVariables = v
        .config
        .root
        .module
        .variables
        .values()
        .map(|var| (var.name.clone(), if var.sensitive { Value::Unknown.sensitive() } else { Value::Unknown }))
        .collect();
    let options = PlanOptions {
        validate: true,
        cwd: v.cwd.to_path_buf(),
        home: v.home.map(Path::to_path_buf),
        ..Default::default()
    };
    let binding = PlanBinding {
        lineage: String::new(),
        serial: 0,
        config_hash: v.config.hash.clone(),
        workspace: v.workspace.to_string(),
    };
    let prior = PriorState::default();
    let outcome = plan::plan(PlanInput {
        config: v.config,
        prior: &prior,
        drift: &[],
        schemas: v.schemas,
        variables: &variables,
        data: &Default::default(),
        imported: &Default::default(),
        options: &options,
        binding: &binding,
    });
    let seen: HashSet<(Option<Span>, String)> = reported.iter().map(|d| (d.span, d.detail.clone())).collect();
    let mut found = Diagnostics::default();
    for d in outcome.diagnostics.0 {
        // Missing providers are the caller's to report, by name, with the ones it knows.
        if d.summary == "Missing provider" || seen.contains(&(d.span, d.detail.clone())) {
            continue;
        }
        found.push(d);
    }
    found
}
