//! Re-encrypting a state under a new key (`tarn state rekey`): every sealed value — sensitive
//! attributes and sensitive outputs — is opened with the old key and sealed again with the new
//! one, and all of it is written in one [`StateBatch`], so the state is never half old, half
//! new. It must not choose, store or print keys; the caller does.

use std::sync::Arc;

use crate::crypto::{EncryptedBackend, Sealer, is_sealed};
use crate::{Backend, ResourceRecord, Snapshot, StateBatch, StateError};

/// What a rekey rewrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RekeyReport {
    /// Resource rows holding at least one sealed value.
    pub resources: usize,
    /// Sealed values re-encrypted (attributes and outputs).
    pub values: usize,
}

/// Re-seals every sealed value of `inner` (the raw, unwrapped backend) from `old` to `new`.
/// Fails without writing anything when a value does not open with `old`.
pub async fn rekey(inner: Arc<dyn Backend>, old: Sealer, new: Sealer) -> Result<RekeyReport, StateError> {
    let raw = inner.snapshot().await?;
    let report = sealed_counts(&raw);
    let sealed_rows: Vec<String> =
        raw.resources.iter().filter(|r| sealed_in(r) > 0).map(|r| r.address.clone()).collect();
    let opened = EncryptedBackend::new(inner.clone(), Some(old)).open_snapshot(raw)?;
    let put = opened.resources.into_iter().filter(|r| sealed_rows.contains(&r.address)).collect();
    let batch = StateBatch { put, outputs: Some(opened.outputs), ..StateBatch::default() };
    EncryptedBackend::new(inner, Some(new)).apply_batch(batch).await?;
    Ok(report)
}

/// How many sealed values a stored (raw) snapshot holds, and in how many rows.
pub fn sealed_counts(raw: &Snapshot) -> RekeyReport {
    let rows: Vec<usize> = raw.resources.iter().map(sealed_in).filter(|n| *n > 0).collect();
    let outputs = raw.outputs.iter().filter(|o| o.sensitive && is_sealed(&o.value)).count();
    RekeyReport { resources: rows.len(), values: rows.iter().sum::<usize>() + outputs }
}

fn sealed_in(r: &ResourceRecord) -> usize {
    r.sensitive_paths.iter().filter(|p| r.attributes.pointer(p).is_some_and(is_sealed)).count()
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::OutputRecord;
    use crate::sqlite::SqliteBackend;
    use base64::Engine as _;

    fn sealer(byte: u8) -> Sealer {
        Sealer::from_key_text(&base64::engine::general_purpose::STANDARD.encode([byte; 32]), "test").expect("key")
    }

    fn secret_row(address: &str, secret: &str) -> ResourceRecord {
        ResourceRecord {
            address: address.into(),
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

    #[tokio::test]
    async fn rekey_moves_every_sealed_value_to_the_new_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("state.db");
        let raw: Arc<dyn Backend> = Arc::new(SqliteBackend::open(&path).expect("open"));
        let old = EncryptedBackend::new(raw.clone(), Some(sealer(1)));
        old.put_resource(secret_row("local_sensitive_file.a", "alpha-secret")).await.expect("put a");
        old.put_resource(secret_row("local_sensitive_file.b", "beta-secret")).await.expect("put b");
        let mut plain = secret_row("local_file.c", "not secret");
        plain.sensitive_paths.clear();
        old.put_resource(plain.clone()).await.expect("put c");
        old.set_outputs(vec![OutputRecord {
            name: "pw".into(),
            value: serde_json::json!("out-secret"),
            sensitive: true,
        }])
        .await
        .expect("outputs");

        let report = rekey(raw.clone(), sealer(1), sealer(2)).await.expect("rekey");
        assert_eq!(report, RekeyReport { resources: 2, values: 3 });

        let err = EncryptedBackend::new(raw.clone(), Some(sealer(1))).snapshot().await.expect_err("old key refused");
        assert!(err.to_string().contains("wrong key"), "{err}");
        let s = EncryptedBackend::new(raw.clone(), Some(sealer(2))).snapshot().await.expect("new key opens");
        assert_eq!(
            s.resources.iter().find(|r| r.address == "local_sensitive_file.b").expect("b").attributes["content"],
            "beta-secret"
        );
        assert_eq!(
            s.resources.iter().find(|r| r.address == "local_file.c"),
            Some(&plain),
            "rows without secrets untouched"
        );
        assert_eq!(s.outputs[0].value, "out-secret");
    }

    #[tokio::test]
    async fn a_wrong_old_key_writes_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let raw: Arc<dyn Backend> = Arc::new(SqliteBackend::open(&dir.path().join("s.db")).expect("open"));
        EncryptedBackend::new(raw.clone(), Some(sealer(1)))
            .put_resource(secret_row("local_sensitive_file.a", "alpha"))
            .await
            .expect("put");
        let before = raw.snapshot().await.expect("snapshot");
        assert!(rekey(raw.clone(), sealer(9), sealer(2)).await.is_err());
        assert_eq!(raw.snapshot().await.expect("snapshot"), before);
    }
}
