//! Numbers as Terraform holds them (cty: Go `big.Float`): a binary float whose precision
//! travels with it. Literals and decimal text are read at 512 bits, integers from Go's `int64`
//! at 64 and values of Go's float64 math at 53; `+ - * /` work at the larger precision of their
//! operands, rounding to nearest, ties to even; text is the shortest decimal that reads back to
//! the same value at the value's precision (`0.1 + 0.2` is `0.3`, `1/3` has 155 digits).
//!
//! Cheap for the common case: a value an f64 holds exactly (every integer up to 2^53, every
//! float from a provider) is stored inline with its precision and computed with f64 arithmetic
//! when that is provably exact; only other values allocate. Infinities exist (Go's do) so that
//! callers can refuse them where they arise; there is no NaN: the operations that would give
//! one return `None`.
//!
//! Equality (`==` on `Number`, and so on `Value`) is cty's "same serialization": two numbers
//! are equal when their texts are (`-0` equals `0`), so a number written to JSON and read back
//! equals itself whatever precision it had. Order and HCL's `==` operator compare exact values
//! ([`Number::cmp_value`]), as Terraform 1.0.3 does.

mod parse;
mod parts;
mod text;

use num_bigint::BigUint;
use parts::Parts;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
pub use text::Style;

/// The precision of Go's float64 values and of results of float64 math (`pow`, `log`).
pub const F64_PREC: u32 = 53;
/// The precision of integers from Go's `int64` (`length`, `index`, ...): cty's `NumberIntVal`.
pub const INT_PREC: u32 = 64;
/// The precision of parsed literals and decimal text: cty's `ParseNumberVal`.
pub const PARSE_PREC: u32 = 512;

/// 2^63, the bound of i64.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// 2^53: below it every integer is exact in an f64 and prints as itself at any precision.
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// A number; see the module documentation.
#[derive(Clone)]
pub struct Number(Repr);

#[derive(Clone)]
enum Repr {
    /// Exactly this f64 (±0 and ±infinity included), carried at `prec` bits.
    Small { v: f64, prec: u32 },
    /// A finite value no f64 holds exactly.
    Big(Box<Big>),
}

#[derive(Clone)]
struct Big {
    parts: Parts,
    prec: u32,
}

/// A number by kind, for the general (exact) paths.
enum Class<'a> {
    Zero { neg: bool },
    Inf { neg: bool },
    Finite(Cow<'a, Parts>),
}

impl Number {
    /// An f64 at 53 bits (cty's `NumberFloatVal`). NaN, which no number is, becomes 0.
    pub fn from_f64(v: f64) -> Number {
        Number(Repr::Small { v: if v.is_nan() { 0.0 } else { v }, prec: F64_PREC })
    }

    /// An integer at 64 bits (cty's `NumberIntVal`), exact.
    pub fn from_i64(i: i64) -> Number {
        if i.unsigned_abs() <= 1 << 53 {
            return Number(Repr::Small { v: i as f64, prec: INT_PREC });
        }
        Number::from_parts(i < 0, Parts::new(i < 0, BigUint::from(i.unsigned_abs()), 0), INT_PREC)
    }

    /// An unsigned integer at 64 bits, exact.
    pub fn from_u64(u: u64) -> Number {
        if u <= 1 << 53 {
            return Number(Repr::Small { v: u as f64, prec: INT_PREC });
        }
        Number::from_parts(false, Parts::new(false, BigUint::from(u), 0), INT_PREC)
    }

    /// An integer from its digits (most significant first, each below `base`), exact, at the
    /// larger of 64 bits and its length, as Go's `Float.SetInt` (`parseint`).
    pub fn from_digits(neg: bool, digits: &[u32], base: u32) -> Number {
        let mut m = BigUint::from(0u32);
        for &d in digits {
            m = m * base + d;
        }
        let prec = (m.bits() as u32).max(INT_PREC);
        Number::from_parts(neg, Parts::new(neg, m, 0), prec)
    }

    /// Parses decimal text at 512 bits, as Terraform reads literals, strings and JSON:
    /// `[+-]digits[.digits][(e|E)[+-]digits]`. `None` if `s` is not such a number.
    pub fn parse(s: &str) -> Option<Number> {
        Number::parse_at(s, PARSE_PREC)
    }

