//! Type constraint expressions of `variable` blocks: `string`, `list(number)`,
//! `object({ name = string, port = optional(number, 80) })`, ... parsed into [`Type`] plus the
//! defaults of optional attributes. The expression is read as syntax, never evaluated here:
//! `optional(...)` defaults, which must be constants, go to the caller's [`Constants`].

use super::model::{Expr, TypeDefaults};
use super::statics::Constants;
use crate::diag::{Diagnostic, did_you_mean};
use hcl::edit::Span as _;
use hcl::edit::expr::{Expression, ObjectKey};
use indexmap::IndexMap;
use tarn_sdk::Type;

const PRIMITIVES: &[&str] = &["string", "number", "bool", "any"];
const CONSTRUCTORS: &[&str] = &["list", "set", "map", "tuple", "object"];

/// Parses a type constraint; the defaults are `None` when no `optional` has a default.
/// `optional(...)` defaults are evaluated and converted by `c`.
pub fn parse_type(expr: &Expr, c: &dyn Constants) -> Result<(Type, Option<TypeDefaults>), Diagnostic> {
    let mut defaults = TypeDefaults::default();
    let ty = parse(expr, &expr.expr, &mut defaults, c)?;
    let has = !defaults.values.is_empty() || !defaults.children.is_empty();
    Ok((ty, has.then_some(defaults)))
}

fn malformed(expr: &Expr, e: &Expression, detail: impl Into<String>) -> Diagnostic {
    Diagnostic::error("Invalid type specification", detail).at(expr.sub_span(e.span()))
}

fn keyword(name: &str) -> Option<Type> {
    Some(match name {
        "string" => Type::String,
        "number" => Type::Number,
        "bool" => Type::Bool,
        "any" => Type::Any,
        // Terraform 0.11 style bare collection keywords mean a collection of any.
        "list" => Type::List { element: Box::new(Type::Any) },
        "set" => Type::Set { element: Box::new(Type::Any) },
        "map" => Type::Map { element: Box::new(Type::Any) },
        _ => return None,
    })
}

fn parse(root: &Expr, e: &Expression, defaults: &mut TypeDefaults, c: &dyn Constants) -> Result<Type, Diagnostic> {
    match e {
        Expression::Parenthesis(p) => parse(root, p.inner(), defaults, c),
        Expression::Variable(v) => keyword(v.value()).ok_or_else(|| {
            let name = v.value().as_str();
            let hint = did_you_mean(name, PRIMITIVES.iter().chain(CONSTRUCTORS).copied())
                .map(|s| format!(" Did you mean \"{s}\"?"))
                .unwrap_or_default();
            malformed(root, e, format!("The keyword \"{name}\" is not a valid type.{hint} Types are string, number, bool, any, list(T), set(T), map(T), tuple([T, ...]) and object({{name = T, ...}})."))
        }),
        // Legacy quoted types: "string", "list", "map".
        Expression::String(s) => keyword(s.value())
            .ok_or_else(|| malformed(root, e, format!("\"{}\" is not a valid type; write the type without quotes.", s.value()))),
        Expression::FuncCall(call) => {
            let name = call.name.name.value().as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            let one = |what: &str| -> Result<&Expression, Diagnostic> {
                match args.as_slice() {
                    [a] => Ok(*a),
                    _ => Err(malformed(root, e, format!("The {what} type constructor takes exactly one argument."))),
                }
            };
            match name {
                "list" | "set" | "map" => {
                    let arg = one(name)?;
                    let mut child = TypeDefaults::default();
                    let element = Box::new(parse(root, arg, &mut child, c)?);
                    keep_child(defaults, "*", child);
                    Ok(match name {
                        "list" => Type::List { element },
                        "set" => Type::Set { element },
                        _ => Type::Map { element },
                    })
                }
                "tuple" => {
                    let arg = one("tuple")?;
                    let Expression::Array(items) = arg else {
                        return Err(malformed(root, arg, "The tuple type constructor takes a list of element types: tuple([string, number])."));
                    };
                    let mut elements = Vec::new();
                    for (i, item) in items.iter().enumerate() {
                        let mut child = TypeDefaults::default();
                        elements.push(parse(root, item, &mut child, c)?);
                        keep_child(defaults, &i.to_string(), child);
                    }
                    Ok(Type::Tuple { elements })
                }
                "object" => {
                    let arg = one("object")?;
                    let Expression::Object(obj) = arg else {
                        return Err(malformed(root, arg, "The object type constructor takes an object of attribute types: object({ name = string })."));
                    };
                    let mut attributes = IndexMap::new();
                    let mut optional = Vec::new();
                    for (key, value) in obj.iter() {
                        let attr = match key {
                            ObjectKey::Ident(id) => id.value().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                            ObjectKey::Expression(k) => {
                                return Err(malformed(root, k, "Object type attribute names must be plain names."));
                            }
                        };
                        let mut child = TypeDefaults::default();
                        let vexpr = value.expr();
                        let ty = if let Some((inner, default)) = optional_call(root, vexpr)? {
                            optional.push(attr.clone());
                            let ty = parse(root, inner, &mut child, c)?;
                            if let Some(d) = default {
                                let dexpr = Expr { expr: d.clone(), span: root.sub_span(d.span()) };
                                let v = c.constant(&dexpr)?;
                                let v = c.convert(&v, &ty).map_err(|m| {
                                    malformed(root, d, format!("The default value does not match the attribute's type: {m}."))
                                })?;
                                defaults.values.insert(attr.clone(), v);
                            }
                            ty
                        } else {
                            parse(root, vexpr, &mut child, c)?
                        };
                        keep_child(defaults, &attr, child);
                        attributes.insert(attr, ty);
                    }
                    Ok(Type::Object { attributes, optional })
                }
                "optional" => Err(malformed(root, e, "optional(...) may only be used for an attribute of an object type.")),
                other => {
                    let hint = did_you_mean(other, CONSTRUCTORS.iter().copied())
                        .map(|s| format!(" Did you mean \"{s}\"?"))
                        .unwrap_or_default();
                    Err(malformed(root, e, format!("\"{other}\" is not a type constructor.{hint}")))
                }
            }
        }
        _ => Err(malformed(root, e, "A type specification is a type keyword (string, number, bool, any) or a constructor like list(string) or object({...}).")),
    }
}

/// `optional(T)` or `optional(T, default)`: the inner type expression and the default.
fn optional_call<'e>(
    root: &Expr,
    e: &'e Expression,
) -> Result<Option<(&'e Expression, Option<&'e Expression>)>, Diagnostic> {
    let Expression::FuncCall(call) = e else { return Ok(None) };
    if call.name.name.value().as_str() != "optional" {
        return Ok(None);
    }
    let args: Vec<&Expression> = call.args.iter().collect();
    match args.as_slice() {
        [t] => Ok(Some((*t, None))),
        [t, d] => Ok(Some((*t, Some(*d)))),
        _ => Err(malformed(root, e, "optional(...) takes a type and, optionally, a default value.")),
    }
}

fn keep_child(parent: &mut TypeDefaults, key: &str, child: TypeDefaults) {
    if !child.values.is_empty() || !child.children.is_empty() {
        parent.children.insert(key.to_string(), child);
    }
}
