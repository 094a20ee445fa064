//! The digitalocean provider against its emulator over real HTTP on 127.0.0.1, and the
//! emulator against the vendor's OpenAPI descriptions. One test binary, a module per concern:
//!
//! - `droplet` — digitalocean_droplet through the Provider trait: create (waiting on the
//!   create action), read, rename, resize, IPv6, power state through actions, tags and the
//!   project tag, drift, import, adoption, delete; the emulator's droplet address pool
//! - `resources` — digitalocean_ssh_key, _domain, _record, _loadbalancer, _tag (CRUD, import,
//!   drift) and the digitalocean_droplets data source
//! - `transport` — `links.pages` pagination, errors mapped to classes, 429 with `retry-after`
//!   honoured, rate-limit headers, action time-outs, authentication, configuration, snapshots
//! - `spec` — every answer validates against digitalocean-v2.subset.yaml and
//!   digitalocean-v2.ssh-keys.extract.yaml
//! - `logs` — the token and sensitive values never reach the log, even at trace level

mod common;

mod droplet;
mod logs;
mod resources;
mod spec;
mod transport;
