//! Filesystem functions: reading and hashing files relative to the calling module's directory,
//! `fileset` globbing, and pure path manipulation with Go's `filepath` semantics (`dirname`,
//! `basename`, `abspath`, `pathexpand`). It reads; it never writes, creates or deletes.

use super::hash::{Algo, base64_of, hex_of};
use super::{Args, FuncError};
use std::path::{Path, PathBuf};
use tarn_sdk::Value;

/// `fileset` stops walking a tree this large rather than scanning a whole disk.
const MAX_WALK: usize = 100_000;
/// `{a,b}` alternatives may expand a pattern into at most this many patterns.
const MAX_ALTERNATIVES: usize = 1024;

/// Expands a leading `~` to the run's home directory (given by the caller, never read from the
/// process).
fn expand(a: &Args, i: usize, p: &str) -> Result<String, FuncError> {
    let Some(rest) = p.strip_prefix('~') else { return Ok(p.to_string()) };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Err(a.err(i, "cannot expand user-specific home directories (\"~user\"); use an absolute path."));
    }
    let home = a.ctx.home.filter(|h| !h.as_os_str().is_empty()).ok_or_else(|| {
        a.err(i, "cannot find the home directory: HOME is not set, or this expression is evaluated outside a run.")
    })?;
    Ok(format!("{}{rest}", home.to_string_lossy()))
}

fn resolve(a: &Args, i: usize) -> Result<(String, PathBuf), FuncError> {
    let given = a.str(i)?;
    let expanded = expand(a, i, given)?;
    let p = Path::new(&expanded);
    let full = if p.is_absolute() { p.to_path_buf() } else { a.ctx.module_dir.join(p) };
    Ok((given.to_string(), full))
}

fn read(a: &Args) -> Result<Vec<u8>, FuncError> {
    let (given, full) = resolve(a, 0)?;
    std::fs::read(&full).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => a.err(
            0,
            format!(
                "no file exists at \"{given}\"; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource."
            ),
        ),
        _ if full.is_dir() => a.err(0, format!("\"{given}\" is a directory, not a file.")),
        _ => a.err(0, format!("failed to read \"{given}\": {e}.")),
    })
}

pub(crate) fn file(a: &Args) -> Result<Value, FuncError> {
    let bytes = read(a)?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        a.err(
            0,
            format!(
                "contents of \"{}\" are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead.",
                a.str(0).unwrap_or_default()
            ),
        )
    })
}

pub(crate) fn fileexists(a: &Args) -> Result<Value, FuncError> {
    let (given, full) = resolve(a, 0)?;
    match std::fs::metadata(&full) {
        Ok(m) if m.is_file() => Ok(Value::Bool(true)),
        Ok(m) if m.is_dir() => Err(a.err(0, format!("\"{given}\" is a directory, not a file."))),
        Ok(_) => Err(a.err(0, format!("\"{given}\" is not a regular file."))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(e) => Err(a.err(0, format!("failed to check \"{given}\": {e}."))),
    }
}

pub(crate) fn filebase64(a: &Args) -> Result<Value, FuncError> {
    use base64::Engine;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(read(a)?)))
}

pub(crate) fn filemd5(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Md5, &read(a)?))
}

pub(crate) fn filesha1(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Sha1, &read(a)?))
}

pub(crate) fn filesha256(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Sha256, &read(a)?))
}

pub(crate) fn filesha512(a: &Args) -> Result<Value, FuncError> {
    Ok(hex_of(Algo::Sha512, &read(a)?))
}

pub(crate) fn filebase64sha256(a: &Args) -> Result<Value, FuncError> {
    Ok(base64_of(Algo::Sha256, &read(a)?))
}

pub(crate) fn filebase64sha512(a: &Args) -> Result<Value, FuncError> {
    Ok(base64_of(Algo::Sha512, &read(a)?))
}

