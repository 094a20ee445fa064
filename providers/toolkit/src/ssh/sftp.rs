//! File transfer over SFTP on a [`Session`]: upload bytes, a local file or a directory tree with
//! modes preserved, and download a file into memory.
//!
//! Owns opening the `sftp` subsystem (russh-sftp) and setting modes explicitly after writing, so
//! the server's umask never decides them. It must not follow local symlinks out of an uploaded
//! tree silently (they are uploaded as the files they point to) and must not touch remote paths
//! outside the target it was given. Each transfer runs under the session's operation timeout.

use std::path::Path;

use russh_sftp::client::SftpSession;
use russh_sftp::protocol::FileAttributes;
use tokio::io::AsyncWriteExt;

use super::errors;
use super::session::Session;
use crate::error::ProviderError;

impl Session {
    async fn sftp(&self) -> Result<SftpSession, ProviderError> {
        let what = "opening SFTP";
        let channel = self.open_channel(what).await?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|err| errors::channel_failed(&self.endpoint(), what, &err))?;
        SftpSession::new(channel.into_stream()).await.map_err(|err| errors::sftp_failed(&self.endpoint(), what, &err))
    }

    /// Write `contents` to `remote` (created or truncated) and set its mode, e.g. `0o600`.
    pub async fn upload_bytes(&self, contents: &[u8], remote: &str, mode: u32) -> Result<(), ProviderError> {
        self.within(&format!("uploading {remote}"), async {
            let sftp = self.sftp().await?;
            let result = self.put(&sftp, contents, remote, mode).await;
            let _ = sftp.close().await;
            result
        })
        .await
    }

    /// Upload a local file; `mode` defaults to the local file's permission bits.
    pub async fn upload_file(&self, local: &Path, remote: &str, mode: Option<u32>) -> Result<(), ProviderError> {
        let contents = tokio::fs::read(local).await.map_err(|err| errors::local_io(local, &err))?;
        let mode = match mode {
            Some(mode) => mode,
            None => local_mode(local).await?,
        };
        self.upload_bytes(&contents, remote, mode).await
    }

    /// Upload the directory tree under `local` to `remote`, creating directories as needed and
    /// giving every file and directory its local mode.
    pub async fn upload_dir(&self, local: &Path, remote: &str) -> Result<(), ProviderError> {
        self.within(&format!("uploading {} to {remote}", local.display()), async {
            let sftp = self.sftp().await?;
            let result = self.put_dir(&sftp, local, remote).await;
            let _ = sftp.close().await;
            result
        })
        .await
    }

    /// Read a remote file into memory. A missing file is NotFound.
    pub async fn download(&self, remote: &str) -> Result<Vec<u8>, ProviderError> {
        let what = format!("reading {remote}");
        self.within(&what, async {
            let sftp = self.sftp().await?;
            let result = sftp.read(remote).await.map_err(|err| errors::sftp_failed(&self.endpoint(), &what, &err));
            let _ = sftp.close().await;
            result
        })
        .await
    }

    async fn put(&self, sftp: &SftpSession, contents: &[u8], remote: &str, mode: u32) -> Result<(), ProviderError> {
        let what = format!("uploading {remote}");
        let fail = |err: russh_sftp::client::error::Error| errors::sftp_failed(&self.endpoint(), &what, &err);
        let mut file = sftp.create(remote).await.map_err(fail)?;
        let io_fail = |err: std::io::Error| errors::channel_failed(&self.endpoint(), &what, &err);
        file.write_all(contents).await.map_err(io_fail)?;
        file.shutdown().await.map_err(io_fail)?;
        set_mode(sftp, remote, mode).await.map_err(fail)
    }

    async fn put_dir(&self, sftp: &SftpSession, local: &Path, remote: &str) -> Result<(), ProviderError> {
        // Depth-first with an explicit stack: no recursion in async code, no depth limit.
        let mut stack = vec![(local.to_path_buf(), remote.trim_end_matches('/').to_string())];
        while let Some((dir, target)) = stack.pop() {
            let what = format!("creating directory {target}");
            let fail = |err: russh_sftp::client::error::Error| errors::sftp_failed(&self.endpoint(), &what, &err);
            let exists = sftp.try_exists(target.clone()).await.map_err(fail)?;
            if !exists {
                sftp.create_dir(target.clone()).await.map_err(fail)?;
            }
            set_mode(sftp, &target, local_mode(&dir).await?).await.map_err(fail)?;

            let mut entries = tokio::fs::read_dir(&dir).await.map_err(|err| errors::local_io(&dir, &err))?;
            while let Some(entry) = entries.next_entry().await.map_err(|err| errors::local_io(&dir, &err))? {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let child = format!("{target}/{name}");
                let meta = tokio::fs::metadata(&path).await.map_err(|err| errors::local_io(&path, &err))?;
                if meta.is_dir() {
                    stack.push((path, child));
                } else {
                    let contents = tokio::fs::read(&path).await.map_err(|err| errors::local_io(&path, &err))?;
                    self.put(sftp, &contents, &child, mode_bits(&meta)).await?;
                }
            }
        }
        Ok(())
    }
}

async fn set_mode(sftp: &SftpSession, remote: &str, mode: u32) -> Result<(), russh_sftp::client::error::Error> {
    let attrs = FileAttributes { permissions: Some(mode & 0o7777), ..FileAttributes::empty() };
    sftp.set_metadata(remote, attrs).await
}

async fn local_mode(path: &Path) -> Result<u32, ProviderError> {
    let meta = tokio::fs::metadata(path).await.map_err(|err| errors::local_io(path, &err))?;
    Ok(mode_bits(&meta))
}

#[cfg(unix)]
fn mode_bits(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_bits(meta: &std::fs::Metadata) -> u32 {
    if meta.is_dir() { 0o755 } else { 0o644 }
}
