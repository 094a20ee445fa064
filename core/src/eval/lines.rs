//! Heredocs and template files as Terraform 1.0.3's HCL reads them. Its scanner splits their
//! literal text into one token per line (each ending at its newline), and a strip marker (`~`)
//! trims only the adjacent token, so `%{~ if x ~}` on a line of its own removes that line's
//! indentation and its newline but leaves the lines around it whole. An indented heredoc
//! (`<<-EOT`) then removes the smallest indentation of the tokens that start a line, after
//! stripping, counting a directive or interpolation at a line start as no indentation.
//!
//! hcl-edit has already dedented an indented heredoc its own way; [`normalize`] puts that
//! indentation back (as spaces) and redoes both steps, returning a template whose literals are
//! final and whose strip markers are cleared.

use hcl::edit::template::{Directive, Element, Strip, Template};

/// A literal's line tokens: text, and whether flushing may remove indentation from it.
type Pieces = Vec<(String, bool)>;

#[derive(Default)]
struct Flush {
    newline: bool,
    min: Option<usize>,
    pieces: Vec<Pieces>,
}

impl Flush {
    fn note(&mut self, spaces: usize) {
        self.min = Some(self.min.map_or(spaces, |m| m.min(spaces)));
    }

    /// A directive or interpolation token.
    fn other(&mut self) {
        if self.newline {
            self.note(0);
            self.newline = false;
        }
    }
}

/// The template as Terraform renders it: `indent` is what hcl-edit removed from a `<<-`
/// heredoc's top-level lines; `flush` says the heredoc is indented (`<<-`).
pub fn normalize(t: &Template, indent: Option<usize>, flush: bool) -> Template {
    let mut t = t.clone();
    if let Some(n) = indent {
        reindent(&mut t, n);
    }
    let mut f = Flush { newline: true, ..Flush::default() };
    strip(&t, false, false, &mut f);
    let min = if flush { f.min.unwrap_or(0) } else { 0 };
    let mut pieces = f.pieces.into_iter();
    apply(&mut t, min, &mut pieces);
    t
}

/// Undoes hcl-edit's dedent: `n` characters were removed from every non-empty line of the
/// top-level literals, except a literal's first line when it continues a line. A line start
/// holding only whitespace before a directive or interpolation was erased by it; as such an
/// element at a line start would have stopped the dedent, that whitespace was exactly `n` wide.
fn reindent(t: &mut Template, n: usize) {
    let pad = " ".repeat(n);
    let literal: Vec<bool> = t.iter().map(|e| matches!(e, Element::Literal(_))).collect();
    let mut continues = false;
    for (i, el) in t.iter_mut().enumerate() {
        if let Element::Literal(lit) = el {
            let mut out = String::with_capacity(lit.len() + n * 4);
            for (j, line) in lit.split_inclusive('\n').enumerate() {
                if !(j == 0 && continues) && line != "\n" {
                    out.push_str(&pad);
                }
                out.push_str(line);
            }
            let at_line_start = if out.is_empty() { !continues } else { out.ends_with('\n') };
            if at_line_start && literal.get(i + 1) == Some(&false) {
                out.push_str(&pad);
            }
            continues = !out.ends_with('\n');
            **lit = out;
        }
    }
}

fn strip_start(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_start(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(i) => i.if_expr.strip.strip_start(),
            Directive::For(f) => f.for_expr.strip.strip_start(),
        },
    }
}

fn strip_end(e: &Element) -> bool {
    match e {
        Element::Literal(_) => false,
        Element::Interpolation(i) => i.strip.strip_end(),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(i) => i.endif_expr.strip.strip_end(),
            Directive::For(f) => f.endfor_expr.strip.strip_end(),
        },
    }
}

/// Pass one, in source order: split literals into line tokens, strip the tokens next to strip
/// markers, and find the smallest indentation at line starts.
fn strip(t: &Template, lead: bool, trail: bool, f: &mut Flush) {
    let els: Vec<&Element> = t.iter().collect();
    for (i, el) in els.iter().enumerate() {
        match el {
            Element::Literal(lit) => {
                let mut toks: Vec<String> = lit.split_inclusive('\n').map(str::to_string).collect();
                let before = if i == 0 { lead } else { strip_end(els[i - 1]) };
                let after = if i + 1 == els.len() { trail } else { strip_start(els[i + 1]) };
                if before && let Some(first) = toks.first_mut() {
                    *first = first.trim_start().to_string();
                }
                if after && let Some(last) = toks.last_mut() {
                    *last = last.trim_end().to_string();
                }
                let mut pieces = Vec::with_capacity(toks.len());
                for tok in toks {
                    let mut adjust = false;
                    if f.newline {
                        f.newline = false;
                        let trimmed = tok.trim_start();
                        // A blank line does not count.
                        if !(trimmed.is_empty() && tok.ends_with('\n')) {
                            f.note(tok[..tok.len() - trimmed.len()].chars().count());
                            adjust = true;
                        }
                    }
                    f.newline = tok.ends_with('\n');
                    pieces.push((tok, adjust));
                }
                f.pieces.push(pieces);
            }
            Element::Interpolation(_) => f.other(),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(dir) => {
                    f.other();
                    let else_start = dir.else_expr.as_ref().map(|e| e.strip.strip_start());
                    let end_start = dir.endif_expr.strip.strip_start();
                    strip(&dir.if_expr.template, dir.if_expr.strip.strip_end(), else_start.unwrap_or(end_start), f);
                    if let Some(e) = &dir.else_expr {
                        f.other();
                        strip(&e.template, e.strip.strip_end(), end_start, f);
                    }
                    f.other();
                }
                Directive::For(dir) => {
                    f.other();
                    strip(
                        &dir.for_expr.template,
                        dir.for_expr.strip.strip_end(),
                        dir.endfor_expr.strip.strip_start(),
                        f,
                    );
                    f.other();
                }
            },
        }
    }
}

/// Pass two, same order: write the final literals and clear the strip markers.
fn apply(t: &mut Template, min: usize, pieces: &mut std::vec::IntoIter<Pieces>) {
    for el in t.iter_mut() {
        match el {
            Element::Literal(lit) => {
                let mut out = String::new();
                for (tok, adjust) in pieces.next().unwrap_or_default() {
                    if adjust {
                        let cut: usize = tok.chars().take(min).map(char::len_utf8).sum();
                        out.push_str(&tok[cut..]);
                    } else {
                        out.push_str(&tok);
                    }
                }
                **lit = out;
            }
            Element::Interpolation(i) => i.strip = Strip::None,
            Element::Directive(d) => match d.as_mut() {
                Directive::If(dir) => {
                    dir.if_expr.strip = Strip::None;
                    apply(&mut dir.if_expr.template, min, pieces);
                    if let Some(e) = &mut dir.else_expr {
                        e.strip = Strip::None;
                        apply(&mut e.template, min, pieces);
                    }
                    dir.endif_expr.strip = Strip::None;
                }
                Directive::For(dir) => {
                    dir.for_expr.strip = Strip::None;
                    apply(&mut dir.for_expr.template, min, pieces);
                    dir.endfor_expr.strip = Strip::None;
                }
            },
        }
    }
}
