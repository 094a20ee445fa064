//! Decimal text to a number, as Go's `big.ParseFloat(s, 10, prec, ToNearestEven)` (cty's
//! `ParseNumberVal`, used for HCL literals, `tonumber`, JSON and string conversions): the digits
//! as an exact integer, times or divided by a power of five computed at `prec + 64` bits the
//! way Go computes it, rounded once to `prec` bits.

use super::parts::{self, Parts};
use num_bigint::BigUint;

/// Sign, the digits' integer, and the power of ten to apply.
struct Scanned {
    neg: bool,
    mant: BigUint,
    exp10: i64,
}

/// An optional `+` or `-` at `b[*i]`, stepped over: whether it was `-`.
fn sign(b: &[u8], i: &mut usize) -> bool {
    match b.get(*i) {
        Some(&c @ (b'-' | b'+')) => {
            *i += 1;
            c == b'-'
        }
        _ => false,
    }
}

/// Reads `[+-]digits[.digits][(e|E)[+-]digits]` (at least one mantissa digit); `None` otherwise.
fn scan(s: &str) -> Option<Scanned> {
    let b = s.as_bytes();
    let mut i = 0;
    let neg = sign(b, &mut i);
    let mut digits = Vec::with_capacity(b.len());
    let mut frac: i64 = 0;
    let mut seen_point = false;
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => {
                digits.push(c);
                if seen_point {
                    frac += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => break,
        }
        i += 1;
    }
    if digits.is_empty() {
        return None;
    }
    let mut exp: i64 = 0;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let eneg = sign(b, &mut i);
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            // Beyond Go's exponent range anyway: refuse rather than overflow.
            exp = exp.checked_mul(10)?.checked_add(i64::from(b[i] - b'0'))?;
            if exp > i64::from(i32::MAX) {
                return None;
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        if eneg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return None;
    }
    let mant = BigUint::parse_bytes(&digits, 10)?;
    Some(Scanned { neg, mant, exp10: exp - frac })
}

/// Go's `Float.pow5` at precision `prec`: exact up to 5^27, then by squaring, each product
/// rounded (the squares at `prec + 64` bits).
fn pow5(n: u64, prec: u32) -> Parts {
    const M: u64 = 27;
    let five = |k: u64| Parts::new(false, BigUint::from(5u32).pow(k as u32), 0).expect("nonzero");
    if n <= M {
        return five(n);
    }
    let mut z = five(M);
    let mut n = n - M;
    let mut f = five(1);
    while n > 0 {
        if n & 1 != 0 {
            z = parts::mul(&z, &f, prec).expect("nonzero");
        }
        f = parts::mul(&f, &f, prec + 64).expect("nonzero");
        n >>= 1;
    }
    z
}

/// The value of `s` at `prec` bits: `Ok(None)` for zero (with its sign), `Err` if not a number.
pub(crate) fn parse(s: &str, prec: u32) -> Result<(bool, Option<Parts>), ()> {
    let Scanned { neg, mant, exp10 } = scan(s).ok_or(())?;
    let Some(m) = Parts::new(neg, mant, 0) else { return Ok((neg, None)) };
    // 10^e = 5^e * 2^e: the power of two goes into the exponent.
    let m = Parts { exp: m.exp + exp10, ..m };
    let x = match exp10 {
        0 => parts::round_parts(&m, prec),
        e if e > 0 => parts::mul(&m, &pow5(e as u64, prec + 64), prec),
        e => parts::div(&m, &pow5(e.unsigned_abs(), prec + 64), prec),
    };
    Ok((neg, x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_hcl_number_syntax() {
        assert!(scan("1").is_some());
        let signed = |t: &str| scan(t).map(|x| (x.neg, x.mant.to_string(), x.exp10));
        assert_eq!(signed("-1.5e-3"), Some((true, "15".into(), -4)));
        assert_eq!(signed("+2E+2"), Some((false, "2".into(), 2)));
        assert_eq!(signed("7e3"), Some((false, "7".into(), 3)));
        assert!(scan("1.").is_some());
        assert!(scan(".5").is_some());
        for bad in ["", "-", "+-1", "e3", "1e", "1e+-2", "1x", "1.2.3", "0x10", " 1"] {
            assert!(scan(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn f64_precision_parse_is_correctly_rounded() {
        for s in ["0.1", "0.3", "1e23", "123456789.123456789", "9007199254740993"] {
            let (_, x) = parse(s, 53).unwrap();
            assert_eq!(x.unwrap().exact_f64(), Some(s.parse::<f64>().unwrap()), "{s}");
        }
    }
}
