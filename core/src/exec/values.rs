//! Values as the executor moves them between plan, providers and state rows: re-marking what
//! providers return as sensitive (from the schema and the planned value's marks), converting
//! to and from [`ResourceRecord`]s (through the planner's `statevalue`, the one definition of
//! the row format), and the [`AppliedValues`] view the finalizer reads. It must not call
//! providers or the backend.
//!
//! Stored attributes keep sensitive values in clear and list their pointers in
//! `sensitive_paths`: the state must be readable back for updates and deletes; encryption at
//! rest is the state crate's job.

use crate::plan::{AppliedValues, Schemas, statevalue};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::RwLock;
use tarn_sdk::{Address, Mode, ResourceSchema, Value};
use tarn_state::ResourceRecord;

/// Marks as sensitive every top-level attribute the schema declares sensitive, and every path
/// that was sensitive in the planned value (a secret that flowed into a plain attribute stays
/// a secret).
pub(crate) fn remark(value: Value, schema: Option<&ResourceSchema>, planned: Option<&Value>) -> Value {
    let value = match planned {
        Some(p) if p.contains_sensitive() => statevalue::apply_sensitive_paths(value, &statevalue::sensitive_paths(p)),
        _ => value,
    };
    match schema {
        Some(schema) => statevalue::mark_sensitive(value, schema),
        None => value,
    }
}

/// Resource and data-source schemas, found by provider configuration key and address without
/// allocating. Built once per apply from the planner's `Schemas` (by provider name).
#[derive(Default)]
pub(crate) struct SchemaIndex {
    by_provider: HashMap<String, TypeSchemas>,
}

/// One provider's schemas: (resource types, data-source types).
type TypeSchemas = (HashMap<String, Arc<ResourceSchema>>, HashMap<String, Arc<ResourceSchema>>);

impl SchemaIndex {
    pub fn new(schemas: &Schemas) -> Self {
        let arcs = |m: &indexmap::IndexMap<String, ResourceSchema>| {
            m.iter().map(|(k, v)| (k.clone(), Arc::new(v.clone()))).collect()
        };
        SchemaIndex {
            by_provider: schemas
                .iter()
                .map(|(name, p)| (name.clone(), (arcs(&p.resources), arcs(&p.data_sources))))
                .collect(),
        }
    }

    pub fn get(&self, provider_key: &str, address: &Address) -> Option<&Arc<ResourceSchema>> {
        let (resources, data) = self.by_provider.get(provider_name(provider_key))?;
        match address.mode {
            Mode::Managed => resources.get(&address.type_name),
            Mode::Data => data.get(&address.type_name),
        }
    }
}

/// `module.a.module.b.null.x` → `null`.
fn provider_name(mut key: &str) -> &str {
    while let Some(after) = key.strip_prefix("module.") {
        match after.split_once('.') {
            Some((_, tail)) => key = tail,
            None => break,
        }
    }
    key.split('.').next().unwrap_or(key)
}

/// Whether a planned value holds unknowns the provider will not fill itself, so the finalizer
/// must compute them: any unknown except at a top-level computed-only attribute.
pub(crate) fn needs_finalize(planned: &Value, schema: Option<&ResourceSchema>) -> bool {
    match (planned.unmark().0, schema) {
        (Value::Map(m), Some(schema)) => m.iter().any(|(k, v)| {
            let provider_computes = schema.attributes.get(k).is_some_and(|a| a.computed && !a.optional);
            !(v.is_wholly_known() || provider_computes && v.is_unknown())
        }),
        (v, _) => !v.is_wholly_known(),
    }
}

/// The value sent to the provider: unknowns at computed attributes become null (the provider
/// computes them); an unknown anywhere else is an error naming the attribute.
pub(crate) fn settle_computed(value: Value, schema: Option<&ResourceSchema>) -> Result<Value, String> {
    let unknown_at = |path: &str| {
        format!("`{path}` is still unknown after everything it depends on was applied; this is a bug in tarn")
    };
    match value {
        Value::Map(m) => m
            .into_iter()
            .map(|(k, v)| {
                let computed = schema.and_then(|s| s.attributes.get(&k)).is_some_and(|a| a.computed);
                if v.is_unknown() && computed {
                    Ok((k, Value::Null))
                } else if v.is_wholly_known() {
                    Ok((k, v))
                } else {
                    Err(unknown_at(&k))
                }
            })
            .collect::<Result<_, _>>()
            .map(Value::Map),
        v if v.is_wholly_known() => Ok(v),
        _ => Err(unknown_at("the whole value")),
    }
}

