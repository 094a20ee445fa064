//! Numbers as decimal text, exactly as Go's `big.Float.Text` writes them (cty prints numbers
//! with `Text('f', -1)`): the exact binary value is converted to decimal, then rounded to the
//! shortest decimal that reads back to the same value at the number's precision (Go's
//! `roundShortest`, whose interval is half an ulp either side, also below a power of two), or
//! to a given count of digits (`%f`, `%e`, `%g` of `format`), ties to even.

use super::parts::Parts;
use num_bigint::BigUint;

/// A decimal `0.d1d2d3... * 10^exp`; `mant` holds ASCII digits without trailing zeros (empty
/// for zero).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decimal {
    pub mant: Vec<u8>,
    pub exp: i64,
}

impl Decimal {
    /// The exact decimal of `m * 2^shift`.
    pub fn of(m: &BigUint, shift: i64) -> Decimal {
        if m.bits() == 0 {
            return Decimal { mant: Vec::new(), exp: 0 };
        }
        let digits = if shift >= 0 {
            (m << shift as u64).to_str_radix(10)
        } else {
            // m * 2^-k = m * 5^k / 10^k; first drop the trailing zero bits of m.
            let tz = m.trailing_zeros().unwrap_or(0).min((-shift) as u64);
            let m = m >> tz;
            let k = -shift - tz as i64;
            let digits = (m * BigUint::from(5u32).pow(k as u32)).to_str_radix(10);
            let exp = digits.len() as i64 - k;
            return Decimal::trimmed(digits.into_bytes(), exp);
        };
        let exp = digits.len() as i64;
        Decimal::trimmed(digits.into_bytes(), exp)
    }

    fn trimmed(mut mant: Vec<u8>, exp: i64) -> Decimal {
        while mant.last() == Some(&b'0') {
            mant.pop();
        }
        Decimal { mant, exp }
    }

    /// The digit at `i`, `'0'` past the end.
    fn at(&self, i: usize) -> u8 {
        self.mant.get(i).copied().unwrap_or(b'0')
    }

    fn should_round_up(&self, n: usize) -> bool {
        if self.mant[n] == b'5' && n + 1 == self.mant.len() {
            // Exactly halfway: round to even.
            return n > 0 && (self.mant[n - 1] - b'0') & 1 != 0;
        }
        self.mant[n] >= b'5'
    }

    /// Rounds to `n` digits, ties to even (nothing when `n` is negative or past the end).
    pub fn round(&mut self, n: i64) {
        if n < 0 || n as usize >= self.mant.len() {
            return;
        }
        if self.should_round_up(n as usize) { self.round_up(n as usize) } else { self.round_down(n as usize) }
    }

    fn round_up(&mut self, mut n: usize) {
        if n >= self.mant.len() {
            return;
        }
        while n > 0 && self.mant[n - 1] >= b'9' {
            n -= 1;
        }
        if n == 0 {
            // All nines: 1 with the next exponent.
            self.mant.truncate(1);
            self.mant[0] = b'1';
            self.exp += 1;
            return;
        }
        self.mant[n - 1] += 1;
        self.mant.truncate(n);
    }

    fn round_down(&mut self, n: usize) {
        if n >= self.mant.len() {
            return;
        }
        self.mant.truncate(n);
        while self.mant.last() == Some(&b'0') {
            self.mant.pop();
        }
    }

    /// Go's `roundShortest`: the fewest digits that still read back to `x` at `prec` bits.
    pub fn round_shortest(&mut self, x: &Parts, prec: u32) {
        if self.mant.is_empty() {
            return;
        }
        // x = mant * 2^exp with exactly prec + 1 bits: the last bit is half an ulp.
        let want = u64::from(prec) + 1;
        let bits = x.bits();
        let (mant, exp) = if bits <= want {
            (&x.mant << (want - bits), x.exp - (want - bits) as i64)
        } else {
            (&x.mant >> (bits - want), x.exp + (bits - want) as i64)
        };
        let lower = Decimal::of(&(&mant - 1u32), exp);
        let upper = Decimal::of(&(&mant + 1u32), exp);
        // The bounds themselves round to x only when its mantissa is even.
        let inclusive = !mant.bit(1);
        for i in 0..self.mant.len() {
            let (l, m, u) = (lower.at(i), self.mant[i], upper.at(i));
            let okdown = l != m || inclusive && i + 1 == lower.mant.len();
            let okup = m != u && (inclusive || m + 1 < u || i + 1 < upper.mant.len());
            match (okdown, okup) {
                (true, true) => return self.round(i as i64 + 1),
                (true, false) => return self.round_down(i + 1),
                (false, true) => return self.round_up(i + 1),
                (false, false) => {}
            }
        }
    }

