//! The harness for in-process API emulators: a loopback server with a stop-on-drop handle, an
//! in-memory store, fault injection (and its HTTP controls), vendor-style rate-limit headers,
//! the `Emulated` registry trait with snapshot files, and (feature `spec-check`) the checker
//! that validates emulator answers against a vendor's OpenAPI file.
//!
//! Declares and re-exports only. Generic by design: each provider crate ships its own emulator
//! (routes, bodies, status codes from `specs/`) built on these pieces.

pub mod admin;
pub mod emulated;
pub mod faults;
pub mod server;
#[cfg(feature = "spec-check")]
pub mod spec;
pub mod store;

pub use admin::FaultBodies;
pub use emulated::{Emulated, EmulatorError, EmulatorOptions, RunningEmulator, read_snapshot, write_snapshot};
pub use faults::{Faults, RateLimitStyle, rate_limit_headers};
pub use server::SimServer;
pub use store::Store;
