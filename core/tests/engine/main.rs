//! tarn-core's one integration test binary. Each engine phase adds its driver as a module
//! here (`mod plan;`, `mod exec;`), so the crate links a single test executable.

mod deep_input;
mod difftest;
mod exec;
mod plan;
mod roundtrip;
mod testprovider;

/// Provider setup evaluating blocks in `cwd`, default workspace, no home, default limits.
pub fn here(cwd: &std::path::Path) -> tarn_core::plan::SetupContext<'_> {
    tarn_core::plan::SetupContext { workspace: "default", cwd, home: None, deadlines: Default::default() }
}
