//! Saved plans on disk (`tarn plan --out`, `tarn apply FILE`): written atomically through the
//! redacting wire form (a saved plan never holds a sensitive value in clear text), read back
//! only when they are tarn plans of this format version.

use super::error::RunError;
use crate::plan::{PLAN_FORMAT_VERSION, Plan};
use std::path::Path;

/// Writes the plan atomically (a temporary file renamed over `path`, relative to `dir`).
pub fn save(plan: &Plan, dir: &Path, path: &Path) -> Result<(), RunError> {
    let bytes = serde_json::to_vec(plan).map_err(|e| RunError::Failed(format!("cannot encode the plan: {e}")))?;
    let target = dir.join(path);
    let tmp = target.with_extension("tarn-tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, &target))
        .map_err(|e| RunError::Failed(format!("cannot write the plan to {}: {e}", path.display())))
}

/// Reads a saved plan (`path`, relative to `dir`), refusing files that are not tarn plans or
/// are of another format version. Messages name `path` as the user gave it.
pub fn load(dir: &Path, path: &Path) -> Result<Plan, RunError> {
    let bytes = std::fs::read(dir.join(path))
        .map_err(|e| RunError::Failed(format!("cannot read the plan {}: {e}", path.display())))?;
    let raw: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| RunError::Failed(format!("{} is not a saved tarn plan (not JSON)", path.display())))?;
    let version = raw.get("format_version").and_then(|v| v.as_u64());
    if version != Some(PLAN_FORMAT_VERSION as u64) {
        return Err(RunError::Failed(format!(
            "{} is not a saved plan this tarn can apply (format version {}, expected {}); make a new one with `tarn plan --out`",
            path.display(),
            version.map(|v| v.to_string()).unwrap_or_else(|| "missing".into()),
            PLAN_FORMAT_VERSION
        )));
    }
    serde_json::from_value(raw).map_err(|e| RunError::Failed(format!("{} is a damaged plan file: {e}", path.display())))
}
