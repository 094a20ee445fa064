//! Configuration: reading `*.tarn.hcl` and `*.tarn.json` files of a module directory (and the
//! modules it calls) into the [`model`], keeping every span. Structural checks (unknown blocks
//! and arguments, duplicates, misplaced meta-arguments) happen here; evaluation does not.

// Diagnostics are the error type of the language front end by design (they carry spans).
#![allow(clippy::result_large_err)]

mod decode;
pub(crate) use decode::terraform_habit;
mod decode_more;
mod fmt;
pub(crate) mod hcl;
mod json;
mod load;
pub mod model;
pub(crate) mod statics;
mod types;
pub mod version;

pub use fmt::format_hcl;
pub use load::{load, load_sources};
pub use model::*;
pub use types::parse_type;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
pub(crate) mod tests;
