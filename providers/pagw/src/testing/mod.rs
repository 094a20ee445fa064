//! Test harnesses for this crate's tests and the CLI's end-to-end tests: a private MariaDB
//! (`mariadb.rs`), a private Docker engine (`docker.rs`) and a Proxmox VE host (`pve.rs`: the
//! emulator with `qm`/`pvesh` commands) and the machine's libvirt with a pool and bridges of
//! the process's own (`libvirt.rs`), each started once per test process
//! on 127.0.0.1 or a socket of its own, and stopped at exit; and a whole PAGW host (`host.rs`:
//! an sshd with a home directory, the Proxmox host, slot definitions and build contexts), shared
//! by this crate's tests and the CLI's end-to-end tests. Not for production use.

mod docker;
mod host;
mod libvirt;
mod mariadb;
mod pve;

pub use docker::TestDocker;
pub use host::{BUILD_PASSWORD, CUSTOMIZE, TestPagwHost, build_context, leftovers};
pub use libvirt::TestLibvirt;
pub use mariadb::{PASSWORD, TestMariaDb, USER};
pub use pve::TestPve;
