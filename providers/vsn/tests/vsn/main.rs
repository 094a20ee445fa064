//! The vsn provider against the real programs: a real sshd on 127.0.0.1 and this machine's
//! real podman (see `tarn_provider_vsn::testing`). One test binary, a module per concern.
//!
//! - `validation` — every failed check listed in one error, before any change
//! - `containers` — create, drift (stopped, removed, other image/env), update, delete, adopt,
//!   data directories kept, secrets never on a command line
//! - `cron` — the health-check cron entry installed, run, and removed
//! - `maintenance` — the maintenance cron job in the host container; mail through real mutt
//!   to an SMTP sink
//! - `migrate` — a volume's data moved from another VSN (`migrate_from`), verified by checksum

mod support;

mod containers;
mod cron;
mod maintenance;
mod migrate;
mod validation;
