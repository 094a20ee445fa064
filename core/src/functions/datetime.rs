//! Time functions: `timestamp`, `formatdate` (Terraform's format spec), `timeadd` (Go duration
//! strings) and `timecmp`. Timestamps are RFC 3339 and written as Go writes them: whole seconds,
//! `Z` for UTC, the original offset kept. Only `timestamp` reads the clock.

use super::{Args, FuncError};
use tarn_sdk::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

fn parse(a: &Args, i: usize) -> Result<OffsetDateTime, FuncError> {
    let s = a.str(i)?;
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| {
        a.err(i, format!("\"{s}\" is not a valid RFC 3339 timestamp; write it like \"2006-01-02T15:04:05Z\"."))
    })
}

fn offset_text(off: UtcOffset, colon: bool) -> String {
    let secs = off.whole_seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let (h, m) = (secs.abs() / 3600, (secs.abs() % 3600) / 60);
    if colon { format!("{sign}{h:02}:{m:02}") } else { format!("{sign}{h:02}{m:02}") }
}

/// Go's RFC 3339 layout: whole seconds, `Z` for UTC, `±hh:mm` otherwise.
fn rfc3339(t: OffsetDateTime) -> String {
    let zone = if t.offset().is_utc() { "Z".to_string() } else { offset_text(t.offset(), true) };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub(crate) fn timestamp(_: &Args) -> Result<Value, FuncError> {
    Ok(Value::String(rfc3339(OffsetDateTime::now_utc())))
}

pub(crate) fn formatdate(a: &Args) -> Result<Value, FuncError> {
    let spec = a.str(0)?;
    let t = parse(a, 1)?;
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // A quoted literal; '' inside it (or on its own) is a literal quote.
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        out.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => out.push(c),
                    None => {
                        return Err(
                            a.err(0, "unterminated literal: a quote (') opened a literal that is never closed.")
                        );
                    }
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            continue;
        }
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        out.push_str(&verb(a, c, n, t)?);
    }
    Ok(Value::String(out))
}

fn verb(a: &Args, c: char, n: usize, t: OffsetDateTime) -> Result<String, FuncError> {
    let hour12 = match t.hour() % 12 {
        0 => 12,
        h => h,
    };
    let month = usize::from(u8::from(t.month()));
    let month_name = MONTHS.get(month.wrapping_sub(1)).copied().unwrap_or("");
    let day_name = DAYS.get(usize::from(t.weekday().number_days_from_monday())).copied().unwrap_or("");
    Ok(match (c, n) {
        ('Y', 4) => format!("{:04}", t.year()),
        ('Y', 2) => format!("{:02}", t.year().rem_euclid(100)),
        ('M', 4) => month_name.to_string(),
        ('M', 3) => month_name.chars().take(3).collect(),
        ('M', 2) => format!("{month:02}"),
        ('M', 1) => month.to_string(),
        ('D', 2) => format!("{:02}", t.day()),
        ('D', 1) => t.day().to_string(),
        ('E', 4) => day_name.to_string(),
        ('E', 3) => day_name.chars().take(3).collect(),
        ('h', 2) => format!("{:02}", t.hour()),
        ('h', 1) => t.hour().to_string(),
        ('H', 2) => format!("{hour12:02}"),
        ('H', 1) => hour12.to_string(),
        ('A', 2) => (if t.hour() < 12 { "AM" } else { "PM" }).to_string(),
        ('a', 2) => (if t.hour() < 12 { "am" } else { "pm" }).to_string(),
        ('m', 2) => format!("{:02}", t.minute()),
        ('m', 1) => t.minute().to_string(),
        ('s', 2) => format!("{:02}", t.second()),
        ('s', 1) => t.second().to_string(),
        ('Z', 5) => offset_text(t.offset(), true),
        ('Z', 4) => offset_text(t.offset(), false),
        ('Z', 3) if t.offset().is_utc() => "UTC".to_string(),
        ('Z', 3) => offset_text(t.offset(), false),
        ('Z', 1) if t.offset().is_utc() => "Z".to_string(),
        ('Z', 1) => offset_text(t.offset(), true),
        _ => {
            let raw: String = std::iter::repeat_n(c, n).collect();
            let hint = match c {
                'Y' => "year must either be \"YY\" or \"YYYY\"",
                'M' => "month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"",
                'D' => "day of month must either be \"D\" or \"DD\"",
                'E' => "day of week must either be \"EEE\" or \"EEEE\"",
                'h' => "24-hour must either be \"h\" or \"hh\"",
                'H' => "12-hour must either be \"H\" or \"HH\"",
                'A' => "must be \"AA\"",
                'a' => "must be \"aa\"",
                'm' => "minute must either be \"m\" or \"mm\"",
                's' => "second must either be \"s\" or \"ss\"",
                'Z' => "timezone must be Z, ZZZ, ZZZZ, or ZZZZZ",
                _ => "letters are format verbs; put literal letters in single quotes, like 'T'",
            };
            return Err(a.err(0, format!("invalid date format verb \"{raw}\": {hint}.")));
        }
    })
}

/// Parses a Go duration string: `300ms`, `-1.5h`, `2h45m`. Units: ns, us (µs), ms, s, m, h.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return None;
        }
        let value: f64 = num.parse().ok()?;
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += value * scale;
        rest = next;
    }
    // Go durations are int64 nanoseconds (about 292 years).
    if total > i64::MAX as f64 {
        return None;
    }
    let ns = total.round() as i64;
    Some(if negative { -ns } else { ns })
}

