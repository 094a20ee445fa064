//! Encryption at rest of sensitive values, for every backend: [`EncryptedBackend`] wraps any
//! [`Backend`] and seals the values at a record's `sensitive_paths` (and sensitive outputs)
//! before they are stored, and opens them when a snapshot is read. AEAD: XChaCha20-Poly1305
//! with a random 24-byte nonce per value; the associated data binds each ciphertext to its
//! address and path, so sealed values cannot be swapped between rows.
//!
//! The key (32 bytes, base64) comes from `TARN_STATE_KEY` or from the key file
//! (`.tarn/state.key`, mode 0600). Without a key, storing a sensitive value is refused with a
//! message saying how to create one: a secret is never written in clear text. This module
//! must not decide which values are sensitive; the caller's `sensitive_paths` say so.

use crate::{
    Backend, JournalEntry, JournalRecord, LockHolder, LockInfo, LockOptions, OutputRecord, ResourceRecord, RunOutcome,
    RunRecord, RunStart, Snapshot, StateBatch, StateError,
};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::Value as Json;
use std::path::Path;
use std::sync::Arc;

/// Marker key of a sealed value: `{"$tarn_sealed": "v1:<base64 nonce||ciphertext>"}`.
const SEALED: &str = "$tarn_sealed";
const NONCE_LEN: usize = 24;
pub const KEY_ENV: &str = "TARN_STATE_KEY";

/// How to create a key, for messages.
pub const KEY_HELP: &str = "Create a key with `tarn state keygen` (writes .tarn/state.key, readable only by you), or \
                            set TARN_STATE_KEY to 32 random bytes in base64 (`head -c32 /dev/urandom | base64`). \
                            Keep the key: without it the sensitive values in this state cannot be read.";

#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl Sealer {
    pub fn from_key_text(text: &str, origin: &str) -> Result<Sealer, StateError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| StateError::Crypto(format!("the state key in {origin} is not base64. {KEY_HELP}")))?;
        let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| {
            StateError::Crypto(format!("the state key in {origin} must be 32 bytes, it is {}. {KEY_HELP}", bytes.len()))
        })?;
        Ok(Sealer { cipher })
    }

    /// Where the key in force comes from, without loading it: `TARN_STATE_KEY` wins over the
    /// key file; `None` when there is neither.
    pub fn source(key_file: &Path) -> Option<KeySource> {
        if std::env::var_os(KEY_ENV).is_some() {
            Some(KeySource::Env)
        } else if key_file.exists() {
            Some(KeySource::File(key_file.to_path_buf()))
        } else {
            None
        }
    }

    /// Reads a key file (base64 of 32 bytes).
    pub fn from_key_file(path: &Path) -> Result<Sealer, StateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| StateError::Crypto(format!("cannot read the state key {}: {e}", path.display())))?;
        Sealer::from_key_text(&text, &path.display().to_string())
    }

    /// The key from `TARN_STATE_KEY`, else from `key_file` if it exists; `None` when neither.
    pub fn load(key_file: &Path) -> Result<Option<Sealer>, StateError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return Sealer::from_key_text(&text, KEY_ENV).map(Some);
        }
        match std::fs::read_to_string(key_file) {
            Ok(text) => Sealer::from_key_text(&text, &key_file.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::Crypto(format!("cannot read the state key {}: {e}", key_file.display()))),
        }
    }

    /// Writes a new random key to `path` with mode 0600; refuses to overwrite one.
    pub fn generate_key_file(path: &Path) -> Result<(), StateError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StateError::Crypto(format!("cannot create {}: {e}", dir.display())))?;
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| StateError::Crypto(format!("cannot create the key file {}: {e}", path.display())))?;
        writeln!(f, "{}", B64.encode(key))
            .map_err(|e| StateError::Crypto(format!("cannot write the key file {}: {e}", path.display())))
    }

    pub fn seal(&self, value: &Json, aad: &str) -> Result<Json, StateError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let plain = serde_json::to_vec(value).map_err(|e| StateError::Crypto(e.to_string()))?;
        let ct = self
            .cipher
            .encrypt(&nonce, Payload { msg: &plain, aad: aad.as_bytes() })
            .map_err(|_| StateError::Crypto("encryption failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(serde_json::json!({ SEALED: format!("v1:{}", B64.encode(blob)) }))
    }

    pub fn open(&self, sealed: &str, aad: &str) -> Result<Json, StateError> {
        let bad = |why: &str| StateError::Crypto(format!("a sealed value at {aad} cannot be opened: {why}"));
        let b64 = sealed.strip_prefix("v1:").ok_or_else(|| bad("unknown format"))?;
        let blob = B64.decode(b64).map_err(|_| bad("not base64"))?;
        if blob.len() < NONCE_LEN {
            return Err(bad("too short"));
        }
        let (nonce, ct) = blob.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| bad("wrong key, or the value was tampered with"))?;
        serde_json::from_slice(&plain).map_err(|_| bad("not JSON after decryption"))
    }
}

