//! The differential harness: the same expressions through tarn's evaluator and through
//! Terraform 1.0.3 (installed offline by `bench/terraform-peer.sh`), compared on value and type.
//!
//! Terraform side, in batches: every case becomes one `output` of a single configuration, and
//! one `terraform plan -json -out` evaluates them all. Its error diagnostics (with byte ranges)
//! are mapped back to their cases, those cases are dropped, and the plan runs again until it
//! succeeds; `terraform show -json` of the plan then gives every value. A value containing an
//! unknown anywhere is "unknown" (Terraform's plan reports only that for an output).
//!
//! Compared: values as JSON with numbers compared as exact decimals, so a string "1" never equals
//! the number 1 and 0.30000000000000004 never equals 0.3; lists, tuples and sets compare as
//! arrays and maps and objects as objects (tarn's `Value` does not tell them apart). Errors
//! compare by the byte range they point at, relative to the start of the expression.
//!
//! Shared by the hand-written corpus test (tests/engine/difftest) and the generated run
//! (examples/difftest.rs).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tarn_core::config::Expr;
use tarn_core::diag::Span;
use tarn_core::eval::{EvalContext, Resolved, Resolver, Step, evaluate};
use tarn_core::{Diagnostic, Diagnostics};
use tarn_sdk::Value;

/// One expression and what the corpus says about it.
#[derive(Debug, Clone)]
pub struct Case {
    pub src: String,
    /// 1-based line in the corpus file.
    pub line: usize,
    /// `# differs: why` above the case: a deliberate difference, documented in docs/language.md.
    pub differs: Option<String>,
}

/// What one side made of an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Value(Json),
    Unknown,
    /// Byte range of the (first) error, relative to the start of the expression.
    Error(Vec<(usize, usize)>),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Value(j) => write!(f, "{j}"),
            Outcome::Unknown => f.write_str("(unknown)"),
            Outcome::Error(r) => write!(f, "error at {r:?}"),
        }
    }
}

/// Do the two outcomes agree? Errors agree when tarn's first error range is one Terraform
/// reported for the case.
pub fn agree(tarn: &Outcome, tf: &Outcome) -> bool {
    match (tarn, tf) {
        (Outcome::Error(a), Outcome::Error(b)) => a.first().is_some_and(|r| b.contains(r)),
        (a, b) => a == b,
    }
}

/// Parses the corpus format: one expression per line; `#` lines are comments; a line ending in
/// `<<EOT` or `<<-EOT` continues to its closing marker; `# differs: why` marks the next case.
pub fn parse_corpus(text: &str) -> Vec<Case> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut differs = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        if t.is_empty() {
            i += 1;
            continue;
        }
        if let Some(c) = t.strip_prefix('#') {
            if let Some(why) = c.trim().strip_prefix("differs:") {
                differs = Some(why.trim().to_string());
            }
            i += 1;
            continue;
        }
        let start = i;
        let mut src = line.to_string();
        let mut open = heredoc_marker(line);
        while let Some(marker) = open.take() {
            i += 1;
            while i < lines.len() {
                src.push('\n');
                src.push_str(lines[i]);
                if lines[i].trim() == marker {
                    break;
                }
                i += 1;
            }
            // The closing line may itself open another heredoc (rare); keep it simple.
            open = None;
        }
        cases.push(Case { src, line: start + 1, differs: differs.take() });
        i += 1;
    }
    cases
}

