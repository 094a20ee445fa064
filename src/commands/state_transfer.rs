//! `tarn state pull` and `tarn state push`: the whole state as one versioned JSON document
//! (docs/json-output.md, "state document"). Sealed values travel as the ciphertext they are at
//! rest, so pull never prints a secret; push checks they open with this state's key before
//! replacing anything, and replaces everything in one atomic batch.

use super::state_run::Locked;
use crate::cli::LockArgs;
use crate::error::CliError;
use crate::render;
use crate::stack;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;
use tarn_state::crypto::{EncryptedBackend, Sealer};
use tarn_state::{OutputRecord, ResourceRecord, Snapshot, StateBatch};

/// Marks a document as a tarn state, whatever its file is called.
pub const KIND: &str = "tarn_state";
/// Major version push accepts; minor versions only add fields.
const MAJOR: &str = "1";

/// The document. Field names are the persisted format: add fields, never rename them.
#[derive(Debug, Serialize, Deserialize)]
pub struct StateDocument {
    pub format_version: String,
    pub kind: String,
    pub tarn_version: String,
    pub workspace: String,
    pub lineage: String,
    pub serial: i64,
    pub resources: Vec<DocResource>,
    pub outputs: Vec<DocOutput>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DocResource {
    pub address: String,
    pub mode: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub provider: String,
    /// As stored: a sensitive value is `{"$tarn_sealed": "v1:…"}` ciphertext.
    pub attributes: serde_json::Value,
    pub sensitive_paths: Vec<String>,
    pub dependencies: Vec<String>,
    pub correlation: Option<String>,
    pub schema_version: i64,
    /// The deposed-object key, for an old object a create_before_destroy set aside.
    #[serde(default)]
    pub deposed: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DocOutput {
    pub name: String,
    pub value: serde_json::Value,
    pub sensitive: bool,
}

impl StateDocument {
    fn from_snapshot(s: Snapshot, workspace: &str) -> StateDocument {
        StateDocument {
            format_version: render::json::FORMAT_VERSION.to_string(),
            kind: KIND.to_string(),
            tarn_version: env!("CARGO_PKG_VERSION").to_string(),
            workspace: workspace.to_string(),
            lineage: s.lineage,
            serial: s.serial,
            resources: s
                .resources
                .into_iter()
                .map(|r| DocResource {
                    address: r.address,
                    mode: r.mode,
                    type_name: r.type_name,
                    provider: r.provider,
                    attributes: r.attributes,
                    sensitive_paths: r.sensitive_paths,
                    dependencies: r.dependencies,
                    correlation: r.correlation,
                    schema_version: r.schema_version,
                    deposed: r.deposed,
                })
                .collect(),
            outputs: s
                .outputs
                .into_iter()
                .map(|o| DocOutput { name: o.name, value: o.value, sensitive: o.sensitive })
                .collect(),
        }
    }

    fn into_snapshot(self) -> Snapshot {
        Snapshot {
            lineage: self.lineage,
            serial: self.serial,
            resources: self
                .resources
                .into_iter()
                .map(|r| ResourceRecord {
                    address: r.address,
                    mode: r.mode,
                    type_name: r.type_name,
                    provider: r.provider,
                    attributes: r.attributes,
                    sensitive_paths: r.sensitive_paths,
                    dependencies: r.dependencies,
                    correlation: r.correlation,
                    schema_version: r.schema_version,
                    deposed: r.deposed,
                })
                .collect(),
            outputs: self
                .outputs
                .into_iter()
                .map(|o| OutputRecord { name: o.name, value: o.value, sensitive: o.sensitive })
                .collect(),
        }
    }
}

/// Prints the state as stored. Reads only: no lock, and an absent state is not created.
pub async fn pull() -> Result<(), CliError> {
    let workspace = stack::workspace()?;
    if !stack::state_exists() {
        return Err(CliError::Failed("there is no state here yet (.tarn/state.db): nothing to pull".into()));
    }
    let snapshot = stack::open_layers(&workspace)?.raw.snapshot().await?;
    let doc = StateDocument::from_snapshot(snapshot, &workspace);
    let text =
        serde_json::to_string_pretty(&doc).map_err(|e| CliError::Failed(format!("cannot encode the state: {e}")))?;
    outln!("{text}");
    Ok(())
}

pub async fn push(file: &Path, force: bool, json_out: bool, lock: &LockArgs) -> Result<(), CliError> {
    let doc = read_document(file)?;
    let locked = Locked::open(&format!("tarn state push {}", file.display()), lock).await?;
    let result = push_locked(&locked, doc, file, force, json_out).await;
    locked.close().await;
    result
}

fn read_document(file: &Path) -> Result<StateDocument, CliError> {
    let name = file.display();
    let mut text = String::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(file).map(|t| text = t)
    };
    read.map_err(|e| CliError::Failed(format!("cannot read {name}: {e}")))?;
    let raw: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Failed(format!(
            "{name} is not JSON ({e}); `tarn state push` takes a document written by `tarn state pull`"
        ))
    })?;
    if raw.get("kind").and_then(|k| k.as_str()) != Some(KIND) {
        return Err(CliError::Failed(format!(
            "{name} is not a tarn state document (no \"kind\": \"{KIND}\"); `tarn state push` takes what `tarn state pull` prints"
        )));
    }
    let version = raw.get("format_version").and_then(|v| v.as_str()).unwrap_or("missing");
    if version.split('.').next() != Some(MAJOR) {
        return Err(CliError::Failed(format!(
            "{name} is a state document of format version {version}, and this tarn reads {MAJOR}.x; use the tarn that wrote it"
        )));
    }
    serde_json::from_value(raw).map_err(|e| CliError::Failed(format!("{name} is a damaged state document: {e}")))
}

