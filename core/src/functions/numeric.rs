//! Numeric functions, computed as Terraform 1.0.3 (cty) computes them: `abs`, `ceil`, `floor`,
//! `max`, `min` and `signum` on the exact numbers (keeping their precision); `pow` and `log` in
//! Go's float64 (their results carry 53 bits); `parseint` exactly. Results that are not finite
//! are refused with an error rather than returned, because HCL has no literal for them. Marks
//! are not handled here.

use super::{Args, FuncError};
use tarn_sdk::{Number, Value};

fn number(n: Number) -> Result<Value, FuncError> {
    if n.is_finite() { Ok(Value::Number(n)) } else { Err(FuncError::call("The result is not a finite number.")) }
}

pub(crate) fn abs(a: &Args) -> Result<Value, FuncError> {
    number(a.number(0)?.abs())
}

pub(crate) fn ceil(a: &Args) -> Result<Value, FuncError> {
    number(a.number(0)?.ceil())
}

pub(crate) fn floor(a: &Args) -> Result<Value, FuncError> {
    number(a.number(0)?.floor())
}

/// As Terraform 1.0.3, which reads the number into a Go `int` first: a fraction, or a number
/// past 64 bits, fails the call. The sign is a 64-bit integer.
pub(crate) fn signum(a: &Args) -> Result<Value, FuncError> {
    let Some(n) = a.number(0)?.to_i64() else {
        return Err(FuncError::call(
            "value must be a whole number, between -9223372036854775808 and 9223372036854775807.",
        ));
    };
    number(Number::from_i64(n.signum()))
}

/// The argument that wins, unchanged (its precision too).
fn fold(a: &Args, keep: std::cmp::Ordering) -> Result<Value, FuncError> {
    let mut acc: Option<&Number> = None;
    for i in 0..a.len() {
        let n = a.number(i)?;
        acc = Some(match acc {
            Some(m) if n.cmp_value(m) != keep => m,
            _ => n,
        });
    }
    number(acc.cloned().unwrap_or_default())
}

pub(crate) fn max(a: &Args) -> Result<Value, FuncError> {
    fold(a, std::cmp::Ordering::Greater)
}

pub(crate) fn min(a: &Args) -> Result<Value, FuncError> {
    fold(a, std::cmp::Ordering::Less)
}

pub(crate) fn pow(a: &Args) -> Result<Value, FuncError> {
    number(Number::from_f64(a.num(0)?.powf(a.num(1)?)))
}

pub(crate) fn log(a: &Args) -> Result<Value, FuncError> {
    let (n, base) = (a.num(0)?, a.num(1)?);
    number(Number::from_f64(n.ln() / base.ln()))
}

/// Parses an integer in base 2 to 62: digits, then `a-z`, then (above base 36) `A-Z`, as Go's
/// big.Int does. Below base 37 letters are case-insensitive.
pub(crate) fn parseint(a: &Args) -> Result<Value, FuncError> {
    let s = a.str(0)?;
    let base = a.int(1).ok().filter(|b| (2..=62).contains(b));
    let Some(base) = base else {
        return Err(a.err(1, "base must be a whole number between 2 and 62 inclusive."));
    };
    let fail = || a.err(0, format!("cannot parse \"{s}\" as a base {base} integer."));
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if digits.is_empty() {
        return Err(fail());
    }
    let mut values = Vec::with_capacity(digits.len());
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => return Err(fail()),
        };
        if d >= base {
            return Err(fail());
        }
        values.push(d as u32);
    }
    number(Number::from_digits(negative, &values, base as u32))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn basics() {
        assert_eq!(ok("abs", vec![n(-12.4)]), n(12.4));
        assert_eq!(ok("ceil", vec![n(4.1)]), n(5.0));
        assert_eq!(ok("floor", vec![n(-4.1)]), n(-5.0));
        assert_eq!(ok("signum", vec![n(-3.0)]), n(-1.0));
        assert_eq!(ok("signum", vec![n(0.0)]), n(0.0));
        assert_eq!(ok("max", vec![n(12.0), n(54.0), n(3.0)]), n(54.0));
        assert_eq!(ok("min", vec![n(12.0), n(54.0), n(3.0)]), n(3.0));
        assert_eq!(ok("pow", vec![n(3.0), n(2.0)]), n(9.0));
        assert_eq!(ok("pow", vec![n(4.0), n(0.5)]), n(2.0));
        assert_eq!(ok("log", vec![n(16.0), n(2.0)]), n(4.0));
        assert_eq!(err("pow", vec![n(0.0), n(-1.0)]), "The result is not a finite number.");
        assert_eq!(err("log", vec![n(0.0), n(10.0)]), "The result is not a finite number.");
    }

    #[test]
    fn exact_where_terraform_is_exact() {
        let big = tarn_sdk::Number::parse("9007199254740993").unwrap();
        let v = ok("abs", vec![tarn_sdk::Value::Number(big.neg())]);
        assert_eq!(v.as_number().unwrap().to_text(), "9007199254740993");
        let v = ok("max", vec![tarn_sdk::Value::Number(big.clone()), n(9007199254740992.0)]);
        assert_eq!(v.as_number().unwrap().to_text(), "9007199254740993");
        let v = ok("parseint", vec![s("123456789012345678901234567890"), n(10.0)]);
        assert_eq!(v.as_number().unwrap().to_text(), "123456789012345678901234567890");
        // pow works in float64, as Terraform's does.
        let v = ok("pow", vec![n(2.0), n(70.0)]);
        assert_eq!(v.as_number().unwrap().to_text(), "1180591620717411300000");
    }

    #[test]
    fn parseint_bases() {
        assert_eq!(ok("parseint", vec![s("100"), n(10.0)]), n(100.0));
        assert_eq!(ok("parseint", vec![s("FF"), n(16.0)]), n(255.0));
        assert_eq!(ok("parseint", vec![s("-10"), n(16.0)]), n(-16.0));
        assert_eq!(ok("parseint", vec![s("1011111011101111"), n(2.0)]), n(48879.0));
        assert_eq!(ok("parseint", vec![s("aA"), n(62.0)]), n(10.0 * 62.0 + 36.0));
        assert_eq!(
            err("parseint", vec![s("12"), n(2.0)]),
            "Invalid value for \"number\" parameter: cannot parse \"12\" as a base 2 integer."
        );
        assert_eq!(
            err("parseint", vec![s("12"), n(63.0)]),
            "Invalid value for \"base\" parameter: base must be a whole number between 2 and 62 inclusive."
        );
        assert!(err("parseint", vec![s(""), n(10.0)]).contains("cannot parse"));
    }
}
