//! Encoding functions: JSON, YAML, CSV, base64, URL encoding and text encodings. Output matches
//! Terraform's byte for byte where users diff it (sorted object keys, Go's JSON escaping of
//! `<`, `>`, `&`, YAML with double-quoted strings). Marks are not handled here.

use super::{Args, FuncError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tarn_sdk::Value;

/// Compact JSON as Terraform's `jsonencode` writes it: object keys sorted, numbers in plain
/// decimal (never exponent form), and Go's HTML-safe escapes for `<`, `>` and `&`. Shared with
/// `format`'s `%v` and `%#v`. Non-finite numbers, which JSON cannot hold, are written as null.
pub(crate) fn to_json_string(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v.unmark().0 {
        Value::Null | Value::Unknown => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_finite() => out.push_str(&n.to_text()),
        Value::Number(_) => out.push_str("null"),
        Value::String(s) => write_json_string(s, out),
        Value::List(items) | Value::Set(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
        Value::Sensitive(_) => {}
    }
}

fn write_json_string(s: &str, out: &mut String) {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    out.push_str(
        &quoted
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029"),
    );
}

pub(crate) fn jsonencode(a: &Args) -> Result<Value, FuncError> {
    Ok(Value::String(to_json_string(a.get(0))))
}

pub(crate) fn jsondecode(a: &Args) -> Result<Value, FuncError> {
    let s = a.str(0)?;
    let j: serde_json::Value =
        serde_json::from_str(s).map_err(|e| a.err(0, format!("the given string is not valid JSON: {e}.")))?;
    Ok(Value::from_json(&j))
}

pub(crate) fn yamlencode(a: &Args) -> Result<Value, FuncError> {
    let mut out = String::new();
    let v = a.get(0);
    yaml_node(v, 0, false, &mut out);
    // Like go-yaml, a document that is a single plain scalar ends with an explicit end marker.
    if matches!(v, Value::Null | Value::Bool(_) | Value::Number(_)) {
        out.push_str("...\n");
    }
    Ok(Value::String(out))
}

fn yaml_scalar(v: &Value) -> Option<String> {
    match v.unmark().0 {
        Value::Null | Value::Unknown => Some("null".into()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_text()),
        // A JSON string literal is a valid YAML double-quoted scalar.
        Value::String(s) => Some(serde_json::Value::String(s.clone()).to_string()),
        Value::List(l) | Value::Set(l) if l.is_empty() => Some("[]".into()),
        Value::Map(m) if m.is_empty() => Some("{}".into()),
        _ => None,
    }
}

/// Writes a block node at `indent`. `inline` means the cursor already sits after a `- `.
fn yaml_node(v: &Value, indent: usize, inline: bool, out: &mut String) {
    if let Some(s) = yaml_scalar(v) {
        out.push_str(&s);
        out.push('\n');
        return;
    }
    let pad = " ".repeat(indent);
    match v.unmark().0 {
        Value::List(items) | Value::Set(items) => {
            for (i, item) in items.iter().enumerate() {
                if i > 0 || !inline {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                yaml_node(item, indent + 2, true, out);
            }
        }
        Value::Map(m) => {
            let mut entries: Vec<_> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 || !inline {
                    out.push_str(&pad);
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(s) = yaml_scalar(item) {
                    out.push(' ');
                    out.push_str(&s);
                    out.push('\n');
                } else if matches!(item.unmark().0, Value::List(_) | Value::Set(_)) {
                    // Block sequences under a key sit at the key's own indentation.
                    out.push('\n');
                    yaml_node(item, indent, false, out);
                } else {
                    out.push('\n');
                    yaml_node(item, indent + 2, false, out);
                }
            }
        }
        _ => {}
    }
}

/// `base64gzip(str)`: the string gzip-compressed, then base64-encoded. The compressed bytes are
/// a valid gzip stream of the same text, but not byte-identical to Go's compressor's output.
pub(crate) fn base64gzip(a: &Args) -> Result<Value, FuncError> {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(a.str(0)?.as_bytes()).map_err(|e| FuncError::call(format!("failed to compress: {e}.")))?;
    let bytes = gz.finish().map_err(|e| FuncError::call(format!("failed to compress: {e}.")))?;
    Ok(Value::String(STANDARD.encode(bytes)))
}

pub(crate) fn base64encode(a: &Args) -> Result<Value, FuncError> {
    Ok(Value::String(STANDARD.encode(a.str(0)?)))
}

fn decode_base64(a: &Args, i: usize) -> Result<Vec<u8>, FuncError> {
    STANDARD.decode(a.str(i)?).map_err(|e| a.err(i, format!("the given value is not valid base64: {e}.")))
}

pub(crate) fn base64decode(a: &Args) -> Result<Value, FuncError> {
    let bytes = decode_base64(a, 0)?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| a.err(0, "the result of decoding the provided string is not valid UTF-8."))
}

/// Go's `url.QueryEscape`: unreserved characters stay, spaces become `+`, the rest `%XX`.
pub(crate) fn urlencode(a: &Args) -> Result<Value, FuncError> {
    let mut out = String::new();
    for byte in a.str(0)?.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    Ok(Value::String(out))
}

pub(crate) fn urldecode(a: &Args) -> Result<Value, FuncError> {
    let s = a.str(0)?;
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        match c {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    let esc: String = s.get(i..).unwrap_or("").chars().take(3).collect();
                    return Err(a.err(0, format!("invalid URL escape \"{esc}\".")));
                };
                out.push(byte);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map(Value::String).map_err(|_| a.err(0, "the decoded value is not valid UTF-8."))
}

/// `csvdecode`: RFC 4180 CSV whose first line names the columns; every row becomes a map.
pub(crate) fn csvdecode(a: &Args) -> Result<Value, FuncError> {
    let records = parse_csv(a.str(0)?).map_err(|why| a.err(0, why))?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(a.err(0, "missing header line."));
    };
    let mut rows = Vec::new();
    for (line, fields) in records {
        if fields.len() != header.len() {
            return Err(a.err(
                0,
                format!("record on line {line} has {} fields, but the header line has {}.", fields.len(), header.len()),
            ));
        }
        let row = header.iter().cloned().zip(fields.into_iter().map(Value::String)).collect();
        rows.push(Value::Map(row));
    }
    Ok(Value::List(rows))
}

/// Splits CSV text into records with the line each starts on. Blank lines are skipped.
fn parse_csv(s: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut chars = s.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        if matches!(chars.peek(), Some('\n' | '\r')) {
            if chars.next() == Some('\r') && chars.peek() == Some(&'\n') {
                chars.next();
            }
            line += 1;
            continue;
        }
        let mut fields = Vec::new();
        loop {
            let mut field = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                        None => return Err(format!("the quoted field starting on line {start} is not closed.")),
                    }
                }
                if !matches!(chars.peek(), None | Some(',' | '\n' | '\r')) {
                    return Err(format!("extraneous \" in field on line {line}."));
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if matches!(c, ',' | '\n' | '\r') {
                        break;
                    }
                    if c == '"' {
                        return Err(format!("bare \" in non-quoted field on line {line}."));
                    }
                    field.push(c);
                    chars.next();
                }
            }
            fields.push(field);
            match chars.next() {
                Some(',') => continue,
                Some('\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                }
                _ => {}
            }
            line += 1;
            break;
        }
        records.push((start, fields));
    }
    Ok(records)
}