/// Where the state key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(std::path::PathBuf),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => f.write_str(KEY_ENV),
            KeySource::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Whether a stored value is sealed (`{"$tarn_sealed": "v1:…"}`).
pub fn is_sealed(v: &Json) -> bool {
    sealed_text(v).is_some()
}

fn is_digest(v: &Json) -> bool {
    v.as_object().is_some_and(|o| o.len() == 1 && o.get("sha256").is_some_and(Json::is_string))
}

fn sealed_text(v: &Json) -> Option<&str> {
    match v {
        Json::Object(o) if o.len() == 1 => o.get(SEALED).and_then(Json::as_str),
        _ => None,
    }
}

/// Wraps a backend so that sensitive values are sealed on the way in and opened on the way out.
pub struct EncryptedBackend {
    inner: Arc<dyn Backend>,
    sealer: Option<Sealer>,
}

impl EncryptedBackend {
    pub fn new(inner: Arc<dyn Backend>, sealer: Option<Sealer>) -> Self {
        EncryptedBackend { inner, sealer }
    }

    /// Whether sensitive values can be stored.
    pub fn has_key(&self) -> bool {
        self.sealer.is_some()
    }

    fn sealer(&self, what: &str) -> Result<&Sealer, StateError> {
        self.sealer.as_ref().ok_or_else(|| {
            StateError::Crypto(format!(
                "{what} is sensitive, and tarn never stores a sensitive value in clear text. {KEY_HELP}"
            ))
        })
    }

    fn seal_record(&self, mut r: ResourceRecord) -> Result<ResourceRecord, StateError> {
        for path in r.sensitive_paths.clone() {
            let Some(slot) = r.attributes.pointer_mut(&path) else { continue };
            if slot.is_null() || sealed_text(slot).is_some() {
                continue;
            }
            let sealer = self.sealer(&format!("{}{}", r.address, path))?;
            *slot = sealer.seal(slot, &format!("{}#{}", r.address, path))?;
        }
        Ok(r)
    }

    /// Seals sensitive outputs (see `set_outputs` for what happens without a key).
    fn seal_outputs(&self, outputs: Vec<OutputRecord>) -> Result<Vec<OutputRecord>, StateError> {
        let mut sealed = Vec::with_capacity(outputs.len());
        for mut o in outputs {
            if o.sensitive && !o.value.is_null() && sealed_text(&o.value).is_none() {
                // Without a key a sensitive output is recorded as a digest or null (still
                // marked sensitive) rather than failing an apply that has already succeeded.
                o.value = match &self.sealer {
                    Some(sealer) => sealer.seal(&o.value, &format!("output#{}", o.name))?,
                    // Without a key the caller may record a digest (`{"sha256": ...}`) so plans
                    // can tell whether the output changed; anything else is dropped.
                    None if is_digest(&o.value) => o.value,
                    None => Json::Null,
                };
            }
            sealed.push(o);
        }
        Ok(sealed)
    }