/// The files under `path` whose relative path (with `/` separators) matches `pattern`.
/// Supports `*`, `?`, `[...]`, `{a,b}` and `**` for any number of directories. Sorted.
pub(crate) fn fileset(a: &Args) -> Result<Value, FuncError> {
    let (_, base) = resolve(a, 0)?;
    let pattern = a.str(1)?;
    let patterns = expand_braces(pattern).map_err(|why| a.err(1, why))?;
    let compiled: Vec<Vec<Segment>> = patterns
        .iter()
        .map(|p| compile_glob(p))
        .collect::<Result<_, _>>()
        .map_err(|why| a.err(1, format!("failed to glob pattern \"{pattern}\": {why}")))?;
    let mut files = Vec::new();
    walk(&base, "", &mut files, &mut 0).map_err(|why| a.err(0, why))?;
    let out: Vec<String> = files
        .into_iter()
        .filter(|f| {
            let parts: Vec<&str> = f.split('/').collect();
            compiled.iter().any(|segs| match_path(segs, &parts))
        })
        .collect();
    Ok(super::set::set_of(out.into_iter().map(Value::String).collect()))
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>, seen: &mut usize) -> Result<(), String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(()) };
    for entry in entries.flatten() {
        *seen += 1;
        if *seen > MAX_WALK {
            return Err(format!("the directory tree has more than {MAX_WALK} entries; narrow the path."));
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let child = if rel.is_empty() { name } else { format!("{rel}/{name}") };
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            // Symlinked directories are not followed, so a link cycle cannot loop forever.
            walk(&entry.path(), &child, out, seen)?;
        } else if std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file()) {
            out.push(child);
        }
    }
    Ok(())
}

fn expand_braces(p: &str) -> Result<Vec<String>, String> {
    let Some(open) = p.find('{') else { return Ok(vec![p.to_string()]) };
    let mut depth = 0;
    let mut close = None;
    let mut commas = Vec::new();
    for (i, c) in p.char_indices().skip_while(|(i, _)| *i < open) {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    let close = close.ok_or("unclosed '{' in pattern.")?;
    let (head, tail) = (p.get(..open).unwrap_or(""), p.get(close + 1..).unwrap_or(""));
    let mut bounds = vec![open];
    bounds.extend(commas);
    bounds.push(close);
    let mut out = Vec::new();
    for w in bounds.windows(2) {
        let (Some(&from), Some(&to)) = (w.first(), w.get(1)) else { continue };
        let alt = p.get(from + 1..to).unwrap_or("");
        for expanded in expand_braces(&format!("{head}{alt}{tail}"))? {
            out.push(expanded);
            if out.len() > MAX_ALTERNATIVES {
                return Err(format!("the pattern expands to more than {MAX_ALTERNATIVES} alternatives."));
            }
        }
    }
    Ok(out)
}

enum Token {
    Lit(char),
    Any,
    Star,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

enum Segment {
    /// `**`: any number of path segments.
    Deep,
    Tokens(Vec<Token>),
}

fn compile_glob(p: &str) -> Result<Vec<Segment>, String> {
    p.split('/').filter(|s| !s.is_empty() && *s != ".").map(compile_segment).collect()
}

fn compile_segment(seg: &str) -> Result<Segment, String> {
    if seg == "**" {
        return Ok(Segment::Deep);
    }
    let mut tokens = Vec::new();
    let mut chars = seg.chars().peekable();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '*' => Token::Star,
            '?' => Token::Any,
            '\\' => Token::Lit(chars.next().ok_or("trailing backslash in pattern.")?),
            '[' => {
                let negated = matches!(chars.peek(), Some('!' | '^'));
                if negated {
                    chars.next();
                }
                let mut ranges = Vec::new();
                loop {
                    let lo = match chars.next() {
                        Some(']') if !ranges.is_empty() => break,
                        Some('\\') => chars.next().ok_or("unclosed '[' in pattern.")?,
                        Some(c) => c,
                        None => return Err("unclosed '[' in pattern.".into()),
                    };
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        let hi = chars.next().ok_or("unclosed '[' in pattern.")?;
                        ranges.push((lo, hi));
                    } else {
                        ranges.push((lo, lo));
                    }
                }
                Token::Class { negated, ranges }
            }
            c => Token::Lit(c),
        });
    }
    Ok(Segment::Tokens(tokens))
}

fn match_path(segs: &[Segment], parts: &[&str]) -> bool {
    match segs.split_first() {
        None => parts.is_empty(),
        Some((Segment::Deep, rest)) => (0..=parts.len()).any(|k| match_path(rest, parts.get(k..).unwrap_or(&[]))),
        Some((Segment::Tokens(t), rest)) => match parts.split_first() {
            Some((first, others)) => match_segment(t, first) && match_path(rest, others),
            None => false,
        },
    }
}

