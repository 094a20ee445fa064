//! The opennebula provider against its emulator over real HTTP on 127.0.0.1, and the emulator
//! against the vendor's files. One test binary, a module per concern:
//!
//! - `clients` — the oned XML-RPC and OneFlow clients: envelopes, error codes and classes,
//!   VM states over time, documents, the asynchronous undeploy, fault switches and retries
//! - `runtime` — opennebula_serverless_runtime through the Provider trait: plan (unknown
//!   flavour), create (Function, Function-Data, what the VM gets), FAILED_DEPLOY, DenyVMTemplate,
//!   time-out, resize in place and its limits, new flavours, scheduling, delete, drift, adopt, import
//! - `machines` — the emulator's state machines over time: service and roles (PENDING →
//!   DEPLOYING → RUNNING, FAILED_DEPLOYING recovered or deleted, WARNING and back, the
//!   asynchronous undeploy), VM states (PROLOG, BOOT, POWEROFF and back, SHUTDOWN → DONE), the
//!   document pool, every fault switch; each exchange checked by `vendor`
//! - `spec` — the provider's whole lifecycle and a few raw calls, each exchange checked by `vendor`
//! - `vendor` — the checker: every OneFlow answer and XML-RPC envelope against
//!   opennebula-oneflow-xmlrpc.subset.yaml and the extract, every XML answer against the XSDs (xmllint)
//! - `logs` — the password (and SR_AUTH) never reach the log, even at trace level

mod common;

mod clients;
mod logs;
mod machines;
mod runtime;
mod spec;
mod vendor;
