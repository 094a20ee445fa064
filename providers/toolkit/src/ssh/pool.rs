//! Connection reuse: one shared [`Session`] per (user, host, port), reconnected when it closes.
//!
//! Owns the map from [`PoolKey`] to the live session, with one async lock per key so two tasks
//! asking for the same host wait for one connect instead of racing two, while different hosts
//! connect in parallel. It remembers a host key learned on first use and enforces it on every
//! reconnect. It must not hold the map lock across a network call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::hostkey::HostKeyPolicy;
use super::session::{Session, SshConfig};
use crate::error::ProviderError;

/// Sessions are shared per user, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey {
    pub user: String,
    pub host: String,
    pub port: u16,
}

impl PoolKey {
    pub fn of(config: &SshConfig) -> PoolKey {
        PoolKey { user: config.user.clone(), host: config.host.clone(), port: config.port }
    }
}

#[derive(Default)]
struct Slot {
    session: Option<Arc<Session>>,
    /// The fingerprint learned on first use, enforced on reconnects.
    learned: Option<String>,
}

/// Hands out one shared session per host. Cheap to clone.
#[derive(Clone, Default)]
pub struct Pool {
    slots: Arc<Mutex<HashMap<PoolKey, Arc<tokio::sync::Mutex<Slot>>>>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hosts = self.slots.lock().map(|slots| slots.len()).unwrap_or(0);
        f.debug_struct("Pool").field("hosts", &hosts).finish()
    }
}

impl Pool {
    pub fn new() -> Pool {
        Pool::default()
    }

    /// The live session for this host, connecting (or reconnecting) when there is none.
    pub async fn get(&self, config: &SshConfig) -> Result<Arc<Session>, ProviderError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|poison| poison.into_inner());
            Arc::clone(slots.entry(PoolKey::of(config)).or_default())
        };
        let mut slot = slot.lock().await;
        if let Some(session) = &slot.session
            && !session.is_closed()
        {
            return Ok(Arc::clone(session));
        }
        let mut config = config.clone();
        if let (HostKeyPolicy::TrustOnFirstUse { recorded: None }, Some(learned)) = (&config.host_key, &slot.learned) {
            config.host_key = HostKeyPolicy::TrustOnFirstUse { recorded: Some(learned.clone()) };
        }
        let session = Arc::new(Session::connect(&config).await?);
        if let Some(fp) = session.first_use_fingerprint() {
            slot.learned = Some(fp.to_string());
        }
        slot.session = Some(Arc::clone(&session));
        Ok(session)
    }

    /// Drop the session for this host (e.g. after its configuration changed).
    pub async fn forget(&self, key: &PoolKey) {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|poison| poison.into_inner());
            slots.remove(key)
        };
        if let Some(slot) = slot
            && let Some(session) = slot.lock().await.session.take()
        {
            session.close().await;
        }
    }
}