fn heredoc_marker(line: &str) -> Option<String> {
    let at = line.rfind("<<")?;
    let rest = line[at + 2..].trim_start_matches('-');
    (!rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')).then(|| rest.to_string())
}

// ---------------------------------------------------------------------------------------------
// JSON with exact numbers

/// A JSON value whose numbers are kept as exact decimals (digits, exponent), so comparison is
/// exact whatever the textual form (`1e+30` = `1000000000000000000000000000000`).
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Num(n) => f.write_str(n),
            Json::Str(s) => write!(f, "{s:?}"),
            Json::Arr(a) => {
                f.write_str("[")?;
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Json::Obj(m) => {
                f.write_str("{")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// The canonical text of a decimal number: `-`, significant digits, `e`, exponent
/// (`0.3` → `3e-1`, `100` → `1e2`, `0` → `0`).
pub fn canonical_number(text: &str) -> String {
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let mut digits: String = format!("{int}{frac}");
    let mut exp = exp - frac.len() as i64;
    let lead = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..lead);
    while digits.ends_with('0') {
        digits.pop();
        exp += 1;
    }
    if digits.is_empty() {
        return "0".into();
    }
    format!("{}{}e{}", if neg { "-" } else { "" }, digits, exp)
}

pub fn parse_json(text: &str) -> Result<Json, String> {
    let b = text.as_bytes();
    let mut p = 0;
    let v = json_value(b, &mut p)?;
    Ok(v)
}

fn ws(b: &[u8], p: &mut usize) {
    while *p < b.len() && b[*p].is_ascii_whitespace() {
        *p += 1;
    }
}

fn json_value(b: &[u8], p: &mut usize) -> Result<Json, String> {
    ws(b, p);
    match b.get(*p) {
        Some(b'n') => {
            *p += 4;
            Ok(Json::Null)
        }
        Some(b't') => {
            *p += 4;
            Ok(Json::Bool(true))
        }
        Some(b'f') => {
            *p += 5;
            Ok(Json::Bool(false))
        }
        Some(b'"') => Ok(Json::Str(json_string(b, p)?)),
        Some(b'[') => {
            *p += 1;
            let mut items = Vec::new();
            loop {
                ws(b, p);
                if b.get(*p) == Some(&b']') {
                    *p += 1;
                    return Ok(Json::Arr(items));
                }
                items.push(json_value(b, p)?);
                ws(b, p);
                if b.get(*p) == Some(&b',') {
                    *p += 1;
                }
            }
        }
        Some(b'{') => {
            *p += 1;
            let mut m = BTreeMap::new();
            loop {
                ws(b, p);
                match b.get(*p) {
                    Some(b'}') => {
                        *p += 1;
                        return Ok(Json::Obj(m));
                    }
                    Some(b'"') => {
                        let k = json_string(b, p)?;
                        ws(b, p);
                        *p += 1; // ':'
                        let v = json_value(b, p)?;
                        m.insert(k, v);
                        ws(b, p);
                        if b.get(*p) == Some(&b',') {
                            *p += 1;
                        }
                    }
                    other => return Err(format!("unexpected {other:?} at {p} in object")),
                }
            }
        }
        Some(c) if c.is_ascii_digit() || *c == b'-' => {
            let start = *p;
            *p += 1;
            while *p < b.len() && matches!(b[*p], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                *p += 1;
            }
            Ok(Json::Num(canonical_number(std::str::from_utf8(&b[start..*p]).map_err(|e| e.to_string())?)))
        }
        other => Err(format!("unexpected {other:?} at {p}")),
    }
}

fn json_string(b: &[u8], p: &mut usize) -> Result<String, String> {
    let start = *p;
    *p += 1;
    while *p < b.len() && b[*p] != b'"' {
        if b[*p] == b'\\' {
            *p += 1;
        }
        *p += 1;
    }
    *p += 1;
    let raw = std::str::from_utf8(&b[start..*p]).map_err(|e| e.to_string())?;
    serde_json::from_str::<String>(raw).map_err(|e| format!("{e}: {raw}"))
}

/// tarn's value as JSON. Numbers go through their shortest round-trip text.
pub fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => Json::Num(canonical_number(&n.to_text())),
        Value::String(s) => Json::Str(s.clone()),
        Value::List(items) | Value::Set(items) => Json::Arr(items.iter().map(value_json).collect()),
        Value::Map(m) => Json::Obj(m.iter().map(|(k, v)| (k.clone(), value_json(v))).collect()),
        Value::Unknown => Json::Str("(unknown)".into()),
        Value::Sensitive(inner) => value_json(inner),
    }
}

/// Stands for a value with an infinity somewhere (Terraform cannot serialise it).
pub const INFINITY: &str = "(infinity)";

fn contains_infinity(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_infinite(),
        Value::List(items) | Value::Set(items) => items.iter().any(contains_infinity),
        Value::Map(m) => m.values().any(contains_infinity),
        Value::Sensitive(inner) => contains_infinity(inner),
        _ => false,
    }
}

