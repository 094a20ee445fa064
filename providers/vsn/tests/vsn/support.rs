//! Shared helpers: a configured provider for a [`TestVsn`], and request builders.

use std::sync::Arc;

use tarn_provider_vsn::testing::TestVsn;
use tarn_sdk::{CreateRequest, DeleteRequest, Provider, ReadRequest, Value};

pub fn vsn() -> TestVsn {
    TestVsn::start().unwrap_or_else(|e| panic!("the VSN test harness could not start: {e}"))
}

pub async fn configured(vsn: &TestVsn) -> Arc<dyn Provider> {
    let p = tarn_provider_vsn::provider();
    p.configure(vsn.provider_config().unwrap()).await.unwrap_or_else(|e| panic!("configure: {}", e.message));
    p
}

pub fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

pub fn strings(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::string(*s)).collect())
}

/// Plans (the provider's refinement) then creates.
pub async fn create(p: &Arc<dyn Provider>, type_name: &str, config: Value, correlation: &str) -> Value {
    let planned = p
        .plan(tarn_sdk::PlanRequest { type_name: type_name.into(), prior: None, proposed: config })
        .await
        .unwrap_or_else(|e| panic!("plan {type_name}: {}", e.message))
        .planned;
    p.create(CreateRequest { type_name: type_name.into(), planned, correlation: correlation.into() })
        .await
        .unwrap_or_else(|e| panic!("create {type_name}: {}", e.message))
}

pub async fn read(p: &Arc<dyn Provider>, type_name: &str, state: &Value) -> Option<Value> {
    p.read(ReadRequest { type_name: type_name.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("read: {}", e.message))
}

pub async fn delete(p: &Arc<dyn Provider>, type_name: &str, state: &Value) {
    p.delete(DeleteRequest { type_name: type_name.into(), state: state.clone() })
        .await
        .unwrap_or_else(|e| panic!("delete: {}", e.message))
}