pub(crate) fn timeadd(a: &Args) -> Result<Value, FuncError> {
    let t = parse(a, 0)?;
    let d = a.str(1)?;
    let ns = parse_duration(d).ok_or_else(|| {
        a.err(1, format!("\"{d}\" is not a valid duration; write it like \"1h30m\", \"-10m\" or \"300s\"."))
    })?;
    let sum = t
        .checked_add(Duration::nanoseconds(ns))
        .ok_or_else(|| FuncError::call("The resulting time is out of range."))?;
    Ok(Value::String(rfc3339(sum)))
}

pub(crate) fn timecmp(a: &Args) -> Result<Value, FuncError> {
    let (x, y) = (parse(a, 0)?, parse(a, 1)?);
    Ok(Value::number(match x.cmp(&y) {
        std::cmp::Ordering::Less => -1.0,
        std::cmp::Ordering::Equal => 0.0,
        std::cmp::Ordering::Greater => 1.0,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use tarn_sdk::Value;

    #[test]
    fn timestamp_is_rfc3339_utc() {
        let Value::String(t) = ok("timestamp", vec![]) else { panic!() };
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.ends_with('Z'));
        assert_eq!(ok("timecmp", vec![s(&t), s(&t)]), n(0.0));
    }

    #[test]
    fn formatdate_spec() {
        let f = |spec: &str, t: &str| ok("formatdate", vec![s(spec), s(t)]);
        assert_eq!(f("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z"), s("02 Jan 2018 23:12 UTC"));
        assert_eq!(f("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z"), s("Tuesday, 02-Jan-18 23:12:01 UTC"));
        assert_eq!(
            f("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00"),
            s("Tue, 02 Jan 2018 23:12:01 -0800")
        );
        assert_eq!(f("MMM DD, YYYY", "2018-01-02T23:12:01Z"), s("Jan 02, 2018"));
        assert_eq!(f("HH:mmaa", "2018-01-02T23:12:01Z"), s("11:12pm"));
        assert_eq!(f("h'h'mm", "2018-01-02T23:12:01-08:00"), s("23h12"));
        assert_eq!(f("H 'o''clock'", "2018-01-02T23:12:01-08:00"), s("11 o'clock"));
        assert_eq!(f("YYYY-MM-DD'T'hh:mm:ssZ", "2018-01-02T03:04:05+05:30"), s("2018-01-02T03:04:05+05:30"));
        assert_eq!(f("MMMM D, M/D ZZZZZ ZZZZ Z", "2018-03-04T00:00:00Z"), s("March 4, 3/4 +00:00 +0000 Z"));
        assert_eq!(f("HH AA", "2018-03-04T00:30:00Z"), s("12 AM"));
        assert_eq!(
            err("formatdate", vec![s("YYY"), s("2018-01-02T23:12:01Z")]),
            "Invalid value for \"format\" parameter: invalid date format verb \"YYY\": year must either be \"YY\" or \"YYYY\"."
        );
        assert!(err("formatdate", vec![s("Q"), s("2018-01-02T23:12:01Z")]).contains("in single quotes"));
        assert!(err("formatdate", vec![s("'oops"), s("2018-01-02T23:12:01Z")]).contains("unterminated literal"));
        assert_eq!(
            err("formatdate", vec![s("YYYY"), s("2018-01-02")]),
            "Invalid value for \"time\" parameter: \"2018-01-02\" is not a valid RFC 3339 timestamp; write it like \"2006-01-02T15:04:05Z\"."
        );
    }

    #[test]
    fn timeadd_durations() {
        let t = |ts: &str, d: &str| ok("timeadd", vec![s(ts), s(d)]);
        assert_eq!(t("2017-11-22T00:00:00Z", "10m"), s("2017-11-22T00:10:00Z"));
        assert_eq!(t("2017-11-22T00:00:00Z", "1h30m"), s("2017-11-22T01:30:00Z"));
        assert_eq!(t("2017-11-22T00:00:00Z", "-1.5h"), s("2017-11-21T22:30:00Z"));
        assert_eq!(t("2017-11-22T00:00:00+02:00", "24h"), s("2017-11-23T00:00:00+02:00"));
        assert_eq!(t("2017-11-22T00:00:00Z", "0"), s("2017-11-22T00:00:00Z"));
        assert_eq!(t("2017-11-22T00:00:00Z", "1500ms"), s("2017-11-22T00:00:01Z"));
        assert!(err("timeadd", vec![s("2017-11-22T00:00:00Z"), s("10x")]).contains("is not a valid duration"));
        assert!(err("timeadd", vec![s("2017-11-22T00:00:00Z"), s("")]).contains("is not a valid duration"));
        assert!(err("timeadd", vec![s("2017-11-22T00:00:00Z"), s("9999999999h")]).contains("is not a valid duration"));
    }

    #[test]
    fn timecmp_orders_instants() {
        assert_eq!(ok("timecmp", vec![s("2017-11-22T00:00:00Z"), s("2017-11-22T01:00:00+02:00")]), n(1.0));
        assert_eq!(ok("timecmp", vec![s("2017-11-22T00:00:00Z"), s("2017-11-22T02:00:00+02:00")]), n(0.0));
        assert_eq!(ok("timecmp", vec![s("2017-11-21T00:00:00Z"), s("2017-11-22T00:00:00Z")]), n(-1.0));
    }
}
