//! How SSH failures become classified [`ProviderError`]s, and the wording users see.
//!
//! Owns the mapping from transport, authentication, host-key, command and SFTP failures to error
//! classes (Transient, Permanent, NotFound) and the sentences that name the host, user, key and
//! command involved. It must not perform IO, and its messages must never contain a secret: the
//! callers pass already-redacted command text and key descriptions, never key material.

use std::io;
use std::time::Duration;

use crate::error::ProviderError;

/// Where the client key came from, for messages: a file path, or "the key given in configuration".
pub(crate) fn describe_endpoint(host: &str, port: u16) -> String {
    if port == 22 { host.to_string() } else { format!("{host}:{port}") }
}

/// The TCP connection could not be established, or the SSH handshake broke off.
pub(crate) fn connect_failed(host: &str, port: u16, err: &russh::Error) -> ProviderError {
    let at = describe_endpoint(host, port);
    match err {
        russh::Error::IO(io_err) => io_failed(&at, io_err),
        russh::Error::ConnectionTimeout | russh::Error::InactivityTimeout => {
            ProviderError::transient(format!("the SSH connection to {at} timed out"))
        }
        russh::Error::Disconnect | russh::Error::HUP => {
            ProviderError::transient(format!("the SSH server at {at} closed the connection during the handshake"))
        }
        russh::Error::NoCommonAlgo { kind, ours, theirs } => ProviderError::permanent(format!(
            "the SSH server at {at} shares no {kind:?} algorithm with tarn (ours: {}; theirs: {})",
            ours.join(", "),
            theirs.join(", ")
        )),
        other => ProviderError::transient(format!("the SSH connection to {at} failed: {other}")),
    }
}

fn io_failed(at: &str, err: &io::Error) -> ProviderError {
    let what = match err.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused (is sshd running and listening there?)".to_string(),
        io::ErrorKind::TimedOut => "connection timed out".to_string(),
        io::ErrorKind::ConnectionReset => "connection reset by the server".to_string(),
        io::ErrorKind::UnexpectedEof => "the server closed the connection".to_string(),
        _ => err.to_string(),
    };
    ProviderError::transient(format!("could not connect to the SSH server at {at}: {what}"))
}

/// `tokio::time::timeout` expired around the connect and handshake.
pub(crate) fn connect_timed_out(host: &str, port: u16, limit: Duration) -> ProviderError {
    ProviderError::transient(format!(
        "could not connect to the SSH server at {}: no answer within {}",
        describe_endpoint(host, port),
        human(limit)
    ))
}

/// The server refused public-key authentication.
pub(crate) fn auth_rejected(host: &str, port: u16, key: &str, user: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "the server at {} rejected the key {key} for user {user}; add its public key to \
         ~{user}/.ssh/authorized_keys there, or configure the key that is authorised",
        describe_endpoint(host, port)
    ))
}

/// The private key could not be read or decrypted.
pub(crate) fn key_unusable(key: &str, err: &russh::keys::Error) -> ProviderError {
    let hint = match err {
        russh::keys::Error::KeyIsEncrypted => ": it is encrypted and no passphrase was given".to_string(),
        russh::keys::Error::IO(e) => format!(": {e}"),
        russh::keys::Error::SshKey(_) | russh::keys::Error::Pad(_) | russh::keys::Error::KeyIsCorrupt => {
            ": it is not a valid private key, or the passphrase is wrong".to_string()
        }
        other => format!(": {other}"),
    };
    ProviderError::permanent(format!("could not load the SSH private key {key}{hint}"))
}

/// A per-command timeout expired; the channel was closed.
pub(crate) fn command_timed_out(host: &str, command: &str, limit: Duration) -> ProviderError {
    ProviderError::transient(format!(
        "the command `{command}` did not finish within {} on {host}; it was abandoned",
        human(limit)
    ))
}

/// An operation without a timeout of its own ran past the session's operation timeout.
pub(crate) fn operation_timed_out(host: &str, what: &str, limit: Duration) -> ProviderError {
    ProviderError::transient(format!("{what} on {host} did not finish within {}; it was abandoned", human(limit)))
}

/// The channel broke while a command ran or an SFTP transfer was under way.
pub(crate) fn channel_failed(host: &str, what: &str, err: &dyn std::fmt::Display) -> ProviderError {
    ProviderError::transient(format!("{what} on {host} failed: the SSH channel broke ({err})"))
}

/// A command exited non-zero or was killed by a signal.
pub(crate) fn command_failed(
    host: &str,
    command: &str,
    status: Option<u32>,
    signal: Option<&str>,
    stderr_tail: &str,
) -> ProviderError {
    let how = match (status, signal) {
        (_, Some(sig)) => format!("was killed by signal {sig}"),
        (Some(code), None) => format!("exited with code {code}"),
        (None, None) => "ended without an exit status".to_string(),
    };
    let mut message = format!("the command `{command}` {how} on {host}");
    if !stderr_tail.is_empty() {
        message.push_str("; the last lines of its stderr:\n");
        message.push_str(stderr_tail);
    }
    ProviderError::permanent(message)
}

/// `sudo -n` refused because it would have asked for a password.
pub(crate) fn sudo_needs_password(host: &str, user: &str, command: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "the command `{command}` needs sudo on {host}, but sudo asks user {user} for a password; \
         allow it without one (a NOPASSWD rule in /etc/sudoers.d) or connect as a user that needs no sudo"
    ))
}

/// An SFTP request failed.
pub(crate) fn sftp_failed(host: &str, what: &str, err: &russh_sftp::client::error::Error) -> ProviderError {
    use russh_sftp::client::error::Error as E;
    use russh_sftp::protocol::StatusCode;
    match err {
        E::Status(status) => {
            let message = format!("{what} on {host} failed: {}", status.status_code);
            match status.status_code {
                StatusCode::NoSuchFile => ProviderError::not_found(message),
                StatusCode::ConnectionLost | StatusCode::NoConnection => ProviderError::transient(message),
                _ => ProviderError::permanent(message),
            }
        }
        E::Timeout | E::IO(_) => ProviderError::transient(format!("{what} on {host} failed: {err}")),
        _ => ProviderError::permanent(format!("{what} on {host} failed: {err}")),
    }
}

/// A local file or directory to upload could not be read.
pub(crate) fn local_io(path: &std::path::Path, err: &io::Error) -> ProviderError {
    ProviderError::permanent(format!("could not read {} for upload: {err}", path.display()))
}

/// "1 s", "250 ms", "2 min": durations as people write them.
pub(crate) fn human(d: Duration) -> String {
    if d.as_secs() >= 120 && d.as_secs().is_multiple_of(60) {
        format!("{} min", d.as_secs() / 60)
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    #[test]
    fn refused_connections_are_transient_and_name_the_endpoint() {
        let err = russh::Error::IO(io::Error::from(io::ErrorKind::ConnectionRefused));
        let e = connect_failed("10.0.0.5", 2222, &err);
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.message.contains("10.0.0.5:2222"), "{}", e.message);
        assert!(e.message.contains("connection refused"), "{}", e.message);
    }

    #[test]
    fn rejected_keys_are_permanent_and_say_whose_key() {
        let e = auth_rejected("vsn-1", 22, "/keys/id_ed25519", "deploy");
        assert_eq!(e.class, ErrorClass::Permanent);
        assert!(e.message.starts_with("the server at vsn-1 rejected the key /keys/id_ed25519 for user deploy"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human(Duration::from_secs(1)), "1 s");
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_secs(300)), "5 min");
    }
}
