//! JSON syntax (`*.tarn.json`), mapped 1:1 like Terraform's `.tf.json`: top-level keys are
//! block types, then one object level per block label, then the block body. Inside a body,
//! keys naming a known nested block (`lifecycle`, `validation`, `backend`, ...) are blocks;
//! every other key is an attribute whose JSON value is read as an HCL expression — strings are
//! templates, so `"${var.x}"` works — with spans pointing into the JSON file. Keys named `//`
//! are comments.
//!
//! A small scanner keeps the byte span of every JSON value (serde_json does not). Nothing here
//! decides what the blocks mean; `decode` does.

use super::decode::label_count;
use super::model::{Attribute, Block, Body, Expr};
use crate::diag::{Diagnostic, FileId, Span};
use hcl::edit::expr::Expression;

/// A JSON value with its byte range in the file.
#[derive(Debug)]
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Object(Vec<(String, usize, usize, Node)>),
    Array(Vec<Node>),
    /// A string, with its decoded content.
    Str(String),
    /// A number, bool or null.
    Scalar,
}

const MAX_DEPTH: usize = 200;

struct Scanner<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    file: FileId,
}

impl Scanner<'_> {
    fn fail(&self, msg: &str) -> Diagnostic {
        let start = crate::config::hcl::floor_boundary(self.text, self.pos);
        let end = (start + 1).min(self.text.len());
        let end = crate::config::hcl::floor_boundary(self.text, end).max(start);
        Diagnostic::error("Invalid JSON syntax", format!("{msg}.")).at(Span { file: self.file, start, end })
    }

    fn ws(&mut self) {
        while let Some(b) = self.bytes.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, Diagnostic> {
        if depth > MAX_DEPTH {
            return Err(self.fail("The JSON is nested too deeply"));
        }
        self.ws();
        let start = self.pos;
        match self.bytes.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.bytes.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Node { start, end: self.pos, kind: Kind::Object(entries) });
                }
                loop {
                    self.ws();
                    let kstart = self.pos;
                    if self.bytes.get(self.pos) != Some(&b'"') {
                        return Err(
                            self.fail("Expected a quoted object key (JSON allows no trailing comma before '}')")
                        );
                    }
                    let key = match self.value(depth + 1)? {
                        Node { kind: Kind::Str(s), .. } => s,
                        _ => {
                            self.pos = kstart;
                            return Err(self.fail("Expected a string object key"));
                        }
                    };
                    let kend = self.pos;
                    self.ws();
                    if self.bytes.get(self.pos) != Some(&b':') {
                        return Err(self.fail("Expected ':' after an object key"));
                    }
                    self.pos += 1;
                    let v = self.value(depth + 1)?;
                    entries.push((key, kstart, kend, v));
                    self.ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Node { start, end: self.pos, kind: Kind::Object(entries) });
                        }
                        _ => return Err(self.fail("Expected ',' or '}' in an object")),
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.ws();
                if self.bytes.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Node { start, end: self.pos, kind: Kind::Array(items) });
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.bytes.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Node { start, end: self.pos, kind: Kind::Array(items) });
                        }
                        _ => return Err(self.fail("Expected ',' or ']' in an array")),
                    }
                }
            }
            Some(b'"') => {
                self.pos += 1;
                loop {
                    match self.bytes.get(self.pos) {
                        None => return Err(self.fail("Unterminated string")),
                        Some(b'\\') => self.pos += 2,
                        Some(b'"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(b'\n') => return Err(self.fail("A string may not contain a line break")),
                        Some(_) => self.pos += 1,
                    }
                }
                let raw = self.text.get(start..self.pos.min(self.text.len())).unwrap_or("");
                let s: String = serde_json::from_str(raw).map_err(|_| {
                    self.pos = start;
                    self.fail("Invalid string escape")
                })?;
                Ok(Node { start, end: self.pos, kind: Kind::Str(s) })
            }
            Some(_) => {
                while let Some(b) = self.bytes.get(self.pos) {
                    if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.') {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let raw = self.text.get(start..self.pos).unwrap_or("");
                if raw.is_empty() || serde_json::from_str::<serde_json::Value>(raw).is_err() {
                    self.pos = start;
                    return Err(self.fail("Expected a JSON value"));
                }
                Ok(Node { start, end: self.pos, kind: Kind::Scalar })
            }
            None => Err(self.fail("Unexpected end of file")),
        }
    }
}

/// Parses one JSON configuration file into a body of blocks.
pub fn parse_file(text: &str, file: FileId) -> Result<Body, Diagnostic> {
    let mut sc = Scanner { text, bytes: text.as_bytes(), pos: 0, file };
    if text.starts_with('\u{feff}') {
        sc.pos = 3;
    }
    let root = sc.value(0)?;
    sc.ws();
    if sc.pos < text.len() {
        return Err(sc.fail("Unexpected text after the JSON value"));
    }
    let Kind::Object(entries) = &root.kind else {
        return Err(Diagnostic::error(
            "Invalid JSON configuration",
            "The root of a configuration file must be a JSON object whose keys are block types.",
        )
        .at(Span { file, start: root.start, end: root.end }));
    };
    let lw = Lowering { text, file };
    let mut body = Body { span: Some(Span { file, start: root.start, end: root.end }), ..Body::default() };
    for (key, ks, ke, v) in entries {
        if key == "//" {
            continue;
        }
        let kind_span = Span { file, start: *ks, end: *ke };
        match label_count(key) {
            Some(n) => lw.blocks(key, kind_span, n, Vec::new(), Vec::new(), v, &mut body.blocks),
            // Unknown block types are reported by decode, as for native syntax.
            None => body.blocks.push(Block {
                kind: key.clone(),
                labels: Vec::new(),
                body: Body::default(),
                span: Span { file, start: *ks, end: v.end },
                kind_span,
                label_spans: Vec::new(),
            }),
        }
    }
    Ok(body)
}

