//! `yamldecode`: YAML to a value, resolving plain scalars as Terraform 1.0.3 does (go-cty-yaml,
//! YAML 1.1 rules: `y`/`yes`/`on` are true, `n`/`no`/`off` false, `~` null, `1_000` and `0x1F`
//! numbers, `2001-12-14` a timestamp string), while quoted scalars stay strings. That needs each
//! scalar's style, which is why this reads yaml-rust2's events instead of a resolved tree.
//! Only decoding lives here; `yamlencode` is in `encoding.rs`.

use super::{Args, FuncError};
use indexmap::IndexMap;
use tarn_sdk::{Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

const STR: &str = "tag:yaml.org,2002:str";
const BINARY: &str = "tag:yaml.org,2002:binary";
const BOOL: &str = "tag:yaml.org,2002:bool";
const INT: &str = "tag:yaml.org,2002:int";
const FLOAT: &str = "tag:yaml.org,2002:float";
const NULL: &str = "tag:yaml.org,2002:null";
const TIMESTAMP: &str = "tag:yaml.org,2002:timestamp";

pub(crate) fn yamldecode(a: &Args) -> Result<Value, FuncError> {
    let src = a.str(0)?;
    // As Terraform: an empty document (or only comments) has no value to decode.
    if src.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(a.err(0, "the YAML document is empty."));
    }
    let mut builder = Builder::default();
    Parser::new_from_str(src)
        .load(&mut builder, true)
        .map_err(|e| a.err(0, format!("the given string is not valid YAML: {e}.")))?;
    builder.finish().map_err(FuncError::call)
}

/// A node under construction: the collections still open, innermost last.
enum Frame {
    Seq { anchor: usize, items: Vec<Value> },
    Map { anchor: usize, entries: IndexMap<String, Value>, key: Option<Key> },
}

/// A mapping key, decided when the key node completes.
enum Key {
    Name(String),
    /// `<<`: the value's entries merge into the mapping.
    Merge,
}

/// Builds the value from parser events; the first problem is kept and the rest ignored.
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: Vec<(usize, Value)>,
    documents: usize,
    root: Option<Value>,
    error: Option<String>,
}

impl Builder {
    fn finish(self) -> Result<Value, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(self.root.unwrap_or(Value::Null))
    }

    fn fail(&mut self, why: impl Into<String>) {
        self.error.get_or_insert_with(|| why.into());
    }

    fn anchor(&mut self, id: usize, v: &Value) {
        if id > 0 {
            self.anchors.push((id, v.clone()));
        }
    }

    /// A complete node: it becomes a key, a value of the enclosing collection, or the root.
    fn complete(&mut self, v: Value, merge_key: bool) {
        match self.stack.last_mut() {
            None => self.root = Some(v),
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => match map_key(&v, merge_key) {
                    Ok(k) => *key = Some(k),
                    Err(why) => self.fail(why),
                },
                Some(Key::Name(k)) => {
                    entries.insert(k, v);
                }
                Some(Key::Merge) => {
                    let sources = match &v {
                        Value::List(items) => items.clone(),
                        other => vec![other.clone()],
                    };
                    for source in sources {
                        match source {
                            Value::Map(m) => {
                                for (k, item) in m {
                                    entries.entry(k).or_insert(item);
                                }
                            }
                            _ => {
                                self.fail("map merge requires map or sequence of maps as the value.");
                                return;
                            }
                        }
                    }
                }
            },
        }
    }
}

