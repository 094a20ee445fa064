//! The default diff, by schema: from the prior (refreshed) object and the checked
//! configuration to the proposed object and which attributes change. Optional+computed
//! attributes left unset keep their prior value; computed-only attributes keep their prior
//! value on update and are unknown on create, or on an update that changes one of the attributes
//! their schema says they are `recomputed_when`; `ignore_changes` keeps prior values. Changes to
//! `force_new` attributes (including ones whose new value is unknown) force replacement.
//! A computed attribute the schema says is `kept_at` a value proposes that value again when
//! the refreshed object has another (a service stopped outside tarn): a change to plan.
//! Decides nothing about lifecycle, targets or ordering: that is the walk's job.

use super::statevalue::mark_sensitive;
use crate::config::IgnoreChanges;
use indexmap::IndexMap;
use tarn_sdk::{ResourceSchema, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// The proposed object.
    pub after: Value,
    /// Attributes whose value differs from the prior object (empty on create).
    pub changed: Vec<String>,
    /// The changed attributes that force replacement.
    pub forces_replace: Vec<String>,
}

/// Values equal for diffing: marks do not matter, unknown equals nothing.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a.unmark().0, b.unmark().0) {
        (Value::Unknown, _) | (_, Value::Unknown) => false,
        (Value::List(x) | Value::Set(x), Value::List(y) | Value::Set(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (x, y) => x == y,
    }
}

/// The proposed object for `config` over `prior` (`None`: create).
pub fn propose(schema: &ResourceSchema, config: &Value, prior: Option<&Value>, ignore: &IgnoreChanges) -> Value {
    let mut out = IndexMap::with_capacity(schema.attributes.len());
    for (name, attr) in &schema.attributes {
        let configured = config.get(name).filter(|v| !v.is_null());
        let prior_v = prior.and_then(|p| p.get(name));
        let ignored = prior.is_some()
            && match ignore {
                IgnoreChanges::None => false,
                IgnoreChanges::All => true,
                IgnoreChanges::Attributes(list) => list.iter().any(|a| a == name),
            };
        let v = if ignored {
            prior_v.cloned().unwrap_or(Value::Null)
        } else if let Some(c) = configured {
            c.clone()
        } else if attr.computed {
            match (prior, &attr.kept_at) {
                (Some(_), Some(kept)) if prior_v.and_then(Value::as_str).is_some_and(|p| p != kept) => {
                    Value::string(kept.clone())
                }
                (Some(_), _) => prior_v.cloned().unwrap_or(Value::Null),
                (None, _) => Value::Unknown,
            }
        } else {
            Value::Null
        };
        out.insert(name.clone(), v);
    }
    mark_sensitive(Value::Map(out), schema)
}

/// Diffs `config` against `prior`.
pub fn diff(schema: &ResourceSchema, config: &Value, prior: Option<&Value>, ignore: &IgnoreChanges) -> Diff {
    let mut after = propose(schema, config, prior, ignore);
    let Some(prior) = prior else {
        return Diff { after, changed: Vec::new(), forces_replace: Vec::new() };
    };
    recompute(schema, config, prior, ignore, &mut after);
    let mut changed = Vec::new();
    let mut forces_replace = Vec::new();
    for (name, attr) in &schema.attributes {
        let a = after.get(name).unwrap_or(&Value::Null);
        let p = prior.get(name).unwrap_or(&Value::Null);
        if !same(a, p) {
            changed.push(name.clone());
            if attr.force_new {
                forces_replace.push(name.clone());
            }
        }
    }
    Diff { after, changed, forces_replace }
}

/// Makes unknown the computed attributes, unset in `config`, whose `recomputed_when`
/// attributes change from `prior` to `after`: their prior value would be stale.
fn recompute(schema: &ResourceSchema, config: &Value, prior: &Value, ignore: &IgnoreChanges, after: &mut Value) {
    let stale: Vec<String> = schema
        .attributes
        .iter()
        .filter(|(name, attr)| {
            attr.computed
                && config.get(name).is_none_or(Value::is_null)
                && !match ignore {
                    IgnoreChanges::None => false,
                    IgnoreChanges::All => true,
                    IgnoreChanges::Attributes(list) => list.iter().any(|a| a == *name),
                }
                && attr
                    .recomputed_when
                    .iter()
                    .any(|w| !same(after.get(w).unwrap_or(&Value::Null), prior.get(w).unwrap_or(&Value::Null)))
        })
        .map(|(name, _)| name.clone())
        .collect();
    if let Value::Map(m) = after {
        for name in stale {
            let sensitive = schema.attributes.get(&name).is_some_and(|a| a.sensitive);
            m.insert(name, if sensitive { Value::Unknown.sensitive() } else { Value::Unknown });
        }
    }
}

