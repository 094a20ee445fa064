//! The exact binary form of a finite nonzero number (sign, odd mantissa, power of two) and the
//! arithmetic on it, each result rounded once to a precision, to nearest with ties to even, as
//! Go's `big.Float` does in its default mode.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::Zero;
use std::cmp::Ordering;

/// `(-1)^neg * mant * 2^exp`; `mant` is odd (hence nonzero) once normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parts {
    pub neg: bool,
    pub mant: BigUint,
    pub exp: i64,
}

impl Parts {
    /// Strips the mantissa's trailing zero bits into the exponent; `None` for zero.
    pub fn new(neg: bool, mant: BigUint, exp: i64) -> Option<Parts> {
        let tz = mant.trailing_zeros()?;
        Some(Parts { neg, mant: mant >> tz, exp: exp + tz as i64 })
    }

    pub fn bits(&self) -> u64 {
        self.mant.bits()
    }

    /// The position of the most significant bit: the magnitude is in `[2^top, 2^(top+1))`.
    pub fn top(&self) -> i64 {
        self.exp + self.bits() as i64 - 1
    }

    pub fn negate(mut self) -> Parts {
        self.neg = !self.neg;
        self
    }

    /// Exact decomposition of a finite nonzero f64.
    pub fn from_f64(v: f64) -> Option<Parts> {
        if v == 0.0 || !v.is_finite() {
            return None;
        }
        let bits = v.to_bits();
        let neg = bits >> 63 == 1;
        let field = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, e) = if field == 0 { (frac, -1074) } else { (frac | (1u64 << 52), field - 1075) };
        Parts::new(neg, BigUint::from(m), e)
    }

    /// The f64 holding exactly this value, if one does.
    pub fn exact_f64(&self) -> Option<f64> {
        let b = self.bits() as i64;
        if b > 53 || self.exp < -1074 || self.exp + b > 1024 {
            return None;
        }
        let m = self.mant.iter_u64_digits().next().unwrap_or(0) as f64;
        let v = ldexp(m, self.exp);
        Some(if self.neg { -v } else { v })
    }

    /// Compares magnitudes.
    pub fn cmp_abs(&self, o: &Parts) -> Ordering {
        match self.top().cmp(&o.top()) {
            Ordering::Equal => {}
            other => return other,
        }
        let e = self.exp.min(o.exp);
        let a = &self.mant << (self.exp - e) as u64;
        let b = &o.mant << (o.exp - e) as u64;
        a.cmp(&b)
    }

    /// The integer part (truncated toward zero), or `None` when it is zero.
    pub fn trunc(&self) -> Option<Parts> {
        if self.exp >= 0 {
            return Some(self.clone());
        }
        Parts::new(self.neg, &self.mant >> (-self.exp) as u64, 0)
    }

    /// True if the value is a whole number.
    pub fn is_integer(&self) -> bool {
        self.exp >= 0
    }
}

