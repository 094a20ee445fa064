//! The `local_file` and `local_sensitive_file` data sources: read a file that must exist.
//! Content that is not UTF-8 appears in `content` with invalid sequences replaced (U+FFFD);
//! `content_base64` always holds the exact bytes.

use crate::content::{self, Checksums, filename};
use crate::file;
use crate::schema::Kind;
use base64::Engine;
use std::path::PathBuf;
use tarn_sdk::{ProviderError, Value};

pub async fn read(kind: Kind, config: Value) -> Result<Value, ProviderError> {
    let name = filename(&config)?.to_string();
    let path = PathBuf::from(&name);
    let Some(disk) = file::blocking(move || file::read(&path)).await? else {
        return Err(ProviderError::permanent(format!(
            "The file {name} does not exist, so the {} data source cannot read it.",
            kind.type_name()
        )));
    };
    let mut out = content::Map::new();
    out.insert("filename".into(), Value::string(name));
    out.insert("content".into(), Value::string(String::from_utf8_lossy(&disk.bytes)));
    out.insert("content_base64".into(), Value::string(base64::engine::general_purpose::STANDARD.encode(&disk.bytes)));
    Checksums::of(&disk.bytes).set(&mut out);
    Ok(Value::Map(out))
}
