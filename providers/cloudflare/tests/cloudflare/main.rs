//! The cloudflare provider against its emulator over real HTTP on 127.0.0.1, and the emulator
//! against the vendor's OpenAPI description. One test binary, a module per concern:
//!
//! - `logs` — trace-level HTTP logs with sensitive values masked
//! - `provider` — CRUD through the Provider trait, drift, gone objects, adoption, import
//! - `transport` — pagination over several pages, 429 with Retry-After, 5xx retries, auth
//! - `emulator` — validation errors with Cloudflare's codes, persistence, admin fault controls
//! - `spec` — every emulated operation's answers validate against cloudflare-v4.subset.yaml

mod common;

mod emulator;
mod logs;
mod provider;
mod spec;
mod transport;
