//! SSH toolkit for providers that manage hosts (VSN, Pond, PAGW): sessions with host-key
//! policies, commands with timeouts and redaction, SFTP uploads, and a per-host session pool.
//!
//! This file only declares and re-exports. The module must not read ~/.ssh/config, an agent or
//! the user's default known_hosts behind the caller's back: everything comes from [`SshConfig`].

mod errors;
mod exec;
mod hostkey;
mod pipe;
mod pool;
mod session;
mod sftp;
#[cfg(any(test, feature = "ssh-testing"))]
pub mod testing;
#[cfg(test)]
mod tests;

pub use exec::{Command, ExecOutput, OutputLine, Stream};
pub use hostkey::{HostKeyPolicy, fingerprint};
pub use pipe::PipeOutput;
pub use pool::{Pool, PoolKey};
pub use session::{KeySource, Session, SshConfig};