    /// Parses decimal text at `prec` bits.
    pub fn parse_at(s: &str, prec: u32) -> Option<Number> {
        if let Some(n) = Number::parse_fast(s, prec) {
            return Some(n);
        }
        let (neg, x) = parse::parse(s, prec).ok()?;
        Some(Number::from_parts(neg, x, prec))
    }

    /// Short integers and short decimals an f64 holds exactly, without allocating.
    fn parse_fast(s: &str, prec: u32) -> Option<Number> {
        let body = s.strip_prefix('-').unwrap_or(s);
        if body.is_empty() || body.len() > 15 || !body.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return None;
        }
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() || frac.contains('.') {
            return None;
        }
        let m = int.bytes().chain(frac.bytes()).fold(0u64, |m, b| m * 10 + u64::from(b - b'0'));
        let scale = 10f64.powi(frac.len() as i32);
        let q = m as f64 / scale;
        // Exact when q * scale gives m back with no remainder.
        if (-q).mul_add(scale, m as f64) != 0.0 {
            return None;
        }
        let v = if s.starts_with('-') { -q } else { q };
        Some(Number(Repr::Small { v, prec }))
    }

    fn from_parts(neg_zero: bool, x: Option<Parts>, prec: u32) -> Number {
        match x {
            None => Number(Repr::Small { v: if neg_zero { -0.0 } else { 0.0 }, prec }),
            Some(p) => match p.exact_f64() {
                Some(v) => Number(Repr::Small { v, prec }),
                None => Number(Repr::Big(Box::new(Big { parts: p, prec }))),
            },
        }
    }

    fn class(&self) -> Class<'_> {
        match &self.0 {
            Repr::Small { v, .. } if *v == 0.0 => Class::Zero { neg: v.is_sign_negative() },
            Repr::Small { v, .. } if v.is_infinite() => Class::Inf { neg: *v < 0.0 },
            Repr::Small { v, .. } => Class::Finite(Cow::Owned(Parts::from_f64(*v).expect("finite nonzero"))),
            Repr::Big(b) => Class::Finite(Cow::Borrowed(&b.parts)),
        }
    }

    /// The precision in bits.
    pub fn prec(&self) -> u32 {
        match &self.0 {
            Repr::Small { prec, .. } => *prec,
            Repr::Big(b) => b.prec,
        }
    }

    /// The same value rounded to `prec` bits, carried at `prec` (Go's `SetPrec`).
    pub fn with_prec(&self, prec: u32) -> Number {
        match &self.0 {
            Repr::Small { v, .. } if *v == 0.0 || v.is_infinite() || prec >= F64_PREC => {
                Number(Repr::Small { v: *v, prec })
            }
            _ => match self.class() {
                Class::Finite(p) => Number::from_parts(p.neg, parts::round_parts(&p, prec), prec),
                _ => self.clone(),
            },
        }
    }

    /// The nearest f64 (ties to even); past its range, an infinity.
    pub fn to_f64(&self) -> f64 {
        match &self.0 {
            Repr::Small { v, .. } => *v,
            Repr::Big(b) => {
                let p = &b.parts;
                // Round at 53 bits, or at the last subnormal place for tiny values.
                let top = p.top();
                let keep = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
                if keep <= 0 {
                    // Below half the smallest subnormal (or at it): zero or the smallest.
                    let v =
                        if keep == 0 && p.cmp_abs(&half_min_subnormal()) == Ordering::Greater { 5e-324 } else { 0.0 };
                    return if p.neg { -v } else { v };
                }
                match parts::round_parts(p, keep as u32) {
                    Some(r) => r.exact_f64().unwrap_or(if p.neg { f64::NEG_INFINITY } else { f64::INFINITY }),
                    None => 0.0,
                }
            }
        }
    }

    /// The value as an i64 if it is a whole number in range (Go's `Int64` with `Exact`).
    pub fn to_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Small { v, .. } => {
                (v.is_finite() && v.fract() == 0.0 && *v >= -TWO_63 && *v < TWO_63).then_some(*v as i64)
            }
            Repr::Big(b) => {
                let p = &b.parts;
                if !p.is_integer() || p.top() > 63 {
                    return None;
                }
                let m = u64::try_from(&p.mant << p.exp as u64).ok()?;
                if p.neg {
                    if m <= 1u64 << 63 { Some((m as i64).wrapping_neg()) } else { None }
                } else {
                    i64::try_from(m).ok()
                }
            }
        }
    }

    /// The value as a u64 if it is a whole number in range.
    pub fn to_u64(&self) -> Option<u64> {
        if self.is_negative() && !self.is_zero() {
            return None;
        }
        match &self.0 {
            Repr::Small { v, .. } => (v.is_finite() && v.fract() == 0.0 && *v < 2.0 * TWO_63).then_some(*v as u64),
            Repr::Big(b) => {
                let p = &b.parts;
                if !p.is_integer() || p.top() > 63 {
                    return None;
                }
                u64::try_from(&p.mant << p.exp as u64).ok()
            }
        }
    }

    /// The value as a usize if it is a whole number in range.
    pub fn to_usize(&self) -> Option<usize> {
        self.to_u64().and_then(|u| usize::try_from(u).ok())
    }

    /// The exact decimal digits of a whole number (`-` for negatives); `None` for a fraction or
    /// an infinity.
    pub fn to_integer_string(&self) -> Option<String> {
        let digits = self.to_integer_radix(10)?;
        Some(if self.signum() < 0 { format!("-{digits}") } else { digits })
    }

    /// The exact digits of a whole number's magnitude in `radix` (2 to 36, lowercase letters);
    /// `None` for a fraction or an infinity.
    pub fn to_integer_radix(&self, radix: u32) -> Option<String> {
        match self.class() {
            Class::Zero { .. } => Some("0".into()),
            Class::Inf { .. } => None,
            Class::Finite(p) => p.is_integer().then(|| (&p.mant << p.exp as u64).to_str_radix(radix)),
        }
    }

    pub fn is_finite(&self) -> bool {
        !self.is_infinite()
    }

    pub fn is_infinite(&self) -> bool {
        matches!(self.0, Repr::Small { v, .. } if v.is_infinite())
    }

    pub fn is_zero(&self) -> bool {
        matches!(self.0, Repr::Small { v, .. } if v == 0.0)
    }

    /// True when the sign bit is set (`-0` included).
    pub fn is_negative(&self) -> bool {
        match &self.0 {
            Repr::Small { v, .. } => v.is_sign_negative(),
            Repr::Big(b) => b.parts.neg,
        }
    }

    /// True for a finite whole number.
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Small { v, .. } => v.is_finite() && v.fract() == 0.0,
            Repr::Big(b) => b.parts.is_integer(),
        }
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        if self.is_zero() {
            0
        } else if self.is_negative() {
            -1
        } else {
            1
        }
    }

    /// Exact comparison of values (`-0` equals `0`), as Go's `Float.Cmp`.
    pub fn cmp_value(&self, o: &Number) -> Ordering {
        if let (Repr::Small { v: a, .. }, Repr::Small { v: b, .. }) = (&self.0, &o.0) {
            return a.partial_cmp(b).unwrap_or(Ordering::Equal);
        }
        let key = |c: &Class| -> i32 {
            match c {
                Class::Inf { neg: true } => -2,
                Class::Finite(p) if p.neg => -1,
                Class::Zero { .. } => 0,
                Class::Finite(_) => 1,
                Class::Inf { neg: false } => 2,
            }
        };
        let (a, b) = (self.class(), o.class());
        match key(&a).cmp(&key(&b)) {
            Ordering::Equal => {}
            other => return other,
        }
        match (a, b) {
            (Class::Finite(x), Class::Finite(y)) => {
                let c = x.cmp_abs(&y);
                if x.neg { c.reverse() } else { c }
            }
            _ => Ordering::Equal,
        }
    }

    /// True when the values are exactly equal (HCL's `==` on numbers).
    pub fn same_value(&self, o: &Number) -> bool {
        self.cmp_value(o) == Ordering::Equal
    }

    pub fn neg(&self) -> Number {
        match &self.0 {
            Repr::Small { v, prec } => Number(Repr::Small { v: -v, prec: *prec }),
            Repr::Big(b) => Number(Repr::Big(Box::new(Big { parts: b.parts.clone().negate(), prec: b.prec }))),
        }
    }

    pub fn abs(&self) -> Number {
        if self.is_negative() { self.neg() } else { self.clone() }
    }

    /// `self + o` at the larger precision; `None` for opposite infinities.
    pub fn add(&self, o: &Number) -> Option<Number> {
        let prec = self.prec().max(o.prec());
        if let (Repr::Small { v: a, .. }, Repr::Small { v: b, .. }) = (&self.0, &o.0) {
            let s = a + b;
            if s.is_nan() {
                return None;
            }
            if !a.is_finite() || !b.is_finite() {
                return Some(Number(Repr::Small { v: s, prec }));
            }
            if s.is_finite() {
                // TwoSum: the rounding error of a + b, exactly.
                let bb = s - a;
                let err = (a - (s - bb)) + (b - bb);
                if err == 0.0 {
                    return Some(Number(Repr::Small { v: s, prec }));
                }
            }
        }
        Some(match (self.class(), o.class()) {
            (Class::Inf { neg: x }, Class::Inf { neg: y }) if x != y => return None,
            (Class::Inf { .. }, _) => self.with_prec(prec),
            (_, Class::Inf { .. }) => o.with_prec(prec),
            (Class::Zero { neg: x }, Class::Zero { neg: y }) => {
                Number(Repr::Small { v: if x && y { -0.0 } else { 0.0 }, prec })
            }
            (Class::Zero { .. }, _) => o.with_prec(prec),
            (_, Class::Zero { .. }) => self.with_prec(prec),
            (Class::Finite(x), Class::Finite(y)) => Number::from_parts(false, parts::add(&x, &y, prec), prec),
        })
    }

    /// `self - o` at the larger precision; `None` for like infinities.
    pub fn sub(&self, o: &Number) -> Option<Number> {
        self.add(&o.neg())
    }

    /// `self * o` as cty's `Multiply`: the product at 512 bits, then carried at the larger of
    /// the operands' precisions and the bits the product needs (so `pow(100, 1) * pow(0.4, 1)`
    /// is `40.000000000000002`); `None` for zero times infinity.
    pub fn mul(&self, o: &Number) -> Option<Number> {
        let prec = self.prec().max(o.prec());
        if let (Class::Finite(x), Class::Finite(y)) = (self.class(), o.class())
            && !matches!((&self.0, &o.0), (Repr::Small { .. }, Repr::Small { .. }) if self.mul_is_exact_f64(o))
        {
            let p = parts::mul(&x, &y, PARSE_PREC);
            let need = p.as_ref().map_or(0, |p| p.bits() as u32);
            return Some(Number::from_parts(false, p, prec.max(need)));
        }
        self.mul_at(o, prec)
    }

    /// Both inline and their product exact in an f64 (no allocation needed).
    fn mul_is_exact_f64(&self, o: &Number) -> bool {
        let (Repr::Small { v: a, .. }, Repr::Small { v: b, .. }) = (&self.0, &o.0) else { return false };
        let p = a * b;
        p.is_finite() && p.abs() >= 1e-290 && a.mul_add(*b, -p) == 0.0
    }

    fn mul_at(&self, o: &Number, prec: u32) -> Option<Number> {
        if let (Repr::Small { v: a, .. }, Repr::Small { v: b, .. }) = (&self.0, &o.0) {
            let p = a * b;
            if p.is_nan() {
                return None;
            }
            if !a.is_finite() || !b.is_finite() || p == 0.0 && (*a == 0.0 || *b == 0.0) {
                return Some(Number(Repr::Small { v: p, prec }));
            }
            // Exact when the fused remainder is zero, away from the subnormal range.
            if p.is_finite() && p.abs() >= 1e-290 && a.mul_add(*b, -p) == 0.0 {
                return Some(Number(Repr::Small { v: p, prec }));
            }
        }
        let neg = self.is_negative() != o.is_negative();
        Some(match (self.class(), o.class()) {
            (Class::Inf { .. }, Class::Zero { .. }) | (Class::Zero { .. }, Class::Inf { .. }) => return None,
            (Class::Inf { .. }, _) | (_, Class::Inf { .. }) => {
                Number(Repr::Small { v: if neg { f64::NEG_INFINITY } else { f64::INFINITY }, prec })
            }
            (Class::Zero { .. }, _) | (_, Class::Zero { .. }) => {
                Number(Repr::Small { v: if neg { -0.0 } else { 0.0 }, prec })
            }
            (Class::Finite(x), Class::Finite(y)) => Number::from_parts(neg, parts::mul(&x, &y, prec), prec),
        })
    }

    /// `self / o` at the larger precision: `x / 0` is an infinity; `None` for `0 / 0` and
    /// infinity over infinity.
    pub fn div(&self, o: &Number) -> Option<Number> {
        let prec = self.prec().max(o.prec());
        if let (Repr::Small { v: a, .. }, Repr::Small { v: b, .. }) = (&self.0, &o.0) {
            let q = a / b;
            if q.is_nan() {
                return None;
            }
            if !a.is_finite() || !b.is_finite() || *a == 0.0 || *b == 0.0 {
                return Some(Number(Repr::Small { v: q, prec }));
            }
            if q.is_finite() && q.abs() >= 1e-290 && a.abs() >= 1e-290 && (-q).mul_add(*b, *a) == 0.0 {
                return Some(Number(Repr::Small { v: q, prec }));
            }
        }
        let neg = self.is_negative() != o.is_negative();
        let signed = |v: f64| Number(Repr::Small { v: if neg { -v } else { v }, prec });
        Some(match (self.class(), o.class()) {
            (Class::Zero { .. }, Class::Zero { .. }) | (Class::Inf { .. }, Class::Inf { .. }) => return None,
            (Class::Zero { .. }, _) | (_, Class::Inf { .. }) => signed(0.0),
            (Class::Inf { .. }, _) | (_, Class::Zero { .. }) => signed(f64::INFINITY),
            (Class::Finite(x), Class::Finite(y)) => Number::from_parts(neg, parts::div(&x, &y, prec), prec),
        })
    }

    /// cty's `Modulo` as in Terraform 1.0.3: `self - trunc(self / o) * o`, the product and the
    /// difference at `self`'s precision; `x % 0` is `x`. `None` for infinities.
    pub fn rem(&self, o: &Number) -> Option<Number> {
        if !self.is_finite() || !o.is_finite() {
            return None;
        }
        if o.is_zero() {
            return Some(self.clone());
        }
        if let (Repr::Small { v: a, prec: pa }, Repr::Small { v: b, prec: pb }) = (&self.0, &o.0) {
            let small = a.abs() < 67_108_864.0 && b.abs() < 67_108_864.0;
            let wide = (*pa).max(*pb) >= 107 && a.abs() < EXACT_INT && b.abs() < EXACT_INT;
            if *a != 0.0 && a.fract() == 0.0 && b.fract() == 0.0 && (small || wide) {
                // The quotient's rounding cannot cross a whole number: this is exact (and an
                // exact cancellation is +0, as in Go).
                let r = a % b;
                return Some(Number(Repr::Small { v: if r == 0.0 { 0.0 } else { r }, prec: *pa }));
            }
        }
        let prec = self.prec();
        let q = self.div(o)?;
        let t = match q.class() {
            Class::Finite(p) => p.trunc(),
            _ => None,
        };
        // Go: Copy(v).SetInt(t) rounds t to v's precision; the product keeps it.
        let t = Number::from_parts(false, t.and_then(|t| parts::round_parts(&t, prec)), prec);
        let work = o.mul_at(&t, prec)?;
        let diff = self.add_at(&work.neg(), prec)?;
        Some(diff)
    }

    fn add_at(&self, o: &Number, prec: u32) -> Option<Number> {
        let s = self.add(o)?;
        Some(if s.prec() == prec { s } else { s.with_prec(prec) })
    }

    /// Rounds toward negative infinity, keeping the precision.
    pub fn floor(&self) -> Number {
        self.round_integer(true)
    }

    /// Rounds toward positive infinity, keeping the precision.
    pub fn ceil(&self) -> Number {
        self.round_integer(false)
    }

    fn round_integer(&self, down: bool) -> Number {
        let prec = self.prec();
        if let Repr::Small { v, .. } = &self.0 {
            let r = if down { v.floor() } else { v.ceil() };
            return Number(Repr::Small { v: r, prec });
        }
        let Class::Finite(p) = self.class() else { return self.clone() };
        if p.is_integer() {
            return self.clone();
        }
        let t = p.trunc();
        // Away from zero when the direction asks for it.
        let away = p.neg == down;
        let one = Parts::new(p.neg, BigUint::from(1u32), 0);
        let r = match (t, away) {
            (t, false) => t,
            (Some(t), true) => parts::add(&t, one.as_ref().expect("one"), u32::MAX / 2),
            (None, true) => one,
        };
        Number::from_parts(p.neg, r.and_then(|r| parts::round_parts(&r, prec)), prec)
    }

    /// The text Terraform prints: the shortest decimal that reads back to this value at its
    /// precision, with no exponent (Go's `Text('f', -1)`); infinities are `+Inf` and `-Inf`.
    pub fn to_text(&self) -> String {
        if let Repr::Small { v, .. } = &self.0
            && v.fract() == 0.0
            && v.abs() <= EXACT_INT
        {
            return if *v == 0.0 && v.is_sign_negative() { "-0".into() } else { format!("{}", *v as i64) };
        }
        self.format(Style::Fixed, -1)
    }

    /// Go's `Text(format, prec)`: `prec` digits (after the point for `Fixed` and `Exp`, in all
    /// for `General`); a negative `prec` gives the shortest text that reads back exactly.
    pub fn format(&self, style: Style, prec: i64) -> String {
        let sign = if self.is_negative() { "-" } else { "" };
        match self.class() {
            Class::Inf { neg } => (if neg { "-Inf" } else { "+Inf" }).into(),
            Class::Zero { .. } => format!("{sign}{}", text::format_finite(None, self.prec(), style, prec)),
            Class::Finite(p) => format!("{sign}{}", text::format_finite(Some(&*p), self.prec(), style, prec)),
        }
    }

    /// JSON for this number: its text as a JSON number (exact at any length); infinities,
    /// which JSON cannot hold, become null.
    pub fn to_json(&self) -> serde_json::Value {
        if let Repr::Small { v, .. } = &self.0
            && v.fract() == 0.0
            && v.abs() < EXACT_INT
            && !(*v == 0.0 && v.is_sign_negative())
        {
            return serde_json::Value::from(*v as i64);
        }
        if self.is_infinite() {
            return serde_json::Value::Null;
        }
        match self.to_text().parse::<serde_json::Number>() {
            Ok(n) => serde_json::Value::Number(n),
            Err(_) => {
                serde_json::Number::from_f64(self.to_f64()).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
    }

    /// A JSON number read as Terraform reads one: its decimal text at 512 bits.
    pub fn from_json(n: &serde_json::Number) -> Number {
        if let Some(i) = n.as_i64()
            && i.unsigned_abs() < 1 << 53
        {
            return Number(Repr::Small { v: i as f64, prec: PARSE_PREC });
        }
        Number::parse(&n.to_string()).unwrap_or_else(|| Number::from_f64(n.as_f64().unwrap_or(0.0)))
    }
}

/// Half the smallest subnormal f64, 2^-1075.
fn half_min_subnormal() -> Parts {
    Parts { neg: false, mant: BigUint::from(1u32), exp: -1075 }
}

impl PartialEq for Number {
    /// cty's equality of serializations: the same text (`-0` and `0` alike). See the module.
    fn eq(&self, o: &Number) -> bool {
        if let (Repr::Small { v: a, prec: pa }, Repr::Small { v: b, prec: pb }) = (&self.0, &o.0) {
            let whole = |x: f64| x.fract() == 0.0 && x.abs() <= EXACT_INT;
            if a != b {
                // Distinct f64 values print alike only at different precisions, and whole
                // numbers below 2^53 print as themselves at any.
                if pa == pb || whole(*a) && whole(*b) {
                    return false;
                }
            } else if pa == pb || whole(*a) || a.is_infinite() {
                return true;
            }
        }
        let norm = |s: String| if s == "-0" { "0".to_string() } else { s };
        norm(self.to_text()) == norm(o.to_text())
    }
}

impl Default for Number {
    fn default() -> Number {
        Number(Repr::Small { v: 0.0, prec: INT_PREC })
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl From<f64> for Number {
    fn from(v: f64) -> Number {
        Number::from_f64(v)
    }
}

impl From<f32> for Number {
    fn from(v: f32) -> Number {
        Number::from_f64(f64::from(v))
    }
}

macro_rules! from_int {
    ($($t:ty => $via:ident as $w:ty),*) => {$(
        impl From<$t> for Number {
            fn from(i: $t) -> Number {
                Number::$via(i as $w)
            }
        }
    )*};
}

from_int!(i8 => from_i64 as i64, i16 => from_i64 as i64, i32 => from_i64 as i64, i64 => from_i64 as i64,
    isize => from_i64 as i64, u8 => from_u64 as u64, u16 => from_u64 as u64, u32 => from_u64 as u64,
    u64 => from_u64 as u64, usize => from_u64 as u64);

#[cfg(test)]
mod tests;
