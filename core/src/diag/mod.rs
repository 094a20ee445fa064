//! Diagnostics: problems in the user's input, as values. Each has a severity, a one-line
//! summary, a full-sentence detail, and where it applies (a source span and/or a resource
//! address). Phases collect them rather than stopping at the first; the CLI renders them with a
//! source snippet. Nothing here prints.

// Diagnostics are the error type of the language front end by design (they carry spans).
#![allow(clippy::result_large_err)]

use std::path::PathBuf;

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path as shown to the user (relative to the working directory where possible).
    pub path: PathBuf,
    pub text: String,
}

/// Every configuration file read, so that spans can be turned into file:line:col and snippets.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        self.files.push(SourceFile { path, text });
        self.files.len() - 1
    }

    /// 1-based line and column (in characters) of a byte offset; (1, 1) for an unknown file.
    pub fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        let Some(f) = self.files.get(file) else { return (1, 1) };
        let text = &f.text;
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
        (line, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Short, fixed wording: "Undefined reference", "Cycle in dependency graph".
    pub summary: String,
    /// Full sentences: what is wrong, what was expected, and a likely fix.
    pub detail: String,
    pub span: Option<Span>,
    /// The resource or module address concerned, when there is one.
    pub address: Option<String>,
    /// Further places that belong to this problem (each edge of a cycle, a previous definition).
    pub related: Vec<(Span, String)>,
    /// For a provider's failure: why, when the provider said (its error's kind).
    pub kind: Option<tarn_sdk::ErrorKind>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            span: None,
            address: None,
            related: Vec::new(),
            kind: None,
        }
    }
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Self::error(summary, detail) }
    }
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }
    pub fn maybe_at(mut self, span: Option<Span>) -> Self {
        if span.is_some() {
            self.span = span;
        }
        self
    }
    pub fn for_address(mut self, address: impl ToString) -> Self {
        self.address = Some(address.to_string());
        self
    }
    pub fn related(mut self, span: Span, note: impl Into<String>) -> Self {
        self.related.push((span, note.into()));
        self
    }
    /// Keeps why a provider failed (its error's kind), for callers that answer with codes.
    pub fn because(mut self, kind: Option<tarn_sdk::ErrorKind>) -> Self {
        self.kind = kind;
        self
    }
}

/// A collection of diagnostics; `has_errors` decides whether a phase may go on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    /// The kind of the first error that has one: why a provider failed, if one did.
    pub fn kind(&self) -> Option<tarn_sdk::ErrorKind> {
        self.0.iter().filter(|d| d.severity == Severity::Error).find_map(|d| d.kind)
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

/// "Did you mean ...?" — the closest candidate within a small edit distance.
pub fn did_you_mean<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(given, c), c))
        .filter(|(d, c)| *d <= 2.max(given.len() / 3) && *d < c.len().max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

mod render;

pub use render::{location, render, render_all};

impl SourceMap {
    /// Like [`SourceMap::line_col`], but `None` for a file id this map does not hold.
    pub fn try_line_col(&self, file: FileId, offset: usize) -> Option<(usize, usize)> {
        (file < self.files.len()).then(|| self.line_col(file, offset))
    }
}
