//! tarn-toolkit: what providers build on beyond the contract, one feature per area.
//!
//! `http` (feature `http`): the JSON client providers call vendor APIs with. `ssh` (feature
//! `ssh`): sessions, commands, SFTP, pipes, the pool, and (feature `ssh-testing`) a real sshd for
//! tests. `sim` (feature `sim`): the harness for in-process API emulators, and (feature
//! `spec-check`) the vendor-spec checker. `log_capture` (feature `log-capture`): tests' log capture.
//! It must not know about configuration files, plans or state; providers reach it through the
//! tarn-sdk facade (`tarn_sdk::ssh`, `tarn_sdk::http`, `tarn_sdk::sim`), the engine not at all.

// The contract's modules under the paths this crate's code has always used (`crate::error`, ...).
// Which of them a build uses depends on its features.
#[allow(unused_imports)]
pub(crate) use tarn_contract::{call, error, secrets, value};

#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "log-capture")]
pub mod log_capture;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "ssh")]
pub mod ssh;
