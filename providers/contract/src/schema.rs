//! Provider schemas: which resource and data-source types a provider offers, and for each
//! attribute its type, whether it is required, optional or computed, sensitive, and whether a
//! change to it forces replacement. The planner diffs by schema; docs are generated from it.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// Attribute type constraints, as in HCL's type language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Type {
    String,
    Number,
    Bool,
    List { element: Box<Type> },
    Set { element: Box<Type> },
    Map { element: Box<Type> },
    Object { attributes: IndexMap<String, Type>, optional: Vec<String> },
    Tuple { elements: Vec<Type> },
    Any,
}

impl Type {
    /// `list(element)`.
    pub fn list(element: Type) -> Type {
        Type::List { element: Box::new(element) }
    }
    /// `map(element)`.
    pub fn map(element: Type) -> Type {
        Type::Map { element: Box::new(element) }
    }
    /// `object({...})` with every field required.
    pub fn object(fields: &[(&str, Type)]) -> Type {
        Type::object_with_optional(fields, &[])
    }
    /// `object({...})` whose `optional` fields may be left out.
    pub fn object_with_optional(fields: &[(&str, Type)], optional: &[&str]) -> Type {
        Type::Object {
            attributes: fields.iter().map(|(k, t)| (k.to_string(), t.clone())).collect(),
            optional: optional.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl std::fmt::Display for Type {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Type::String => f.write_str("string"),
            Type::Number => f.write_str("number"),
            Type::Bool => f.write_str("bool"),
            Type::List { element } => write!(f, "list({element})"),
            Type::Set { element } => write!(f, "set({element})"),
            Type::Map { element } => write!(f, "map({element})"),
            Type::Object { attributes, optional } => {
                f.write_str("object({")?;
                for (i, (k, t)) in attributes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if optional.contains(k) {
                        write!(f, "{k} = optional({t})")?;
                    } else {
                        write!(f, "{k} = {t}")?;
                    }
                }
                f.write_str("})")
            }
            Type::Tuple { elements } => {
                f.write_str("tuple([")?;
                for (i, t) in elements.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            Type::Any => f.write_str("any"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeSchema {
    #[serde(rename = "type")]
    pub ty: Type,
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// Set by the provider (when not set in configuration, for optional+computed).
    pub computed: bool,
    pub sensitive: bool,
    /// A change to this attribute cannot be applied in place: the object is replaced.
    pub force_new: bool,
    /// For a computed attribute the configuration leaves unset: an update changing any of these
    /// attributes makes its planned value unknown again instead of the prior one, which would
    /// be stale (Pond's `live_build` when `live` changes). A provider whose schema
    /// `refines_plan` may then predict it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recomputed_when: Vec<String>,
    /// For a computed string attribute the configuration leaves unset: the value the provider
    /// keeps the object at (a service's `RUNNING`). When the refreshed object has another
    /// value, something changed it outside tarn: the plan proposes this value again, an update
    /// the provider judges (repair in place, or replacement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_at: Option<String>,
}

impl AttributeSchema {
    fn base(ty: Type, description: &str) -> Self {
        AttributeSchema {
            ty,
            description: description.to_string(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            force_new: false,
            recomputed_when: Vec::new(),
            kept_at: None,
        }
    }
    pub fn required(ty: Type, description: &str) -> Self {
        AttributeSchema { required: true, ..Self::base(ty, description) }
    }
    pub fn optional(ty: Type, description: &str) -> Self {
        AttributeSchema { optional: true, ..Self::base(ty, description) }
    }
    pub fn computed(ty: Type, description: &str) -> Self {
        AttributeSchema { computed: true, ..Self::base(ty, description) }
    }
    /// Optional in configuration, computed by the provider when omitted.
    pub fn optional_computed(ty: Type, description: &str) -> Self {
        AttributeSchema { optional: true, computed: true, ..Self::base(ty, description) }
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// See [`AttributeSchema::recomputed_when`].
    pub fn recomputed_when(mut self, attributes: &[&str]) -> Self {
        self.recomputed_when = attributes.iter().map(|a| a.to_string()).collect();
        self
    }
    /// See [`AttributeSchema::kept_at`].
    pub fn kept_at(mut self, value: &str) -> Self {
        self.kept_at = Some(value.to_string());
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceSchema {
    pub description: String,
    pub attributes: IndexMap<String, AttributeSchema>,
    /// Deleting this object loses data that cannot be recreated (volumes, databases): the plan
    /// flags its deletion as irreversible.
    pub destroy_is_irreversible: bool,
    /// The provider's `plan` can predict computed attributes (checksums, ids derived from
    /// configuration): the planner asks it for creates and updates whose planned value still
    /// has unknown computed attributes. Off by default, so that providers whose computed values
    /// are only known after apply cost no extra call per instance.
    #[serde(default)]
    pub refines_plan: bool,
    /// Deleting this object is irreversible when this bool attribute of the object is true
    /// (e.g. a volume's `delete_data_on_destroy`), even if `destroy_is_irreversible` is false.
    #[serde(default)]
    pub irreversible_when: Option<String>,
    /// What an in-place update of some attributes does beyond the change itself, shown by the
    /// plan when one of them changes (Scaleway: a new type stops the server and starts it again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub change_notes: Vec<ChangeNote>,
    /// What deleting an object of this type does beyond the delete, or what must be done before
    /// it: the plan shows these notes on every change that deletes one (a removal, a destroy,
    /// either half of a replacement's delete), in text and JSON (PAGW: move the project's
    /// resources to the default project before its gateway is removed). `{ATTR}` naming a
    /// declared, non-sensitive attribute is filled with the deleted object's value of it
    /// ([`destroy_notes_for`](Self::destroy_notes_for)), so a note names the object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destroy_notes: Vec<String>,
    /// The provider can create a deleted object again from its recorded state
    /// ([`Provider::restore`](crate::Provider::restore)): a rollback brings back the old object
    /// of a delete-then-create replacement instead of reporting it lost (a container whose data
    /// lives outside it, while its image is there). Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restorable: bool,
}

/// A note the plan shows on an update that changes any of `attributes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeNote {
    pub attributes: Vec<String>,
    pub note: String,
}

impl ResourceSchema {
    pub fn new(description: &str) -> Self {
        ResourceSchema {
            description: description.to_string(),
            attributes: IndexMap::new(),
            destroy_is_irreversible: false,
            refines_plan: false,
            irreversible_when: None,
            change_notes: Vec::new(),
            destroy_notes: Vec::new(),
            restorable: false,
        }
    }
    /// Declares a note the plan shows on every change that deletes an object of this type.
    pub fn note_on_destroy(mut self, note: &str) -> Self {
        self.destroy_notes.push(note.to_string());
        self
    }
    /// Declares what an update changing any of `attributes` does beyond the change: the plan
    /// shows `note` on such updates.
    pub fn note_on_change(mut self, attributes: &[&str], note: &str) -> Self {
        self.change_notes.push(ChangeNote {
            attributes: attributes.iter().map(|a| a.to_string()).collect(),
            note: note.to_string(),
        });
        self
    }
    /// The notes of an update from `before` to `after`: those whose attributes changed.
    pub fn notes_for_update(&self, before: &crate::value::Value, after: &crate::value::Value) -> Vec<String> {
        self.change_notes
            .iter()
            .filter(|n| n.attributes.iter().any(|a| before.get(a) != after.get(a)))
            .map(|n| n.note.clone())
            .collect()
    }
    /// The destroy notes for deleting `object` (its recorded state): each `{ATTR}` naming a
    /// declared, non-sensitive attribute whose recorded value is a string or a number is
    /// replaced by that value; any other brace text is left as written.
    pub fn destroy_notes_for(&self, object: Option<&crate::value::Value>) -> Vec<String> {
        self.destroy_notes.iter().map(|note| self.filled(note, object)).collect()
    }

    fn filled(&self, note: &str, object: Option<&crate::value::Value>) -> String {
        let value_of = |name: &str| {
            let declared = self.attributes.get(name).is_some_and(|a| !a.sensitive);
            let v = object.filter(|_| declared)?.get(name)?;
            v.as_str().map(str::to_string).or_else(|| v.as_f64().map(|n| n.to_string()))
        };
        let (mut out, mut rest) = (String::new(), note);
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let inner = &rest[open + 1..];
            match inner.find('}').and_then(|close| Some((close, value_of(&inner[..close])?))) {
                Some((close, value)) => {
                    out.push_str(&value);
                    rest = &inner[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = inner;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Declares that [`Provider::plan`](crate::Provider::plan) predicts computed attributes.
    pub fn refines_plan(mut self) -> Self {
        self.refines_plan = true;
        self
    }
    /// Declares that [`Provider::restore`](crate::Provider::restore) can recreate a deleted object.
    pub fn restorable(mut self) -> Self {
        self.restorable = true;
        self
    }
    /// Whether deleting `object` (the recorded state) loses data for good.
    pub fn destroy_irreversible_for(&self, object: Option<&crate::value::Value>) -> bool {
        self.destroy_is_irreversible
            || self.irreversible_when.as_deref().is_some_and(|attr| {
                object.and_then(|o| o.get(attr)).and_then(crate::value::Value::as_bool) == Some(true)
            })
    }
    pub fn attr(mut self, name: &str, schema: AttributeSchema) -> Self {
        self.attributes.insert(name.to_string(), schema);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProviderSchema {
    /// The provider block's own arguments.
    pub config: IndexMap<String, AttributeSchema>,
    pub resources: IndexMap<String, ResourceSchema>,
    pub data_sources: IndexMap<String, ResourceSchema>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn destroy_notes_name_the_object_by_its_declared_non_sensitive_attributes() {
        let schema = ResourceSchema::new("a gateway")
            .attr("project", AttributeSchema::required(Type::String, "name"))
            .attr("slot", AttributeSchema::optional(Type::Number, "slot"))
            .attr("password", AttributeSchema::optional(Type::String, "secret").sensitive())
            .note_on_destroy("move {project}'s resources (slot {slot}) first; {password} {undeclared} {unclosed");
        let object = Value::map([
            ("project", Value::string("acme")),
            ("slot", Value::number(7)),
            ("password", Value::string("hunter2")),
            ("undeclared", Value::string("x")),
        ]);
        assert_eq!(
            schema.destroy_notes_for(Some(&object)),
            ["move acme's resources (slot 7) first; {password} {undeclared} {unclosed"]
        );
        // Without a recorded object (or an unknown value) the note reads as written.
        assert_eq!(schema.destroy_notes_for(None), schema.destroy_notes);
        let unknown = Value::map([("project", Value::Unknown)]);
        assert!(schema.destroy_notes_for(Some(&unknown))[0].starts_with("move {project}'s"));
    }
}
