//! `format` and `formatlist`: Terraform's printf-style verbs (%v %#v %s %q %t %d %b %o %x %X
//! %e %E %f %F %g %G %%), flags (`-`, `+`, ` `, `0`, `#`), width, precision and explicit
//! argument indexes (`%[2]s`). It owns verb parsing and rendering only; it must not touch marks.

use super::text::graphemes;
use super::{Args, FuncError};
use tarn_sdk::number::Style;
use tarn_sdk::{Number, Value};

/// Width and precision beyond this are refused rather than allocated.
const MAX_WIDTH: usize = 10_000;

pub(crate) fn format(a: &Args) -> Result<Value, FuncError> {
    let spec = a.str(0)?;
    render(spec, a.rest(1)).map(Value::String).map_err(FuncError::call)
}

pub(crate) fn formatlist(a: &Args) -> Result<Value, FuncError> {
    let spec = a.str(0)?;
    let args = a.rest(1);
    let mut rows: Option<(usize, usize)> = None;
    for (i, v) in args.iter().enumerate() {
        // A set is iterated in its order, as Terraform converts it to a list.
        if let Value::List(items) | Value::Set(items) = v {
            match rows {
                None => rows = Some((i, items.len())),
                Some((j, len)) if len != items.len() => {
                    return Err(FuncError {
                        arg: Some(i + 1),
                        message: format!(
                            "Argument {} has length {}, which is inconsistent with argument {} of length {}.",
                            i + 1,
                            items.len(),
                            j + 1,
                            len
                        ),
                    });
                }
                Some(_) => {}
            }
        }
    }
    let count = rows.map_or(1, |(_, len)| len);
    let mut out = Vec::with_capacity(count);
    for k in 0..count {
        let row: Vec<Value> = args
            .iter()
            .map(|v| match v {
                Value::List(items) | Value::Set(items) => items.get(k).cloned().unwrap_or(Value::Null),
                v => v.clone(),
            })
            .collect();
        // Marks are per row: an unknown element makes only its row unknown, and a sensitive
        // one only its row sensitive.
        if !row.iter().all(Value::is_wholly_known) {
            out.push(Value::Unknown);
            continue;
        }
        let sensitive = row.iter().any(Value::contains_sensitive);
        let row: Vec<Value> = row.iter().map(Value::unmark_deep).collect();
        let s = render(spec, &row).map_err(|e| FuncError::call(format!("Error on format iteration {k}: {e}")))?;
        out.push(if sensitive { Value::String(s).sensitive() } else { Value::String(s) });
    }
    Ok(Value::List(out))
}

