//! Typed access to a call's arguments after dispatch has checked arity and types. It owns the
//! wording of "Invalid value for ... parameter" errors; it must not decide marks or conversions.

use super::table::Spec;
use super::{FuncContext, FuncError};
use indexmap::IndexMap;
use tarn_sdk::{Number, Value};

/// Builds the error that blames parameter `name` (argument `index`).
pub(crate) fn param_error(name: &str, index: usize, msg: &str) -> FuncError {
    FuncError { arg: Some(index), message: format!("Invalid value for \"{name}\" parameter: {msg}") }
}

/// A call's arguments, with the function's declaration at hand for error messages.
pub(crate) struct Args<'a> {
    spec: &'static Spec,
    vals: Vec<Value>,
    pub ctx: &'a FuncContext<'a>,
}

const NULL: Value = Value::Null;

impl<'a> Args<'a> {
    pub fn new(spec: &'static Spec, vals: Vec<Value>, ctx: &'a FuncContext<'a>) -> Args<'a> {
        Args { spec, vals, ctx }
    }

    pub fn len(&self) -> usize {
        self.vals.len()
    }

    /// Argument `i`, or null if absent (arity was checked; this never hides a missing argument).
    pub fn get(&self, i: usize) -> &Value {
        self.vals.get(i).unwrap_or(&NULL)
    }

    /// Arguments from `i` on: the variadic tail.
    pub fn rest(&self, i: usize) -> &[Value] {
        self.vals.get(i..).unwrap_or(&[])
    }

    pub fn all(&self) -> &[Value] {
        &self.vals
    }

    /// An error blaming argument `i` by its parameter name.
    pub fn err(&self, i: usize, msg: impl AsRef<str>) -> FuncError {
        let name = self.spec.param(i).map(|p| p.name).unwrap_or("argument");
        param_error(name, i, msg.as_ref())
    }

    pub fn str(&self, i: usize) -> Result<&str, FuncError> {
        self.get(i).as_str().ok_or_else(|| self.err(i, "string required."))
    }

    /// The number, exact (Terraform's arbitrary precision).
    pub fn number(&self, i: usize) -> Result<&Number, FuncError> {
        self.get(i).as_number().ok_or_else(|| self.err(i, "number required."))
    }

    /// The number as the nearest f64, for Terraform's functions that compute in Go's float64.
    pub fn num(&self, i: usize) -> Result<f64, FuncError> {
        self.number(i).map(Number::to_f64)
    }

    /// A number that must be whole, as Terraform requires for offsets, counts and indexes.
    pub fn int(&self, i: usize) -> Result<i64, FuncError> {
        self.number(i)?.to_i64().ok_or_else(|| self.err(i, "value must be a whole number."))
    }

    pub fn list(&self, i: usize) -> Result<&[Value], FuncError> {
        self.get(i).as_list().ok_or_else(|| self.err(i, "list required."))
    }

    /// A list or tuple argument (a `Ty::Seq` parameter): a set is refused with `set_msg`, the
    /// message Terraform gives for it (`{}` stands for the set's type, e.g. `set of string`).
    pub fn seq(&self, i: usize, set_msg: &str) -> Result<&[Value], FuncError> {
        match self.get(i).unmark().0 {
            Value::List(items) => Ok(items),
            Value::Set(items) => Err(self.err(i, set_msg.replace("{}", &set_type(items)))),
            _ => Err(self.err(i, "list required.")),
        }
    }

    pub fn map(&self, i: usize) -> Result<&IndexMap<String, Value>, FuncError> {
        self.get(i).as_map().ok_or_else(|| self.err(i, "map required."))
    }

    /// Every element of list argument `i` as a string (numbers and bools converted).
    pub fn str_list(&self, i: usize) -> Result<Vec<String>, FuncError> {
        self.list(i)?
            .iter()
            .enumerate()
            .map(|(k, v)| elem_string(v).map_err(|why| self.err(i, format!("element {k} {why}"))))
            .collect()
    }
}

/// Converts a number to an integer when it is whole and within i64's exact range.
pub(crate) fn to_int(n: f64) -> Option<i64> {
    if n.is_finite() && n.fract() == 0.0 && n.abs() <= 9.007_199_254_740_992e15 { Some(n as i64) } else { None }
}

/// An element of a list of strings, converted the way Terraform converts primitives.
pub(crate) fn elem_string(v: &Value) -> Result<String, &'static str> {
    match v.unmark().0 {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_text()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("is null; a string is required."),
        _ => Err("must be a string."),
    }
}

/// Terraform's name of a set's type, for messages: `set of string`, `set of number`, ... (a
/// set of mixed or collection elements is `set of dynamic`, as cty names what it cannot tell).
pub(crate) fn set_type(items: &[Value]) -> String {
    let kinds: Vec<&str> =
        items.iter().filter(|v| !v.is_null() && v.is_wholly_known()).map(|v| v.unmark().0.type_name()).collect();
    match kinds.first() {
        Some(k) if matches!(*k, "string" | "number" | "bool") && kinds.iter().all(|x| x == k) => format!("set of {k}"),
        _ => "set of dynamic".into(),
    }
}
