//! Type conversion, Terraform-style: makes a value conform to a type constraint, converting
//! between primitives where Terraform allows it (`"5"` → 5, `true` → `"true"`), checking
//! collection shapes, filling missing optional object attributes with their default or null,
//! and dropping attributes an object type does not declare. Marks are preserved and unknown
//! values pass through. Errors are messages naming the path to the offending element.

use super::ops;
use crate::config::TypeDefaults;
use indexmap::IndexMap;
use tarn_sdk::{Type, Value};

/// Converts `value` to type `ty`.
pub fn convert(value: &Value, ty: &Type) -> Result<Value, String> {
    convert_with_defaults(value, ty, None)
}

/// Converts, filling optional attributes from `defaults` (see [`TypeDefaults`]).
pub fn convert_with_defaults(value: &Value, ty: &Type, defaults: Option<&TypeDefaults>) -> Result<Value, String> {
    conv(value, ty, defaults)
        .map_err(|(path, msg)| if path.is_empty() { msg } else { format!("{}: {msg}", path.join("")) })
}

type Failure = (Vec<String>, String);

fn fail(msg: impl Into<String>) -> Failure {
    (Vec::new(), msg.into())
}

fn at(mut f: Failure, step: String) -> Failure {
    f.0.insert(0, step);
    f
}

fn required(ty: &Type, v: &Value) -> Failure {
    let what = match ty {
        Type::String => "a string".to_string(),
        Type::Number => "a number".to_string(),
        Type::Bool => "a bool".to_string(),
        other => format!("{other}"),
    };
    fail(format!("{what} is required, but got {}", crate::text::article(v.type_name())))
}

fn conv(value: &Value, ty: &Type, defaults: Option<&TypeDefaults>) -> Result<Value, Failure> {
    if let Value::Sensitive(inner) = value {
        return conv(inner, ty, defaults).map(Value::sensitive);
    }
    match (value, ty) {
        (Value::Unknown, _) | (Value::Null, _) | (_, Type::Any) => Ok(value.clone()),
        (_, Type::String) => ops::to_string(value).map(Value::String).ok_or_else(|| required(ty, value)),
        (_, Type::Number) => match value {
            Value::Number(n) => Ok(Value::Number(n.clone())),
            Value::String(s) => ops::parse_number(s)
                .map(Value::Number)
                .ok_or_else(|| fail(format!("a number is required, but \"{s}\" is not a number"))),
            _ => Err(required(ty, value)),
        },
        (_, Type::Bool) => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            Value::String(s) => Err(fail(format!("a bool is required, but \"{s}\" is not true or false"))),
            _ => Err(required(ty, value)),
        },
        (Value::List(items) | Value::Set(items), Type::List { element }) => {
            Ok(Value::List(elements(items, element, child(defaults, "*"))?))
        }
        // A set keeps one of equal elements, in the language's one value order.
        (Value::List(items) | Value::Set(items), Type::Set { element }) => {
            Ok(crate::functions::set_of(elements(items, element, child(defaults, "*"))?))
        }
        (Value::Map(m), Type::Map { element }) => {
            let mut out = IndexMap::new();
            for (k, v) in m {
                out.insert(k.clone(), conv(v, element, child(defaults, "*")).map_err(|f| at(f, format!("[{k:?}]")))?);
            }
            Ok(Value::Map(out))
        }
        (Value::List(items), Type::Tuple { elements: tys }) => {
            if items.len() != tys.len() {
                return Err(fail(format!("a tuple of {} elements is required, but got {}", tys.len(), items.len())));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (v, t)) in items.iter().zip(tys).enumerate() {
                out.push(conv(v, t, child(defaults, &i.to_string())).map_err(|f| at(f, format!("[{i}]")))?);
            }
            Ok(Value::List(out))
        }
        (Value::Map(m), Type::Object { attributes, optional }) => {
            let mut out = IndexMap::new();
            for (name, t) in attributes {
                let sub = child(defaults, name);
                let v = match m.get(name) {
                    Some(v) if !(v.is_null() && optional.contains(name)) => {
                        conv(v, t, sub).map_err(|f| at(f, format!(".{name}")))?
                    }
                    _ if optional.contains(name) => match defaults.and_then(|d| d.values.get(name)) {
                        Some(d) => conv(d, t, sub).map_err(|f| at(f, format!(".{name}")))?,
                        None => Value::Null,
                    },
                    _ => return Err(fail(format!("attribute \"{name}\" is required"))),
                };
                out.insert(name.clone(), v);
            }
            Ok(Value::Map(out))
        }
        (_, Type::List { .. } | Type::Set { .. } | Type::Tuple { .. } | Type::Map { .. } | Type::Object { .. }) => {
            Err(required(ty, value))
        }
    }
}

