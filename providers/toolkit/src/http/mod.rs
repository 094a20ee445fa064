//! The provider toolkit's HTTP side: a JSON client with retries, pacing and redacted logging,
//! vendor error extraction, and collection pagination in the four vendor styles.
//!
//! Declares and re-exports only; logic lives in the named files. Nothing here knows a vendor's
//! resource paths: provider crates build on it.

pub mod budget;
pub mod client;
pub mod errors;
pub mod paginate;
pub mod pinned;
pub mod redact;
pub mod retry;

/// The call's secrets, from the contract (`tarn_sdk::http::Secrets` is where providers found it).
pub use crate::secrets::Secrets;
pub use budget::RequestBudget;
pub use client::{Client, ClientBuilder, Request, Response};
pub use errors::{class_for_status, vendor_message};
pub use paginate::{Paging, all_pages};
pub use redact::{SecretHeader, redact_url, redact_url_with};
/// The HTTP method type requests are built with, so providers need no reqwest dependency.
pub use reqwest::Method;
pub use retry::RetryPolicy;

// These drive the client against the emulator harness.
#[cfg(all(test, feature = "sim"))]
mod paginate_tests;
#[cfg(all(test, feature = "sim"))]
mod tests;
