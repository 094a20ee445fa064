//! Checking an evaluated resource body against its schema: unknown arguments (with a
//! suggestion, at the argument's span), missing required ones, arguments only the provider
//! may set, and values of the wrong type (converted with the schema type, so `"3"` becomes 3
//! where a number is expected). Nested blocks become list-of-object (or object) attributes.
//! Every problem is collected. Must not diff or decide actions.

use super::lang;
use crate::config::{Body, Resource};
use crate::diag::{Diagnostic, Diagnostics, Span, did_you_mean};
use indexmap::IndexMap;
use tarn_sdk::{Address, ResourceSchema, Type, Value};

/// "An argument named X is not expected in TYPE", with a suggestion from the schema. One
/// wording for the planner and for `tarn validate`'s static check.
pub fn unsupported_argument(
    name: &str,
    type_name: &str,
    schema: &ResourceSchema,
    span: Span,
    address: impl ToString,
) -> Diagnostic {
    let hint = crate::config::terraform_habit(name, "resource")
        .or_else(|| {
            did_you_mean(name, schema.attributes.keys().map(String::as_str)).map(|s| format!(" Did you mean \"{s}\"?"))
        })
        .unwrap_or_default();
    Diagnostic::error(
        "Unsupported argument",
        format!("An argument named \"{name}\" is not expected in {type_name}.{hint}"),
    )
    .at(span)
    .for_address(address)
}

/// The configuration converted to the schema's types, or the problems found.
pub fn check(resource: &Resource, address: &Address, value: &Value, schema: &ResourceSchema) -> (Value, Diagnostics) {
    let mut diags = Diagnostics::default();
    let mut out = IndexMap::new();
    let empty = IndexMap::new();
    let given = value.as_map().unwrap_or(&empty);
    for (name, v) in given {
        let span = span_of(&resource.body, name).unwrap_or(resource.span);
        let Some(attr) = schema.attributes.get(name) else {
            diags.push(unsupported_argument(name, &resource.type_name, schema, span, address));
            continue;
        };
        if attr.computed && !attr.optional && !attr.required {
            diags.push(
                Diagnostic::error(
                    "Invalid argument",
                    format!(
                        "\"{name}\" of {} is set by the provider and cannot be configured. Remove it.",
                        resource.type_name
                    ),
                )
                .at(span)
                .for_address(address),
            );
            continue;
        }
        let is_block = !resource.body.attributes.contains_key(name);
        let v = if is_block && matches!(attr.ty, Type::Object { .. }) {
            v.as_list().and_then(|l| l.first()).unwrap_or(&Value::Null)
        } else {
            v
        };
        match lang::convert(v, &attr.ty) {
            Ok(c) => {
                let at = resource.body.attributes.get(name).map_or(span, |a| a.value.span);
                if let Some(d) = super::limits::check_depth(&c, &format!("\"{name}\" of {address}"), at) {
                    diags.push(d.for_address(address));
                    continue;
                }
                out.insert(name.clone(), c);
            }
            // Conversion errors quote the value: never a sensitive one.
            Err(_) if v.contains_sensitive() => diags.push(
                Diagnostic::error(
                    "Incorrect attribute value type",
                    format!(
                        "\"{name}\" of {} must be {}; the value given is sensitive, so it is not shown.",
                        resource.type_name, attr.ty
                    ),
                )
                .at(span)
                .for_address(address),
            ),
            Err(msg) => diags.push(
                Diagnostic::error(
                    "Incorrect attribute value type",
                    format!("\"{name}\" of {} must be {}: {msg}.", resource.type_name, attr.ty),
                )
                .at(span)
                .for_address(address),
            ),
        }
    }
    for (name, attr) in &schema.attributes {
        if attr.required && given.get(name).is_none_or(Value::is_null) {
            diags.push(
                Diagnostic::error(
                    "Missing required argument",
                    format!("The argument \"{name}\" is required by {}, but it is not set.", resource.type_name),
                )
                .at(resource.span)
                .for_address(address),
            );
        }
    }
    (Value::Map(out), diags)
}

/// Where an attribute (or the first nested block of that type) is written.
fn span_of(body: &Body, name: &str) -> Option<crate::diag::Span> {
    if let Some(a) = body.attributes.get(name) {
        return Some(a.name_span);
    }
    body.blocks.iter().find(|b| b.kind == name).map(|b| b.span)
}