/// `m * 2^e` for an `m` exact in f64 and a result that f64 holds exactly.
pub(crate) fn ldexp(m: f64, e: i64) -> f64 {
    let (mut x, mut e) = (m, e);
    while e > 1000 {
        x *= pow2(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= pow2(-1000);
        e += 1000;
    }
    x * pow2(e)
}

/// 2^k for -1022 <= k <= 1023.
fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Rounds `mant * 2^exp` to `prec` bits, to nearest, ties to even. `sticky` says the true value
/// is a little more than that (a division's nonzero remainder); the caller then gives at least
/// `prec + 2` bits. `None` for zero.
pub(crate) fn round(neg: bool, mant: BigUint, exp: i64, prec: u32, sticky: bool) -> Option<Parts> {
    let bits = mant.bits();
    let prec = u64::from(prec.max(1));
    if bits <= prec {
        return Parts::new(neg, mant, exp);
    }
    let shift = bits - prec;
    let mut r = &mant >> shift;
    let half = mant.bit(shift - 1);
    let rest = sticky || mant.trailing_zeros().is_some_and(|tz| tz < shift - 1);
    if half && (rest || r.bit(0)) {
        r += 1u32;
    }
    Parts::new(neg, r, exp + shift as i64)
}

/// Rounds a value to `prec` bits.
pub(crate) fn round_parts(p: &Parts, prec: u32) -> Option<Parts> {
    if p.bits() <= u64::from(prec) {
        return Some(p.clone());
    }
    round(p.neg, p.mant.clone(), p.exp, prec, false)
}

/// `a + b` rounded to `prec` bits; `None` when the sum is exactly zero (which is +0).
pub(crate) fn add(a: &Parts, b: &Parts, prec: u32) -> Option<Parts> {
    let (big, small) = if a.top() >= b.top() { (a, b) } else { (b, a) };
    // A term below a quarter of the result's last place cannot change the rounded sum.
    if small.top() + i64::from(prec) + 3 <= big.top() {
        return round_parts(big, prec);
    }
    let e = a.exp.min(b.exp);
    let ma = &a.mant << (a.exp - e) as u64;
    let mb = &b.mant << (b.exp - e) as u64;
    if a.neg == b.neg {
        return round(a.neg, ma + mb, e, prec, false);
    }
    match ma.cmp(&mb) {
        Ordering::Equal => None,
        Ordering::Greater => round(a.neg, ma - mb, e, prec, false),
        Ordering::Less => round(b.neg, mb - ma, e, prec, false),
    }
}

pub(crate) fn mul(a: &Parts, b: &Parts, prec: u32) -> Option<Parts> {
    round(a.neg != b.neg, &a.mant * &b.mant, a.exp + b.exp, prec, false)
}

pub(crate) fn div(a: &Parts, b: &Parts, prec: u32) -> Option<Parts> {
    let want = i64::from(prec) + 2;
    let k = (want + b.bits() as i64 - a.bits() as i64).max(0);
    let num = &a.mant << k as u64;
    let (q, r) = num.div_rem(&b.mant);
    round(a.neg != b.neg, q, a.exp - k - b.exp, prec, !r.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: f64) -> Parts {
        Parts::from_f64(v).unwrap()
    }

    #[test]
    fn f64_round_trips_through_parts() {
        for v in [1.0, -2.5, 0.1, 1e300, 5e-324, f64::MAX, f64::MIN_POSITIVE, 9007199254740993.0] {
            assert_eq!(p(v).exact_f64(), Some(v), "{v}");
        }
    }

    #[test]
    fn rounding_is_to_nearest_even() {
        // 0b1011 at 3 bits: halfway between 0b101 and 0b110 -> even 0b110.
        let r = round(false, BigUint::from(11u32), 0, 3, false).unwrap();
        assert_eq!(r.exact_f64(), Some(12.0));
        // 0b1001 at 3 bits: halfway between 0b100 and 0b101 -> even 0b100.
        let r = round(false, BigUint::from(9u32), 0, 3, false).unwrap();
        assert_eq!(r.exact_f64(), Some(8.0));
        // with a remainder below, not a tie: up.
        let r = round(false, BigUint::from(9u32), 0, 3, true).unwrap();
        assert_eq!(r.exact_f64(), Some(10.0));
    }

    #[test]
    fn arithmetic_at_53_bits_is_ieee() {
        assert_eq!(add(&p(0.1), &p(0.2), 53).unwrap().exact_f64(), Some(0.1 + 0.2));
        assert_eq!(mul(&p(0.1), &p(3.0), 53).unwrap().exact_f64(), Some(0.1 * 3.0));
        assert_eq!(div(&p(1.0), &p(3.0), 53).unwrap().exact_f64(), Some(1.0 / 3.0));
        assert_eq!(div(&p(2.0), &p(3.0), 53).unwrap().exact_f64(), Some(2.0 / 3.0));
        assert_eq!(add(&p(1e300), &p(1e-300), 53).unwrap().exact_f64(), Some(1e300));
        assert!(add(&p(1.5), &p(-1.5), 53).is_none());
    }
}
