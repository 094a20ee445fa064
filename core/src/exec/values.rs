//! Values as the executor moves them between plan, providers and state rows: re-marking what
//! providers return as sensitive (from the schema and the planned value's marks), converting
//! to and from [`ResourceRecord`]s with their sensitive JSON pointers, and the
//! [`AppliedValues`] view the finalizer reads. It must not call providers or the backend.
//!
//! Stored attributes keep sensitive values in clear and list their pointers in
//! `sensitive_paths`: the state must be readable back for updates and deletes; encryption at
//! rest is the state crate's job.

use crate::plan::AppliedValues;
use std::collections::HashMap;
use std::sync::RwLock;
use tarn_sdk::{Address, ResourceSchema, Value};
use tarn_state::ResourceRecord;

/// Marks as sensitive every top-level attribute the schema declares sensitive, and every path
/// that was sensitive in the planned value (a secret that flowed into a plain attribute stays
/// a secret).
pub(crate) fn remark(value: Value, schema: Option<&ResourceSchema>, planned: Option<&Value>) -> Value {
    let value = match planned {
        Some(p) => copy_marks(value, p),
        None => value,
    };
    let Some(schema) = schema else { return value };
    match value {
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| {
                    let sensitive = schema.attributes.get(&k).is_some_and(|a| a.sensitive) && !v.is_null();
                    (k, if sensitive { v.sensitive() } else { v })
                })
                .collect(),
        ),
        v => v,
    }
}

fn copy_marks(value: Value, planned: &Value) -> Value {
    match planned {
        Value::Sensitive(_) if !value.is_null() => value.sensitive(),
        Value::Map(pm) => match value {
            Value::Map(m) => Value::Map(
                m.into_iter()
                    .map(|(k, v)| match pm.get(&k) {
                        Some(p) => (k, copy_marks(v, p)),
                        None => (k, v),
                    })
                    .collect(),
            ),
            v => v,
        },
        Value::List(pl) => match value {
            Value::List(l) if l.len() == pl.len() => {
                Value::List(l.into_iter().zip(pl).map(|(v, p)| copy_marks(v, p)).collect())
            }
            v => v,
        },
        _ => value,
    }
}

/// Identity of a state row apart from its attributes.
#[derive(Debug, Clone)]
pub(crate) struct RowMeta {
    pub address: Address,
    pub provider: String,
    pub dependencies: Vec<String>,
    pub correlation: Option<String>,
}

pub(crate) fn to_record(meta: &RowMeta, value: &Value) -> ResourceRecord {
    let mut sensitive_paths = Vec::new();
    collect_sensitive(value, &mut String::new(), &mut sensitive_paths);
    ResourceRecord {
        address: meta.address.to_string(),
        mode: match meta.address.mode {
            tarn_sdk::Mode::Managed => "managed".into(),
            tarn_sdk::Mode::Data => "data".into(),
        },
        type_name: meta.address.type_name.clone(),
        provider: meta.provider.clone(),
        attributes: value.to_json_unmarked(),
        sensitive_paths,
        dependencies: meta.dependencies.clone(),
        correlation: meta.correlation.clone(),
        schema_version: 0,
    }
}

fn collect_sensitive(value: &Value, path: &mut String, out: &mut Vec<String>) {
    match value {
        Value::Sensitive(_) => out.push(if path.is_empty() { String::new() } else { path.clone() }),
        Value::Map(m) => {
            for (k, v) in m {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                collect_sensitive(v, path, out);
                path.truncate(len);
            }
        }
        Value::List(l) => {
            for (i, v) in l.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                collect_sensitive(v, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// The recorded object as a marked value.
pub(crate) fn from_record(record: &ResourceRecord) -> Value {
    let mut value = Value::from_json(&record.attributes);
    for pointer in &record.sensitive_paths {
        mark_at(&mut value, pointer);
    }
    value
}

fn mark_at(value: &mut Value, pointer: &str) {
    if pointer.is_empty() {
        let v = std::mem::take(value);
        *value = v.sensitive();
        return;
    }
    let mut cur = value;
    for raw in pointer.trim_start_matches('/').split('/') {
        let key = raw.replace("~1", "/").replace("~0", "~");
        let next = match cur {
            Value::Map(m) => m.get_mut(&key),
            Value::List(l) => key.parse::<usize>().ok().and_then(|i| l.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    let v = std::mem::take(cur);
    *cur = v.sensitive();
}

/// Prior state (rows at the start of the apply) overlaid with what this run has applied.
/// Written only by the dispatcher; read by the finalizer.
pub(crate) struct AppliedView {
    prior: HashMap<String, ResourceRecord>,
    applied: RwLock<HashMap<Address, Option<Value>>>,
    /// Whether anything will be finalized; when not, applied values are not kept.
    track: bool,
}

impl AppliedView {
    pub fn new(prior: HashMap<String, ResourceRecord>, track: bool) -> Self {
        AppliedView { prior, applied: RwLock::new(HashMap::new()), track }
    }

    pub fn prior_record(&self, address: &Address) -> Option<&ResourceRecord> {
        self.prior.get(&address.to_string())
    }

    pub fn prior_value(&self, address: &Address) -> Option<Value> {
        self.prior_record(address).map(from_record)
    }

    /// Records the object now at `address` (`None`: deleted).
    pub fn set(&self, address: &Address, value: Option<Value>) {
        if !self.track {
            return;
        }
        if let Ok(mut map) = self.applied.write() {
            map.insert(address.clone(), value);
        }
    }
}

impl AppliedValues for AppliedView {
    fn get(&self, address: &Address) -> Option<Value> {
        if let Ok(map) = self.applied.read()
            && let Some(v) = map.get(address)
        {
            return v.clone();
        }
        self.prior_value(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_sdk::{AttributeSchema, Type};

    #[test]
    fn record_round_trip_keeps_sensitive_paths() {
        let schema = ResourceSchema::new("t").attr("pw", AttributeSchema::optional(Type::String, "").sensitive());
        let planned = Value::map([("tags", Value::map([("a/b", Value::string("x").sensitive())]))]);
        let got = Value::map([
            ("pw", Value::string("hunter2")),
            ("tags", Value::map([("a/b", Value::string("x"))])),
            ("n", Value::Number(1.0)),
        ]);
        let marked = remark(got, Some(&schema), Some(&planned));
        let meta = RowMeta { address: Address::managed("t", "a"), provider: "t".into(), dependencies: vec![], correlation: None };
        let rec = to_record(&meta, &marked);
        assert_eq!(rec.sensitive_paths, vec!["/pw".to_string(), "/tags/a~1b".to_string()]);
        assert_eq!(rec.attributes["pw"], "hunter2");
        assert_eq!(from_record(&rec), marked);
    }
}
