//! The Provisioning Engine's REST contract as tarn serves it: the JSON Schemas of
//! `specs/provisioning-engine/schemas/` compiled in and validated with `jsonschema`, the API
//! version, and the error answer every failure takes (`schemas/error.json`:
//! `{"error": "...", "message": ...}`) with the original server's wording.
//!
//! Knows the contract's shapes, not tarn's runs.

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

pub const RUNTIME_SCHEMA: &str = include_str!("../../specs/provisioning-engine/schemas/serverless_runtime.json");
pub const CONFIG_SCHEMA: &str = include_str!("../../specs/provisioning-engine/schemas/config.json");

/// The version of the API served (`info.version` of `api.yaml`, the original's `VERSION`).
pub const API_VERSION: &str = "1.3.3";

pub const SR: &str = "Serverless Runtime";
pub const NOT_FOUND: &str = "Serverless Runtime not found";

/// The compiled schemas.
pub struct Contract {
    pub runtime_schema: Json,
    runtime: jsonschema::Validator,
    config: jsonschema::Validator,
}

impl Contract {
    /// The contract, compiled once (the schemas are part of the binary).
    pub fn get() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let runtime_schema: Json = serde_json::from_str(RUNTIME_SCHEMA).unwrap_or(Json::Null);
            let config_schema: Json = serde_json::from_str(CONFIG_SCHEMA).unwrap_or(Json::Null);
            let compile = |s: &Json| jsonschema::validator_for(s).unwrap_or_else(|_| permissive());
            Contract { runtime: compile(&runtime_schema), config: compile(&config_schema), runtime_schema }
        })
    }

    /// A request body against `serverless_runtime.json`: the problems, in one sentence each.
    pub fn check_runtime(&self, body: &Json) -> Result<(), String> {
        problems(&self.runtime, body)
    }

    pub fn check_config(&self, conf: &Json) -> Result<(), String> {
        problems(&self.config, conf)
    }
}

/// A validator that accepts everything; never used: the compiled-in schemas compile (tested).
fn permissive() -> jsonschema::Validator {
    jsonschema::validator_for(&json!({})).expect("the empty schema compiles")
}

fn problems(validator: &jsonschema::Validator, value: &Json) -> Result<(), String> {
    let found: Vec<String> = validator
        .iter_errors(value)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() { e.to_string() } else { format!("{at}: {e}") }
        })
        .collect();
    if found.is_empty() { Ok(()) } else { Err(found.join("; ")) }
}

/// An error answer: status, `error` (what failed) and `message` (why: text or a document).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub message: Json,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>, message: impl Into<Json>) -> ApiError {
        ApiError { status, error: error.into(), message: message.into() }
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, NOT_FOUND, "")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(json!({"error": self.error, "message": self.message}))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_compiled_in_schemas_compile_and_judge_the_contract_example() {
        for text in [RUNTIME_SCHEMA, CONFIG_SCHEMA] {
            let schema: Json = serde_json::from_str(text).unwrap();
            assert!(jsonschema::validator_for(&schema).is_ok());
        }
        let example: Json =
            serde_json::from_str(include_str!("../../specs/provisioning-engine/examples/serverless-runtime.json"))
                .unwrap();
        let contract = Contract::get();
        assert_eq!(contract.check_runtime(&example), Ok(()));
        let bad = json!({"SERVERLESS_RUNTIME": {"FAAS": {"CPU": "two"}}});
        let err = contract.check_runtime(&bad).unwrap_err();
        assert!(err.contains("FLAVOUR") && err.contains("CPU"), "{err}");
    }
}
