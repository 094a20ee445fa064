//! Helpers shared by the per-family tests: value constructors and call shorthands.

use super::{FuncContext, FuncError};
use std::path::Path;
use tarn_sdk::Value;

pub fn s(x: &str) -> Value {
    Value::string(x)
}
pub fn n(x: f64) -> Value {
    Value::Number(x)
}
pub fn b(x: bool) -> Value {
    Value::Bool(x)
}
pub fn l(items: Vec<Value>) -> Value {
    Value::List(items)
}
pub fn sl(items: &[&str]) -> Value {
    Value::List(items.iter().map(|x| s(x)).collect())
}
pub fn m(entries: Vec<(&str, Value)>) -> Value {
    Value::map(entries)
}

/// Calls `name` with the current directory as module directory.
pub fn call_in(dir: &Path, name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
    let ctx = FuncContext { module_dir: dir };
    match super::call(name, args, &ctx) {
        Some(r) => r,
        None => panic!("no function {name}"),
    }
}
pub fn call(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
    call_in(Path::new("."), name, args)
}
pub fn ok(name: &str, args: Vec<Value>) -> Value {
    match call(name, args) {
        Ok(v) => v,
        Err(e) => panic!("{name} failed: {}", e.message),
    }
}
pub fn err(name: &str, args: Vec<Value>) -> String {
    match call(name, args) {
        Ok(v) => panic!("{name} unexpectedly returned {v}"),
        Err(e) => e.message,
    }
}
