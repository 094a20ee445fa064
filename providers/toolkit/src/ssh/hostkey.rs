//! Host-key policies and the verdict on the key a server presents.
//!
//! Owns [`HostKeyPolicy`] (known_hosts file, pinned fingerprint, trust on first use), SHA-256
//! fingerprints in OpenSSH's `SHA256:...` form, and the russh client handler that applies the
//! policy during the handshake and reports what it saw. It must never accept an unknown or
//! changed key silently: every refusal is recorded with the presented and expected fingerprints
//! so the session can turn it into a Permanent error. It does not open connections itself.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use russh::keys::{HashAlg, PublicKey};

use crate::error::ProviderError;

/// How tarn decides whether the server it reached is the one it meant to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Accept only a key recorded for `host` (or `[host]:port`) in this OpenSSH known_hosts file.
    KnownHostsFile(PathBuf),
    /// Accept only the key with this fingerprint, as `ssh-keygen -lf` prints it: `SHA256:...`.
    Pinned(String),
    /// Accept any key the first time and report its fingerprint so the caller records it in
    /// state; once `recorded` holds a fingerprint, enforce it like [`HostKeyPolicy::Pinned`].
    TrustOnFirstUse { recorded: Option<String> },
}

/// The SHA-256 fingerprint of a public key, in OpenSSH's form (`SHA256:` + unpadded base64).
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Fingerprints compare equal whatever the padding or a missing `SHA256:` prefix.
fn normalize(fp: &str) -> String {
    let fp = fp.trim().trim_end_matches('=');
    match fp.strip_prefix("SHA256:") {
        Some(rest) => format!("SHA256:{rest}"),
        None => format!("SHA256:{fp}"),
    }
}

/// Why a presented key was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub presented: String,
    /// What was expected, in words: a fingerprint, or "no entry in FILE".
    pub expected: String,
    pub changed: bool,
}

impl Refusal {
    pub(crate) fn into_error(self, host: &str, port: u16) -> ProviderError {
        let at = super::errors::describe_endpoint(host, port);
        let what = if self.changed {
            format!(
                "the host key of {at} has CHANGED: it presented {} but {} was expected. This can \
                 mean a reinstalled server or a man-in-the-middle attack; if the change is \
                 legitimate, record the new fingerprint",
                self.presented, self.expected
            )
        } else {
            format!(
                "the host key of {at} is unknown: it presented {} and {}. Verify it out of band \
                 (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub on the server) and record it",
                self.presented, self.expected
            )
        };
        ProviderError::permanent(format!("refusing to connect: {what}"))
    }
}

/// What the handshake saw, shared between the handler (moved into russh) and the session.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    pub presented: Option<String>,
    pub refusal: Option<Refusal>,
}

/// Decide on one presented key.
pub(crate) fn judge(policy: &HostKeyPolicy, host: &str, port: u16, key: &PublicKey) -> Result<(), Refusal> {
    let presented = fingerprint(key);
    let expect_fp = |expected: &str| {
        if normalize(expected) == normalize(&presented) {
            Ok(())
        } else {
            Err(Refusal { presented: presented.clone(), expected: normalize(expected), changed: true })
        }
    };
    match policy {
        HostKeyPolicy::Pinned(expected) => expect_fp(expected),
        HostKeyPolicy::TrustOnFirstUse { recorded: Some(expected) } => expect_fp(expected),
        HostKeyPolicy::TrustOnFirstUse { recorded: None } => Ok(()),
        HostKeyPolicy::KnownHostsFile(path) => {
            let entries = match russh::keys::known_hosts::known_host_keys_path(host, port, path) {
                Ok(entries) => entries,
                Err(err) => {
                    return Err(Refusal {
                        presented,
                        expected: format!("the known_hosts file {} could not be read ({err})", path.display()),
                        changed: false,
                    });
                }
            };
            if entries.iter().any(|(_, known)| known == key) {
                return Ok(());
            }
            let same_type: Vec<String> = entries
                .iter()
                .filter(|(_, known)| known.algorithm() == key.algorithm())
                .map(|(line, known)| format!("{} (line {line} of {})", fingerprint(known), path.display()))
                .collect();
            if same_type.is_empty() {
                let name = if port == 22 { host.to_string() } else { format!("[{host}]:{port}") };
                Err(Refusal {
                    presented,
                    expected: format!("{} has no {} key for {name}", path.display(), key.algorithm().as_str()),
                    changed: false,
                })
            } else {
                Err(Refusal { presented, expected: same_type.join(" or "), changed: true })
            }
        }
    }
}

/// The russh client handler: applies the policy and records what it saw.
pub(crate) struct Checker {
    pub policy: HostKeyPolicy,
    pub host: String,
    pub port: u16,
    pub observed: Arc<Mutex<Observed>>,
}

impl russh::client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKey) -> Result<bool, Self::Error> {
        let verdict = judge(&self.policy, &self.host, self.port, key);
        // A poisoned lock only means another thread panicked while holding it; the data is
        // still a plain record, so keep using it rather than accepting the key blindly.
        let mut seen = self.observed.lock().unwrap_or_else(|poison| poison.into_inner());
        seen.presented = Some(fingerprint(key));
        match verdict {
            Ok(()) => Ok(true),
            Err(refusal) => {
                seen.refusal = Some(refusal);
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";

    fn key() -> PublicKey {
        russh::keys::parse_public_key_base64(KEY).expect("test key parses")
    }

    #[test]
    fn pinned_fingerprints_compare_without_padding_or_prefix() {
        let fp = fingerprint(&key());
        assert!(fp.starts_with("SHA256:"));
        let bare = fp.trim_start_matches("SHA256:").to_string();
        assert_eq!(judge(&HostKeyPolicy::Pinned(bare.clone() + "="), "h", 22, &key()), Ok(()));
        let refusal = judge(&HostKeyPolicy::Pinned("SHA256:AAAA".into()), "h", 22, &key()).unwrap_err();
        assert_eq!(refusal.presented, fp);
        assert_eq!(refusal.expected, "SHA256:AAAA");
    }

    #[test]
    fn refusals_name_host_presented_and_expected() {
        let refusal = Refusal { presented: "SHA256:new".into(), expected: "SHA256:old".into(), changed: true };
        let e = refusal.into_error("pagw-1", 2222);
        assert_eq!(e.class, crate::error::ErrorClass::Permanent);
        for part in ["pagw-1:2222", "SHA256:new", "SHA256:old", "CHANGED"] {
            assert!(e.message.contains(part), "{part} missing from {}", e.message);
        }
    }
}
