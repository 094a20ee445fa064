//! The cloudflare provider against its emulator over real HTTP on 127.0.0.1, and the emulator
//! against the vendor's OpenAPI description. One test binary, a module per concern:
//!
//! - `configure` — the token verified at configure (`GET /user/tokens/verify`), refusals named
//! - `logs` — trace-level HTTP logs with sensitive values masked
//! - `provider` — CRUD through the Provider trait, drift, gone objects, adoption, import
//!   (lockdown rules and DNS records)
//! - `lists` — the list data sources: zones, a zone's DNS records, its lockdown rules
//! - `quota` — active lockdown rules per zone: the plan-time check and the emulator's refusal
//! - `transport` — pagination over several pages, 429 with Retry-After, 5xx retries, auth
//! - `emulator` — validation errors with Cloudflare's codes, persistence, admin fault controls
//! - `spec` — every emulated operation's answers validate against cloudflare-v4.subset.yaml
//!   (and token verification against cloudflare-v4-user-tokens.extract.yaml)

mod common;

mod configure;
mod emulator;
mod lists;
mod logs;
mod provider;
mod quota;
mod spec;
mod transport;
