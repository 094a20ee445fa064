//! One authenticated SSH connection to one host: connect, host-key check, key authentication.
//!
//! Owns [`SshConfig`] (where to connect, as whom, with which key, under which host-key policy)
//! and [`Session`], the russh client handle that channels are opened on. Commands and SFTP live
//! in exec.rs and sftp.rs; pooling in pool.rs. It must not print or log key material or
//! passphrases, and must not retry on its own: the executor's policy decides on retries.

use std::fmt;
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg};

use super::errors;
use super::hostkey::{Checker, HostKeyPolicy, Observed};
use crate::error::ProviderError;

/// Where the client's private key comes from.
#[derive(Clone)]
pub enum KeySource {
    /// An OpenSSH (or PEM, or PuTTY) private key file on this machine.
    File(PathBuf),
    /// The key text itself, e.g. from a sensitive variable. Never printed.
    Text(String),
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::File(path) => f.debug_tuple("File").field(path).finish(),
            KeySource::Text(_) => f.write_str("Text(<redacted>)"),
        }
    }
}

/// Everything needed to open a session. Build with [`SshConfig::new`] and the `with_*` methods.
#[derive(Clone)]
pub struct SshConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub key: KeySource,
    pub passphrase: Option<String>,
    pub host_key: HostKeyPolicy,
    /// Limit for TCP connect, handshake and authentication together.
    pub connect_timeout: Duration,
    /// Limit for any one operation on the session (a command without a timeout of its own, a
    /// transfer, a pipe), so a stuck server or connection fails the operation instead of hanging.
    pub operation_timeout: Duration,
}

impl fmt::Debug for SshConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("key", &self.key)
            .field("passphrase", &self.passphrase.as_ref().map(|_| "<redacted>"))
            .field("host_key", &self.host_key)
            .field("connect_timeout", &self.connect_timeout)
            .field("operation_timeout", &self.operation_timeout)
            .finish()
    }
}

impl SshConfig {
    /// Port 22, a 10 s connect timeout, a 30 min operation timeout, and no host trusted yet
    /// (trust on first use).
    pub fn new(host: impl Into<String>, user: impl Into<String>, key: KeySource) -> SshConfig {
        SshConfig {
            host: host.into(),
            port: 22,
            user: user.into(),
            key,
            passphrase: None,
            host_key: HostKeyPolicy::TrustOnFirstUse { recorded: None },
            connect_timeout: Duration::from_secs(10),
            operation_timeout: Duration::from_secs(30 * 60),
        }
    }
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    pub fn with_passphrase(mut self, passphrase: impl Into<String>) -> Self {
        self.passphrase = Some(passphrase.into());
        self
    }
    pub fn with_host_key(mut self, policy: HostKeyPolicy) -> Self {
        self.host_key = policy;
        self
    }
    pub fn with_connect_timeout(mut self, limit: Duration) -> Self {
        self.connect_timeout = limit;
        self
    }
    pub fn with_operation_timeout(mut self, limit: Duration) -> Self {
        self.operation_timeout = limit;
        self
    }

    /// The key as messages name it: its path, or "given in configuration".
    pub(crate) fn key_name(&self) -> String {
        match &self.key {
            KeySource::File(path) => path.display().to_string(),
            KeySource::Text(_) => "given in configuration".to_string(),
        }
    }

    fn load_key(&self) -> Result<PrivateKey, ProviderError> {
        let pass = self.passphrase.as_deref();
        let loaded = match &self.key {
            KeySource::File(path) => russh::keys::load_secret_key(path, pass),
            KeySource::Text(text) => russh::keys::decode_secret_key(text, pass),
        };
        loaded.map_err(|err| errors::key_unusable(&self.key_name(), &err))
    }
}

/// An authenticated connection. Cheap to share behind an `Arc`: every command and transfer opens
/// its own channel, and russh multiplexes them over the one connection.
pub struct Session {
    pub(crate) handle: Handle<Checker>,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    fingerprint: String,
    first_use: bool,
    /// [`SshConfig::operation_timeout`].
    pub(crate) operation_timeout: Duration,
    /// The connection's socket (a second descriptor of the one russh owns), shut down by
    /// [`Session::abort`] and soon after drop. Always `Some` until dropped.
    socket: Option<std::net::TcpStream>,
    /// Set by [`Session::abort`]: the connection is gone, whatever russh's handle says.
    aborted: AtomicBool,
}

