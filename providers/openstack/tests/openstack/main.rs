//! The openstack provider against its emulator over real HTTP on 127.0.0.1, and the emulator
//! against the vendor's API description. One test binary, a module per concern:
//!
//! - `instance` — openstack_compute_instance through the Provider trait: create, read, rename,
//!   power state, reboot, drift, delete, import, adoption, a build that ends in ERROR
//! - `keypair` — openstack_compute_keypair and the flavors data source
//! - `auth` — Keystone: token renewal before expiry and after a 401, refused credentials,
//!   the catalog's regions, microversion headers, faults mapped to classes, pagination
//! - `logs` — the password and the tokens never reach a log, even at trace level
//! - `spec` — every answer (and every request the client sends) validates against
//!   openstack-nova-v2.1-keystone-v3.subset.yaml

mod common;

mod auth;
mod instance;
mod keypair;
mod logs;
mod spec;
