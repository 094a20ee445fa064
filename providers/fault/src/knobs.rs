//! Reading settings and knobs out of values: the provider block's [`Settings`] and one object's
//! [`ObjectKnobs`]. A value of the wrong type is a Permanent error with a full sentence, never a
//! panic and never a silent default.

use std::path::PathBuf;
use std::time::Duration;
use tarn_sdk::{ErrorClass, ProviderError, Value};

/// The provider block, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub dir: Option<PathBuf>,
    pub latency: Duration,
    pub fail_on_call: Option<u64>,
    pub fail_on_call_class: ErrorClass,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { dir: None, latency: Duration::ZERO, fail_on_call: None, fail_on_call_class: ErrorClass::Permanent }
    }
}

const BLOCK: &str = "the fault provider block";

impl Settings {
    pub fn from_config(config: &Value) -> Result<Settings, ProviderError> {
        if !config.is_null() && config.as_map().is_none() {
            return Err(ProviderError::permanent(format!(
                "The configuration of {BLOCK} must be an object, but it is a {}.",
                config.type_name()
            )));
        }
        let class = match string(config, "fail_on_call_class", BLOCK)? {
            None | Some("permanent") => ErrorClass::Permanent,
            Some("transient") => ErrorClass::Transient,
            Some(other) => {
                return Err(ProviderError::permanent(format!(
                    "The attribute fail_on_call_class of {BLOCK} must be \"permanent\" or \"transient\", but it is \"{other}\"."
                )));
            }
        };
        Ok(Settings {
            dir: string(config, "dir", BLOCK)?.map(PathBuf::from),
            latency: millis(config, "latency_ms", BLOCK)?.unwrap_or(Duration::ZERO),
            fail_on_call: count(config, "fail_on_call", BLOCK)?,
            fail_on_call_class: class,
        })
    }
}

/// One object's fault knobs, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectKnobs {
    pub latency: Option<Duration>,
    pub fail_create: bool,
    pub fail_update: bool,
    pub fail_delete: bool,
    pub partial_create: bool,
    pub hang_create: bool,
    pub fail_create_times: u64,
}

impl ObjectKnobs {
    /// Reads the knobs of a `fault_object` and checks its plain attributes' types too, so that
    /// what is stored always matches the schema.
    pub fn from_object(object: &Value) -> Result<ObjectKnobs, ProviderError> {
        let owner = crate::RESOURCE;
        if !object.is_null() && object.as_map().is_none() {
            return Err(ProviderError::permanent(format!(
                "A {owner} must be an object of attributes, but it is a {}.",
                object.type_name()
            )));
        }
        for attr in ["name", "value", "replace_key"] {
            string(object, attr, owner)?;
        }
        Ok(ObjectKnobs {
            latency: millis(object, "latency_ms", owner)?,
            fail_create: flag(object, "fail_create", owner)?,
            fail_update: flag(object, "fail_update", owner)?,
            fail_delete: flag(object, "fail_delete", owner)?,
            partial_create: flag(object, "partial_create", owner)?,
            hang_create: flag(object, "hang_create", owner)?,
            fail_create_times: count(object, "fail_create_times", owner)?.unwrap_or(0),
        })
    }
}

fn present<'a>(object: &'a Value, attr: &str) -> Option<&'a Value> {
    object.get(attr).map(|v| v.unmark().0).filter(|v| !v.is_null())
}

fn wrong(attr: &str, owner: &str, expected: &str, got: &Value) -> ProviderError {
    ProviderError::permanent(format!(
        "The attribute {attr} of {owner} must be {expected}, but it is a {}.",
        got.type_name()
    ))
}

fn string<'a>(object: &'a Value, attr: &str, owner: &str) -> Result<Option<&'a str>, ProviderError> {
    match present(object, attr) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong(attr, owner, "a string", other)),
    }
}

fn flag(object: &Value, attr: &str, owner: &str) -> Result<bool, ProviderError> {
    match present(object, attr) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(wrong(attr, owner, "a bool", other)),
    }
}

fn count(object: &Value, attr: &str, owner: &str) -> Result<Option<u64>, ProviderError> {
    match present(object, attr) {
        None => Ok(None),
        Some(Value::Number(n)) if n.to_u64().is_some_and(|u| u < 9_000_000_000_000_000) => Ok(n.to_u64()),
        Some(Value::Number(n)) => Err(ProviderError::permanent(format!(
            "The attribute {attr} of {owner} must be a non-negative whole number, but it is {n}."
        ))),
        Some(other) => Err(wrong(attr, owner, "a number", other)),
    }
}

fn millis(object: &Value, attr: &str, owner: &str) -> Result<Option<Duration>, ProviderError> {
    match present(object, attr) {
        None => Ok(None),
        // A day is far beyond any useful test latency; the cap keeps Duration arithmetic safe.
        Some(Value::Number(n)) if (0.0..=86_400_000.0).contains(&n.to_f64()) => {
            Ok(Some(Duration::from_micros((n.to_f64() * 1000.0) as u64)))
        }
        Some(Value::Number(n)) => Err(ProviderError::permanent(format!(
            "The attribute {attr} of {owner} must be a number of milliseconds between 0 and 86400000, but it is {n}."
        ))),
        Some(other) => Err(wrong(attr, owner, "a number of milliseconds", other)),
    }
}
