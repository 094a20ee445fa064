//! tarn-plugin: external providers. A plugin is any executable that speaks tarn's plugin
//! protocol — JSON-RPC 2.0 over its stdin and stdout, one JSON object per line — described in
//! docs/plugin-protocol.md. [`PluginProvider`] implements the [`tarn_sdk::Provider`] trait over
//! such a process, so the engine treats plugins exactly like built-in providers.
//!
//! Owns the protocol (`protocol`, `wire`, `schema`), the process and its conversation
//! (`connection`), the provider (`provider`), finding plugins (`plugin`) and the conformance
//! suite any plugin can be run through (`check`). It must not know about configuration files,
//! plans or state: the CLI decides which plugins a configuration uses.

pub mod check;
pub mod connection;
pub mod plugin;
pub mod protocol;
pub mod provider;
pub mod redact;
pub mod schema;
pub mod wire;

pub use connection::{Failure, Launch, Timeouts};
pub use plugin::{EXEC_SOURCE, PATH_VAR, PREFIX, Plugin, exec_source, find, search};
pub use provider::PluginProvider;