    /// `%f` with `prec` digits after the point (Go's `fmtF`).
    pub fn fmt_f(&self, prec: usize, out: &mut String) {
        if self.exp > 0 {
            let e = self.exp as usize;
            let m = self.mant.len().min(e);
            out.extend(self.mant[..m].iter().map(|&b| b as char));
            out.extend(std::iter::repeat_n('0', e - m));
        } else {
            out.push('0');
        }
        if prec > 0 {
            out.push('.');
            for i in 0..prec as i64 {
                let j = self.exp + i;
                out.push(if j >= 0 { self.at(j as usize) as char } else { '0' });
            }
        }
    }

    /// `%e` with `prec` digits after the point (Go's `fmtE`).
    pub fn fmt_e(&self, prec: usize, upper: bool, out: &mut String) {
        out.push(self.mant.first().map_or('0', |&b| b as char));
        if prec > 0 {
            out.push('.');
            let m = self.mant.len().min(prec + 1);
            let mut i = 1;
            if i < m {
                out.extend(self.mant[i..m].iter().map(|&b| b as char));
                i = m;
            }
            while i <= prec {
                out.push('0');
                i += 1;
            }
        }
        out.push(if upper { 'E' } else { 'e' });
        let exp = if self.mant.is_empty() { 0 } else { self.exp - 1 };
        out.push(if exp < 0 { '-' } else { '+' });
        let exp = exp.unsigned_abs();
        if exp < 10 {
            out.push('0');
        }
        out.push_str(&exp.to_string());
    }
}

/// The formats of Go's `big.Float.Text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `%f`: no exponent.
    Fixed,
    /// `%e` (or `%E` when `upper`).
    Exp { upper: bool },
    /// `%g` (or `%G`): `%e` for large exponents, `%f` otherwise.
    General { upper: bool },
}

/// Go's `Float.Append(buf, fmt, prec)` for a finite value (sign handled by the caller):
/// `prec < 0` is the shortest form.
pub(crate) fn format_finite(x: Option<&Parts>, xprec: u32, style: Style, prec: i64) -> String {
    let mut d = match x {
        Some(p) => Decimal::of(&p.mant, p.exp),
        None => Decimal { mant: Vec::new(), exp: 0 },
    };
    let shortest = prec < 0;
    let mut prec = prec;
    if shortest {
        if let Some(p) = x {
            d.round_shortest(p, xprec);
        }
        prec = match style {
            Style::Exp { .. } => d.mant.len() as i64 - 1,
            Style::Fixed => (d.mant.len() as i64 - d.exp).max(0),
            Style::General { .. } => d.mant.len() as i64,
        };
    } else {
        match style {
            Style::Exp { .. } => d.round(1 + prec),
            Style::Fixed => d.round(d.exp + prec),
            Style::General { .. } => {
                if prec == 0 {
                    prec = 1;
                }
                d.round(prec)
            }
        }
    }
    let mut out = String::new();
    match style {
        Style::Exp { upper } => d.fmt_e(prec.max(0) as usize, upper, &mut out),
        Style::Fixed => d.fmt_f(prec.max(0) as usize, &mut out),
        Style::General { upper } => {
            let mut eprec = prec;
            if eprec > d.mant.len() as i64 && d.mant.len() as i64 >= d.exp {
                eprec = d.mant.len() as i64;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.exp - 1;
            if exp < -4 || exp >= eprec {
                let p = prec.min(d.mant.len() as i64);
                d.fmt_e((p - 1).max(0) as usize, upper, &mut out);
            } else {
                let p = if prec > d.exp { d.mant.len() as i64 } else { prec };
                d.fmt_f((p - d.exp).max(0) as usize, &mut out);
            }
        }
    }
    out
}
