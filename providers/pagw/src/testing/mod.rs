//! Test harnesses for this crate's tests and the CLI's end-to-end tests: a private MariaDB
//! (`mariadb.rs`), a private Docker engine (`docker.rs`) and a Proxmox VE host (`pve.rs`: the
//! emulator with `qm`/`pvesh` commands) and the machine's libvirt with a pool and bridges of
//! the process's own (`libvirt.rs`), each started once per test process
//! on 127.0.0.1 or a socket of its own, and stopped at exit. Not for production use.

mod docker;
mod libvirt;
mod mariadb;
mod pve;

pub use docker::TestDocker;
pub use libvirt::TestLibvirt;
pub use mariadb::{PASSWORD, TestMariaDb, USER};
pub use pve::TestPve;
