//! Test harnesses for this crate's tests and the CLI's end-to-end tests: a private MariaDB
//! (`mariadb.rs`) and a private Docker engine (`docker.rs`), each started once per test process
//! on 127.0.0.1 or a socket of its own, and stopped at exit. Not for production use.

mod docker;
mod mariadb;

pub use docker::TestDocker;
pub use mariadb::{PASSWORD, TestMariaDb, USER};
