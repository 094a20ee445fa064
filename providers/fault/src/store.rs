//! Where fault objects live: JSON files in a directory (one `<id>.json` per object, written to a
//! temporary file and renamed so a `kill -9` never leaves half an object), or a map in memory.
//! This module is synchronous; the provider runs directory operations on the blocking pool.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tarn_sdk::{ProviderError, Value};

/// Version of the object file format, written in every file.
const FORMAT_VERSION: u64 = 1;

/// One object as the fault provider keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredObject {
    pub id: String,
    /// The tag the create that made this object was given.
    pub correlation: String,
    /// The object's attributes, `id` included: what `read` returns.
    pub attributes: Value,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    dir: Option<PathBuf>,
    memory: Mutex<HashMap<String, StoredObject>>,
}

impl Store {
    pub(crate) fn new(dir: Option<PathBuf>) -> Store {
        Store { dir, memory: Mutex::default() }
    }

    pub(crate) fn is_on_disk(&self) -> bool {
        self.dir.is_some()
    }

    /// Creates the directory up front so a bad `dir` is reported at configure time.
    pub(crate) fn prepare(&self) -> Result<(), ProviderError> {
        match &self.dir {
            Some(dir) => std::fs::create_dir_all(dir).map_err(|e| io_error("create the directory", dir, &e)),
            None => Ok(()),
        }
    }

    pub(crate) fn put(&self, object: &StoredObject) -> Result<(), ProviderError> {
        let Some(dir) = &self.dir else {
            self.memory().insert(object.id.clone(), object.clone());
            return Ok(());
        };
        let path = file_path(dir, &object.id)?;
        let body = serde_json::json!({
            "format_version": FORMAT_VERSION,
            "type": crate::RESOURCE,
            "id": object.id,
            "correlation": object.correlation,
            "attributes": object.attributes.to_json_unmarked(),
        });
        let text = serde_json::to_string_pretty(&body).unwrap_or_default();
        let tmp = dir.join(format!(".{}.{}.tmp", object.id, uuid::Uuid::new_v4().simple()));
        self.prepare()?;
        std::fs::write(&tmp, text).map_err(|e| io_error("write", &tmp, &e))?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_error("rename into place", &path, &e)
        })
    }

    pub(crate) fn get(&self, id: &str) -> Result<Option<StoredObject>, ProviderError> {
        let Some(dir) = &self.dir else {
            return Ok(self.memory().get(id).cloned());
        };
        let path = file_path(dir, id)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => parse(&path, &text).map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error("read", &path, &e)),
        }
    }

    /// Removes the object; a missing object is not an error.
    pub(crate) fn remove(&self, id: &str) -> Result<(), ProviderError> {
        let Some(dir) = &self.dir else {
            self.memory().remove(id);
            return Ok(());
        };
        let path = file_path(dir, id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("remove", &path, &e)),
        }
    }

    /// Every object that exists, sorted by id.
    pub(crate) fn list(&self) -> Result<Vec<StoredObject>, ProviderError> {
        let Some(dir) = &self.dir else {
            let mut all: Vec<_> = self.memory().values().cloned().collect();
            all.sort_by(|a, b| a.id.cmp(&b.id));
            return Ok(all);
        };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("list", dir, &e)),
        };
        let mut all = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_error("list", dir, &e))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Temporary files of an interrupted write start with a dot and are not objects.
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let path = entry.path();
            match std::fs::read_to_string(&path) {
                Ok(text) => all.push(parse(&path, &text)?),
                // Deleted between listing and reading: it no longer exists.
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("read", &path, &e)),
            }
        }
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    pub(crate) fn find_by_correlation(&self, correlation: &str) -> Result<Option<StoredObject>, ProviderError> {
        Ok(self.list()?.into_iter().find(|o| o.correlation == correlation))
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredObject>> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Ids are generated by this provider; anything else (a path, an empty string) in a recorded
/// state is refused rather than turned into a file name.
fn file_path(dir: &Path, id: &str) -> Result<PathBuf, ProviderError> {
    check_id(id)?;
    Ok(dir.join(format!("{id}.json")))
}

pub(crate) fn check_id(id: &str) -> Result<(), ProviderError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(ProviderError::permanent(format!(
            "\"{id}\" is not a fault_object id: ids contain only letters, digits, '-' and '_'."
        )));
    }
    Ok(())
}

fn parse(path: &Path, text: &str) -> Result<StoredObject, ProviderError> {
    let bad = |why: String| {
        ProviderError::permanent(format!("The fault object file {} is not usable: {why}.", path.display()))
    };
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(format!("invalid JSON ({e})")))?;
    let field = |name: &str| {
        json.get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| bad(format!("it has no string \"{name}\"")))
    };
    let id = field("id")?;
    let correlation = field("correlation")?;
    let attributes = match json.get("attributes") {
        Some(a @ serde_json::Value::Object(_)) => Value::from_json(a),
        _ => return Err(bad("it has no \"attributes\" object".into())),
    };
    Ok(StoredObject { id, correlation, attributes })
}

fn io_error(action: &str, path: &Path, e: &std::io::Error) -> ProviderError {
    ProviderError::permanent(format!("The fault provider could not {action} {}: {e}.", path.display()))
}
