//! tarn-core's one integration test binary. Each engine phase adds its driver as a module
//! here (`mod plan;`, `mod exec;`), so the crate links a single test executable.

mod deep_input;
mod difftest;
mod exec;
mod plan;
mod roundtrip;
mod testprovider;
