//! Native syntax: parses one `*.tarn.hcl` file with hcl-edit and lowers it into the generic
//! [`Body`] of the model, turning every hcl-edit byte range into a file [`Span`].
//!
//! It knows nothing about which blocks tarn accepts: that is `decode`'s job. It must not
//! evaluate anything.

use super::model::{Attribute, Block, Body, Expr};
use crate::diag::{Diagnostic, FileId, Span};
use hcl::edit::Span as _;
use hcl::edit::structure::{self, Structure};

/// Parses `text` (the content of file `file`) into a body, or a diagnostic at the parse error.
pub fn parse_file(text: &str, file: FileId) -> Result<Body, Diagnostic> {
    match hcl::edit::parser::parse_body(text) {
        Ok(body) => Ok(lower_body(&body, file, Some(0..text.len()))),
        Err(e) => Err(parse_error(&e, text, file, 0)),
    }
}

/// Maps an hcl-edit parse error to a diagnostic. `base` is the file offset of the parsed text.
pub fn parse_error(e: &hcl::edit::parser::Error, text: &str, file: FileId, base: usize) -> Diagnostic {
    let offset = floor_boundary(text, e.location().offset().min(text.len()));
    let end = next_boundary(text, offset);
    let message = e.message().trim();
    let detail = if message.is_empty() {
        "The file could not be parsed as HCL.".to_string()
    } else {
        format!("{}.", upper_first(message.trim_end_matches('.')))
    };
    Diagnostic::error("Invalid syntax", detail).at(Span { file, start: base + offset, end: base + end })
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub(crate) fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn next_boundary(s: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() && !s.is_char_boundary(j) {
        j += 1;
    }
    j.min(s.len()).max(i)
}

fn span_of(range: Option<std::ops::Range<usize>>, file: FileId, fallback: Span) -> Span {
    match range {
        Some(r) => Span { file, start: r.start, end: r.end.max(r.start) },
        None => fallback,
    }
}

/// Lowers an hcl-edit body. `range` is the body's own extent when known.
pub fn lower_body(body: &structure::Body, file: FileId, range: Option<std::ops::Range<usize>>) -> Body {
    let body_span = range.or_else(|| body.span()).map(|r| Span { file, start: r.start, end: r.end.max(r.start) });
    let fallback = body_span.unwrap_or(Span { file, start: 0, end: 0 });
    let mut out = Body { span: body_span, ..Body::default() };
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                let name = attr.key.value().to_string();
                let name_span = span_of(attr.key.span(), file, fallback);
                let value = Expr { expr: attr.value.clone(), span: span_of(attr.value.span(), file, name_span) };
                // Duplicate attributes are rejected by the parser; keep the first defensively.
                out.attributes.entry(name.clone()).or_insert(Attribute { name, name_span, value });
            }
            Structure::Block(block) => out.blocks.push(lower_block(block, file, fallback)),
        }
    }
    out
}

fn lower_block(block: &structure::Block, file: FileId, fallback: Span) -> Block {
    let span = span_of(block.span(), file, fallback);
    let kind_span = span_of(block.ident.span(), file, span);
    Block {
        kind: block.ident.value().to_string(),
        labels: block.labels.iter().map(|l| l.as_str().to_string()).collect(),
        label_spans: block.labels.iter().map(|l| span_of(l.span(), file, span)).collect(),
        body: lower_body(&block.body, file, block.body.span()),
        span,
        kind_span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowers_blocks_and_attributes_with_spans() {
        let src = "resource \"null_resource\" \"a\" {\n  x = 1\n  lifecycle {\n    prevent_destroy = true\n  }\n}\n";
        let body = parse_file(src, 0).unwrap();
        assert_eq!(body.blocks.len(), 1);
        let b = &body.blocks[0];
        assert_eq!(b.kind, "resource");
        assert_eq!(b.labels, vec!["null_resource", "a"]);
        assert_eq!(&src[b.label_spans[1].start..b.label_spans[1].end], "\"a\"");
        let x = &b.body.attributes["x"];
        assert_eq!(&src[x.value.span.start..x.value.span.end], "1");
        assert_eq!(b.body.blocks[0].kind, "lifecycle");
    }

    #[test]
    fn parse_error_has_a_position() {
        let d = parse_file("a = \n", 0).unwrap_err();
        assert_eq!(d.summary, "Invalid syntax");
        assert!(d.span.is_some());
    }
}