fn child<'d>(defaults: Option<&'d TypeDefaults>, key: &str) -> Option<&'d TypeDefaults> {
    defaults.and_then(|d| d.children.get(key))
}

fn elements(items: &[Value], element: &Type, defaults: Option<&TypeDefaults>) -> Result<Vec<Value>, Failure> {
    items.iter().enumerate().map(|(i, v)| conv(v, element, defaults).map_err(|f| at(f, format!("[{i}]")))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    #[test]
    fn primitives_convert_like_terraform() {
        assert_eq!(convert(&Value::string("5"), &Type::Number).unwrap(), Value::number(5.0));
        assert_eq!(convert(&Value::number(2.5), &Type::String).unwrap(), Value::string("2.5"));
        assert_eq!(convert(&Value::Bool(true), &Type::String).unwrap(), Value::string("true"));
        assert_eq!(convert(&Value::string("false"), &Type::Bool).unwrap(), Value::Bool(false));
        assert!(convert(&Value::string("x"), &Type::Number).is_err());
        assert!(convert(&Value::List(vec![]), &Type::String).is_err());
    }

    #[test]
    fn marks_and_unknowns_survive() {
        let v = convert(&Value::string("1").sensitive(), &Type::Number).unwrap();
        assert_eq!(v, Value::number(1.0).sensitive());
        assert_eq!(convert(&Value::Unknown, &Type::Number).unwrap(), Value::Unknown);
        let l = convert(
            &Value::List(vec![Value::Unknown, Value::string("2")]),
            &Type::List { element: Box::new(Type::Number) },
        )
        .unwrap();
        assert_eq!(l, Value::List(vec![Value::Unknown, Value::number(2.0)]));
    }

    #[test]
    fn objects_fill_optionals_and_report_paths() {
        let ty = Type::Object {
            attributes: [
                ("name".to_string(), Type::String),
                ("port".to_string(), Type::Number),
                ("tag".to_string(), Type::String),
            ]
            .into_iter()
            .collect(),
            optional: vec!["port".into(), "tag".into()],
        };
        let mut d = TypeDefaults::default();
        d.values.insert("port".into(), Value::number(80.0));
        let out =
            convert_with_defaults(&obj(&[("name", Value::string("a")), ("extra", Value::Bool(true))]), &ty, Some(&d))
                .unwrap();
        assert_eq!(out, obj(&[("name", Value::string("a")), ("port", Value::number(80.0)), ("tag", Value::Null)]));
        let list = Type::List { element: Box::new(ty) };
        let err =
            convert(&Value::List(vec![obj(&[("name", Value::string("a")), ("port", Value::string("x"))])]), &list)
                .unwrap_err();
        assert_eq!(err, "[0].port: a number is required, but \"x\" is not a number");
        let err = convert(&Value::List(vec![obj(&[])]), &list).unwrap_err();
        assert_eq!(err, "[0]: attribute \"name\" is required");
    }

    #[test]
    fn sets_are_sorted_and_unique_and_tuples_checked() {
        let set = Type::Set { element: Box::new(Type::String) };
        let v = convert(&Value::List(vec![Value::string("b"), Value::string("a"), Value::string("b")]), &set).unwrap();
        assert_eq!(v, Value::Set(vec![Value::string("a"), Value::string("b")]));
        let tup = Type::Tuple { elements: vec![Type::String, Type::Number] };
        assert!(convert(&Value::List(vec![Value::string("a")]), &tup).is_err());
        assert!(convert(&Value::List(vec![Value::string("a"), Value::string("1")]), &tup).is_ok());
    }
}
