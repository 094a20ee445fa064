//! Configuration: reading `*.tarn.hcl` and `*.tarn.json` files of a module directory (and the
//! modules it calls) into the [`model`], keeping every span. Structural checks (unknown blocks
//! and arguments, duplicates, misplaced meta-arguments) happen here; evaluation does not:
//! config never imports `eval`. What must be known while loading (a module's `source`, a
//! description, an `optional(...)` default) is evaluated through the [`Constants`] the caller
//! passes to [`read`]; `crate::load` passes the evaluator's.

// Diagnostics are the error type of the language front end by design (they carry spans).
#![allow(clippy::result_large_err)]

mod decode;
pub(crate) use decode::terraform_habit;
mod decode_more;
mod fmt;
pub(crate) mod hcl;
mod json;
pub mod model;
mod read;
pub(crate) mod statics;
mod types;
pub mod version;

pub use fmt::format_hcl;
pub use model::*;
pub use read::{read, read_sources};
pub use statics::Constants;
pub use types::parse_type;