/// Matches one path segment against tokens by dynamic programming (no exponential backtracking).
fn match_segment(tokens: &[Token], s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    // reach[j]: the first i tokens can match the first j chars.
    let mut reach = vec![false; chars.len() + 1];
    if let Some(first) = reach.first_mut() {
        *first = true;
    }
    for t in tokens {
        let mut next = vec![false; chars.len() + 1];
        for (j, _) in reach.iter().enumerate().filter(|(_, r)| **r) {
            match t {
                Token::Star => {
                    for k in next.iter_mut().skip(j) {
                        *k = true;
                    }
                }
                _ => {
                    if let (Some(c), Some(slot)) = (chars.get(j), next.get_mut(j + 1)) {
                        let hit = match t {
                            Token::Lit(l) => l == c,
                            Token::Any => true,
                            Token::Class { negated, ranges } => {
                                ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated
                            }
                            Token::Star => false,
                        };
                        *slot |= hit;
                    }
                }
            }
        }
        reach = next;
    }
    reach.last().copied().unwrap_or(false)
}

/// Go's `filepath.Clean` for `/`-separated paths.
fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub(crate) fn dirname(a: &Args) -> Result<Value, FuncError> {
    let p = a.str(0)?;
    let dir = match p.rfind('/') {
        Some(i) => clean(p.get(..=i).unwrap_or("")),
        None => ".".into(),
    };
    Ok(Value::String(dir))
}