impl yaml_rust2::parser::MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail("unexpected extra content after value.");
                }
            }
            Event::Alias(id) => match self.anchors.iter().rev().find(|(a, _)| *a == id) {
                Some((_, v)) => {
                    let v = v.clone();
                    self.complete(v, false);
                }
                None => self.fail("unknown anchor referenced."),
            },
            Event::Scalar(text, style, anchor, tag) => match resolve_scalar(&text, style, tag.as_ref()) {
                Ok(v) => {
                    self.anchor(anchor, &v);
                    let merge = style == TScalarStyle::Plain && tag.is_none() && text == "<<";
                    self.complete(v, merge);
                }
                Err(why) => self.fail(why),
            },
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq { anchor, items: Vec::new() }),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { anchor, entries: IndexMap::new(), key: None })
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (anchor, v) = match self.stack.pop() {
                    Some(Frame::Seq { anchor, items }) => (anchor, Value::List(items)),
                    Some(Frame::Map { anchor, entries, .. }) => (anchor, Value::Map(entries)),
                    None => return,
                };
                self.anchor(anchor, &v);
                self.complete(v, false);
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// A mapping key as go-cty-yaml makes one: strings as they are, numbers and bools as text.
fn map_key(v: &Value, merge: bool) -> Result<Key, String> {
    Ok(Key::Name(match v {
        _ if merge => return Ok(Key::Merge),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_text(),
        Value::Null => return Err("mapping key cannot be null.".into()),
        _ => return Err("only strings are allowed as mapping keys.".into()),
    }))
}

/// One scalar, by go-cty-yaml's `resolveScalar`: the tag if given, else the style (quoted is a
/// string), else the YAML 1.1 plain-scalar rules. Block scalars (`|`, `>`) resolve like plain
/// ones and then become strings, as Terraform 1.0.3 gives `"true"` for `|-\n  yes`.
fn resolve_scalar(src: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix)).unwrap_or_default();
    if !matches!(tag.as_str(), "" | STR | BINARY | BOOL | INT | FLOAT | NULL | TIMESTAMP) {
        return Err(format!("unsupported tag {tag:?}."));
    }
    let quoted = matches!(style, TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted);
    let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
    let v = resolve(src, &tag, quoted)?;
    Ok(match v {
        Value::Bool(b) if block => Value::String(b.to_string()),
        Value::Number(n) if block => Value::String(n.to_text()),
        v => v,
    })
}

fn resolve(src: &str, tag: &str, quoted: bool) -> Result<Value, String> {
    let mut tag = tag;
    // The first character hints at what a plain scalar may be, as in go-yaml's resolve table.
    let hint = match src.bytes().next() {
        None => Some('N'),
        Some(b'+' | b'-') => Some('S'),
        Some(b'0'..=b'9') => Some('D'),
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => Some('M'),
        Some(b'.') => Some('.'),
        Some(_) => None,
    };
    if let Some(hint) = hint.filter(|_| tag != STR && tag != BINARY) {
        if quoted {
            return Ok(Value::String(src.to_string()));
        }
        if let Some(v) = known(src) {
            return Ok(v);
        }
        if tag.is_empty() && matches!(src, ".nan" | ".NaN" | ".NAN") {
            return Err("floating point NaN is not supported.".into());
        }
        match hint {
            '.' => {
                if let Some(n) = decimal(src) {
                    return number(n, src);
                }
            }
            'D' | 'S' => {
                if tag.is_empty() || tag == TIMESTAMP {
                    if let Some(t) = timestamp(src) {
                        return Ok(Value::String(t));
                    }
                }
                if integer_literal(src) {
                    tag = INT;
                } else if float_literal(src) {
                    tag = FLOAT;
                }
            }
            _ => {}
        }
    }
    match tag {
        STR | BINARY => {
            if tag == BINARY {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(src)
                    .map_err(|_| format!("cannot parse {src:?} as {tag}: not valid base64."))?;
            }
            Ok(Value::String(src.to_string()))
        }
        BOOL => match known(src) {
            Some(v @ Value::Bool(_)) => Ok(v),
            _ => Err(format!("cannot parse {src:?} as {tag}.")),
        },
        INT | FLOAT => {
            let plain = src.replace('_', "");
            if let Some(n) = decimal(&plain).or_else(|| go_parse_int(&plain)) {
                return number(n, src);
            }
            Err(format!("cannot parse {src:?} as {tag}."))
        }
        TIMESTAMP => timestamp(src).map(Value::String).ok_or_else(|| format!("cannot parse {src:?} as {tag}.")),
        NULL => Ok(Value::Null),
        _ => Ok(Value::String(src.to_string())),
    }
}

