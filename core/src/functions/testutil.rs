//! Helpers shared by the per-family tests: value constructors and call shorthands.

use super::{FuncContext, FuncError};
use std::path::Path;
use tarn_sdk::Value;

pub fn s(x: &str) -> Value {
    Value::string(x)
}
pub fn n(x: f64) -> Value {
    Value::number(x)
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
/// A set of strings, given in set order.
pub fn ss(items: &[&str]) -> Value {
    Value::Set(items.iter().map(|x| s(x)).collect())
}
pub fn m(entries: Vec<(&str, Value)>) -> Value {
    Value::map(entries)
}

/// The run's working directory the helpers below give the functions (not the process's).
pub const RUN_CWD: &str = "/run/cwd";
/// The run's home directory the helpers below give the functions (not the process's `HOME`).
pub const RUN_HOME: &str = "/run/home";

/// Calls `name` with `dir` as module directory and [`RUN_CWD`], [`RUN_HOME`] as the run's.
pub fn call_in(dir: &Path, name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
    let ctx = FuncContext { module_dir: dir, cwd: Some(Path::new(RUN_CWD)), home: Some(Path::new(RUN_HOME)) };
    match super::call(name, args, &ctx) {
        Some(r) => r,
        None => panic!("no function {name}"),
    }
}
/// Calls `name` where the run gave no working or home directory (constants, validation).
pub fn call_outside_run(name: &str, args: Vec<Value>) -> Result<Value, FuncError> {
    let ctx = FuncContext { module_dir: Path::new("."), cwd: None, home: None };
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
