//! The pond provider against real components: real sshd instances on 127.0.0.1 (one per
//! "droplet", each with its own Pond root) and a real Apache 2 with PHP per server, started by
//! the harness (`support`). One test binary, a module per concern.
//!
//! - `flow` — the seed's whole flow: provision, deploy, test green, switch all-or-none, drift,
//!   status, unbind, destroy
//! - `failure` — a create failing half-way is partially created, recorded and removable
//! - `provision` — `pond_server` idempotence: packages installed only when missing, host keys
//!   trusted on first use only when asked and enforced after, bad input listed at once

mod support;

mod failure;
mod flow;
mod provision;