impl Drop for Session {
    /// Ends the connection for sure. Dropping russh's handle ends its event loop only while that
    /// loop still reads the handle's queue, which russh 0.62 stops doing for good when a channel
    /// the server closed still has unsent data (see pipe.rs); the loop's task and the server's
    /// side of the connection would then live as long as the process.
    /// The shutdown waits a moment, so a goodbye just queued by [`Session::close`] still goes out.
    fn drop(&mut self) {
        let Some(socket) = self.socket.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    let _ = socket.shutdown(Shutdown::Both);
                });
            }
            Err(_) => {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

impl Session {
    /// Connect, check the host key against the policy, and authenticate with the key.
    pub async fn connect(config: &SshConfig) -> Result<Session, ProviderError> {
        // Load the key first: a bad key file is a configuration error worth reporting even when
        // the host is down.
        let key = config.load_key()?;
        match tokio::time::timeout(config.connect_timeout, Self::connect_inner(config, key)).await {
            Ok(result) => result,
            Err(_) => Err(errors::connect_timed_out(&config.host, config.port, config.connect_timeout)),
        }
    }

    async fn connect_inner(config: &SshConfig, key: PrivateKey) -> Result<Session, ProviderError> {
        let observed = Arc::new(Mutex::new(Observed::default()));
        let checker = Checker {
            policy: config.host_key.clone(),
            host: config.host.clone(),
            port: config.port,
            observed: Arc::clone(&observed),
        };
        let russh_config = Arc::new(client::Config {
            // Notice a dead peer on a pooled connection instead of hanging on it.
            keepalive_interval: Some(Duration::from_secs(15)),
            keepalive_max: 3,
            ..client::Config::default()
        });
        // The TCP connection is made here, not by russh, to keep a second handle on the socket:
        // shutting it down is the one way to end a connection whose russh event loop no longer
        // takes messages (see `Session::abort`).
        let stream = tokio::net::TcpStream::connect((config.host.as_str(), config.port))
            .await
            .map_err(|err| errors::connect_failed(&config.host, config.port, &russh::Error::IO(err)))?;
        let socket = stream
            .as_fd()
            .try_clone_to_owned()
            .map(std::net::TcpStream::from)
            .map_err(|err| errors::connect_failed(&config.host, config.port, &russh::Error::IO(err)))?;
        let connected = client::connect_stream(russh_config, stream, checker).await;
        let refusal = {
            let mut seen = observed.lock().unwrap_or_else(|poison| poison.into_inner());
            seen.refusal.take()
        };
        if let Some(refusal) = refusal {
            return Err(refusal.into_error(&config.host, config.port));
        }
        let mut handle = connected.map_err(|err| errors::connect_failed(&config.host, config.port, &err))?;
        let presented = {
            let seen = observed.lock().unwrap_or_else(|poison| poison.into_inner());
            seen.presented.clone()
        };
        // The handler always records the key before accepting; no key means a russh change.
        let Some(fingerprint) = presented else {
            return Err(ProviderError::permanent(format!(
                "the SSH handshake with {} finished without a host key; this is a bug in tarn",
                config.host
            )));
        };

        let fail = |err: russh::Error| errors::connect_failed(&config.host, config.port, &err);
        let rsa_hash = handle.best_supported_rsa_hash().await.map_err(fail)?.flatten();
        let auth = handle
            .authenticate_publickey(config.user.clone(), PrivateKeyWithHashAlg::new(Arc::new(key), rsa_hash))
            .await
            .map_err(fail)?;
        if !auth.success() {
            return Err(errors::auth_rejected(&config.host, config.port, &config.key_name(), &config.user));
        }
        Ok(Session {
            handle,
            host: config.host.clone(),
            port: config.port,
            user: config.user.clone(),
            fingerprint,
            first_use: matches!(config.host_key, HostKeyPolicy::TrustOnFirstUse { recorded: None }),
            operation_timeout: config.operation_timeout,
            socket: Some(socket),
            aborted: AtomicBool::new(false),
        })
    }

    /// The server's host-key fingerprint (`SHA256:...`), whatever the policy.
    pub fn host_key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Under trust on first use with nothing recorded: the fingerprint to record in state now.
    /// `None` under every other policy, where the key was already known.
    pub fn first_use_fingerprint(&self) -> Option<&str> {
        self.first_use.then_some(self.fingerprint.as_str())
    }

    /// "host" or "host:port", as messages name this server.
    pub fn endpoint(&self) -> String {
        errors::describe_endpoint(&self.host, self.port)
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// True once the connection has dropped; the pool then reconnects.
    pub fn is_closed(&self) -> bool {
        self.aborted.load(Ordering::Relaxed) || self.handle.is_closed()
    }

    /// Ends the connection at once, without a goodbye: the socket is shut down, so russh's event
    /// loop ends, every channel on it closes, and the server hangs up its side. For a connection
    /// that may no longer take messages (a pipe's sink that failed while data waited for it).
    pub(crate) fn abort(&self) {
        self.aborted.store(true, Ordering::Relaxed);
        if let Some(socket) = &self.socket {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Say goodbye politely. Dropping the session also closes the connection.
    pub async fn close(&self) {
        // The peer may already be gone; there is nothing useful to do about a failed goodbye. A
        // connection that stopped taking messages (see pipe.rs) must not hold the caller up.
        if self.aborted.load(Ordering::Relaxed) {
            return;
        }
        let goodbye = self.handle.disconnect(russh::Disconnect::ByApplication, "", "en");
        if tokio::time::timeout(Duration::from_secs(5), goodbye).await.is_err() {
            self.abort();
        }
    }

    /// Runs one operation (`what`, e.g. "uploading /etc/motd") under the session's operation
    /// timeout; when it expires the operation is dropped (its channels with it) and the error
    /// names the operation and this host.
    pub(crate) async fn within<T>(
        &self,
        what: &str,
        operation: impl Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        match tokio::time::timeout(self.operation_timeout, operation).await {
            Ok(result) => result,
            Err(_) => Err(errors::operation_timed_out(&self.endpoint(), what, self.operation_timeout)),
        }
    }

    pub(crate) async fn open_channel(&self, what: &str) -> Result<russh::Channel<client::Msg>, ProviderError> {
        self.handle.channel_open_session().await.map_err(|err| errors::channel_failed(&self.endpoint(), what, &err))
    }
}
