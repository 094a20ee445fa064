//! tarn-provider-fault: a fault-injecting provider for executor tests, crash tests and
//! benchmarks. It must never be used for real infrastructure, and it must stay deterministic:
//! every fault is switched on by configuration, nothing happens at random.
//!
//! Resource `fault_object`: `name`, `value` (updated in place), `replace_key` (forces
//! replacement), per-object knobs, and a computed `id`. Knobs (all optional, updatable in place):
//! - `latency_ms`: sleep this long in create, update, delete and read (overrides the provider's).
//! - `fail_create` / `fail_update` / `fail_delete`: the call fails with a Permanent error and
//!   changes nothing. `fail_update` is taken from the *planned* values, `fail_delete` from the
//!   recorded state, so a rollback that updates back to the prior values succeeds.
//! - `partial_create`: the object is stored, then create returns `PartiallyCreated` with its state.
//! - `hang_create`: the object is stored, then create never returns: a timeout or a `kill -9`
//!   leaves an object that only `adopt` can find, which is exactly the crash case to test.
//! - `fail_create_times = N`: the first N create attempts fail with a Transient error. Attempts
//!   are counted per distinct planned configuration (not per correlation, which an executor may
//!   renew on retry), so give objects of one test distinct `name`s to count them separately.
//!
//! Provider block (`configure`): `dir` (objects persist as `<dir>/<id>.json`, written atomically,
//! holding the attributes and the correlation tag, so they survive a `kill -9` of tarn and tests
//! can list what really exists; without `dir` objects live in memory), `latency_ms` (default for
//! every call, adopt and import included), `fail_on_call = N` (the Nth create/update/delete call
//! overall fails, once; reads are not counted), and `fail_on_call_class` (`permanent`, the
//! default, or `transient`).
//!
//! Contract details: `read` of a missing object is `Ok(None)` and returns the stored attributes
//! as they are, so editing or deleting a file is drift. `delete` of a missing object succeeds.
//! `adopt` scans the store for the request's correlation. Every call is counted and checked for
//! overlap (two operations on one object at once) through [`FaultProvider::stats`]: an object is
//! known by its correlation while it is being created and by its id afterwards; `max_in_flight`
//! counts operations of every kind on every object. Tests can skip `configure` with
//! [`FaultProvider::with_settings`] and list what exists with [`FaultProvider::objects`].

mod knobs;
mod provider;
mod schema;
mod stats;
mod store;

pub use knobs::{ObjectKnobs, Settings};
pub use provider::FaultProvider;
pub use schema::provider_schema;
pub use stats::FaultStats;
pub use store::StoredObject;

use std::sync::Arc;
use tarn_sdk::Provider;

pub const RESOURCE: &str = "fault_object";

/// The provider as the CLI registers it. Tests that need [`FaultProvider::stats`] keep an
/// `Arc<FaultProvider>` instead and coerce it to `Arc<dyn Provider>`.
pub fn provider() -> Arc<dyn Provider> {
    Arc::new(FaultProvider::new())
}

#[cfg(test)]
mod tests;
