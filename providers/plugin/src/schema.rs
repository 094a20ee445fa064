//! Reading a plugin's `schema` answer into a [`ProviderSchema`]. The wire form is tarn's own
//! schema JSON (the one `tarn providers schema --json` prints), made lenient for plugin authors:
//! flags and descriptions may be left out, and a type may be written as a string (`"string"`,
//! `"list(string)"`, `"map(number)"`). Unknown keys are errors, so a typo such as `"sensitve"`
//! is caught instead of silently dropping a secret's protection.

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};
use tarn_sdk::{AttributeSchema, ProviderSchema, ResourceSchema, Type};

/// Parses and checks a schema answer. Errors name the offending path (`resources.kv_entry.attributes.key`).
pub fn parse(j: &Json) -> Result<ProviderSchema, String> {
    let obj = object(j, "the schema")?;
    only_keys(obj, "the schema", &["config", "resources", "data_sources"])?;
    let config = match obj.get("config") {
        Some(c) => attributes(c, "config")?,
        None => IndexMap::new(),
    };
    Ok(ProviderSchema {
        config,
        resources: types(obj.get("resources"), "resources")?,
        data_sources: types(obj.get("data_sources"), "data_sources")?,
    })
}

fn types(j: Option<&Json>, path: &str) -> Result<IndexMap<String, ResourceSchema>, String> {
    let Some(j) = j else { return Ok(IndexMap::new()) };
    let mut out = IndexMap::new();
    for (name, t) in object(j, path)? {
        let path = format!("{path}.{name}");
        let obj = object(t, &path)?;
        only_keys(
            obj,
            &path,
            &[
                "description",
                "attributes",
                "destroy_is_irreversible",
                "refines_plan",
                "irreversible_when",
                "change_notes",
                "destroy_notes",
            ],
        )?;
        let attrs = obj.get("attributes").ok_or_else(|| format!("{path} has no \"attributes\""))?;
        out.insert(
            name.clone(),
            ResourceSchema {
                description: string(obj.get("description"), &path)?,
                attributes: attributes(attrs, &format!("{path}.attributes"))?,
                destroy_is_irreversible: flag(obj, "destroy_is_irreversible", &path)?,
                refines_plan: flag(obj, "refines_plan", &path)?,
                irreversible_when: match obj.get("irreversible_when") {
                    None | Some(Json::Null) => None,
                    Some(v) => Some(
                        v.as_str().ok_or_else(|| format!("{path}.irreversible_when must be a string"))?.to_string(),
                    ),
                },
                // The plugin protocol has no restore call: a plugin's deleted object stays deleted.
                restorable: false,
                change_notes: match obj.get("change_notes") {
                    None | Some(Json::Null) => Vec::new(),
                    Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                        format!(
                            "{path}.change_notes must be a list of {{\"attributes\": [names], \"note\": text}}: {e}"
                        )
                    })?,
                },
                destroy_notes: match obj.get("destroy_notes") {
                    None | Some(Json::Null) => Vec::new(),
                    Some(v) => serde_json::from_value(v.clone())
                        .map_err(|e| format!("{path}.destroy_notes must be a list of strings: {e}"))?,
                },
            },
        );
    }
    Ok(out)
}

fn attributes(j: &Json, path: &str) -> Result<IndexMap<String, AttributeSchema>, String> {
    let mut out = IndexMap::new();
    for (name, a) in object(j, path)? {
        let path = format!("{path}.{name}");
        let obj = object(a, &path)?;
        only_keys(obj, &path, &["type", "description", "required", "optional", "computed", "sensitive", "force_new"])?;
        let ty = parse_type(obj.get("type").ok_or_else(|| format!("{path} has no \"type\""))?)
            .map_err(|e| format!("{path}.type: {e}"))?;
        let attr = AttributeSchema {
            ty,
            description: string(obj.get("description"), &path)?,
            required: flag(obj, "required", &path)?,
            optional: flag(obj, "optional", &path)?,
            computed: flag(obj, "computed", &path)?,
            sensitive: flag(obj, "sensitive", &path)?,
            force_new: flag(obj, "force_new", &path)?,
            // Plugins do not declare recomputation (yet): their computed values keep the prior.
            recomputed_when: Vec::new(),
            kept_at: None,
        };
        if attr.required && (attr.optional || attr.computed) {
            return Err(format!("{path} is required, so it cannot also be optional or computed"));
        }
        if !(attr.required || attr.optional || attr.computed) {
            return Err(format!("{path} must be required, optional or computed (or optional and computed)"));
        }
        out.insert(name.clone(), attr);
    }
    Ok(out)
}