pub(crate) fn basename(a: &Args) -> Result<Value, FuncError> {
    let p = a.str(0)?;
    if p.is_empty() {
        return Ok(Value::string("."));
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::string("/"));
    }
    Ok(Value::string(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

/// Like Terraform, relative paths resolve against the working directory: the run's, as the
/// caller gave it (the CLI's current directory), never read from the process here.
pub(crate) fn abspath(a: &Args) -> Result<Value, FuncError> {
    let p = a.str(0)?;
    if p.starts_with('/') {
        return Ok(Value::String(clean(p)));
    }
    let cwd = a.ctx.cwd.ok_or_else(|| {
        FuncError::call("Cannot resolve a relative path: this expression is evaluated outside a run, which has no working directory.")
    })?;
    Ok(Value::String(clean(&format!("{}/{p}", cwd.to_string_lossy()))))
}

pub(crate) fn pathexpand(a: &Args) -> Result<Value, FuncError> {
    Ok(Value::String(expand(a, 0, a.str(0)?)?))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use std::path::Path;
    use tarn_sdk::Value;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let w = |p: &str, c: &[u8]| {
            let full = d.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, c).unwrap();
        };
        w("hello.txt", b"Hello World");
        w("bin.dat", &[0xff, 0xfe, 0x00]);
        w("files/a.txt", b"a");
        w("files/b.md", b"b");
        w("files/sub/c.txt", b"c");
        w("files/sub/deep/d.txt", b"d");
        d
    }

    fn at(d: &Path, name: &str, args: Vec<Value>) -> Result<Value, String> {
        call_in(d, name, args).map_err(|e| e.message)
    }

    #[test]
    fn file_reads_relative_to_module_dir() {
        let d = tree();
        assert_eq!(at(d.path(), "file", vec![s("hello.txt")]), Ok(s("Hello World")));
        let abs = d.path().join("hello.txt").to_string_lossy().into_owned();
        assert_eq!(at(Path::new("/"), "file", vec![s(&abs)]), Ok(s("Hello World")));
        let e = at(d.path(), "file", vec![s("nope.txt")]).unwrap_err();
        assert!(e.starts_with("Invalid value for \"path\" parameter: no file exists at \"nope.txt\";"), "{e}");
        let e = at(d.path(), "file", vec![s("bin.dat")]).unwrap_err();
        assert!(e.contains("contents of \"bin.dat\" are not valid UTF-8; use the filebase64 function"), "{e}");
        let e = at(d.path(), "file", vec![s("files")]).unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
    }

    #[test]
    fn fileexists_and_digests() {
        let d = tree();
        assert_eq!(at(d.path(), "fileexists", vec![s("hello.txt")]), Ok(b(true)));
        assert_eq!(at(d.path(), "fileexists", vec![s("nope")]), Ok(b(false)));
        assert_eq!(
            at(d.path(), "fileexists", vec![s("files")]),
            Err("Invalid value for \"path\" parameter: \"files\" is a directory, not a file.".to_string())
        );
        assert_eq!(at(d.path(), "filebase64", vec![s("bin.dat")]), Ok(s("//4A")));
        assert_eq!(at(d.path(), "filemd5", vec![s("hello.txt")]), Ok(s("b10a8db164e0754105b7a99be72e3fe5")));
        assert_eq!(at(d.path(), "filesha1", vec![s("hello.txt")]), Ok(s("0a4d55a8d778e5022fab701977c5d840bbc486d0")));
        assert_eq!(
            at(d.path(), "filesha256", vec![s("hello.txt")]),
            Ok(s("a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e"))
        );
        assert_eq!(
            at(d.path(), "filebase64sha256", vec![s("hello.txt")]),
            Ok(s("pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4="))
        );
        assert!(matches!(at(d.path(), "filesha512", vec![s("hello.txt")]), Ok(Value::String(h)) if h.len() == 128));
        assert!(
            matches!(at(d.path(), "filebase64sha512", vec![s("hello.txt")]), Ok(Value::String(h)) if h.len() == 88)
        );
        assert!(at(d.path(), "filemd5", vec![s("nope")]).unwrap_err().contains("no file exists"));
    }

    #[test]
    fn fileset_globs() {
        let d = tree();
        let fs = |p: &str| at(d.path(), "fileset", vec![s("."), s(p)]);
        assert_eq!(fs("*.txt"), Ok(ss(&["hello.txt"])));
        assert_eq!(fs("files/*.txt"), Ok(ss(&["files/a.txt"])));
        assert_eq!(fs("files/**/*.txt"), Ok(ss(&["files/a.txt", "files/sub/c.txt", "files/sub/deep/d.txt"])));
        assert_eq!(fs("files/*.{txt,md}"), Ok(ss(&["files/a.txt", "files/b.md"])));
        assert_eq!(fs("files/[ab].*"), Ok(ss(&["files/a.txt", "files/b.md"])));
        assert_eq!(fs("files/[!a].??"), Ok(ss(&["files/b.md"])));
        assert_eq!(fs("files"), Ok(ss(&[])));
        assert_eq!(
            at(d.path(), "fileset", vec![s("files"), s("**")]).map(|v| v.as_list().map(|l| l.len())),
            Ok(Some(4))
        );
        assert_eq!(at(d.path(), "fileset", vec![s("missing"), s("*")]), Ok(ss(&[])));
        assert!(fs("files/[ab").unwrap_err().contains("failed to glob pattern"));
        assert!(fs("{a,b").unwrap_err().contains("unclosed '{'"));
    }

    #[test]
    fn path_functions() {
        assert_eq!(ok("dirname", vec![s("foo/bar/baz.txt")]), s("foo/bar"));
        assert_eq!(ok("dirname", vec![s("baz.txt")]), s("."));
        assert_eq!(ok("dirname", vec![s("/foo")]), s("/"));
        assert_eq!(ok("dirname", vec![s("a/b/")]), s("a/b"));
        assert_eq!(ok("basename", vec![s("foo/bar/baz.txt")]), s("baz.txt"));
        assert_eq!(ok("basename", vec![s("a/b/")]), s("b"));
        assert_eq!(ok("basename", vec![s("/")]), s("/"));
        assert_eq!(ok("basename", vec![s("")]), s("."));
        assert_eq!(ok("abspath", vec![s("/a/./b/../c/")]), s("/a/c"));
        assert_eq!(ok("abspath", vec![s("x/../y")]), s(&format!("{RUN_CWD}/y")));
        assert_eq!(ok("pathexpand", vec![s("~/.ssh/id_rsa")]), s(&format!("{RUN_HOME}/.ssh/id_rsa")));
        assert_eq!(ok("pathexpand", vec![s("~")]), s(RUN_HOME));
        assert_eq!(ok("pathexpand", vec![s("/etc/x")]), s("/etc/x"));
        assert!(err("pathexpand", vec![s("~bob/x")]).contains("user-specific"));
    }

    /// Outside a run (constants, variable validation) there is no working or home directory to
    /// use, and the process's are not looked at: the functions say so instead.
    #[test]
    fn path_functions_outside_a_run_do_not_read_the_process() {
        let e = call_outside_run("pathexpand", vec![s("~/x")]).unwrap_err();
        assert!(e.message.contains("cannot find the home directory"), "{}", e.message);
        let e = call_outside_run("abspath", vec![s("x")]).unwrap_err();
        assert!(e.message.contains("outside a run"), "{}", e.message);
        assert_eq!(call_outside_run("abspath", vec![s("/a/../b")]).unwrap(), s("/b"));
        assert_eq!(call_outside_run("pathexpand", vec![s("/etc/x")]).unwrap(), s("/etc/x"));
    }
}
