//! Configuration: reading `*.tarn.hcl` and `*.tarn.json` files of a module directory (and the
//! modules it calls) into the [`model`], keeping every span. Structural checks (unknown blocks
//! and arguments, duplicates, misplaced meta-arguments) happen here; evaluation does not.

pub mod model;

pub use model::*;
