//! String functions: case, trimming, splitting and joining, substrings, replacement and the
//! regular-expression functions. Strings are measured in user-perceived characters (see
//! `text.rs`), never bytes, so nothing here slices a string inside a character. Marks are not
//! handled here.

use super::text::graphemes;
use super::{Args, FuncError};
use regex::Regex;
use tarn_sdk::Value;

/// Indentation beyond this many spaces is refused rather than allocated.
const MAX_INDENT: i64 = 10_000;
/// Results that would grow past this many bytes are refused rather than allocated.
const MAX_RESULT: usize = 64 << 20;

fn check_size(size: usize) -> Result<(), FuncError> {
    if size > MAX_RESULT {
        return Err(FuncError::call(format!(
            "The result would be {} MiB long; results are limited to {} MiB.",
            size >> 20,
            MAX_RESULT >> 20
        )));
    }
    Ok(())
}

fn string(s: impl Into<String>) -> Result<Value, FuncError> {
    Ok(Value::String(s.into()))
}

pub(crate) fn join(a: &Args) -> Result<Value, FuncError> {
    let sep = a.str(0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        parts.extend(a.str_list(i)?);
    }
    string(parts.join(sep))
}

pub(crate) fn split(a: &Args) -> Result<Value, FuncError> {
    let (sep, s) = (a.str(0)?, a.str(1)?);
    let parts: Vec<Value> = if sep.is_empty() {
        // Go's strings.Split with an empty separator splits into characters.
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep).map(Value::string).collect()
    };
    Ok(Value::List(parts))
}

pub(crate) fn lower(a: &Args) -> Result<Value, FuncError> {
    string(a.str(0)?.chars().map(simple_lower).collect::<String>())
}

pub(crate) fn upper(a: &Args) -> Result<Value, FuncError> {
    string(a.str(0)?.chars().map(simple_upper).collect::<String>())
}

/// Go's `unicode.ToUpper`, which Terraform uses: the simple (one character to one character)
/// mapping of UnicodeData, never the full mapping (`ß` stays `ß`, not `SS`). Rust gives the
/// full mapping; where that is several characters the simple mapping is the character itself,
/// except the Greek letters with ypogegrammeni, which map to their titlecase form.
pub(crate) fn simple_upper(c: char) -> char {
    let mut full = c.to_uppercase();
    match (full.next(), full.next()) {
        (Some(u), None) => u,
        _ => match c as u32 {
            0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => char::from_u32(c as u32 + 8).unwrap_or(c),
            0x1FB3 => '\u{1FBC}',
            0x1FC3 => '\u{1FCC}',
            0x1FF3 => '\u{1FFC}',
            _ => c,
        },
    }
}

/// Go's `unicode.ToLower`: the simple mapping (`İ` becomes `i`, not `i̇`).
pub(crate) fn simple_lower(c: char) -> char {
    let mut full = c.to_lowercase();
    match (full.next(), full.next()) {
        (Some(l), None) => l,
        (Some(l), Some(_)) if c == '\u{130}' => l,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: the titlecase digraphs (`ǆ` → `ǅ`), otherwise the simple uppercase.
pub(crate) fn simple_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        _ => simple_upper(c),
    }
}

/// Upper-cases the first letter of each word, where words are separated as Go's strings.Title
/// separates them: by spaces and ASCII punctuation other than `_`.
pub(crate) fn title(a: &Args) -> Result<Value, FuncError> {
    let mut out = String::new();
    let mut prev_sep = true;
    for c in a.str(0)?.chars() {
        if prev_sep {
            out.push(simple_title(c));
        } else {
            out.push(c);
        }
        prev_sep = is_word_separator(c);
    }
    string(out)
}

fn is_word_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

pub(crate) fn trim(a: &Args) -> Result<Value, FuncError> {
    let cutset: Vec<char> = a.str(1)?.chars().collect();
    string(a.str(0)?.trim_matches(|c| cutset.contains(&c)))
}

pub(crate) fn trimspace(a: &Args) -> Result<Value, FuncError> {
    string(a.str(0)?.trim())
}