fn number(n: Number, src: &str) -> Result<Value, String> {
    if n.is_finite() { Ok(Value::Number(n)) } else { Err(format!("the number {src} cannot be represented.")) }
}

/// The plain scalars YAML 1.1 resolves by name.
fn known(src: &str) -> Option<Value> {
    Some(match src {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Value::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Value::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Value::number(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Value::number(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// A decimal number as cty parses one (at 512 bits): sign, digits with an optional point,
/// optional exponent.
fn decimal(s: &str) -> Option<Number> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let mant_ok = (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac);
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    (mant_ok && exp_ok).then(|| Number::parse(s)).flatten()
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: a sign, then `0x`, `0o`, `0b` or a
/// leading `0` (octal) choose the base.
fn go_parse_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        (magnitude <= 1u64 << 63).then(|| Number::from_i64((magnitude as i64).wrapping_neg()))
    } else {
        Some(Number::from_u64(magnitude))
    }
}

/// go-cty-yaml's integer literal: a sign, then decimal digits, `0x` hex or `0o` octal, each
/// with underscores anywhere (`0b` is not one: Terraform 1.0.3 keeps `0b101` a string).
fn integer_literal(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let all = |t: &str, ok: fn(u8) -> bool| !t.is_empty() && t.bytes().all(|b| b == b'_' || ok(b));
    if let Some(h) = body.strip_prefix("0x") {
        all(h, |b| b.is_ascii_hexdigit())
    } else if let Some(o) = body.strip_prefix("0o") {
        all(o, |b| (b'0'..=b'7').contains(&b))
    } else {
        all(body, |b| b.is_ascii_digit())
    }
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`: no underscores.
fn float_literal(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    !body.starts_with(['+', '-']) && decimal(body).is_some()
}

/// go-cty-yaml's timestamps (`2006-1-2T15:4:5.999999999Z07:00`, the same with `t`, the same
/// with a space and no zone, or a date alone), written back as RFC 3339 without fractions.
fn timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { b, at: 5 };
    let year: i32 = s[..4].parse().ok()?;
    let month = p.num()?;
    p.lit(b'-')?;
    let day = p.num()?;
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()?;
    if p.done() {
        return Some(format!("{year:04}-{:02}-{day:02}T00:00:00Z", month as u8));
    }
    let sep = *b.get(p.at)?;
    p.at += 1;
    let (h, m, sec) = (
        p.num()?,
        {
            p.lit(b':')?;
            p.num()?
        },
        {
            p.lit(b':')?;
            p.num()?
        },
    );
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    if b.get(p.at) == Some(&b'.') && b.get(p.at + 1).is_some_and(u8::is_ascii_digit) {
        p.at += 1;
        while b.get(p.at).is_some_and(u8::is_ascii_digit) {
            p.at += 1;
        }
    }
    let zone = match sep {
        b' ' => "Z".to_string(),
        b'T' | b't' => {
            let z = &s[p.at..];
            p.at = b.len();
            zone(z)?
        }
        _ => return None,
    };
    p.done().then(|| format!("{year:04}-{:02}-{:02}T{h:02}:{m:02}:{sec:02}{zone}", date.month() as u8, date.day()))
}

/// `Z` or `±hh:mm`; a zero offset is written `Z`, as Go's RFC 3339 layout does.
fn zone(z: &str) -> Option<String> {
    if z == "Z" {
        return Some("Z".into());
    }
    let b = z.as_bytes();
    let ok = b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[3] == b':'
        && b[4..].iter().all(u8::is_ascii_digit);
    if !ok {
        return None;
    }
    Some(if &z[1..] == "00:00" { "Z".into() } else { z.to_string() })
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    /// One or two digits, as Go's layouts `1`, `2`, `15`, `4` and `5` read them.
    fn num(&mut self) -> Option<u32> {
        let start = self.at;
        while self.at < self.b.len() && self.at - start < 2 && self.b[self.at].is_ascii_digit() {
            self.at += 1;
        }
        std::str::from_utf8(&self.b[start..self.at]).ok()?.parse().ok()
    }

    fn lit(&mut self, c: u8) -> Option<()> {
        (self.b.get(self.at) == Some(&c)).then(|| self.at += 1)
    }

    fn done(&self) -> bool {
        self.at == self.b.len()
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::call;
    use tarn_sdk::Value;

    fn decode(src: &str) -> Result<Value, String> {
        call("yamldecode", vec![Value::string(src)]).map_err(|e| e.message)
    }

    /// Each answer is Terraform 1.0.3's, taken from the peer.
    #[test]
    fn plain_scalars_resolve_by_yaml_1_1() {
        let t = Value::Bool(true);
        let f = Value::Bool(false);
        let n = |x: f64| Value::number(x);
        let s = Value::string;
        let cases: &[(&str, Value)] = &[
            ("y", t.clone()),
            ("YES", t.clone()),
            ("On", t.clone()),
            ("yEs", s("yEs")),
            ("n", f.clone()),
            ("off", f.clone()),
            ("\"yes\"", s("yes")),
            ("'on'", s("on")),
            ("!!str yes", s("yes")),
            ("!!bool yes", t.clone()),
            ("012", n(12.0)),
            ("0o17", n(15.0)),
            ("0x1F", n(31.0)),
            ("-0x1F", n(-31.0)),
            ("0X1F", s("0X1F")),
            ("0b101", s("0b101")),
            ("!!int 0b101", n(5.0)),
            ("1_000", n(1000.0)),
            ("-_1", n(-1.0)),
            ("1_0.5", s("1_0.5")),
            ("1e3_0", s("1e3_0")),
            ("190:20:30", s("190:20:30")),
            ("3.", n(3.0)),
            (".5e2", n(50.0)),
            ("._5", s("._5")),
            ("-inf", s("-inf")),
            ("2001-12-14", s("2001-12-14T00:00:00Z")),
            ("2001-1-2", s("2001-01-02T00:00:00Z")),
            ("2001-12-14t21:59:43.10-05:00", s("2001-12-14T21:59:43-05:00")),
            ("2001-12-14 21:59:43.10", s("2001-12-14T21:59:43Z")),
            ("2001-13-02", s("2001-13-02")),
            ("'2001-12-14'", s("2001-12-14")),
            ("|-\n  yes", s("true")),
            (">-\n  12", s("12")),
            ("!!str", s("")),
            // Exact, as Terraform prints it (the f64 nearest would be 18446744073709551616).
            ("0xFFFFFFFFFFFFFFFF", Value::number(u64::MAX)),
        ];
        for (src, want) in cases {
            assert_eq!(decode(src).as_ref(), Ok(want), "yamldecode({src:?})");
        }
    }

    #[test]
    fn collections_keys_anchors_and_merges() {
        let v = decode("yes: no\n1.5: a\nx: &a {b: 1}\nc:\n  <<: *a\n  d: 2\ne: *a").unwrap();
        let want = Value::map([
            ("true", Value::Bool(false)),
            ("1.5", Value::string("a")),
            ("x", Value::map([("b", Value::number(1.0))])),
            ("c", Value::map([("b", Value::number(1.0)), ("d", Value::number(2.0))])),
            ("e", Value::map([("b", Value::number(1.0))])),
        ]);
        assert_eq!(v, want);
        assert_eq!(
            decode("- yes\n- 'yes'\n- on"),
            Ok(Value::List(vec![Value::Bool(true), Value::string("yes"), Value::Bool(true)]))
        );
        assert_eq!(decode("a: 1\na: 2"), Ok(Value::map([("a", Value::number(2.0))])));
    }

    #[test]
    fn problems_are_errors() {
        for (src, why) in [
            ("~: a", "cannot be null"),
            ("[1]: a", "only strings"),
            (".nan", "NaN"),
            ("! yes", "unsupported tag"),
            ("!!float x", "cannot parse"),
            ("0x10000000000000000", "cannot parse"),
            ("---\na: 1\n---\nb: 2", "extra content"),
            ("a: b: c", "not valid YAML"),
        ] {
            let e = decode(src).expect_err(src);
            assert!(e.contains(why), "yamldecode({src:?}): {e}");
        }
    }
}
