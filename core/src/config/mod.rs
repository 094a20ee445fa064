//! Configuration: reading `*.tarn.hcl` and `*.tarn.json` files of a module directory (and the
//! modules it calls) into the [`model`], keeping every span. Structural checks (unknown blocks
//! and arguments, duplicates, misplaced meta-arguments) happen here; evaluation does not.

mod decode;
mod decode_more;
pub(crate) mod hcl;
mod json;
mod load;
pub mod model;
pub(crate) mod statics;
mod types;

pub use load::{load, load_sources};
pub use model::*;
pub use types::parse_type;

#[cfg(test)]
mod tests;
