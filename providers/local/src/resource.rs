//! The `local_file` and `local_sensitive_file` resources: plan, create, read, update, delete,
//! adopt and import (`local_file` only). The file is the object; its content and mode are what `read` compares with the state.

use crate::content::{self, Checksums, Map, desired, filename, format_permission, permission};
use crate::file;
use crate::schema::{CHECKSUMS, Kind};
use std::path::PathBuf;
use tarn_sdk::{PlanResponse, ProviderError, Value};

const FILE_PERMISSION: &str = "file_permission";
const DIRECTORY_PERMISSION: &str = "directory_permission";

fn attributes(object: Value, kind: Kind) -> Result<Map, ProviderError> {
    match object {
        Value::Map(m) => Ok(m),
        other => Err(ProviderError::permanent(format!(
            "A {} must be an object of attributes, but the engine passed a {}; this is a bug in tarn.",
            kind.type_name(),
            other.type_name()
        ))),
    }
}

/// Validates both permissions. A null permission stays null in the state: it means the default.
fn check_permissions(object: &Map, kind: Kind) -> Result<(), ProviderError> {
    for attr in [FILE_PERMISSION, DIRECTORY_PERMISSION] {
        permission(object.get(attr), attr, kind)?;
    }
    Ok(())
}

/// Refines the default diff: validates, and computes the checksums of content known at plan
/// time so that `id` is known in the plan. Content from `source` is read at apply time (another
/// resource may write it), so its checksums stay unknown unless the source still matches the
/// prior object. A prior whose `id` differs from the wanted content (the file drifted, or the
/// source changed) requires replacement.
pub async fn plan(kind: Kind, prior: Option<Value>, proposed: Value) -> Result<PlanResponse, ProviderError> {
    let planned = attributes(proposed, kind)?;
    check_permissions(&planned, kind)?;
    let view = Value::Map(planned);
    if let Some(name) = view.get("filename") {
        content::known_str(name, "filename")?;
    }
    let wanted = desired(&view, kind)?;
    let attr = wanted.attr;
    let prior_id = prior.as_ref().and_then(|p| p.get("id")).and_then(Value::as_str).map(str::to_string);
    let checksums = if attr == "source" {
        match (content::known_str(wanted.value, attr)?, &prior_id) {
            (Some(source), Some(id)) => {
                let (source, id) = (source.to_string(), id.clone());
                let read = move || Ok(file::read_source(&source).ok().map(|b| Checksums::of(&b)));
                // Only a source that still matches the file gives known checksums: a changed
                // one is read again at apply and may change once more before then.
                file::blocking(read).await?.filter(|sums| sums.sha1 == id)
            }
            _ => None,
        }
    } else {
        wanted.bytes()?.map(|b| Checksums::of(&b))
    };
    let mut planned = attributes(view, kind)?;
    let mut requires_replace = Vec::new();
    let changed = match &checksums {
        Some(sums) => prior_id.as_deref().is_some_and(|id| id != sums.sha1),
        // Nothing proves the file still matches an unreadable or changed source.
        None => attr == "source" && prior_id.is_some(),
    };
    if changed {
        requires_replace.push(attr.to_string());
    }
    match checksums {
        Some(sums) => sums.set(&mut planned),
        None => content::set_unknown_checksums(&mut planned),
    }
    Ok(PlanResponse { planned: Value::Map(planned), requires_replace })
}

/// Writes the file. The correlation tag is not used: a plain file cannot carry one (see
/// [`adopt`]).
pub async fn create(kind: Kind, planned: Value) -> Result<Value, ProviderError> {
    let state = attributes(planned, kind)?;
    check_permissions(&state, kind)?;
    let view = Value::Map(state);
    let path = PathBuf::from(filename(&view)?);
    let file_mode = permission(view.get(FILE_PERMISSION), FILE_PERMISSION, kind)?;
    let dir_mode = permission(view.get(DIRECTORY_PERMISSION), DIRECTORY_PERMISSION, kind)?;
    let wanted = desired(&view, kind)?;
    let (attr, value) = (wanted.attr, wanted.value.clone());
    let sums = file::blocking(move || {
        let probe = Value::map([(attr, value)]);
        let bytes = content::desired(&probe, kind)?.bytes()?.ok_or_else(|| {
            ProviderError::permanent(format!(
                "The {attr} of the file is still unknown at apply; this is a bug in tarn."
            ))
        })?;
        file::write_atomic(&path, &bytes, file_mode, dir_mode)?;
        Ok(Checksums::of(&bytes))
    })
    .await?;
    let mut state = attributes(view, kind)?;
    sums.set(&mut state);
    Ok(Value::Map(state))
}

/// Refresh: `None` when the file is gone; otherwise the state with what is really on disk. A
/// changed content shows in the attribute that supplied it (`content` or `content_base64`) and
/// in `id` and the checksums; a changed mode shows in `file_permission`. Both force
/// replacement, so the planner proposes to put the file back.
pub async fn read(kind: Kind, state: Value) -> Result<Option<Value>, ProviderError> {
    let path = PathBuf::from(filename(&state)?);
    let Some(disk) = file::blocking(move || file::read(&path)).await? else { return Ok(None) };
    // A recorded permission that does not parse cannot match the disk: report the real one.
    let wanted_mode = permission(state.get(FILE_PERMISSION), FILE_PERMISSION, kind).ok();
    Ok(Some(Value::Map(reconcile(attributes(state, kind)?, &disk, wanted_mode))))
}

