//! Planning: from configuration × prior (refreshed) state × provider schemas to a [`Plan`]:
//! one [`ResourceChange`] per resource instance and the execution graph apply will run.
//! Pure and synchronous; refresh (provider reads) happens before, in async code.

pub mod model;

pub use model::*;
