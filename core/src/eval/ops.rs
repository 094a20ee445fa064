//! Operators on values: arithmetic, comparison, equality and logic, with Terraform's
//! conversions (a numeric string is a number operand; `"true"` is a bool operand) and mark
//! propagation: any unknown operand gives an unknown result (except where `&&`/`||` are
//! already decided by a known operand), any sensitive operand gives a sensitive result.
//!
//! Errors are plain messages; the evaluator attaches the operand's span. Nothing here knows
//! about syntax trees.

use hcl::edit::expr::{BinaryOperator, UnaryOperator};
use tarn_sdk::{Number, Value};

/// Which operand a message is about, so the evaluator can point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
    Whole,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpError {
    pub side: Side,
    pub summary: &'static str,
    pub detail: String,
}

fn err(side: Side, summary: &'static str, detail: impl Into<String>) -> OpError {
    OpError { side, summary, detail: detail.into() }
}

/// Wraps `v` in the sensitive mark when `sensitive`.
pub fn mark(v: Value, sensitive: bool) -> Value {
    if sensitive { v.sensitive() } else { v }
}

/// A value's numeric reading under Terraform's conversions.
pub fn to_number(v: &Value) -> Option<Number> {
    match v.unmark().0 {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => parse_number(s),
        _ => None,
    }
}

/// Parses a number the way Terraform converts a string: decimal, optional sign, fraction and
/// exponent, at 512 bits (cty's `ParseNumberVal`).
pub fn parse_number(s: &str) -> Option<Number> {
    Number::parse(s)
}