pub(crate) fn trimprefix(a: &Args) -> Result<Value, FuncError> {
    let (s, p) = (a.str(0)?, a.str(1)?);
    string(s.strip_prefix(p).unwrap_or(s))
}

pub(crate) fn trimsuffix(a: &Args) -> Result<Value, FuncError> {
    let (s, p) = (a.str(0)?, a.str(1)?);
    string(s.strip_suffix(p).unwrap_or(s))
}

/// Plain substring replacement, or a regular expression when `substr` is wrapped in slashes.
pub(crate) fn replace(a: &Args) -> Result<Value, FuncError> {
    let (s, sub, rep) = (a.str(0)?, a.str(1)?, a.str(2)?);
    if let Some(pattern) = sub.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
        let re = Regex::new(pattern).map_err(|e| a.err(1, format!("invalid regular expression: {e}")))?;
        // Each `$group` in the template copies at most its match, and matches don't overlap, so
        // every group reference adds at most the input's length in total.
        let groups = rep.matches('$').count();
        let fixed = re.find_iter(s).count().saturating_mul(rep.len());
        check_size(s.len().saturating_add(fixed).saturating_add(groups.saturating_mul(s.len())))?;
        return string(re.replace_all(s, rep).into_owned());
    }
    let matches = if sub.is_empty() { s.chars().count() + 1 } else { s.matches(sub).count() };
    check_size(s.len().saturating_add(matches.saturating_mul(rep.len())))?;
    string(s.replace(sub, rep))
}

/// `substr(str, offset, length)`: a negative offset counts from the end; a negative length
/// means "to the end". Out-of-range offsets give an empty string, as in Terraform.
pub(crate) fn substr(a: &Args) -> Result<Value, FuncError> {
    let s = a.str(0)?;
    let mut offset = a.int(1)?;
    let length = a.int(2)?;
    let chars = graphemes(s);
    let total = chars.len() as i64;
    if offset < 0 {
        offset = (offset + total).max(0);
    } else if length == 0 {
        return string("");
    }
    let skipped = chars.into_iter().skip(offset as usize);
    if length < 0 {
        return string(skipped.collect::<String>());
    }
    string(skipped.take(length as usize).collect::<String>())
}

pub(crate) fn strrev(a: &Args) -> Result<Value, FuncError> {
    string(graphemes(a.str(0)?).into_iter().rev().collect::<String>())
}

pub(crate) fn chomp(a: &Args) -> Result<Value, FuncError> {
    string(a.str(0)?.trim_end_matches(['\r', '\n']))
}

/// Indents every line but the first, for embedding multi-line strings in indented text.
pub(crate) fn indent(a: &Args) -> Result<Value, FuncError> {
    let spaces = a.int(0)?;
    if !(0..=MAX_INDENT).contains(&spaces) {
        return Err(a.err(0, format!("must be between 0 and {MAX_INDENT}.")));
    }
    let s = a.str(1)?;
    check_size(s.len().saturating_add(s.matches('\n').count().saturating_mul(spaces as usize)))?;
    let pad = " ".repeat(spaces as usize);
    string(s.replace('\n', &format!("\n{pad}")))
}

pub(crate) fn startswith(a: &Args) -> Result<Value, FuncError> {
    Ok(Value::Bool(a.str(0)?.starts_with(a.str(1)?)))
}

pub(crate) fn endswith(a: &Args) -> Result<Value, FuncError> {
    Ok(Value::Bool(a.str(0)?.ends_with(a.str(1)?)))
}

pub(crate) fn strcontains(a: &Args) -> Result<Value, FuncError> {
    Ok(Value::Bool(a.str(0)?.contains(a.str(1)?)))
}

/// How a pattern's matches become values: the whole match, a list of groups, or a map of
/// named groups. Terraform refuses patterns that mix named and unnamed groups.
enum Shape {
    Whole,
    Unnamed,
    Named,
}