struct Lowering<'t> {
    text: &'t str,
    file: FileId,
}

/// Nested blocks (and their label counts) inside a block of the given kind.
fn nested_blocks(kind: &str) -> &'static [(&'static str, usize)] {
    match kind {
        "resource" | "data" => &[("lifecycle", 0), ("dynamic", 1)],
        "dynamic" => &[("content", 0)],
        "variable" => &[("validation", 0)],
        "tarn" => &[("required_providers", 0), ("backend", 1)],
        "lifecycle" => &[("precondition", 0), ("postcondition", 0)],
        "check" => &[("assert", 0)],
        "removed" => &[("lifecycle", 0)],
        "output" => &[("precondition", 0)],
        _ => &[],
    }
}

impl Lowering<'_> {
    fn span(&self, n: &Node) -> Span {
        Span { file: self.file, start: n.start, end: n.end }
    }

    /// Descends `remaining` label levels, then lowers each body object found (arrays of
    /// objects stand for repeated blocks at any level).
    #[allow(clippy::too_many_arguments)]
    fn blocks(
        &self,
        kind: &str,
        kind_span: Span,
        remaining: usize,
        labels: Vec<String>,
        label_spans: Vec<Span>,
        v: &Node,
        out: &mut Vec<Block>,
    ) {
        match &v.kind {
            Kind::Array(items) => {
                for item in items {
                    self.blocks(kind, kind_span, remaining, labels.clone(), label_spans.clone(), item, out);
                }
            }
            Kind::Object(entries) if remaining > 0 => {
                for (key, ks, ke, child) in entries {
                    let mut l = labels.clone();
                    l.push(key.clone());
                    let mut s = label_spans.clone();
                    s.push(Span { file: self.file, start: *ks, end: *ke });
                    self.blocks(kind, kind_span, remaining - 1, l, s, child, out);
                }
            }
            Kind::Object(_) => out.push(Block {
                kind: kind.to_string(),
                labels,
                label_spans,
                body: self.body(kind, v),
                span: Span { file: self.file, start: kind_span.start, end: v.end },
                kind_span,
            }),
            _ => out.push(Block {
                kind: kind.to_string(),
                labels,
                label_spans,
                body: Body { span: Some(self.span(v)), ..Body::default() },
                span: self.span(v),
                kind_span,
            }),
        }
    }

    fn body(&self, kind: &str, v: &Node) -> Body {
        let mut body = Body { span: Some(self.span(v)), ..Body::default() };
        let Kind::Object(entries) = &v.kind else { return body };
        let nested = nested_blocks(kind);
        for (key, ks, ke, child) in entries {
            if key == "//" {
                continue;
            }
            let key_span = Span { file: self.file, start: *ks, end: *ke };
            if let Some((_, n)) = nested.iter().find(|(k, _)| k == key) {
                self.blocks(key, key_span, *n, Vec::new(), Vec::new(), child, &mut body.blocks);
                continue;
            }
            let value = self.expr(child);
            body.attributes.entry(key.clone()).or_insert(Attribute { name: key.clone(), name_span: key_span, value });
        }
        body
    }

    /// Reads a JSON value as an HCL expression over the same bytes, so inner spans are exact.
    fn expr(&self, n: &Node) -> Expr {
        let span = self.span(n);
        let raw = self.text.get(n.start..n.end).unwrap_or("");
        if let Ok(expr) = hcl::edit::parser::parse_expr(raw) {
            return Expr { expr, span };
        }
        // JSON escapes HCL lacks (`\/`, `\b`, `\f`): fall back to a literal built from the
        // decoded JSON, without inner spans.
        Expr { expr: literal(n, self.text), span }
    }
}

fn literal(n: &Node, text: &str) -> Expression {
    match &n.kind {
        Kind::Str(s) => Expression::from(s.as_str()),
        Kind::Array(items) => {
            let mut a = hcl::edit::expr::Array::new();
            for i in items {
                a.push(literal(i, text));
            }
            Expression::Array(a)
        }
        Kind::Object(entries) => {
            let mut o = hcl::edit::expr::Object::new();
            for (k, _, _, v) in entries {
                o.insert(
                    hcl::edit::expr::ObjectKey::Expression(Expression::from(k.as_str())),
                    hcl::edit::expr::ObjectValue::new(literal(v, text)),
                );
            }
            Expression::Object(o)
        }
        Kind::Scalar => {
            let raw = text.get(n.start..n.end).unwrap_or("null");
            match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(serde_json::Value::Bool(b)) => Expression::from(b),
                Ok(serde_json::Value::Number(x)) => x.as_f64().map(Expression::from).unwrap_or_else(Expression::null),
                _ => Expression::null(),
            }
        }
    }
}
