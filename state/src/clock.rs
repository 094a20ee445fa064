//! Wall-clock timestamps as stored by every backend: RFC 3339, UTC, millisecond precision.
//!
//! Owns formatting, parsing and lease arithmetic. It must not read or write storage; backends
//! call it so that every timestamp in state has one shape.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The current time, UTC, truncated to milliseconds (what we store).
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    // Truncation keeps stored stamps short and round-trippable; it cannot fail for a valid time.
    t.replace_millisecond(t.millisecond()).unwrap_or(t)
}

/// `2026-11-21T21:39:59.123Z`.
pub fn format(t: OffsetDateTime) -> String {
    match t.format(&Rfc3339) {
        Ok(s) => s,
        // Only years outside 0..=9999 fail to format; a Unix timestamp keeps the record usable.
        Err(_) => t.unix_timestamp().to_string(),
    }
}

pub fn now_string() -> String {
    format(now())
}

/// Parses a stored stamp; `None` when it is not RFC 3339.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// `t + d`, saturating instead of overflowing on absurd lease lengths.
pub fn add(t: OffsetDateTime, d: std::time::Duration) -> OffsetDateTime {
    let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    t.saturating_add(time::Duration::milliseconds(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders() {
        let a = now();
        let b = add(a, std::time::Duration::from_millis(1500));
        assert_eq!(parse(&format(a)), Some(a));
        assert!(parse(&format(b)).is_some_and(|p| p > a));
        assert!(format(a).ends_with('Z'));
        assert_eq!(parse("yesterday"), None);
        // Saturates rather than panicking.
        let _ = add(a, std::time::Duration::MAX);
    }
}
