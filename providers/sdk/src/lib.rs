//! tarn-sdk: what providers build on, as one path.
//!
//! Re-exports the contract (tarn-contract: [`Value`], [`Address`], schemas, the [`Provider`]
//! trait, [`ProviderError`], the call's secrets) always, and each area of the provider toolkit
//! (tarn-toolkit) behind the feature of the same name: `ssh`, `http`, `sim`, `log_capture`
//! (`log-capture`). It owns no code: a provider crate names the features it uses in its
//! Cargo.toml, and the engine, which needs the contract only, enables none.

pub use tarn_contract::*;

#[cfg(feature = "http")]
pub use tarn_toolkit::http;
#[cfg(feature = "log-capture")]
pub use tarn_toolkit::log_capture;
#[cfg(feature = "sim")]
pub use tarn_toolkit::sim;
#[cfg(feature = "ssh")]
pub use tarn_toolkit::ssh;