/// A type: the string shorthand or tarn's object form (`{"kind": "list", "element": ...}`).
pub fn parse_type(j: &Json) -> Result<Type, String> {
    match j {
        Json::String(s) => parse_type_str(s.trim()),
        Json::Object(_) => serde_json::from_value(j.clone()).map_err(|e| format!("not a type: {e}")),
        _ => Err("a type is a string such as \"list(string)\" or an object with \"kind\"".into()),
    }
}

fn parse_type_str(s: &str) -> Result<Type, String> {
    let wrap = |inner: &str, make: fn(Box<Type>) -> Type| Ok(make(Box::new(parse_type_str(inner.trim())?)));
    match s {
        "string" => Ok(Type::String),
        "number" => Ok(Type::Number),
        "bool" => Ok(Type::Bool),
        "any" => Ok(Type::Any),
        _ => match s.split_once('(').filter(|_| s.ends_with(')')) {
            Some(("list", rest)) => wrap(&rest[..rest.len() - 1], |e| Type::List { element: e }),
            Some(("set", rest)) => wrap(&rest[..rest.len() - 1], |e| Type::Set { element: e }),
            Some(("map", rest)) => wrap(&rest[..rest.len() - 1], |e| Type::Map { element: e }),
            _ => Err(format!(
                "unknown type \"{s}\": use string, number, bool, any, list(T), set(T), map(T), or the object form for objects and tuples"
            )),
        },
    }
}

fn object<'a>(j: &'a Json, path: &str) -> Result<&'a Map<String, Json>, String> {
    j.as_object().ok_or_else(|| format!("{path} must be an object"))
}

fn only_keys(obj: &Map<String, Json>, path: &str, allowed: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{path} has an unknown key \"{k}\"; expected one of: {}", allowed.join(", "))),
        None => Ok(()),
    }
}

fn flag(obj: &Map<String, Json>, key: &str, path: &str) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{path}.{key} must be true or false")),
    }
}

fn string(j: Option<&Json>, path: &str) -> Result<String, String> {
    match j {
        None | Some(Json::Null) => Ok(String::new()),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{path}.description must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_form_parses() {
        let s = parse(&json!({
            "config": {"path": {"type": "string", "required": true}},
            "resources": {"kv_entry": {"attributes": {
                "key": {"type": "string", "required": true, "force_new": true, "description": "The key."},
                "tags": {"type": "map(list(string))", "optional": true},
                "id": {"type": {"kind": "string"}, "computed": true},
                "secret": {"type": "string", "optional": true, "sensitive": true}
            }}}
        }))
        .unwrap();
        let e = &s.resources["kv_entry"];
        assert!(e.attributes["key"].force_new && e.attributes["key"].required);
        assert!(e.attributes["secret"].sensitive);
        assert_eq!(e.attributes["tags"].ty.to_string(), "map(list(string))");
        assert!(s.data_sources.is_empty());
    }

    #[test]
    fn mistakes_are_named_by_path() {
        for (schema, want) in [
            (
                json!({"resources": {"t": {"attributes": {"a": {"type": "string", "sensitve": true, "optional": true}}}}}),
                "resources.t.attributes.a has an unknown key \"sensitve\"",
            ),
            (
                json!({"resources": {"t": {"attributes": {"a": {"type": "strng", "optional": true}}}}}),
                "unknown type \"strng\"",
            ),
            (
                json!({"resources": {"t": {"attributes": {"a": {"type": "string"}}}}}),
                "must be required, optional or computed",
            ),
            (
                json!({"resources": {"t": {"attributes": {"a": {"type": "string", "required": true, "computed": true}}}}}),
                "cannot also be",
            ),
            (json!({"resources": {"t": {}}}), "resources.t has no \"attributes\""),
            (json!({"resource": {}}), "unknown key \"resource\""),
        ] {
            let e = parse(&schema).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }
}
