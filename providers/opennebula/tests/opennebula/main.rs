//! The opennebula provider against its emulator over real HTTP on 127.0.0.1, and the emulator
//! against the vendor's files. One test binary, a module per concern:
//!
//! - `clients` — the oned XML-RPC and OneFlow clients: envelopes, error codes and classes,
//!   VM states over time, documents, the asynchronous undeploy, fault switches and retries
//! - `runtime` — opennebula_serverless_runtime through the Provider trait: plan (unknown
//!   flavour), create (Function, Function-Data, what the VM gets), FAILED_DEPLOY, DenyVMTemplate,
//!   time-out, resize in place and its limits, new flavours, scheduling, delete, drift, adopt, import
//! - `spec` — every OneFlow answer and XML-RPC envelope checked against
//!   opennebula-oneflow-xmlrpc.subset.yaml and the extract, every XML answer against the XSDs (xmllint)
//! - `logs` — the password (and SR_AUTH) never reach the log, even at trace level

mod common;

mod clients;
mod logs;
mod runtime;
mod spec;
