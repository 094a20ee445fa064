//! `tarn state rekey`: re-encrypt every sealed value of every workspace in this state file with
//! a new key. Order, so that no step leaves a state nobody can open:
//! 1. the new key is written first, to `--new-key-file` or `.tarn/state.key.new` (mode 0600);
//! 2. every workspace is locked and checked to open with the current key — a refusal here
//!    writes nothing (and removes a key it generated);
//! 3. each workspace is re-encrypted in one atomic batch, recorded in its history;
//! 4. `.tarn/state.key.new` replaces `.tarn/state.key` (a rename).
//!
//! The key itself is never printed. It must not decide which values are sensitive: the state's
//! sealed values are exactly what is re-encrypted.

use super::state_run::Locked;
use crate::cli::LockArgs;
use crate::error::CliError;
use crate::render;
use crate::stack;
use std::path::{Path, PathBuf};
use tarn_state::crypto::{EncryptedBackend, KeySource, Sealer};
use tarn_state::rekey::{RekeyReport, rekey, sealed_counts};

/// Where the new key is, and whether this run created it (so a refusal can remove it).
struct NewKey {
    path: PathBuf,
    generated: bool,
}

pub async fn run(new_key_file: Option<&Path>, json_out: bool, lock: &LockArgs) -> Result<(), CliError> {
    let key_path = stack::key_path();
    let source = Sealer::source(&key_path).ok_or_else(|| {
        CliError::Failed(format!(
            "this state has no key (neither TARN_STATE_KEY nor {}), so nothing in it is sealed: there is nothing to \
             re-encrypt. `tarn state keygen` creates a key.",
            key_path.display()
        ))
    })?;
    let old =
        Sealer::load(&key_path)?.ok_or_else(|| CliError::Failed("the state key vanished while reading it".into()))?;
    if !stack::state_exists() {
        return Err(CliError::Failed("there is no state here yet (.tarn/state.db): nothing to re-encrypt".into()));
    }
    let new_key = prepare_new_key(new_key_file, &source)?;
    let result = rekey_all(old, &new_key, lock).await;
    let reports = match result {
        Ok(r) => r,
        Err(e) => {
            if new_key.generated {
                let _ = std::fs::remove_file(&new_key.path);
            }
            return Err(e);
        }
    };
    let installed = match (&source, new_key_file) {
        (KeySource::File(current), None) => {
            std::fs::rename(&new_key.path, current).map_err(|e| {
                CliError::Failed(format!(
                    "the state is re-encrypted with the new key in {}, but it could not replace {}: {e}. Move it there \
                     yourself (mv {} {}); the old key no longer opens this state.",
                    new_key.path.display(),
                    current.display(),
                    new_key.path.display(),
                    current.display()
                ))
            })?;
            current.clone()
        }
        _ => new_key.path.clone(),
    };
    let total = reports.iter().fold(RekeyReport::default(), |a, (_, r)| RekeyReport {
        resources: a.resources + r.resources,
        values: a.values + r.values,
    });
    if json_out {
        let per: Vec<_> = reports
            .iter()
            .map(|(ws, r)| serde_json::json!({"workspace": ws, "resources": r.resources, "values": r.values}))
            .collect();
        outln!(
            "{}",
            serde_json::json!({"format_version": render::json::FORMAT_VERSION, "key_file": installed, "values": total.values, "resources": total.resources, "workspaces": per})
        );
    } else {
        outln!(
            "Re-encrypted {} sealed value(s) in {} resource(s) and the outputs, in {} workspace(s), with the new key in {}. \
             The old key no longer opens this state.",
            total.values,
            total.resources,
            reports.len(),
            installed.display()
        );
        if source == KeySource::Env || new_key_file.is_some_and(|f| f != stack::key_path()) {
            outln!(
                "Use the new key from now on: set TARN_STATE_KEY to the content of {} (or move it to {}).",
                installed.display(),
                stack::key_path().display()
            );
        }
    }
    Ok(())
}

fn prepare_new_key(given: Option<&Path>, source: &KeySource) -> Result<NewKey, CliError> {
    let path = match (given, source) {
        (Some(p), _) => p.to_path_buf(),
        (None, KeySource::Env) => {
            return Err(CliError::Failed(
                "the state key comes from TARN_STATE_KEY, which tarn cannot change for you: give --new-key-file FILE \
                 (created with a new random key when it does not exist), then set TARN_STATE_KEY to its content."
                    .into(),
            ));
        }
        (None, KeySource::File(current)) => {
            let p = current.with_extension("key.new");
            if p.exists() {
                return Err(CliError::Failed(format!(
                    "{} exists: an earlier `tarn state rekey` was interrupted. If the state opens with it \
                     (TARN_STATE_KEY=$(cat {}) tarn state list), it is the key now: move it to {}. Otherwise delete it. \
                     Then run rekey again.",
                    p.display(),
                    p.display(),
                    current.display()
                )));
            }
            p
        }
    };
    if path.exists() {
        Sealer::from_key_file(&path)?;
        return Ok(NewKey { path, generated: false });
    }
    Sealer::generate_key_file(&path)?;
    Ok(NewKey { path, generated: true })
}

/// Locks and checks every workspace before changing any, then re-encrypts each atomically.
async fn rekey_all(old: Sealer, new_key: &NewKey, lock: &LockArgs) -> Result<Vec<(String, RekeyReport)>, CliError> {
    let current = stack::workspace()?;
    let mut names = stack::open_layers(&current)?.raw.workspaces().await?;
    if names.is_empty() {
        names.push(current);
    }
    let mut locks = Vec::new();
    for ws in &names {
        match Locked::open_workspace("tarn state rekey", lock, ws).await {
            Ok(l) => locks.push((ws.clone(), l)),
            Err(e) => {
                release(locks).await;
                return Err(e);
            }
        }
    }
    let result = rekey_locked(&old, new_key, &locks).await;
    release(locks).await;
    result
}

async fn rekey_locked(
    old: &Sealer,
    new_key: &NewKey,
    locks: &[(String, Locked)],
) -> Result<Vec<(String, RekeyReport)>, CliError> {
    let new = Sealer::from_key_file(&new_key.path)?;
    let mut counts = Vec::new();
    for (ws, locked) in locks {
        let raw = locked.layers.raw.snapshot().await?;
        counts.push(sealed_counts(&raw));
        EncryptedBackend::new(locked.layers.raw.clone(), Some(old.clone())).open_snapshot(raw).map_err(|e| {
            CliError::Failed(format!("workspace {ws:?} does not open with the current key: {e}. Nothing was changed."))
        })?;
    }
    let mut reports = Vec::new();
    for ((ws, locked), count) in locks.iter().zip(counts) {
        let mut report = RekeyReport::default();
        let write = async {
            report = rekey(locked.layers.raw.clone(), old.clone(), new.clone()).await?;
            Ok(())
        };
        locked.record(serde_json::json!({ "reseal": count.values }), write).await?;
        reports.push((ws.clone(), report));
    }
    Ok(reports)
}

async fn release(locks: Vec<(String, Locked)>) {
    for (_, l) in locks {
        l.close().await;
    }
}
