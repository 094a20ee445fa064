//! Provider calls the tests make, over the harness in `tarn_provider_pond::testing`.

use std::sync::Arc;

pub use tarn_provider_pond::testing::*;
use tarn_sdk::{CreateRequest, DeleteRequest, Provider, ReadRequest, UpdateRequest, Value};

pub fn provider() -> Arc<dyn Provider> {
    tarn_provider_pond::provider()
}

pub async fn create(p: &Arc<dyn Provider>, type_name: &str, config: Value) -> Result<Value, String> {
    p.create(CreateRequest { type_name: type_name.into(), planned: config, correlation: "c".into() })
        .await
        .map_err(|e| e.message)
}

pub async fn update(p: &Arc<dyn Provider>, type_name: &str, prior: &Value, planned: Value) -> Result<Value, String> {
    p.update(UpdateRequest { type_name: type_name.into(), prior: prior.clone(), planned }).await.map_err(|e| e.message)
}

pub async fn read(p: &Arc<dyn Provider>, type_name: &str, state: &Value) -> Option<Value> {
    p.read(ReadRequest { type_name: type_name.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("read {type_name}: {}", e.message))
}

pub async fn delete(p: &Arc<dyn Provider>, type_name: &str, state: &Value) {
    p.delete(DeleteRequest { type_name: type_name.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("delete {type_name}: {}", e.message))
}