#[derive(Default)]
struct Verb {
    minus: bool,
    plus: bool,
    space: bool,
    zero: bool,
    sharp: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Renders `spec` with `args`; errors are sentences without the function name.
pub(crate) fn render(spec: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = spec.char_indices().peekable();
    let mut next_arg = 0usize;
    let mut used = 0usize;
    while let Some((start, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut v = Verb::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => v.minus = true,
                '+' => v.plus = true,
                ' ' => v.space = true,
                '0' => v.zero = true,
                '#' => v.sharp = true,
                _ => break,
            }
            chars.next();
        }
        if let Some(&(_, '[')) = chars.peek() {
            chars.next();
            let mut digits = String::new();
            loop {
                match chars.next() {
                    Some((_, d)) if d.is_ascii_digit() => digits.push(d),
                    Some((_, ']')) => break,
                    _ => return Err(format!("Unclosed or invalid argument index in format string at {start}.")),
                }
            }
            let idx: usize =
                digits.parse().map_err(|_| format!("Invalid argument index in format string at {start}."))?;
            if idx == 0 {
                return Err(format!("Invalid argument index 0 in format string at {start}; indexes start at 1."));
            }
            next_arg = idx - 1;
        }
        v.width = read_num(&mut chars)?;
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            v.prec = Some(read_num(&mut chars)?.unwrap_or(0));
        }
        let Some((end, verb)) = chars.next() else {
            return Err(format!("Unterminated format verb at {start}: a verb letter must follow '%'."));
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let raw = spec.get(start..end + verb.len_utf8()).unwrap_or("%");
        if !"vsqtdboxXeEfFgG".contains(verb) {
            return Err(format!("Unsupported format verb '{verb}' in \"{raw}\" at offset {start}."));
        }
        let Some(arg) = args.get(next_arg) else {
            return Err(format!(
                "Not enough arguments for \"{raw}\" at {start}: need index {} but have {} total.",
                next_arg + 1,
                args.len()
            ));
        };
        next_arg += 1;
        used = used.max(next_arg);
        let text =
            render_verb(verb, &v, arg).map_err(|why| format!("Unsupported value for \"{raw}\" at {start}: {why}."))?;
        pad(&mut out, &text, &v, matches!(verb, 'd' | 'b' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G'));
    }
    if used < args.len() {
        return Err(if used == 0 {
            "Too many arguments; no verbs in format string.".to_string()
        } else {
            format!("Too many arguments; only {used} used by format string.")
        });
    }
    Ok(out)
}

fn read_num(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Result<Option<usize>, String> {
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        let Some(digit) = d.to_digit(10) else { break };
        let cur = n.unwrap_or(0).saturating_mul(10).saturating_add(digit as usize);
        if cur > MAX_WIDTH {
            return Err(format!("Format width or precision is too large; the limit is {MAX_WIDTH}."));
        }
        n = Some(cur);
        chars.next();
    }
    Ok(n)
}

fn pad(out: &mut String, text: &str, v: &Verb, numeric: bool) {
    let width = v.width.unwrap_or(0);
    let len = graphemes(text).len();
    if len >= width {
        out.push_str(text);
        return;
    }
    let fill = width - len;
    if v.minus {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if v.zero && numeric {
        // For numbers, zeros go between the sign and the digits.
        let (sign, digits) = match text.chars().next() {
            Some(c @ ('-' | '+' | ' ')) => (Some(c), text.get(1..).unwrap_or("")),
            _ => (None, text),
        };
        out.extend(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(if v.zero { '0' } else { ' ' }, fill));
        out.push_str(text);
    }
}

fn render_verb(verb: char, v: &Verb, arg: &Value) -> Result<String, String> {
    if arg.is_null() {
        return if verb == 'v' { Ok("null".into()) } else { Err("null value cannot be formatted".into()) };
    }
    match verb {
        'v' if v.sharp => Ok(json(arg)),
        'v' => Ok(match arg {
            Value::String(s) => s.clone(),
            // cty prints numbers with big.Float's shortest %g.
            Value::Number(n) => float('g', &Verb::default(), n),
            Value::Bool(b) => b.to_string(),
            other => json(other),
        }),
        's' | 'q' => {
            let s = as_string(arg)?;
            // Precision limits the characters taken from the input, before quoting.
            let s = match v.prec {
                Some(p) if p > 0 => graphemes(&s).into_iter().take(p).collect(),
                _ => s,
            };
            Ok(if verb == 'q' { json(&Value::String(s)) } else { s })
        }
        't' => match arg {
            Value::Bool(b) => Ok(b.to_string()),
            Value::String(s) if s == "true" || s == "false" => Ok(s.clone()),
            _ => Err("bool required".into()),
        },
        'd' | 'b' | 'o' | 'x' | 'X' => integer(verb, v, &as_number(arg)?),
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => Ok(float(verb, v, &as_number(arg)?)),
        _ => Err(String::new()),
    }
}

fn as_string(arg: &Value) -> Result<String, String> {
    match arg {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_text()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err("string required".into()),
    }
}

fn as_number(arg: &Value) -> Result<Number, String> {
    match arg {
        Value::Number(n) => Ok(n.clone()),
        Value::String(s) => super::convert::parse_number(s).ok_or_else(|| "number required".to_string()),
        _ => Err("number required".into()),
    }
}

fn json(v: &Value) -> String {
    super::encoding::to_json_string(v)
}

fn sign(v: &Verb, negative: bool) -> &'static str {
    if negative {
        "-"
    } else if v.plus {
        "+"
    } else if v.space {
        " "
    } else {
        ""
    }
}

/// `%d`, `%b`, `%o`, `%x`, `%X`: the exact digits of a whole number, as Go formats a `big.Int`.
fn integer(verb: char, v: &Verb, n: &Number) -> Result<String, String> {
    let radix = match verb {
        'b' => 2,
        'o' => 8,
        'x' | 'X' => 16,
        _ => 10,
    };
    let Some(mag) = n.abs().to_integer_radix(radix) else { return Err("an integer is required".into()) };
    let digits = match verb {
        'o' if v.sharp => format!("0{mag}"),
        'x' if v.sharp => format!("0x{mag}"),
        'X' if v.sharp => format!("0X{}", mag.to_uppercase()),
        'X' => mag.to_uppercase(),
        _ => mag,
    };
    Ok(format!("{}{digits}", sign(v, n.signum() < 0)))
}

/// `%e`, `%f`, `%g` (and `%v` of a number) as Go's `big.Float.Format`: 6 digits by default for
/// `%e` and `%f`, the shortest exact form for `%g`.
fn float(verb: char, v: &Verb, n: &Number) -> String {
    let upper = verb.is_ascii_uppercase();
    let style = match verb.to_ascii_lowercase() {
        'e' => Style::Exp { upper },
        'f' => Style::Fixed,
        _ => Style::General { upper },
    };
    let prec = match (v.prec, style) {
        (Some(p), _) => p as i64,
        (None, Style::General { .. }) => -1,
        (None, _) => 6,
    };
    let text = n.format(style, prec);
    match text.strip_prefix('-').or_else(|| text.strip_prefix('+')) {
        // A negative number, or +Inf (whose sign Go keeps, or turns into a space).
        Some(body) if text.starts_with('-') => format!("-{body}"),
        Some(body) => format!("{}{body}", if v.space && !v.plus { " " } else { "+" }),
        None => format!("{}{text}", sign(v, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

    fn f(spec: &str, args: Vec<Value>) -> String {
        let mut all = vec![s(spec)];
        all.extend(args);
        match ok("format", all) {
            Value::String(s) => s,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn basic_verbs() {
        assert_eq!(f("Hello, %s!", vec![s("Ander")]), "Hello, Ander!");
        assert_eq!(f("There are %d lights", vec![n(4.0)]), "There are 4 lights");
        assert_eq!(f("%.2f", vec![n(1.23456)]), "1.23");
        assert_eq!(f("%f", vec![n(1.5)]), "1.500000");
        assert_eq!(f("%t", vec![b(true)]), "true");
        assert_eq!(f("100%%", vec![]), "100%");
        assert_eq!(f("%q", vec![s("a\"b\n<")]), "\"a\\\"b\\n\\u003c\"");
        assert_eq!(f("%.2q", vec![s("abc")]), "\"ab\"");
        assert_eq!(f("%v %v %v", vec![s("x"), n(2.5), b(false)]), "x 2.5 false");
        assert_eq!(f("%v %v %v", vec![n(100000.0), n(1000000.0), n(0.0001)]), "100000 1e+06 0.0001");
        assert_eq!(f("%v", vec![l(vec![n(1.0), s("a")])]), "[1,\"a\"]");
        assert_eq!(f("%#v", vec![s("a")]), "\"a\"");
        assert_eq!(f("%v", vec![Value::Null]), "null");
        assert_eq!(f("%s", vec![n(12.0)]), "12");
    }

    #[test]
    fn width_padding_and_flags() {
        assert_eq!(f("[%5s]", vec![s("ab")]), "[   ab]");
        assert_eq!(f("[%-5s]", vec![s("ab")]), "[ab   ]");
        assert_eq!(f("[%05d]", vec![n(-42.0)]), "[-0042]");
        assert_eq!(f("[%+d]", vec![n(7.0)]), "[+7]");
        assert_eq!(f("[%8.3f]", vec![n(1.23456)]), "[   1.235]");
        assert_eq!(f("[%3s]", vec![s("héllo")]), "[héllo]");
        assert_eq!(f("[%3s]", vec![s("e\u{301}")]), "[  e\u{301}]");
        assert_eq!(f("[%03s]", vec![s("a")]), "[00a]");
        assert_eq!(f("%.3s", vec![s("abcdef")]), "abc");
    }

    #[test]
    fn integer_bases_and_floats() {
        assert_eq!(f("%b %o %x %X %#x", vec![n(5.0), n(8.0), n(255.0), n(255.0), n(255.0)]), "101 10 ff FF 0xff");
        assert_eq!(f("%x", vec![s("255")]), "ff");
        assert_eq!(err("format", vec![s("%x"), s("hi")]), "Unsupported value for \"%x\" at 0: number required.");
        assert_eq!(f("%e", vec![n(1234.5678)]), "1.234568e+03");
        assert_eq!(f("%g", vec![n(1234567.0)]), "1.234567e+06");
        assert_eq!(f("%g", vec![n(123456.5)]), "123456.5");
        assert_eq!(f("%g", vec![n(0.00001)]), "1e-05");
        assert_eq!(f("%.3g", vec![n(1.23456)]), "1.23");
    }

    #[test]
    fn argument_indexes() {
        assert_eq!(f("%[2]s %[1]s", vec![s("a"), s("b")]), "b a");
        assert_eq!(f("%s %[1]s", vec![s("a")]), "a a");
    }

    #[test]
    fn errors() {
        assert_eq!(
            err("format", vec![s("%s %s"), s("a")]),
            "Not enough arguments for \"%s\" at 3: need index 2 but have 1 total."
        );
        assert_eq!(err("format", vec![s("x"), s("a")]), "Too many arguments; no verbs in format string.");
        assert_eq!(err("format", vec![s("%s"), s("a"), s("b")]), "Too many arguments; only 1 used by format string.");
        assert_eq!(err("format", vec![s("%d"), n(1.5)]), "Unsupported value for \"%d\" at 0: an integer is required.");
        assert_eq!(err("format", vec![s("%d"), s("x")]), "Unsupported value for \"%d\" at 0: number required.");
        assert_eq!(
            err("format", vec![s("%s"), Value::Null]),
            "Unsupported value for \"%s\" at 0: null value cannot be formatted."
        );
        assert!(err("format", vec![s("%99999999s"), s("x")]).contains("too large"));
        assert!(err("format", vec![s("abc %")]).contains("Unterminated"));
        assert_eq!(err("format", vec![s("ab%z"), s("x")]), "Unsupported format verb 'z' in \"%z\" at offset 2.");
    }

    #[test]
    fn formatlist_zips_lists_and_repeats_scalars() {
        assert_eq!(
            ok("formatlist", vec![s("Hello, %s! (%s)"), sl(&["Val", "Ander"]), s("x")]),
            sl(&["Hello, Val! (x)", "Hello, Ander! (x)"])
        );
        assert_eq!(ok("formatlist", vec![s("%s"), s("a")]), sl(&["a"]));
        assert_eq!(ok("formatlist", vec![s("%s"), sl(&[])]), sl(&[]));
        let e = call("formatlist", vec![s("%s%s"), sl(&["a"]), sl(&["b", "c"])]).unwrap_err();
        assert_eq!(e.arg, Some(2));
        assert_eq!(e.message, "Argument 2 has length 2, which is inconsistent with argument 1 of length 1.");
    }

    #[test]
    fn formatlist_marks_are_per_row() {
        assert_eq!(
            ok("formatlist", vec![s("<%s>"), l(vec![s("a"), Value::Unknown, s("c").sensitive()])]),
            l(vec![s("<a>"), Value::Unknown, s("<c>").sensitive()])
        );
        assert_eq!(ok("formatlist", vec![s("%s"), Value::Unknown]), Value::Unknown);
    }

    #[test]
    fn marks() {
        assert_eq!(ok("format", vec![s("%s"), Value::Unknown]), Value::Unknown);
        assert_eq!(ok("format", vec![s("%s"), s("pw").sensitive()]), s("pw").sensitive());
    }
}
