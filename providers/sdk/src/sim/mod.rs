//! The harness for in-process API emulators: a loopback server with a stop-on-drop handle, an
//! in-memory store, fault injection and vendor-style rate-limit headers.
//!
//! Declares and re-exports only. Generic by design: each provider crate ships its own emulator
//! (routes, bodies, status codes from `specs/`) built on these pieces.

pub mod faults;
pub mod server;
pub mod store;

pub use faults::{Faults, RateLimitStyle, rate_limit_headers};
pub use server::SimServer;
pub use store::Store;