fn compile(a: &Args) -> Result<(Regex, Shape), FuncError> {
    let re = Regex::new(a.str(0)?).map_err(|e| a.err(0, format!("invalid regular expression: {e}")))?;
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let named = names.iter().filter(|n| n.is_some()).count();
    let shape = if names.is_empty() {
        Shape::Whole
    } else if named == 0 {
        Shape::Unnamed
    } else if named == names.len() {
        Shape::Named
    } else {
        return Err(a.err(0, "invalid regular expression: named and unnamed capture groups cannot be mixed."));
    };
    Ok((re, shape))
}

fn match_value(re: &Regex, shape: &Shape, caps: &regex::Captures) -> Value {
    let group = |m: Option<regex::Match>| m.map_or(Value::Null, |m| Value::string(m.as_str()));
    match shape {
        Shape::Whole => group(caps.get(0)),
        Shape::Unnamed => Value::List((1..caps.len()).map(|i| group(caps.get(i))).collect()),
        Shape::Named => {
            Value::Map(re.capture_names().flatten().map(|name| (name.to_string(), group(caps.name(name)))).collect())
        }
    }
}

pub(crate) fn regex(a: &Args) -> Result<Value, FuncError> {
    let (re, shape) = compile(a)?;
    let s = a.str(1)?;
    match re.captures(s) {
        Some(caps) => Ok(match_value(&re, &shape, &caps)),
        None => Err(FuncError::call("The pattern did not match any part of the given string.")),
    }
}