async fn push_locked(
    locked: &Locked,
    doc: StateDocument,
    file: &Path,
    force: bool,
    json_out: bool,
) -> Result<(), CliError> {
    let current = locked.layers.raw.snapshot().await?;
    let pushed = doc.into_snapshot();
    let name = file.display();
    let mut notes = Vec::new();
    if pushed.lineage != current.lineage {
        let msg = format!(
            "{name} holds the state of another stack (lineage {}), and this state has lineage {}",
            pushed.lineage, current.lineage
        );
        if !force {
            return Err(CliError::Failed(format!(
                "{msg}. Nothing was changed. Push it to the stack it came from, or, to replace this stack's state with it \
                 on purpose, run again with --force."
            )));
        }
        notes.push(msg);
    }
    if pushed.serial < current.serial {
        let msg =
            format!("{name} is older than this state (serial {}, the state is at {})", pushed.serial, current.serial);
        if !force {
            return Err(CliError::Failed(format!(
                "{msg}: the state changed since it was pulled. Nothing was changed. Pull again and redo the edit, or, to \
                 roll the state back to it on purpose, run again with --force."
            )));
        }
        notes.push(msg);
    }
    check_addresses(&pushed, &name.to_string())?;
    // Every sealed value must open with this state's key, or the state would become unreadable.
    let sealer = Sealer::load(&stack::key_path())?;
    EncryptedBackend::new(locked.layers.raw.clone(), sealer).open_snapshot(pushed.clone()).map_err(|e| {
        CliError::Failed(format!(
            "{name} holds sealed values this state's key cannot open: {e}. Nothing was changed. Push it where its key is \
             (TARN_STATE_KEY or .tarn/state.key), or re-encrypt it there first with `tarn state rekey --new-key-file`."
        ))
    })?;
    let pushed_addresses: BTreeSet<&str> = pushed.resources.iter().map(|r| r.address.as_str()).collect();
    let batch = StateBatch {
        delete: current
            .resources
            .iter()
            .map(|r| r.address.clone())
            .filter(|a| !pushed_addresses.contains(a.as_str()))
            .collect(),
        put: pushed.resources.clone(),
        outputs: Some(pushed.outputs.clone()),
        lineage: (pushed.lineage != current.lineage).then(|| pushed.lineage.clone()),
        serial_at_least: Some(pushed.serial.max(current.serial) + 1),
    };
    let counts = serde_json::json!({ "resources": pushed.resources.len(), "remove": batch.delete.len(), "forced": !notes.is_empty() });
    let removed = batch.delete.len();
    // The raw view: values are stored exactly as pulled (already sealed).
    locked.record(counts, locked.layers.raw.apply_batch(batch)).await?;
    let after = locked.layers.raw.snapshot().await?;
    if json_out {
        outln!(
            "{}",
            serde_json::json!({
                "format_version": render::json::FORMAT_VERSION, "lineage": after.lineage, "serial": after.serial,
                "resources": after.resources.len(), "removed": removed, "forced": notes,
            })
        );
    } else {
        for n in &notes {
            eoutln!("Warning: {n}; pushed anyway (--force).");
        }
        outln!(
            "Pushed {name}: the state now records {} instance(s) (lineage {}, serial {}).",
            after.resources.len(),
            after.lineage,
            after.serial
        );
    }
    Ok(())
}

/// Addresses must parse and be unique: a hand edit must not smuggle in a row nothing can plan.
fn check_addresses(s: &Snapshot, name: &str) -> Result<(), CliError> {
    let mut seen = BTreeSet::new();
    for r in &s.resources {
        r.address.parse::<tarn_sdk::Address>().map_err(|e| {
            CliError::Failed(format!("{name}: {e}. Nothing was changed; fix the address and push again."))
        })?;
        if !seen.insert(r.address.as_str()) {
            return Err(CliError::Failed(format!(
                "{name} records {} twice. Nothing was changed; keep one of them and push again.",
                r.address
            )));
        }
    }
    Ok(())
}
