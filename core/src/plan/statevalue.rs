//! Conversions between recorded state rows and values: a [`ResourceRecord`]'s JSON attributes
//! plus its `sensitive_paths` (JSON pointers) ↔ a [`Value`] with `Sensitive` marks at those
//! paths, and re-marking provider-returned values from the schema's `sensitive` flags.
//! Shared by refresh (reading rows) and the executor (writing rows). No IO here.

use tarn_sdk::{Address, Mode, ResourceSchema, Value};
use tarn_state::ResourceRecord;

/// The value of a recorded object, with sensitive marks restored.
pub fn value_from_record(record: &ResourceRecord) -> Value {
    let mut value = Value::from_json(&record.attributes);
    for pointer in &record.sensitive_paths {
        mark_at(&mut value, &split_pointer(pointer));
    }
    value
}

/// The state row for an applied object. Unknowns become null (an applied value has none);
/// sensitive values are written as given and their paths listed, for the backend to encrypt.
pub fn record_from_value(
    address: &Address,
    provider: &str,
    value: &Value,
    dependencies: &[Address],
    correlation: Option<String>,
    schema_version: i64,
) -> ResourceRecord {
    ResourceRecord {
        address: address.to_string(),
        mode: match address.mode {
            Mode::Managed => "managed".into(),
            Mode::Data => "data".into(),
        },
        type_name: address.type_name.clone(),
        provider: provider.to_string(),
        attributes: value.to_json_unmarked(),
        sensitive_paths: sensitive_paths(value),
        dependencies: dependencies.iter().map(ToString::to_string).collect(),
        correlation,
        schema_version,
        deposed: None,
    }
}

/// JSON pointers of every sensitive mark in `value` (outermost only).
pub fn sensitive_paths(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, &mut String::new(), &mut out);
    out
}

fn collect(value: &Value, path: &mut String, out: &mut Vec<String>) {
    match value {
        Value::Sensitive(_) => out.push(if path.is_empty() { String::new() } else { path.clone() }),
        Value::List(items) | Value::Set(items) => {
            for (i, v) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                collect(v, path, out);
                path.truncate(len);
            }
        }
        Value::Map(m) => {
            for (k, v) in m {
                let len = path.len();
                path.push('/');
                path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                collect(v, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

fn split_pointer(pointer: &str) -> Vec<String> {
    if pointer.is_empty() {
        return Vec::new();
    }
    pointer.trim_start_matches('/').split('/').map(|s| s.replace("~1", "/").replace("~0", "~")).collect()
}

/// Marks the value at `path` sensitive; missing paths are ignored (the object changed shape).
fn mark_at(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        let v = std::mem::take(value);
        *value = v.sensitive();
        return;
    };
    match value {
        Value::Sensitive(inner) => mark_at(inner, path),
        Value::Map(m) => {
            if let Some(v) = m.get_mut(first) {
                mark_at(v, rest);
            }
        }
        Value::List(items) | Value::Set(items) => {
            if let Some(v) = first.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                mark_at(v, rest);
            }
        }
        _ => {}
    }
}

/// Re-applies sensitive marks at the given pointers (kept from a recorded row or a plan).
pub fn apply_sensitive_paths(mut value: Value, pointers: &[String]) -> Value {
    for p in pointers {
        mark_at(&mut value, &split_pointer(p));
    }
    value
}

/// Marks every attribute the schema declares sensitive. Providers receive and return clear
/// values; the engine puts the marks back on whatever they return.
pub fn mark_sensitive(value: Value, schema: &ResourceSchema) -> Value {
    match value {
        Value::Map(mut m) => {
            for (name, attr) in &schema.attributes {
                if attr.sensitive
                    && let Some(v) = m.get_mut(name)
                    && !v.is_null()
                {
                    let inner = std::mem::take(v);
                    *v = inner.sensitive();
                }
            }
            Value::Map(m)
        }
        v => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_sdk::{AttributeSchema, Type};

    #[test]
    fn record_round_trip_keeps_sensitive_marks() {
        let v = Value::map([
            ("id", Value::string("1")),
            ("triggers", Value::map([("a/b", Value::string("s").sensitive()), ("c", Value::string("x"))])),
        ]);
        let addr: Address = "null_resource.a[0]".parse().unwrap();
        let rec = record_from_value(&addr, "null", &v, &[], None, 0);
        assert_eq!(rec.sensitive_paths, vec!["/triggers/a~1b".to_string()]);
        assert_eq!(value_from_record(&rec), v);
    }

    #[test]
    fn schema_marks_sensitive_attributes() {
        let schema = ResourceSchema::new("t").attr("pw", AttributeSchema::optional(Type::String, "").sensitive());
        let v = mark_sensitive(Value::map([("pw", Value::string("x")), ("n", Value::Null)]), &schema);
        assert!(v.get("pw").unwrap().is_sensitive());
    }
}
