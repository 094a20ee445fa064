//! Numeric functions. Numbers are f64; results that are not finite are refused with an error
//! rather than returned, because HCL has no literal for them. Marks are not handled here.

use super::{Args, FuncError};
use tarn_sdk::Value;

fn number(n: f64) -> Result<Value, FuncError> {
    if n.is_finite() { Ok(Value::Number(n)) } else { Err(FuncError::call("The result is not a finite number.")) }
}

pub(crate) fn abs(a: &Args) -> Result<Value, FuncError> {
    number(a.num(0)?.abs())
}

pub(crate) fn ceil(a: &Args) -> Result<Value, FuncError> {
    number(a.num(0)?.ceil())
}

pub(crate) fn floor(a: &Args) -> Result<Value, FuncError> {
    number(a.num(0)?.floor())
}

/// As Terraform 1.0.3, which reads the number into a Go `int` first: a fraction, or a number
/// past 64 bits, fails the call.
pub(crate) fn signum(a: &Args) -> Result<Value, FuncError> {
    let n = a.num(0)?;
    let limit = 2f64.powi(63);
    if n.fract() != 0.0 || !(-limit..limit).contains(&n) {
        return Err(FuncError::call(
            "value must be a whole number, between -9223372036854775808 and 9223372036854775807.",
        ));
    }
    number(if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    })
}

fn fold(a: &Args, pick: fn(f64, f64) -> f64) -> Result<Value, FuncError> {
    let mut acc: Option<f64> = None;
    for i in 0..a.len() {
        let n = a.num(i)?;
        acc = Some(acc.map_or(n, |m| pick(m, n)));
    }
    number(acc.unwrap_or(0.0))
}

pub(crate) fn max(a: &Args) -> Result<Value, FuncError> {
    fold(a, f64::max)
}

pub(crate) fn min(a: &Args) -> Result<Value, FuncError> {
    fold(a, f64::min)
}

pub(crate) fn pow(a: &Args) -> Result<Value, FuncError> {
    number(a.num(0)?.powf(a.num(1)?))
}

pub(crate) fn log(a: &Args) -> Result<Value, FuncError> {
    let (n, base) = (a.num(0)?, a.num(1)?);
    number(n.ln() / base.ln())
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
    let mut total = 0.0f64;
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
        total = total * base as f64 + d as f64;
    }
    number(if negative { -total } else { total })
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
