//! Keeps secrets out of what tarn repeats from a plugin: its stderr lines and its error
//! messages. The provider remembers every value it sent or received in a sensitive attribute
//! (by the schema) and replaces those strings with `(sensitive)` wherever a plugin echoes them.
//! Request and answer payloads themselves are never logged at all.

use indexmap::IndexMap;
use std::collections::BTreeSet;
use std::sync::Mutex;
use tarn_sdk::{AttributeSchema, Value};

/// Shorter strings are not remembered: redacting "1" or "yes" would garble every message.
const MIN_SECRET_LEN: usize = 4;

#[derive(Debug, Default)]
pub struct Redactor {
    secrets: Mutex<BTreeSet<String>>,
}

impl Redactor {
    /// Remembers the sensitive parts of `object`: leaves under attributes the schema marks
    /// sensitive, and anything carrying the sensitive mark.
    pub fn learn(&self, object: &Value, attributes: Option<&IndexMap<String, AttributeSchema>>) {
        let mut found = Vec::new();
        if let (Some(map), Some(attrs)) = (object.as_map(), attributes) {
            for (name, v) in map {
                if attrs.get(name).is_some_and(|a| a.sensitive) {
                    strings(v, &mut found);
                }
            }
        }
        marked(object, &mut found);
        if !found.is_empty() {
            let mut secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
            secrets.extend(found.into_iter().filter(|s| s.len() >= MIN_SECRET_LEN));
        }
    }

    /// `text` with every remembered secret replaced by `(sensitive)`.
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        // Longest first, so a secret that contains another is replaced whole.
        let mut list: Vec<&String> = secrets.iter().collect();
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = text.to_string();
        for s in list {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), "(sensitive)");
            }
        }
        out
    }
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(_) | Value::Bool(_) => out.push(v.to_json_unmarked().to_string()),
        Value::Sensitive(inner) => strings(inner, out),
        Value::List(l) | Value::Set(l) => l.iter().for_each(|x| strings(x, out)),
        Value::Map(m) => m.values().for_each(|x| strings(x, out)),
        Value::Null | Value::Unknown => {}
    }
}

fn marked(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Sensitive(inner) => strings(inner, out),
        Value::List(l) | Value::Set(l) => l.iter().for_each(|x| marked(x, out)),
        Value::Map(m) => m.values().for_each(|x| marked(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_from_schema_and_marks_are_replaced() {
        let attrs: IndexMap<String, AttributeSchema> = [
            ("token".to_string(), AttributeSchema::optional(tarn_sdk::Type::String, "").sensitive()),
            ("name".to_string(), AttributeSchema::optional(tarn_sdk::Type::String, "")),
        ]
        .into_iter()
        .collect();
        let r = Redactor::default();
        r.learn(
            &Value::map([("token", Value::string("s3cr3t-token")), ("name", Value::string("public"))]),
            Some(&attrs),
        );
        r.learn(
            &Value::map([("x", Value::string("hunter22").sensitive()), ("y", Value::string("abc").sensitive())]),
            None,
        );
        let out = r.redact("auth s3cr3t-token failed for public (hunter22) abc");
        assert_eq!(out, "auth (sensitive) failed for public ((sensitive)) abc");
    }
}