pub fn to_bool(v: &Value) -> Option<bool> {
    match v.unmark().0 {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// The string form of a primitive, for templates and string conversion.
pub fn to_string(v: &Value) -> Option<String> {
    match v.unmark().0 {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_text()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn describe(v: &Value) -> &'static str {
    match v.unmark().0 {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "an object",
        Value::Unknown => "an unknown value",
        Value::Sensitive(_) => "a sensitive value",
    }
}

pub fn unary(op: UnaryOperator, v: &Value) -> Result<Value, OpError> {
    let sensitive = v.contains_sensitive();
    if v.is_unknown() {
        return Ok(mark(Value::Unknown, sensitive));
    }
    match op {
        UnaryOperator::Neg => to_number(v).map(|n| mark(Value::Number(n.neg()), sensitive)).ok_or_else(|| {
            err(
                Side::Whole,
                "Invalid operand",
                format!("Unsuitable value for unary operand: a number is required, but this is {}.", describe(v)),
            )
        }),
        UnaryOperator::Not => to_bool(v).map(|b| mark(Value::Bool(!b), sensitive)).ok_or_else(|| {
            err(
                Side::Whole,
                "Invalid operand",
                format!("Unsuitable value for unary operand: a bool is required, but this is {}.", describe(v)),
            )
        }),
    }
}

/// `&&` and `||` when the left operand alone decides: `Some(result)`.
pub fn short_circuit(op: BinaryOperator, lhs: &Value) -> Option<Value> {
    let b = lhs.as_bool()?;
    let s = lhs.contains_sensitive();
    match (op, b) {
        (BinaryOperator::And, false) => Some(mark(Value::Bool(false), s)),
        (BinaryOperator::Or, true) => Some(mark(Value::Bool(true), s)),
        _ => None,
    }
}

pub fn binary(op: BinaryOperator, lhs: &Value, rhs: &Value) -> Result<Value, OpError> {
    use BinaryOperator as B;
    let sensitive = lhs.contains_sensitive() || rhs.contains_sensitive();
    match op {
        B::Eq | B::NotEq => {
            if !lhs.is_wholly_known() || !rhs.is_wholly_known() {
                return Ok(mark(Value::Unknown, sensitive));
            }
            let same = equal(lhs, rhs);
            Ok(mark(Value::Bool(if op == B::Eq { same } else { !same }), sensitive))
        }
        B::And | B::Or => {
            let l = operand_bool(lhs, Side::Left)?;
            let r = operand_bool(rhs, Side::Right)?;
            // A known operand may decide the result even when the other is unknown.
            let out = match (op, l, r) {
                (B::And, Some(false), _) | (B::And, _, Some(false)) => Value::Bool(false),
                (B::Or, Some(true), _) | (B::Or, _, Some(true)) => Value::Bool(true),
                (_, Some(a), Some(b)) => Value::Bool(if op == B::And { a && b } else { a || b }),
                _ => Value::Unknown,
            };
            Ok(mark(out, sensitive))
        }
        _ => {
            let l = operand_number(lhs, Side::Left)?;
            let r = operand_number(rhs, Side::Right)?;
            let (Some(a), Some(b)) = (l, r) else { return Ok(mark(Value::Unknown, sensitive)) };
            use std::cmp::Ordering::{Greater, Less};
            let order = || a.cmp_value(&b);
            // Arithmetic as cty computes it (see tarn_sdk::Number); `None` is Go's NaN.
            let out = match op {
                B::Plus => a.add(&b).map(Value::Number),
                B::Minus => a.sub(&b).map(Value::Number),
                B::Mul => a.mul(&b).map(Value::Number),
                // As cty: x % 0 is x; 0 / 0 blames the whole operation; x / 0 overflows below.
                B::Div if b.is_zero() && a.is_zero() => {
                    return Err(err(
                        Side::Whole,
                        "Division by zero",
                        "The right operand of this operation is zero; division by zero is not defined.",
                    ));
                }
                B::Div => a.div(&b).map(Value::Number),
                B::Mod => a.rem(&b).map(Value::Number),
                B::Less => Some(Value::Bool(order() == Less)),
                B::LessEq => Some(Value::Bool(order() != Greater)),
                B::Greater => Some(Value::Bool(order() == Greater)),
                B::GreaterEq => Some(Value::Bool(order() != Less)),
                _ => Some(Value::Unknown),
            };
            let Some(out) = out else {
                return Err(err(Side::Whole, "Arithmetic overflow", "The result of this operation is not a number."));
            };
            if let Value::Number(n) = &out
                && !n.is_finite()
            {
                return Err(err(
                    Side::Whole,
                    "Arithmetic overflow",
                    "The result of this operation is too large to represent.",
                ));
            }
            Ok(mark(out, sensitive))
        }
    }
}

/// `Ok(None)` for unknown.
fn operand_number(v: &Value, side: Side) -> Result<Option<Number>, OpError> {
    if v.is_unknown() {
        return Ok(None);
    }
    to_number(v).map(Some).ok_or_else(|| {
        err(
            // Terraform blames a null operand on the whole operation.
            if v.is_null() { Side::Whole } else { side },
            "Invalid operand",
            format!(
                "Unsuitable value for {} operand: a number is required, but this is {}.",
                side_name(side),
                describe(v)
            ),
        )
    })
}

fn operand_bool(v: &Value, side: Side) -> Result<Option<bool>, OpError> {
    if v.is_unknown() {
        return Ok(None);
    }
    to_bool(v).map(Some).ok_or_else(|| {
        err(
            side,
            "Invalid operand",
            format!(
                "Unsuitable value for {} operand: a bool is required, but this is {}.",
                side_name(side),
                describe(v)
            ),
        )
    })
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Left => "left",
        Side::Right => "right",
        Side::Whole => "the",
    }
}

/// Deep equality ignoring sensitive marks; numbers compare by exact value (Terraform 1.0.3's
/// `==`: a float64 `0.1` is not the literal `0.1`). A set never equals a list, as in Terraform
/// (their types differ); two sets are equal when their (ordered) elements are.
pub fn equal(a: &Value, b: &Value) -> bool {
    match (a.unmark().0, b.unmark().0) {
        (Value::Number(x), Value::Number(y)) => x.same_value(y),
        (Value::List(x), Value::List(y)) | (Value::Set(x), Value::Set(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        (x, y) => x == y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BinaryOperator as B;

    #[test]
    fn every_binary_operator_propagates_unknown_and_sensitive() {
        let ops =
            [B::Eq, B::NotEq, B::LessEq, B::GreaterEq, B::Less, B::Greater, B::Plus, B::Minus, B::Mul, B::Div, B::Mod];
        for op in ops {
            assert_eq!(binary(op, &Value::Unknown, &Value::number(1.0)).unwrap(), Value::Unknown, "{op:?}");
            assert_eq!(binary(op, &Value::number(1.0), &Value::Unknown).unwrap(), Value::Unknown, "{op:?}");
            let s = binary(op, &Value::number(2.0).sensitive(), &Value::number(1.0)).unwrap();
            assert!(s.is_sensitive(), "{op:?}");
            let su = binary(op, &Value::number(2.0).sensitive(), &Value::Unknown).unwrap();
            assert!(su.is_sensitive() && su.is_unknown(), "{op:?}");
        }
        for op in [B::And, B::Or] {
            assert!(binary(op, &Value::Bool(true).sensitive(), &Value::Bool(false)).unwrap().is_sensitive());
        }
    }

    #[test]
    fn logic_is_decided_by_a_known_operand() {
        assert_eq!(binary(B::And, &Value::Bool(false), &Value::Unknown).unwrap(), Value::Bool(false));
        assert_eq!(binary(B::And, &Value::Unknown, &Value::Bool(false)).unwrap(), Value::Bool(false));
        assert_eq!(binary(B::Or, &Value::Unknown, &Value::Bool(true)).unwrap(), Value::Bool(true));
        assert_eq!(binary(B::Or, &Value::Bool(false), &Value::Unknown).unwrap(), Value::Unknown);
        assert_eq!(short_circuit(B::And, &Value::Bool(false)), Some(Value::Bool(false)));
    }

    #[test]
    fn unary_marks_and_errors() {
        assert_eq!(unary(UnaryOperator::Neg, &Value::string("3")).unwrap(), Value::number(-3.0));
        assert!(unary(UnaryOperator::Not, &Value::Bool(true).sensitive()).unwrap().is_sensitive());
        assert_eq!(unary(UnaryOperator::Not, &Value::Unknown).unwrap(), Value::Unknown);
        assert!(unary(UnaryOperator::Neg, &Value::Null).is_err());
    }

    #[test]
    fn conversions_and_errors() {
        assert_eq!(binary(B::Plus, &Value::string("2"), &Value::number(3.0)).unwrap(), Value::number(5.0));
        assert_eq!(binary(B::Eq, &Value::string("1"), &Value::number(1.0)).unwrap(), Value::Bool(false));
        assert_eq!(binary(B::Div, &Value::number(0.0), &Value::number(0.0)).unwrap_err().side, Side::Whole);
        assert_eq!(binary(B::Mod, &Value::number(3.0), &Value::number(0.0)).unwrap(), Value::number(3.0));
        // Terraform blames a null operand on the whole operation.
        assert_eq!(binary(B::Plus, &Value::Null, &Value::number(1.0)).unwrap_err().side, Side::Whole);
        assert_eq!(parse_number("1e3"), Some(Number::from(1000)));
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("1.2.3"), None);
    }

    #[test]
    fn arithmetic_is_terraforms() {
        let n = |s: &str| Value::Number(Number::parse(s).unwrap());
        let text = |v: Value| v.as_number().unwrap().to_text();
        assert_eq!(text(binary(B::Plus, &n("0.1"), &n("0.2")).unwrap()), "0.3");
        assert_eq!(
            binary(B::Eq, &binary(B::Plus, &n("0.1"), &n("0.2")).unwrap(), &n("0.3")).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(text(binary(B::Plus, &n("9007199254740993"), &n("0")).unwrap()), "9007199254740993");
        assert_eq!(binary(B::Greater, &n("9007199254740993"), &n("9007199254740992")).unwrap(), Value::Bool(true));
        // An f64 0.1 is not the literal 0.1 for `==`, as in Terraform 1.0.3.
        assert_eq!(binary(B::Eq, &Value::number(0.1), &n("0.1")).unwrap(), Value::Bool(false));
        assert_eq!(text(unary(UnaryOperator::Neg, &n("0")).unwrap()), "-0");
        assert_eq!(binary(B::Div, &n("1"), &n("0")).unwrap_err().summary, "Arithmetic overflow");
    }
}
