//! `tarn providers check PATH`: runs the plugin conformance suite (tarn_plugin::check) in a
//! fresh temporary directory and prints one line per check, or one JSON report. Exit 1 when any
//! check fails.

use super::catalog::name_from_path;
use crate::error::CliError;
use std::path::{Path, PathBuf};
use tarn_plugin::check::{self, Outcome, Subject};

pub async fn run(
    path: &Path,
    fixture: Option<&Path>,
    name: Option<String>,
    timeout: &str,
    json: bool,
) -> Result<(), CliError> {
    let program = std::fs::canonicalize(path)
        .map_err(|e| CliError::Failed(format!("cannot use {} as a plugin: {e}", path.display())))?;
    let name = name.unwrap_or_else(|| name_from_path(&program));
    let subject = fixture.map(read_fixture).transpose()?;
    let mut timeouts = crate::plugins::timeouts().map_err(CliError::Failed)?;
    timeouts.call = crate::stack::parse_duration(timeout)?;
    let dir = TempDir::new()?;
    let report = check::run(&name, program, Some(dir.0.clone()), timeouts, subject).await;
    drop(dir);
    let (passed, failed, skipped) = (
        report.count(|o| matches!(o, Outcome::Pass(_))),
        report.count(|o| matches!(o, Outcome::Fail(_))),
        report.count(|o| matches!(o, Outcome::Skip(_))),
    );
    if json {
        let checks: Vec<_> = report
            .results
            .iter()
            .map(|r| {
                let (status, detail) = match &r.outcome {
                    Outcome::Pass(d) => ("pass", d),
                    Outcome::Fail(d) => ("fail", d),
                    Outcome::Skip(d) => ("skip", d),
                };
                serde_json::json!({"name": r.name, "status": status, "detail": detail})
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({"format_version": super::FORMAT_VERSION, "plugin": report.plugin, "passed": report.passed(), "checks": checks})
        );
    } else {
        outln!("Checking {} against the plugin protocol:", report.plugin);
        let width = check::CHECKS.iter().map(|c| c.len()).max().unwrap_or(0);
        for r in &report.results {
            let (status, detail) = match &r.outcome {
                Outcome::Pass(d) => ("pass", d),
                Outcome::Fail(d) => ("FAIL", d),
                Outcome::Skip(d) => ("skip", d),
            };
            outln!("  {status}  {:width$}  {detail}", r.name);
        }
        outln!("{} checks: {passed} passed, {failed} failed, {skipped} skipped.", report.results.len());
    }
    if report.passed() {
        Ok(())
    } else {
        Err(CliError::Failed(format!("{} failed {failed} conformance check(s)", report.plugin)))
    }
}

fn read_fixture(path: &Path) -> Result<Subject, CliError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| CliError::Failed(format!("cannot read {}: {e}", path.display())))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Failed(format!("{}: not valid JSON: {e}", path.display())))?;
    Subject::from_json(&json).map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))
}

/// A directory removed on drop (the binary has no tempfile dependency outside tests).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, CliError> {
        let dir = std::env::temp_dir().join(format!("tarn-plugin-check-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).map_err(|e| CliError::Failed(format!("cannot create {}: {e}", dir.display())))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
