//! What tarn refuses to write because it could not read it back: values nested deeper than
//! [`MAX_VALUE_DEPTH`] lists, maps and marks. The state, saved plans and `--json` documents are
//! JSON, and every JSON reader tarn uses (serde_json) stops at 128 levels of nesting; a value
//! that fits alone but not inside its envelope (a state row, a plan change, a sealed-value
//! wrapper) would be written, and then every later command would fail reading it. So the limit
//! leaves room for the envelopes, and is checked where a value is about to be recorded: a
//! resource's configuration (at plan and again at apply, by `schema_check`) and an output.
//!
//! Pure; measures without recursion, so a value of any depth is measured safely.

use crate::diag::{Diagnostic, Span};
use tarn_sdk::Value;

/// The deepest nesting of lists, maps and sensitive marks a recorded value may have
/// (docs/language.md, "Limits"). serde_json reads 128 levels; plans and state rows wrap a value
/// in up to about 10 more, and a sensitive mark is a level in the wire format.
pub const MAX_VALUE_DEPTH: usize = 100;

/// The nesting depth of `value`: 0 for a scalar, 1 for `[1]`, and one more for each list,
/// map or sensitive mark around a value. Iterative: a deep value must not overflow the stack
/// of the check meant to catch it.
pub fn depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(value, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::List(items) | Value::Set(items) => stack.extend(items.iter().map(|i| (i, d + 1))),
            Value::Map(m) => stack.extend(m.values().map(|i| (i, d + 1))),
            Value::Sensitive(inner) => stack.push((inner, d + 1)),
            _ => {}
        }
    }
    deepest
}

/// An error at `span` when `value` (named by `what`, e.g. `output "o"`) is too deep to record.
pub fn check_depth(value: &Value, what: &str, span: Span) -> Option<Diagnostic> {
    let d = depth(value);
    (d > MAX_VALUE_DEPTH).then(|| {
        Diagnostic::error(
            "Value nested too deeply",
            format!(
                "The value of {what} nests {d} levels of lists and maps; tarn records at most {MAX_VALUE_DEPTH}, so that the state, saved plans and JSON output can always be read back. Nothing was recorded. Flatten the value, or keep the deep part as a string (`jsonencode(...)`)."
            ),
        )
        .at(span)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> Value {
        let mut v = Value::string("x");
        for _ in 0..levels {
            v = Value::List(vec![v]);
        }
        v
    }

    #[test]
    fn depth_counts_lists_maps_and_marks() {
        assert_eq!(depth(&Value::string("a")), 0);
        assert_eq!(depth(&nested(3)), 3);
        assert_eq!(depth(&Value::map([("a", nested(2)), ("b", Value::Null)])), 3);
        assert_eq!(depth(&Value::List(vec![nested(1).sensitive()])), 3);
    }

    #[test]
    fn the_limit_is_inclusive_and_deep_values_do_not_overflow() {
        let span = Span { file: 0, start: 0, end: 1 };
        assert!(check_depth(&nested(MAX_VALUE_DEPTH), "output \"o\"", span).is_none());
        let d = check_depth(&nested(MAX_VALUE_DEPTH + 1), "output \"o\"", span).expect("refused");
        assert!(d.detail.contains("101 levels") && d.detail.contains("output \"o\""), "{}", d.detail);
        // Measured iteratively; dropping it is the caller's business (std's Vec drop recurses),
        // so keep this one moderate.
        assert_eq!(depth(&nested(5_000)), 5_000);
    }
}