/// The object a replacement will create: like a create, computed attributes not set in
/// configuration are unknown again.
pub fn replacement(schema: &ResourceSchema, config: &Value) -> Value {
    propose(schema, config, None, &IgnoreChanges::None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tarn_sdk::{AttributeSchema, Type};

    /// A set recorded in state (or in an output) reads back as a JSON array, a list: the
    /// next plan must see no change.
    #[test]
    fn a_set_is_the_same_as_the_list_it_was_recorded_as() {
        let set = Value::Set(vec![Value::string("a"), Value::string("b")]);
        let back = Value::from_json(&set.to_json_unmarked());
        assert_eq!(back, Value::List(vec![Value::string("a"), Value::string("b")]));
        assert!(same(&set, &back));
        assert!(!same(&set, &Value::List(vec![Value::string("b"), Value::string("a")])));
    }

    fn schema() -> ResourceSchema {
        ResourceSchema::new("t")
            .attr("id", AttributeSchema::computed(Type::String, ""))
            .attr("name", AttributeSchema::required(Type::String, "").force_new())
            .attr("size", AttributeSchema::optional(Type::Number, ""))
            .attr("zone", AttributeSchema::optional_computed(Type::String, ""))
    }

    #[test]
    fn create_leaves_computed_unknown() {
        let d = diff(&schema(), &Value::map([("name", Value::string("a"))]), None, &IgnoreChanges::None);
        assert_eq!(d.after.get("id"), Some(&Value::Unknown));
        assert_eq!(d.after.get("zone"), Some(&Value::Unknown));
        assert_eq!(d.after.get("size"), Some(&Value::Null));
    }

    #[test]
    fn a_computed_value_a_change_makes_stale_is_unknown_unless_configured() {
        let schema = schema()
            .attr("colour", AttributeSchema::optional(Type::String, ""))
            .attr("shown", AttributeSchema::optional_computed(Type::String, "").recomputed_when(&["colour"]));
        let prior = Value::map([
            ("id", Value::string("1")),
            ("name", Value::string("a")),
            ("colour", Value::string("blue")),
            ("shown", Value::string("v1")),
        ]);
        let same_colour = Value::map([("name", Value::string("a")), ("colour", Value::string("blue"))]);
        let d = diff(&schema, &same_colour, Some(&prior), &IgnoreChanges::None);
        assert_eq!(d.after.get("shown"), Some(&Value::string("v1")));
        assert!(d.changed.is_empty());
        let switched = Value::map([("name", Value::string("a")), ("colour", Value::string("green"))]);
        let d = diff(&schema, &switched, Some(&prior), &IgnoreChanges::None);
        assert_eq!(d.after.get("shown"), Some(&Value::Unknown));
        assert_eq!(d.changed, vec!["colour", "shown"]);
        let d = diff(&schema, &switched, Some(&prior), &IgnoreChanges::Attributes(vec!["shown".into()]));
        assert_eq!(d.after.get("shown"), Some(&Value::string("v1")));
        let configured = Value::map([
            ("name", Value::string("a")),
            ("colour", Value::string("green")),
            ("shown", Value::string("v2")),
        ]);
        let d = diff(&schema, &configured, Some(&prior), &IgnoreChanges::None);
        assert_eq!(d.after.get("shown"), Some(&Value::string("v2")));
    }

    #[test]
    fn update_keeps_computed_and_finds_forcing_changes() {
        let prior = Value::map([
            ("id", Value::string("1")),
            ("name", Value::string("a")),
            ("size", Value::number(1.0)),
            ("zone", Value::string("z")),
        ]);
        let cfg = Value::map([("name", Value::string("b")), ("size", Value::number(2.0))]);
        let d = diff(&schema(), &cfg, Some(&prior), &IgnoreChanges::None);
        assert_eq!(d.changed, vec!["name", "size"]);
        assert_eq!(d.forces_replace, vec!["name"]);
        assert_eq!(d.after.get("zone"), Some(&Value::string("z")));
        let d = diff(&schema(), &cfg, Some(&prior), &IgnoreChanges::Attributes(vec!["name".into()]));
        assert_eq!(d.changed, vec!["size"]);
    }

    #[test]
    fn a_computed_value_kept_at_a_value_is_proposed_again_when_it_drifted() {
        let schema = schema().attr("status", AttributeSchema::computed(Type::String, "").kept_at("RUNNING"));
        let cfg = Value::map([("name", Value::string("a"))]);
        let at = |status: &str| Value::map([("name", Value::string("a")), ("status", Value::string(status))]);
        let d = diff(&schema, &cfg, Some(&at("RUNNING")), &IgnoreChanges::None);
        assert!(d.changed.is_empty(), "{:?}", d.changed);
        let d = diff(&schema, &cfg, Some(&at("WARNING")), &IgnoreChanges::None);
        assert_eq!(d.changed, vec!["status"]);
        assert_eq!(d.after.get("status"), Some(&Value::string("RUNNING")));
        assert!(d.forces_replace.is_empty());
        let d = diff(&schema, &cfg, Some(&at("WARNING")), &IgnoreChanges::Attributes(vec!["status".into()]));
        assert!(d.changed.is_empty(), "ignore_changes keeps the drifted value");
        let d = diff(&schema, &cfg, None, &IgnoreChanges::None);
        assert_eq!(d.after.get("status"), Some(&Value::Unknown), "a create does not know it yet");
    }
}