pub(crate) fn regexall(a: &Args) -> Result<Value, FuncError> {
    let (re, shape) = compile(a)?;
    let s = a.str(1)?;
    Ok(Value::List(re.captures_iter(s).map(|c| match_value(&re, &shape, &c)).collect()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

    #[test]
    fn case() {
        assert_eq!(ok("lower", vec![s("HeLLo ÄÖ")]), s("hello äö"));
        // Go's simple case mapping, as Terraform: one character never becomes two.
        assert_eq!(ok("upper", vec![s("straße")]), s("STRAßE"));
        assert_eq!(ok("lower", vec![s("İ")]), s("i"));
        assert_eq!(ok("title", vec![s("ǆemal")]), s("ǅemal"));
        assert_eq!(ok("title", vec![s("hello world-wide web_site")]), s("Hello World-Wide Web_site"));
        assert_eq!(ok("title", vec![s("")]), s(""));
    }

    #[test]
    fn join_and_split() {
        assert_eq!(ok("join", vec![s(", "), sl(&["a", "b"]), l(vec![n(3.0)])]), s("a, b, 3"));
        assert_eq!(ok("join", vec![s(","), sl(&[])]), s(""));
        assert_eq!(
            err("join", vec![s(","), l(vec![s("a"), Value::Null])]),
            "Invalid value for \"lists\" parameter: element 1 is null; a string is required."
        );
        assert_eq!(ok("split", vec![s(","), s("a,b,,c")]), sl(&["a", "b", "", "c"]));
        assert_eq!(ok("split", vec![s(","), s("")]), sl(&[""]));
        assert_eq!(ok("split", vec![s(""), s("añb")]), sl(&["a", "ñ", "b"]));
    }

    #[test]
    fn trimming() {
        assert_eq!(ok("trim", vec![s("?!hello?!"), s("!?")]), s("hello"));
        assert_eq!(ok("trimspace", vec![s("  \thi\n ")]), s("hi"));
        assert_eq!(ok("trimprefix", vec![s("helloworld"), s("hello")]), s("world"));
        assert_eq!(ok("trimprefix", vec![s("helloworld"), s("cat")]), s("helloworld"));
        assert_eq!(ok("trimsuffix", vec![s("helloworld"), s("world")]), s("hello"));
        assert_eq!(ok("chomp", vec![s("hello\r\n\n")]), s("hello"));
        assert_eq!(ok("chomp", vec![s("a\nb")]), s("a\nb"));
    }

    #[test]
    fn replace_plain_and_regex() {
        assert_eq!(ok("replace", vec![s("1 + 2 + 3"), s("+"), s("-")]), s("1 - 2 - 3"));
        assert_eq!(ok("replace", vec![s("hello world"), s("/w.*d/"), s("everybody")]), s("hello everybody"));
        assert_eq!(ok("replace", vec![s("a1b22"), s("/(\\d+)/"), s("<$1>")]), s("a<1>b<22>"));
        assert_eq!(ok("replace", vec![s("a/b"), s("/"), s("_")]), s("a_b"));
        assert_eq!(ok("replace", vec![s("ab"), s(""), s("-")]), s("-a-b-"));
        let big = "x".repeat(10_000);
        assert!(err("replace", vec![s(&big), s(""), s(&big)]).contains("results are limited"));
        assert!(err("replace", vec![s(&big), s("/x/"), s(&big)]).contains("results are limited"));
        let text = "ab".repeat(500_000);
        assert!(
            matches!(ok("replace", vec![s(&text), s("/(a)/"), s("$1$1")]), Value::String(r) if r.len() == 1_500_000)
        );
        let e = call("replace", vec![s("x"), s("/(/"), s("y")]).unwrap_err();
        assert_eq!(e.arg, Some(1));
        assert!(e.message.starts_with("Invalid value for \"substr\" parameter: invalid regular expression"));
    }

    #[test]
    fn substr_is_unicode_aware() {
        assert_eq!(ok("substr", vec![s("hello world"), n(1.0), n(4.0)]), s("ello"));
        assert_eq!(ok("substr", vec![s("🤔🤷"), n(0.0), n(1.0)]), s("🤔"));
        assert_eq!(ok("substr", vec![s("e\u{301}tude"), n(0.0), n(1.0)]), s("e\u{301}"));
        assert_eq!(ok("substr", vec![s("hello world"), n(-5.0), n(-1.0)]), s("world"));
        assert_eq!(ok("substr", vec![s("hello"), n(-10.0), n(2.0)]), s("he"));
        assert_eq!(ok("substr", vec![s("hello"), n(10.0), n(2.0)]), s(""));
        assert_eq!(ok("substr", vec![s("hello"), n(1.0), n(100.0)]), s("ello"));
        assert_eq!(ok("substr", vec![s("hello"), n(1.0), n(0.0)]), s(""));
        assert_eq!(
            err("substr", vec![s("hello"), n(1.5), n(1.0)]),
            "Invalid value for \"offset\" parameter: value must be a whole number."
        );
    }

    #[test]
    fn misc() {
        assert_eq!(ok("strrev", vec![s("héllo")]), s("olléh"));
        assert_eq!(ok("strrev", vec![s("ae\u{301}🇫🇷")]), s("🇫🇷e\u{301}a"));
        assert_eq!(ok("indent", vec![n(2.0), s("a\nb\n")]), s("a\n  b\n  "));
        assert!(err("indent", vec![n(-1.0), s("a")]).contains("between 0 and"));
        let many_lines = "\n".repeat(10_000);
        assert!(err("indent", vec![n(10_000.0), s(&many_lines)]).contains("results are limited to 64 MiB"));
        assert_eq!(ok("startswith", vec![s("hello"), s("he")]), b(true));
        assert_eq!(ok("endswith", vec![s("hello"), s("he")]), b(false));
        assert_eq!(ok("strcontains", vec![s("hello"), s("ll")]), b(true));
    }

    #[test]
    fn regex_shapes() {
        assert_eq!(ok("regex", vec![s("[a-z]+"), s("53453453.345345aaabbbccc23454")]), s("aaabbbccc"));
        assert_eq!(
            ok("regex", vec![s("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)"), s("2019-02-01")]),
            sl(&["2019", "02", "01"])
        );
        assert_eq!(
            ok("regex", vec![s("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?"), s("https://x.io/a")]),
            m(vec![("scheme", s("https")), ("authority", s("x.io"))])
        );
        assert_eq!(ok("regex", vec![s("(a)?b"), s("b")]), l(vec![Value::Null]));
        assert_eq!(err("regex", vec![s("x"), s("abc")]), "The pattern did not match any part of the given string.");
        assert!(err("regex", vec![s("(?P<a>x)(y)"), s("xy")]).contains("cannot be mixed"));
        assert_eq!(ok("regexall", vec![s("[a-z]+"), s("1234abcd5678efgh9")]), sl(&["abcd", "efgh"]));
        assert_eq!(ok("regexall", vec![s("x"), s("abc")]), l(vec![]));
    }
}