/// The deposed key under which a create_before_destroy replacement sets the old object aside:
/// 8 hex digits, random through the run id, and the same for every op of one change in one
/// run (the create that deposes, the delete that removes, the rollback that restores).
pub(crate) fn deposed_key(run_id: &str, change: u32) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{run_id}/{change}").as_bytes());
    hex::encode(&digest[..4])
}

/// Whether two rows hold the same object (a deposed row that duplicates the current one is
/// what a run killed between deposing and creating, or between restoring and un-deposing,
/// leaves; it is dropped, never deleted through the provider).
pub(crate) fn same_object(a: &ResourceRecord, b: &ResourceRecord) -> bool {
    a.correlation == b.correlation && a.attributes == b.attributes
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
    let mut record =
        statevalue::record_from_value(&meta.address, &meta.provider, value, &[], meta.correlation.clone(), 0);
    record.dependencies = meta.dependencies.clone();
    record
}

/// The recorded object as a marked value.
pub(crate) fn from_record(record: &ResourceRecord) -> Value {
    statevalue::value_from_record(record)
}

/// Prior state (rows at the start of the apply) overlaid with what this run has applied.
/// Written only by the dispatcher; read by the finalizer.
pub(crate) struct AppliedView {
    /// Current objects by address.
    prior: HashMap<String, ResourceRecord>,
    /// Deposed objects by (address, deposed key).
    deposed: HashMap<(String, String), ResourceRecord>,
    applied: RwLock<HashMap<Address, Option<Value>>>,
    /// Whether anything will be finalized; when not, applied values are not kept.
    track: bool,
}

impl AppliedView {
    /// `prior`: current rows by address; `deposed`: the deposed rows of the snapshot.
    pub fn new(prior: HashMap<String, ResourceRecord>, deposed: Vec<ResourceRecord>, track: bool) -> Self {
        let deposed = deposed.into_iter().filter_map(|r| Some(((r.address.clone(), r.deposed.clone()?), r))).collect();
        AppliedView { prior, deposed, applied: RwLock::new(HashMap::new()), track }
    }

    pub fn deposed_record(&self, address: &Address, key: &str) -> Option<&ResourceRecord> {
        self.deposed.get(&(address.to_string(), key.to_string()))
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
    fn computed_unknowns_are_left_to_the_provider() {
        let schema = ResourceSchema::new("t")
            .attr("id", AttributeSchema::computed(Type::String, ""))
            .attr("zone", AttributeSchema::optional_computed(Type::String, ""))
            .attr("name", AttributeSchema::optional(Type::String, ""));
        let planned = Value::map([("id", Value::Unknown), ("name", Value::string("n"))]);
        assert!(!needs_finalize(&planned, Some(&schema)));
        assert_eq!(settle_computed(planned, Some(&schema)).unwrap().get("id"), Some(&Value::Null));
        let from_ref = Value::map([("zone", Value::Unknown), ("name", Value::Unknown)]);
        assert!(needs_finalize(&from_ref, Some(&schema)));
        assert!(settle_computed(from_ref, Some(&schema)).unwrap_err().contains("`name`"));
        assert_eq!(provider_name("module.a.module.b.null.x"), "null");
    }

    #[test]
    fn record_round_trip_keeps_sensitive_paths() {
        let schema = ResourceSchema::new("t").attr("pw", AttributeSchema::optional(Type::String, "").sensitive());
        let planned = Value::map([("tags", Value::map([("a/b", Value::string("x").sensitive())]))]);
        let got = Value::map([
            ("pw", Value::string("hunter2")),
            ("tags", Value::map([("a/b", Value::string("x"))])),
            ("n", Value::number(1.0)),
        ]);
        let marked = remark(got, Some(&schema), Some(&planned));
        let meta = RowMeta {
            address: Address::managed("t", "a"),
            provider: "t".into(),
            dependencies: vec![],
            correlation: None,
        };
        let rec = to_record(&meta, &marked);
        assert_eq!(rec.sensitive_paths, vec!["/pw".to_string(), "/tags/a~1b".to_string()]);
        assert_eq!(rec.attributes["pw"], "hunter2");
        assert_eq!(from_record(&rec), marked);
    }
}
