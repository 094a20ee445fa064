//! Root variable values from where users give them, lowest precedence first: `TF_VAR_*`,
//! `TARN_VAR_*` (environment values the caller passes in: a run reads no environment), the
//! variables files that load by themselves from the configuration's directory (`tarn.tfvars`,
//! `tarn.tfvars.json`, `*.auto.tfvars[.json]`), then `--var-file` and `--var` in the order
//! typed. Then converted and validated by `plan::resolve_variables`.

use super::error::{RunError, errors_or_warnings};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::{self, RootVariables, VarInput};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use tarn_sdk::Value;

/// One `--var NAME=VALUE` or `--var-file FILE`, in command-line order.
#[derive(Debug, Clone, PartialEq)]
pub enum VarArg {
    Var(String),
    File(PathBuf),
}

/// Where a run's root variables come from.
#[derive(Debug, Clone, Default)]
pub struct VariableSources {
    /// `TF_VAR_<name>` and `TARN_VAR_<name>` environment variables, full names (others are
    /// ignored). The caller reads its environment; a server passes none.
    pub env: Vec<(String, String)>,
    /// `--var` and `--var-file`, in the order typed (a later one wins).
    pub typed: Vec<VarArg>,
}

impl VariableSources {
    pub fn is_typed(&self) -> bool {
        !self.typed.is_empty()
    }
}

/// Where a root variable's value came from.
enum Origin {
    /// `TF_VAR_name`: a Terraform pipeline's variable, ignored when no `variable` declares it.
    TerraformEnv,
    /// `TARN_VAR_name`.
    Env,
    /// A variables file, loaded by itself or named by `--var-file`: an undeclared name is a
    /// warning naming the file and line, as in Terraform.
    File(PathBuf, String),
    /// `--var`.
    Flag,
}

/// The variables files that load by themselves from `dir`, in Terraform's order:
/// `tarn.tfvars`, `tarn.tfvars.json`, then `*.auto.tfvars` and `*.auto.tfvars.json` in
/// lexical order.
pub fn automatic_var_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        ["tarn.tfvars", "tarn.tfvars.json"].iter().map(|n| dir.join(n)).filter(|p| p.is_file()).collect();
    let mut auto: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json"))
        })
        .collect();
    auto.sort();
    files.extend(auto);
    files
}

/// Root variable inputs in increasing precedence. Relative `--var-file` paths are read from
/// `cwd`.
fn inputs(dir: &Path, cwd: &Path, sources: &VariableSources) -> Result<Vec<(String, VarInput, Origin)>, RunError> {
    let mut given = Vec::new();
    for prefix in ["TF_VAR_", "TARN_VAR_"] {
        let mut env: Vec<(String, String)> = sources
            .env
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(prefix).map(|n| (n.to_string(), v.clone())))
            .collect();
        env.sort();
        for (name, v) in env {
            let origin = if prefix == "TF_VAR_" { Origin::TerraformEnv } else { Origin::Env };
            given.push((name, VarInput::Text(v), origin));
        }
    }
    let files = automatic_var_files(dir).into_iter().map(VarArg::File);
    for arg in files.chain(sources.typed.iter().cloned()) {
        match arg {
            VarArg::File(file) => {
                let text = std::fs::read_to_string(cwd.join(&file))
                    .map_err(|e| RunError::Failed(format!("cannot read variables file {}: {e}", file.display())))?;
                for (name, v) in read_var_file(&file, &text)? {
                    given.push((name, VarInput::Value(v), Origin::File(file.clone(), text.clone())));
                }
            }
            VarArg::Var(pair) => {
                let Some((name, value)) = pair.split_once('=') else {
                    return Err(RunError::Failed(format!(
                        "invalid --var {pair:?}: expected NAME=VALUE, for example --var environment=prod"
                    )));
                };
                given.push((name.trim().to_string(), VarInput::Text(value.to_string()), Origin::Flag));
            }
        }
    }
    Ok(given)
}

fn read_var_file(path: &Path, text: &str) -> Result<Vec<(String, Value)>, RunError> {
    let json: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(text).map_err(|e| RunError::Failed(format!("{}: not valid JSON: {e}", path.display())))?
    } else {
        hcl::from_str(text).map_err(|e| RunError::Failed(format!("{}: {e}", path.display())))?
    };
    let serde_json::Value::Object(map) = json else {
        return Err(RunError::Failed(format!("{}: expected an object of variable values", path.display())));
    };
    Ok(map.into_iter().map(|(k, v)| (k, Value::from_json(&v))).collect())
}

/// The 1-based line of a variables file where `name` is given (`name =` in HCL, `"name":` in
/// JSON), or 1.
fn line_of(text: &str, name: &str) -> usize {
    let quoted = format!("\"{name}\"");
    text.lines()
        .position(|line| {
            let t = line.trim_start();
            t.strip_prefix(name).is_some_and(|r| r.trim_start().starts_with('='))
                || t.strip_prefix(&quoted).is_some_and(|r| r.trim_start().starts_with(':'))
                || t.contains(&format!("{{{quoted}")) && t.contains(':')
        })
        .map_or(1, |i| i + 1)
}

/// The root variables of `config` from `sources`, converted and validated, with the warnings
/// found (values for undeclared variables).
pub fn resolve(
    config: &Config,
    cwd: &Path,
    sources: &VariableSources,
) -> Result<(RootVariables, Diagnostics), RunError> {
    let declared = &config.root.module.variables;
    let mut given = IndexMap::new();
    let mut warnings = Diagnostics::default();
    for (name, input, origin) in inputs(&config.root.module.dir, cwd, sources)? {
        if !declared.contains_key(&name) {
            match origin {
                Origin::TerraformEnv => continue,
                Origin::File(file, text) => {
                    warnings.push(Diagnostic::warning(
                        "Value for undeclared variable",
                        format!(
                            "{}:{}: the root module declares no variable named \"{name}\", so this value is ignored. \
                             To use it, add a `variable \"{name}\" {{}}` block to the configuration.",
                            file.display(),
                            line_of(&text, &name)
                        ),
                    ));
                    continue;
                }
                Origin::Env | Origin::Flag => {}
            }
        }
        given.shift_remove(&name);
        given.insert(name, input);
    }
    let (vars, mut diags) = plan::resolve_variables(config, &given);
    diags.extend(warnings);
    let warnings = errors_or_warnings(diags, &config.sources)?;
    Ok((vars, warnings))
}