/// The state updated to match what is on disk.
fn reconcile(mut state: Map, disk: &file::OnDisk, wanted_mode: Option<u32>) -> Map {
    let sums = Checksums::of(&disk.bytes);
    if state.get("id").and_then(Value::as_str) != Some(sums.sha1.as_str()) {
        if state.get("content").is_some_and(|v| !v.is_null()) {
            state.insert("content".into(), Value::string(String::from_utf8_lossy(&disk.bytes)));
        }
        if state.get("content_base64").is_some_and(|v| !v.is_null()) {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(&disk.bytes);
            state.insert("content_base64".into(), Value::string(encoded));
        }
        sums.set(&mut state);
    }
    if wanted_mode != Some(disk.mode) {
        // Written only on a difference, so an unset permission stays null while it holds.
        state.insert(FILE_PERMISSION.into(), Value::string(format_permission(disk.mode)));
    }
    state
}

/// Every configurable attribute forces replacement, so an update changes nothing on disk: it
/// carries the computed attributes over from the prior state.
pub async fn update(kind: Kind, prior: Value, planned: Value) -> Result<Value, ProviderError> {
    let mut state = attributes(planned, kind)?;
    check_permissions(&state, kind)?;
    let mut prior = attributes(prior, kind)?;
    for name in std::iter::once("id").chain(CHECKSUMS.iter().map(|(name, _)| *name)) {
        let missing = state.get(name).is_none_or(|v| v.is_null() || v.is_unknown());
        if let (true, Some(value)) = (missing, prior.swap_remove(name)) {
            state.insert(name.into(), value);
        }
    }
    Ok(Value::Map(state))
}

/// Removes the file; a file already gone is fine. Directories created for it stay, as upstream.
pub async fn delete(state: Value) -> Result<(), ProviderError> {
    let path = PathBuf::from(filename(&state)?);
    file::blocking(move || file::remove(&path)).await
}

/// After a crash: a plain file cannot carry the correlation tag, so the file at `filename` is
/// adopted when it holds exactly the planned content — what the interrupted create would have
/// written. A file with other content is not ours to claim: `None`, and the create runs again.
pub async fn adopt(kind: Kind, planned: Value) -> Result<Option<Value>, ProviderError> {
    let state = attributes(planned, kind)?;
    check_permissions(&state, kind)?;
    let view = Value::Map(state);
    let path = PathBuf::from(filename(&view)?);
    let wanted_mode = permission(view.get(FILE_PERMISSION), FILE_PERMISSION, kind)?;
    let wanted = desired(&view, kind)?;
    let (attr, value) = (wanted.attr, wanted.value.clone());
    let found = file::blocking(move || {
        let Some(disk) = file::read(&path)? else { return Ok(None) };
        let probe = Value::map([(attr, value)]);
        let bytes = content::desired(&probe, kind)?.bytes()?;
        Ok(bytes.filter(|b| *b == disk.bytes).map(|_| disk))
    })
    .await?;
    let Some(disk) = found else { return Ok(None) };
    let mut state = attributes(view, kind)?;
    Checksums::of(&disk.bytes).set(&mut state);
    Ok(Some(Value::Map(reconcile(state, &disk, Some(wanted_mode)))))
}

/// `tarn import`: the ID is the file name. The state is the file as found: its content in
/// `content` when it is UTF-8 (else `content_base64`), its checksums, and `file_permission`
/// only when the mode is not the default (null means the default, as in configuration).
/// `None` when no file exists there. Only `local_file` imports: see the crate header.
pub async fn import(kind: Kind, id: &str) -> Result<Option<Value>, ProviderError> {
    if kind == Kind::SensitiveFile {
        return Err(ProviderError::permanent(
            "local_sensitive_file does not support import (neither does hashicorp/local): declare the file as a \
             local_file to import it, or let tarn write it",
        ));
    }
    let path = PathBuf::from(id);
    let Some(disk) = file::blocking(move || file::read(&path)).await? else { return Ok(None) };
    let mut state = Map::new();
    state.insert("filename".into(), Value::string(id));
    let (content, base64) = match String::from_utf8(disk.bytes.clone()) {
        Ok(text) => (Value::string(text), Value::Null),
        Err(_) => {
            use base64::Engine;
            (Value::Null, Value::string(base64::engine::general_purpose::STANDARD.encode(&disk.bytes)))
        }
    };
    state.insert("content".into(), content);
    state.insert("content_base64".into(), base64);
    state.insert("source".into(), Value::Null);
    let default = permission(None, FILE_PERMISSION, kind)?;
    let mode = if disk.mode == default { Value::Null } else { Value::string(format_permission(disk.mode)) };
    state.insert(FILE_PERMISSION.into(), mode);
    state.insert(DIRECTORY_PERMISSION.into(), Value::Null);
    Checksums::of(&disk.bytes).set(&mut state);
    Ok(Some(Value::Map(state)))
}
