//! tarn-core's single integration test binary: one module per engine part.

mod exec;
