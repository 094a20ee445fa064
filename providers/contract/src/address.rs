//! Resource instance addresses: `module.net.scaleway_server.web["a"]`, `data.local_file.x[0]`.
//!
//! `Display` is exactly the user's syntax and `FromStr` parses it back, so an address printed in
//! a message can be pasted into `--target`. This module must not know about configuration.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The key of one instance of a `count` (Int) or `for_each` (Str) resource or module.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "key", rename_all = "snake_case")]
pub enum InstanceKey {
    Int(i64),
    Str(String),
}

impl fmt::Display for InstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{s:?}]"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Managed,
    Data,
}

/// One `module.NAME[KEY]` step of a module path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModuleStep {
    pub name: String,
    pub key: Option<InstanceKey>,
}

/// The address of a resource instance (or, with `key: None` on a counted resource, of the block).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Address {
    pub module: Vec<ModuleStep>,
    pub mode: Mode,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl Address {
    pub fn managed(type_name: impl Into<String>, name: impl Into<String>) -> Address {
        Address { module: Vec::new(), mode: Mode::Managed, type_name: type_name.into(), name: name.into(), key: None }
    }

    pub fn data(type_name: impl Into<String>, name: impl Into<String>) -> Address {
        Address { mode: Mode::Data, ..Address::managed(type_name, name) }
    }

    pub fn with_key(mut self, key: Option<InstanceKey>) -> Address {
        self.key = key;
        self
    }

    /// The address of the resource block this instance belongs to (key removed).
    pub fn block(&self) -> Address {
        Address { key: None, ..self.clone() }
    }

    /// The provider name implied by the type: `null_resource` → `null`.
    pub fn implied_provider(&self) -> &str {
        self.type_name.split('_').next().unwrap_or(&self.type_name)
    }

    /// True when `self` is `other`, or an instance of the block `other` names.
    pub fn is_within(&self, other: &Address) -> bool {
        self.module == other.module
            && self.mode == other.mode
            && self.type_name == other.type_name
            && self.name == other.name
            && (other.key.is_none() || self.key == other.key)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.module {
            write!(f, "module.{}", step.name)?;
            if let Some(k) = &step.key {
                write!(f, "{k}")?;
            }
            f.write_str(".")?;
        }
        if self.mode == Mode::Data {
            f.write_str("data.")?;
        }
        write!(f, "{}.{}", self.type_name, self.name)?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {reason}")]
pub struct AddressParseError {
    pub input: String,
    pub reason: &'static str,
}

impl FromStr for Address {
    type Err = AddressParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| AddressParseError { input: input.to_string(), reason };
        let mut rest = input.trim();
        let mut module = Vec::new();
        while let Some(after) = rest.strip_prefix("module.") {
            let (name, tail) = split_ident(after).ok_or_else(|| err("expected a module name after `module.`"))?;
            let (key, tail) = parse_key(tail).map_err(err)?;
            module.push(ModuleStep { name: name.to_string(), key });
            rest = tail.strip_prefix('.').ok_or_else(|| err("expected `.` after the module step"))?;
        }
        let mut mode = Mode::Managed;
        if let Some(after) = rest.strip_prefix("data.") {
            mode = Mode::Data;
            rest = after;
        }
        let (type_name, tail) = split_ident(rest).ok_or_else(|| err("expected a resource type"))?;
        let tail = tail.strip_prefix('.').ok_or_else(|| err("expected `TYPE.NAME`"))?;
        let (name, tail) = split_ident(tail).ok_or_else(|| err("expected a resource name"))?;
        let (key, tail) = parse_key(tail).map_err(err)?;
        if !tail.is_empty() {
            return Err(err("unexpected text after the address"));
        }
        Ok(Address { module, mode, type_name: type_name.to_string(), name: name.to_string(), key })
    }
}

fn split_ident(s: &str) -> Option<(&str, &str)> {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '-'))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], &s[end..]))
}

fn parse_key(s: &str) -> Result<(Option<InstanceKey>, &str), &'static str> {
    let Some(inner) = s.strip_prefix('[') else { return Ok((None, s)) };
    let close = inner.find(']').ok_or("unclosed `[`")?;
    let raw = &inner[..close];
    let key = if let Some(q) = raw.strip_prefix('"') {
        InstanceKey::Str(q.strip_suffix('"').ok_or("unterminated string key")?.replace("\\\"", "\""))
    } else {
        InstanceKey::Int(raw.parse().map_err(|_| "an instance key is a number or a quoted string")?)
    };
    Ok((Some(key), &inner[close + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for s in [
            "null_resource.a",
            "null_resource.a[3]",
            "data.local_file.x[\"k\"]",
            "module.net[\"eu\"].module.db.vsn_container.web[0]",
        ] {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_string(), s);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!("null_resource".parse::<Address>().is_err());
        assert!("a.b[x]".parse::<Address>().is_err());
        assert!("a.b[1".parse::<Address>().is_err());
    }

    #[test]
    fn within_block_and_module() {
        let i: Address = "module.m.null_resource.a[2]".parse().unwrap();
        assert!(i.is_within(&"module.m.null_resource.a".parse().unwrap()));
        assert!(!i.is_within(&"null_resource.a".parse().unwrap()));
        assert!(!i.is_within(&"module.m.null_resource.a[1]".parse().unwrap()));
    }
}
