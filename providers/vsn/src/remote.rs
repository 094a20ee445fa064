//! Files the provider puts on the VSN for a moment: the secret env-file of a service and an
//! uploaded image archive. Each goes into a fresh `mktemp -d` directory (mode 0700, owned by
//! the SSH user), is written over SFTP with mode 0600, and the directory is removed when the
//! engine has read it, on success and on failure alike.
//!
//! Also the volume containers' data directories: created when missing, never altered when
//! present, measured against the size limit, and deleted only on explicit request.

use std::collections::BTreeMap;
use std::path::Path;

use tarn_sdk::ProviderError;

use crate::node::{Node, sh_quote};

/// A temporary directory on the VSN; call [`Scratch::remove`] when done.
pub struct Scratch {
    pub dir: String,
}

impl Scratch {
    pub async fn new(node: &Node) -> Result<Scratch, ProviderError> {
        // As the SSH user (not sudo): SFTP writes as that user.
        let session = node.session().await?;
        let out = session.exec_checked("mktemp -d /tmp/tarn-vsn-XXXXXXXX").await?;
        let dir = out.stdout.trim().to_string();
        if !dir.starts_with("/tmp/tarn-vsn-") {
            return Err(ProviderError::permanent(format!(
                "mktemp on {} printed an unexpected path: {dir}",
                node.describe()
            )));
        }
        Ok(Scratch { dir })
    }

    /// Writes `NAME=value` lines to `<dir>/env` (0600) and returns its path.
    pub async fn env_file(&self, node: &Node, secrets: &BTreeMap<String, String>) -> Result<String, ProviderError> {
        let mut text = String::new();
        for (k, v) in secrets {
            if v.contains('\n') || v.contains('\r') {
                return Err(ProviderError::permanent(format!(
                    "the secret \"{k}\" contains a line break, which an env-file cannot carry"
                )));
            }
            text.push_str(&format!("{k}={v}\n"));
        }
        let path = format!("{}/env", self.dir);
        node.session().await?.upload_bytes(text.as_bytes(), &path, 0o600).await?;
        Ok(path)
    }

    /// Uploads a local file into the directory (0600) and returns its remote path.
    pub async fn upload(&self, node: &Node, local: &Path) -> Result<String, ProviderError> {
        let path = format!("{}/upload", self.dir);
        node.session().await?.upload_file(local, &path, Some(0o600)).await?;
        Ok(path)
    }

    pub async fn remove(self, node: &Node) -> Result<(), ProviderError> {
        node.session().await?.exec_checked(format!("rm -rf -- {}", sh_quote(&self.dir))).await.map(|_| ())
    }
}

/// Loads an image archive from this machine into the VSN's engine.
pub async fn load_image(node: &Node, archive: &str) -> Result<(), ProviderError> {
    let scratch = Scratch::new(node).await?;
    let result = async {
        let remote = scratch.upload(node, Path::new(archive)).await?;
        node.engine_checked(&["load".into(), "-i".into(), remote]).await.map(|_| ())
    }
    .await;
    let cleaned = scratch.remove(node).await;
    result.and(cleaned)
}

/// Creates the data directory when missing; leaves an existing one exactly as it is.
/// Returns whether it existed.
pub async fn ensure_data_dir(node: &Node, dir: &str) -> Result<bool, ProviderError> {
    let q = sh_quote(dir);
    let out = node
        .script_checked(&format!("if [ -d {q} ]; then echo existed; else mkdir -p -- {q} && echo created; fi"))
        .await?;
    Ok(out.stdout.trim() == "existed")
}

/// Size of a directory in bytes (`du -sb`), `None` when it does not exist.
pub async fn dir_size(node: &Node, dir: &str) -> Result<Option<u64>, ProviderError> {
    let q = sh_quote(dir);
    let out = node.script_checked(&format!("if [ -d {q} ]; then du -sb -- {q} | cut -f1; fi")).await?;
    let text = out.stdout.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse()
        .map(Some)
        .map_err(|_| ProviderError::permanent(format!("du printed an unexpected size for {dir}: {text}")))
}

/// Deletes a data directory, refusing anything that is not a direct child of the data root.
pub async fn delete_data_dir(node: &Node, dir: &str) -> Result<(), ProviderError> {
    let root = format!("{}/", node.config.data_root);
    let name = dir.strip_prefix(&root).unwrap_or_default();
    crate::attrs::check_name(name, "deleting a data directory")?;
    node.script_checked(&format!("rm -rf -- {}", sh_quote(dir))).await.map(|_| ())
}
