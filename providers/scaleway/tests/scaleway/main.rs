//! The scaleway provider against its emulator over real HTTP on 127.0.0.1, and the emulator
//! against the vendor's OpenAPI description. One test binary, a module per concern:
//!
//! - `server` — scaleway_instance_server through the Provider trait: create, read, update,
//!   power state, volume limits, drift, delete, import, adoption
//! - `resources` — scaleway_instance_ip, scaleway_instance_volume, security groups and rules,
//!   and the data sources
//! - `image` — scaleway_instance_image: server backups, rename, import, adoption, delete
//! - `drift` — changes made through the emulator's API show in `read`; import of the rest
//! - `transport` — pagination headers, errors mapped to classes, tasks and their time-out, auth
//! - `spec` — every answer validates against scaleway-instance-v1.subset.yaml (and the full
//!   file for snapshots)

mod common;

mod drift;
mod image;
mod resources;
mod server;
mod spec;
mod transport;