enum TextEncoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

fn text_encoding(a: &Args, i: usize) -> Result<TextEncoding, FuncError> {
    let name = a.str(i)?;
    match name.to_ascii_uppercase().replace('_', "-").as_str() {
        "UTF-8" | "UTF8" => Ok(TextEncoding::Utf8),
        "UTF-16LE" => Ok(TextEncoding::Utf16Le),
        "UTF-16BE" => Ok(TextEncoding::Utf16Be),
        _ => Err(a.err(
            i,
            format!(
                "\"{name}\" is not a supported encoding; the supported encodings are UTF-8, UTF-16LE and UTF-16BE."
            ),
        )),
    }
}

pub(crate) fn textencodebase64(a: &Args) -> Result<Value, FuncError> {
    let s = a.str(0)?;
    let bytes: Vec<u8> = match text_encoding(a, 1)? {
        TextEncoding::Utf8 => s.as_bytes().to_vec(),
        TextEncoding::Utf16Le => s.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        TextEncoding::Utf16Be => s.encode_utf16().flat_map(u16::to_be_bytes).collect(),
    };
    Ok(Value::String(STANDARD.encode(bytes)))
}

pub(crate) fn textdecodebase64(a: &Args) -> Result<Value, FuncError> {
    let encoding = text_encoding(a, 1)?;
    let bytes = decode_base64(a, 0)?;
    let invalid = |name: &str| a.err(0, format!("the given value has invalid characters for the {name} encoding."));
    let units = |le: bool| -> Option<Vec<u16>> {
        if bytes.len() % 2 != 0 {
            return None;
        }
        Some(
            bytes
                .chunks_exact(2)
                .map(|c| {
                    let pair = [c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)];
                    if le { u16::from_le_bytes(pair) } else { u16::from_be_bytes(pair) }
                })
                .collect(),
        )
    };
    let text = match encoding {
        TextEncoding::Utf8 => String::from_utf8(bytes.clone()).map_err(|_| invalid("UTF-8"))?,
        TextEncoding::Utf16Le => {
            units(true).and_then(|u| String::from_utf16(&u).ok()).ok_or_else(|| invalid("UTF-16LE"))?
        }
        TextEncoding::Utf16Be => {
            units(false).and_then(|u| String::from_utf16(&u).ok()).ok_or_else(|| invalid("UTF-16BE"))?
        }
    };
    Ok(Value::String(text))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

    #[test]
    fn json_roundtrip_with_sorted_keys_and_go_escapes() {
        let v = m(vec![("b", l(vec![n(1.0), n(2.5), b(true), Value::Null])), ("a", s("<x&y>"))]);
        assert_eq!(ok("jsonencode", vec![v]), s(r#"{"a":"\u003cx\u0026y\u003e","b":[1,2.5,true,null]}"#));
        assert_eq!(ok("jsonencode", vec![Value::Null]), s("null"));
        assert_eq!(
            ok("jsonencode", vec![l(vec![n(1e21), n(1e-7), n(-2.5), n(3.0)])]),
            s("[1000000000000000000000,0.0000001,-2.5,3]")
        );
        assert_eq!(ok("jsonencode", vec![s("a\"\\\n\u{1}")]), s(r#""a\"\\\n\u0001""#));
        let nested = m(vec![("z", m(vec![("b", n(1.0)), ("a", l(vec![]))])), ("y", m(vec![]))]);
        assert_eq!(ok("jsonencode", vec![nested.clone()]), s(r#"{"y":{},"z":{"a":[],"b":1}}"#));
        assert_eq!(ok("jsondecode", vec![ok("jsonencode", vec![nested.clone()])]), nested);
        assert_eq!(
            ok("jsondecode", vec![s(r#"{"z":1,"a":[true,"x"]}"#)]),
            m(vec![("z", n(1.0)), ("a", l(vec![b(true), s("x")]))])
        );
        assert!(
            err("jsondecode", vec![s("{")])
                .starts_with("Invalid value for \"str\" parameter: the given string is not valid JSON")
        );
        let deep = "[".repeat(10_000);
        assert!(call("jsondecode", vec![s(&deep)]).is_err());
    }

    #[test]
    fn yaml_encode_like_terraform() {
        assert_eq!(ok("yamlencode", vec![m(vec![("c", s("d")), ("a", s("b"))])]), s("\"a\": \"b\"\n\"c\": \"d\"\n"));
        let v = m(vec![("foo", l(vec![n(1.0), m(vec![("a", s("b")), ("c", s("d"))]), n(3.0)])), ("bar", s("baz"))]);
        assert_eq!(
            ok("yamlencode", vec![v]),
            s("\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n")
        );
        assert_eq!(ok("yamlencode", vec![m(vec![("a", m(vec![("b", l(vec![]))]))])]), s("\"a\":\n  \"b\": []\n"));
        assert_eq!(ok("yamlencode", vec![l(vec![sl(&["x", "y"])])]), s("- - \"x\"\n  - \"y\"\n"));
        assert_eq!(ok("yamlencode", vec![b(true)]), s("true\n...\n"));
        assert_eq!(ok("yamlencode", vec![Value::Null]), s("null\n...\n"));
        assert_eq!(ok("yamlencode", vec![s("hello")]), s("\"hello\"\n"));
        assert_eq!(ok("yamlencode", vec![l(vec![])]), s("[]\n"));
        assert_eq!(ok("yamldecode", vec![ok("yamlencode", vec![n(1.5)])]), n(1.5));
    }

    #[test]
    fn yaml_decode_and_roundtrip() {
        assert_eq!(
            ok("yamldecode", vec![s("hello: world\nlist: [1, true, ~]\n3: x\n")]),
            m(vec![("hello", s("world")), ("list", l(vec![n(1.0), b(true), Value::Null])), ("3", s("x"))])
        );
        let v = m(vec![("k", l(vec![m(vec![("n", s("line1\nline2"))]), n(2.0)]))]);
        let text = ok("yamlencode", vec![v.clone()]);
        assert_eq!(ok("yamldecode", vec![text]), v);
        assert!(err("yamldecode", vec![s("a: [")]).contains("not valid YAML"));
        assert_eq!(
            ok("yamldecode", vec![s("base: &b {x: 1}\nder:\n  <<: *b\n  z: 2\n")]),
            m(vec![("base", m(vec![("x", n(1.0))])), ("der", m(vec![("z", n(2.0)), ("x", n(1.0))]))])
        );
        assert!(err("yamldecode", vec![s("")]).contains("empty"));
        assert!(err("yamldecode", vec![s("a: 1\n---\nb: 2\n")]).contains("extra content"));
    }

    #[test]
    fn base64_and_url() {
        assert_eq!(ok("base64encode", vec![s("Hello World")]), s("SGVsbG8gV29ybGQ="));
        assert_eq!(ok("base64decode", vec![s("SGVsbG8gV29ybGQ=")]), s("Hello World"));
        assert!(err("base64decode", vec![s("!!")]).contains("not valid base64"));
        assert!(err("base64decode", vec![s("/w==")]).contains("not valid UTF-8"));
        assert_eq!(ok("urlencode", vec![s("Hello World!/ü")]), s("Hello+World%21%2F%C3%BC"));
        assert_eq!(ok("urldecode", vec![s("Hello+World%21%2F%C3%BC")]), s("Hello World!/ü"));
        assert!(err("urldecode", vec![s("bad%zz")]).contains("invalid URL escape \"%zz\""));
        assert!(err("urldecode", vec![s("bad%")]).contains("invalid URL escape"));
    }

    #[test]
    fn csv() {
        assert_eq!(
            ok("csvdecode", vec![s("a,b,c\n1,2,3\n\"x, y\",\"q\"\"\",\n")]),
            l(vec![
                m(vec![("a", s("1")), ("b", s("2")), ("c", s("3"))]),
                m(vec![("a", s("x, y")), ("b", s("q\"")), ("c", s(""))]),
            ])
        );
        assert_eq!(ok("csvdecode", vec![s("a,b\r\n1,2")]), l(vec![m(vec![("a", s("1")), ("b", s("2"))])]));
        assert_eq!(
            err("csvdecode", vec![s("a,b\n1,2,3\n")]),
            "Invalid value for \"str\" parameter: record on line 2 has 3 fields, but the header line has 2."
        );
        assert!(err("csvdecode", vec![s("")]).contains("missing header line"));
        assert!(err("csvdecode", vec![s("a\n\"open\n")]).contains("not closed"));
        assert!(err("csvdecode", vec![s("a\nb\"c\n")]).contains("bare \""));
    }

    #[test]
    fn text_encodings() {
        assert_eq!(
            ok("textencodebase64", vec![s("Hello World"), s("UTF-16LE")]),
            s("SABlAGwAbABvACAAVwBvAHIAbABkAA==")
        );
        assert_eq!(
            ok("textdecodebase64", vec![s("SABlAGwAbABvACAAVwBvAHIAbABkAA=="), s("UTF-16LE")]),
            s("Hello World")
        );
        assert_eq!(ok("textencodebase64", vec![s("hé"), s("utf-8")]), s("aMOp"));
        assert_eq!(ok("textdecodebase64", vec![s("aMOp"), s("UTF-8")]), s("hé"));
        assert!(err("textencodebase64", vec![s("x"), s("latin9")]).contains("not a supported encoding"));
        assert!(err("textdecodebase64", vec![s("AA=="), s("UTF-16BE")]).contains("invalid characters"));
    }
}