fn contains_unknown(v: &Value) -> bool {
    match v {
        Value::Unknown => true,
        Value::List(items) | Value::Set(items) => items.iter().any(contains_unknown),
        Value::Map(m) => m.values().any(contains_unknown),
        Value::Sensitive(inner) => contains_unknown(inner),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// tarn side

/// The names both sides see: `null_resource.u.id` is unknown (known after apply).
struct Scope;

impl Resolver for Scope {
    fn resolve(&self, root: &str, steps: &[Step], _span: Span) -> Result<Option<Resolved>, Diagnostic> {
        match (root, steps.first()) {
            ("null_resource", Some(Step::Attr(name))) if name == "u" => {
                Ok(Some(Resolved { value: Value::map([("id", Value::Unknown)]), consumed: 1 }))
            }
            _ => Ok(None),
        }
    }
}

pub fn tarn_eval(src: &str, dir: &Path) -> Outcome {
    let expr = match hcl::edit::parser::parse_expr(src) {
        Ok(e) => e,
        Err(e) => {
            // A parse error: Terraform's range is the whole expression or a point in it; use
            // the parser's position.
            let at = e.location().offset().min(src.len());
            return Outcome::Error(vec![(at, at + 1)]);
        }
    };
    use hcl::edit::Span as _;
    let base = Expr { expr: expr.clone(), span: Span { file: 0, start: 0, end: src.len() } };
    let e = Expr { span: base.sub_span(expr.span()), expr };
    let run = || evaluate(&e, &EvalContext { resolver: &Scope, module_dir: dir });
    // Deep expressions need a deep stack, as the engine gives them.
    let result: Result<Value, Diagnostics> = std::thread::scope(|s| {
        std::thread::Builder::new().stack_size(64 << 20).spawn_scoped(s, run).expect("thread").join().expect("eval")
    });
    match result {
        Ok(v) if contains_unknown(&v) => Outcome::Unknown,
        Ok(v) if contains_infinity(&v) => Outcome::Value(Json::Str(INFINITY.into())),
        Ok(v) => Outcome::Value(value_json(&v)),
        Err(d) => Outcome::Error(
            d.0.iter()
                .filter_map(|d| d.span)
                .map(|s| (s.start, s.end))
                .collect::<Vec<_>>()
                .into_iter()
                .take(1)
                .collect(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Terraform side

/// The peer: `bench/terraform-peer.sh` installs Terraform 1.0.3 offline (once, cached) and
/// prints the wrapper's path. Fails loudly when it cannot.
pub fn terraform() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/terraform-peer.sh");
    let out = Command::new(&script).output().unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "bench/terraform-peer.sh failed (it needs python3 -m pip and network access to PyPI once): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A Terraform working directory with the null provider initialised, and the fixture files.
pub struct Peer {
    pub tf: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Peer {
    pub fn new(fixtures: Option<&Path>) -> Peer {
        let tf = terraform();
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(fx) = fixtures {
            for entry in std::fs::read_dir(fx).expect("fixtures") {
                let p = entry.expect("entry").path();
                if p.is_file() {
                    let to = dir.path().join("files");
                    std::fs::create_dir_all(&to).expect("mkdir files");
                    std::fs::copy(&p, to.join(p.file_name().expect("name"))).expect("copy fixture");
                }
            }
        }
        std::fs::write(dir.path().join("main.tf"), "resource \"null_resource\" \"u\" {}\n").expect("write");
        let out = Command::new(&tf).args(["init", "-input=false", "-no-color"]).current_dir(dir.path()).output();
        let out = out.expect("terraform init");
        assert!(out.status.success(), "terraform init: {}", String::from_utf8_lossy(&out.stdout));
        Peer { tf, dir }
    }

    /// Evaluates every case through Terraform, in as few plans as errors allow.
    pub fn eval_all(&self, srcs: &[String]) -> Vec<Outcome> {
        let mut out: Vec<Option<Outcome>> = vec![None; srcs.len()];
        let mut live: Vec<usize> = (0..srcs.len()).collect();
        let inf = regex::Regex::new(r#"output value \\?"c(\d+)\\?": cannot serialize infinity"#).expect("re");
        for _round in 0..8 {
            if live.is_empty() {
                break;
            }
            let mut text = String::from("resource \"null_resource\" \"u\" {}\n");
            let mut starts = Vec::new();
            for &i in &live {
                text.push_str(&format!("output \"c{i}\" {{\n  sensitive = true\n  value = [\n"));
                starts.push((i, text.len()));
                text.push_str(&srcs[i]);
                text.push_str("\n  ]\n}\n");
            }
            std::fs::write(self.dir.path().join("main.tf"), &text).expect("write main.tf");
            let plan = Command::new(&self.tf)
                .args(["plan", "-json", "-input=false", "-refresh=false", "-out=p.tfplan"])
                .current_dir(self.dir.path())
                .output()
                .expect("terraform plan");
            let mut errs: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
            let mut unplaced = Vec::new();
            for line in String::from_utf8_lossy(&plan.stdout).lines() {
                let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else { continue };
                if msg["type"] != "diagnostic" || msg["diagnostic"]["severity"] != "error" {
                    continue;
                }
                let d = &msg["diagnostic"];
                let (Some(s), Some(e)) = (d["range"]["start"]["byte"].as_u64(), d["range"]["end"]["byte"].as_u64())
                else {
                    unplaced.push(d.to_string());
                    continue;
                };
                let (s, e) = (s as usize, e as usize);
                // The case whose text starts at or before the error.
                match starts.iter().rev().find(|(_, st)| *st <= s) {
                    Some(&(i, st)) => errs.entry(i).or_default().push((s - st, e.max(s) - st)),
                    None => unplaced.push(d.to_string()),
                }
            }
            // Infinity cannot be written to the plan file: those outputs are named in one error.
            let mut infinite = false;
            for u in &unplaced {
                for m in inf.captures_iter(u) {
                    let i: usize = m[1].parse().expect("index");
                    out[i] = Some(Outcome::Value(Json::Str(INFINITY.into())));
                    infinite = true;
                }
            }
            if infinite {
                live.retain(|i| out[*i].is_none());
                continue;
            }
            if errs.is_empty() {
                assert!(
                    plan.status.success(),
                    "terraform plan failed without a placed error: {unplaced:?}\n{}",
                    String::from_utf8_lossy(&plan.stderr)
                );
                let show = Command::new(&self.tf)
                    .args(["show", "-json", "p.tfplan"])
                    .current_dir(self.dir.path())
                    .output()
                    .expect("terraform show");
                assert!(show.status.success(), "terraform show: {}", String::from_utf8_lossy(&show.stderr));
                let doc = parse_json(&String::from_utf8_lossy(&show.stdout)).expect("show -json parses");
                let Json::Obj(doc) = doc else { panic!("show -json: not an object") };
                let Some(Json::Obj(changes)) = doc.get("output_changes") else {
                    panic!("show -json: no output_changes")
                };
                for &i in &live {
                    let c = match changes.get(&format!("c{i}")) {
                        Some(Json::Obj(c)) => c,
                        _ => panic!("no output c{i}"),
                    };
                    out[i] = Some(if !has_true(c.get("after_unknown")) {
                        match c.get("after") {
                            Some(Json::Arr(a)) if a.len() == 1 => Outcome::Value(a[0].clone()),
                            // A null output (`[null]` of an unknown type) is not recorded.
                            None => Outcome::Value(Json::Null),
                            other => panic!("c{i}: after = {other:?}"),
                        }
                    } else {
                        Outcome::Unknown
                    });
                }
                live.clear();
            } else {
                for (i, ranges) in errs {
                    out[i] = Some(Outcome::Error(ranges));
                }
                live.retain(|i| out[*i].is_none());
            }
        }
        out.into_iter().map(|o| o.expect("every case evaluated")).collect()
    }
}

/// Does `after_unknown` mark anything unknown?
fn has_true(j: Option<&Json>) -> bool {
    match j {
        Some(Json::Bool(b)) => *b,
        Some(Json::Arr(a)) => a.iter().any(|x| has_true(Some(x))),
        Some(Json::Obj(m)) => m.values().any(|x| has_true(Some(x))),
        _ => false,
    }
}

/// Compares every case; returns (agreeing, disagreements as text).
pub struct Report {
    pub total: usize,
    pub agree: usize,
    /// Cases that disagree and are not marked `differs`.
    pub unexpected: Vec<String>,
    /// Cases marked `differs` that now agree (the mark should go).
    pub stale: Vec<String>,
    /// Cases marked `differs` that still differ.
    pub known: usize,
}

pub fn compare(cases: &[Case], dir: &Path, tf: &[Outcome]) -> Report {
    let mut r = Report { total: cases.len(), agree: 0, unexpected: Vec::new(), stale: Vec::new(), known: 0 };
    for (c, t) in cases.iter().zip(tf) {
        let mine = tarn_eval(&c.src, dir);
        let ok = agree(&mine, t);
        if ok {
            r.agree += 1;
        }
        match (&c.differs, ok) {
            (None, false) => {
                r.unexpected.push(format!("line {}: {}\n    tarn:      {mine}\n    terraform: {t}", c.line, c.src))
            }
            (Some(_), true) => r.stale.push(format!("line {}: {} (agrees now: drop `# differs`)", c.line, c.src)),
            (Some(_), false) => r.known += 1,
            (None, true) => {}
        }
    }
    r
}