    /// Opens every sealed value of a snapshot as stored (e.g. a `tarn state push` document):
    /// fails, naming the value, when one was sealed with another key or tampered with.
    pub fn open_snapshot(&self, mut s: Snapshot) -> Result<Snapshot, StateError> {
        s.resources = s.resources.into_iter().map(|r| self.open_record(r)).collect::<Result<_, _>>()?;
        for o in &mut s.outputs {
            if let (true, Some(text)) = (o.sensitive, sealed_text(&o.value).map(str::to_string)) {
                o.value = self.sealer(&format!("output {}", o.name))?.open(&text, &format!("output#{}", o.name))?;
            }
        }
        Ok(s)
    }

    fn open_record(&self, mut r: ResourceRecord) -> Result<ResourceRecord, StateError> {
        for path in r.sensitive_paths.clone() {
            let Some(slot) = r.attributes.pointer_mut(&path) else { continue };
            let Some(text) = sealed_text(slot).map(str::to_string) else { continue };
            let sealer = self.sealer(&format!("{}{}", r.address, path))?;
            *slot = sealer.open(&text, &format!("{}#{}", r.address, path))?;
        }
        Ok(r)
    }
}

#[async_trait]
impl Backend for EncryptedBackend {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn lock(&self, holder: LockHolder, opts: LockOptions) -> Result<LockInfo, StateError> {
        self.inner.lock(holder, opts).await
    }
    async fn heartbeat(&self, lock_id: &str) -> Result<(), StateError> {
        self.inner.heartbeat(lock_id).await
    }
    async fn confirm_lease(&self, what: &str) -> Result<crate::LeaseUse, StateError> {
        self.inner.confirm_lease(what).await
    }
    fn lease_loss(&self) -> Option<crate::LeaseLoss> {
        self.inner.lease_loss()
    }
    async fn unlock(&self, lock_id: &str) -> Result<(), StateError> {
        self.inner.unlock(lock_id).await
    }
    async fn force_unlock(&self, lock_id: &str) -> Result<(), StateError> {
        self.inner.force_unlock(lock_id).await
    }
    async fn current_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.inner.current_lock().await
    }
    async fn snapshot(&self) -> Result<Snapshot, StateError> {
        let s = self.inner.snapshot().await?;
        self.open_snapshot(s)
    }
    async fn begin_run(&self, run: RunStart) -> Result<String, StateError> {
        self.inner.begin_run(run).await
    }
    async fn finish_run(&self, run_id: &str, outcome: RunOutcome, summary: Json) -> Result<(), StateError> {
        self.inner.finish_run(run_id, outcome, summary).await
    }
    async fn history(&self) -> Result<Vec<RunRecord>, StateError> {
        self.inner.history().await
    }
    async fn prune_history(&self, keep: usize) -> Result<usize, StateError> {
        self.inner.prune_history(keep).await
    }
    async fn put_resource(&self, record: ResourceRecord) -> Result<(), StateError> {
        self.inner.put_resource(self.seal_record(record)?).await
    }
    async fn put_resources(&self, records: Vec<ResourceRecord>) -> Result<(), StateError> {
        let sealed = records.into_iter().map(|r| self.seal_record(r)).collect::<Result<_, _>>()?;
        self.inner.put_resources(sealed).await
    }
    async fn delete_resource(&self, address: &str) -> Result<(), StateError> {
        self.inner.delete_resource(address).await
    }
    async fn delete_deposed(&self, address: &str, key: &str) -> Result<(), StateError> {
        self.inner.delete_deposed(address, key).await
    }
    async fn set_outputs(&self, outputs: Vec<OutputRecord>) -> Result<(), StateError> {
        let sealed = self.seal_outputs(outputs)?;
        self.inner.set_outputs(sealed).await
    }
    async fn apply_batch(&self, mut batch: StateBatch) -> Result<(), StateError> {
        batch.put = batch.put.into_iter().map(|r| self.seal_record(r)).collect::<Result<_, _>>()?;
        batch.outputs = batch.outputs.map(|o| self.seal_outputs(o)).transpose()?;
        self.inner.apply_batch(batch).await
    }
    async fn workspaces(&self) -> Result<Vec<String>, StateError> {
        self.inner.workspaces().await
    }
    async fn delete_workspace(&self) -> Result<(), StateError> {
        self.inner.delete_workspace().await
    }
    async fn journal(&self, entry: JournalEntry) -> Result<i64, StateError> {
        self.inner.journal(entry).await
    }
    async fn put_resource_closing(&self, record: ResourceRecord, outcome: JournalEntry) -> Result<(), StateError> {
        self.inner.put_resource_closing(self.seal_record(record)?, outcome).await
    }
    async fn open_intents(&self) -> Result<Vec<JournalRecord>, StateError> {
        self.inner.open_intents().await
    }
    async fn close_intent(&self, seq: i64, note: &str) -> Result<(), StateError> {
        self.inner.close_intent(seq, note).await
    }
    async fn run_journal(&self, run_id: &str) -> Result<Vec<JournalRecord>, StateError> {
        self.inner.run_journal(run_id).await
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::sqlite::SqliteBackend;

    fn record(secret: &str) -> ResourceRecord {
        ResourceRecord {
            address: "local_sensitive_file.k".into(),
            mode: "managed".into(),
            type_name: "local_sensitive_file".into(),
            provider: "local".into(),
            attributes: serde_json::json!({"filename": "k.txt", "content": secret}),
            sensitive_paths: vec!["/content".into()],
            dependencies: vec![],
            correlation: None,
            schema_version: 0,
            deposed: None,
        }
    }

    fn key() -> Sealer {
        Sealer::from_key_text(&B64.encode([7u8; 32]), "test").unwrap()
    }

    #[tokio::test]
    async fn sensitive_values_are_sealed_on_disk_and_opened_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let inner: Arc<dyn Backend> = Arc::new(SqliteBackend::open(&path).unwrap());
        let b = EncryptedBackend::new(inner, Some(key()));
        b.put_resource(record("hunter2-secret")).await.unwrap();
        b.set_outputs(vec![OutputRecord {
            name: "pw".into(),
            value: serde_json::json!("out-secret"),
            sensitive: true,
        }])
        .await
        .unwrap();
        let snap = b.snapshot().await.unwrap();
        assert_eq!(snap.resources[0].attributes["content"], "hunter2-secret");
        assert_eq!(snap.outputs[0].value, "out-secret");
        drop(b);
        let raw = std::fs::read(&path).unwrap();
        for file in [path.clone(), path.with_extension("db-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("hunter2-secret") && !text.contains("out-secret"),
                "clear text in {}",
                file.display()
            );
        }
        assert!(!raw.is_empty());
    }

    #[tokio::test]
    async fn without_a_key_a_sensitive_value_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let inner: Arc<dyn Backend> = Arc::new(SqliteBackend::open(&dir.path().join("s.db")).unwrap());
        let b = EncryptedBackend::new(inner, None);
        let err = b.put_resource(record("x")).await.unwrap_err().to_string();
        assert!(err.contains("tarn state keygen"), "{err}");
        assert!(b.snapshot().await.unwrap().resources.is_empty(), "nothing half-written");
    }

    #[test]
    fn wrong_key_or_moved_ciphertext_does_not_open() {
        let k = key();
        let sealed = k.seal(&serde_json::json!("v"), "a#/x").unwrap();
        let text = sealed_text(&sealed).unwrap();
        assert_eq!(k.open(text, "a#/x").unwrap(), "v");
        assert!(k.open(text, "b#/x").is_err(), "bound to its place");
        let other = Sealer::from_key_text(&B64.encode([8u8; 32]), "test").unwrap();
        assert!(other.open(text, "a#/x").unwrap_err().to_string().contains("wrong key"));
        assert!(Sealer::from_key_text("short", "env").is_err());
    }

    #[test]
    fn key_file_is_private_and_never_overwritten() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".tarn/state.key");
        Sealer::generate_key_file(&p).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(Sealer::load(&p).unwrap().is_some());
        assert!(Sealer::generate_key_file(&p).is_err());
    }
}
