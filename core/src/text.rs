//! Small text helpers the language front end and the evaluator share when they word a message
//! or read a name. A leaf: it imports nothing of the engine (only hcl-edit's syntax types), so
//! every layer may use it without a dependency running upwards.

use hcl::edit::expr::Expression;

/// A type name with its indefinite article: `a string`, `an object`.
pub fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// A bare name, including the keywords `null`, `true` and `false` (`null` is also the name of
/// tarn's null provider).
pub fn bare_name(e: &Expression) -> Option<String> {
    match e {
        Expression::Variable(v) => Some(v.value().to_string()),
        Expression::Null(_) => Some("null".to_string()),
        Expression::Bool(b) => Some(b.value().to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_follow_the_first_letter() {
        assert_eq!(article("object"), "an object");
        assert_eq!(article("string"), "a string");
    }

    #[test]
    fn bare_names_include_the_keywords() {
        for src in ["null", "true", "web"] {
            let e: Expression = src.parse().unwrap();
            assert_eq!(bare_name(&e).as_deref(), Some(src));
        }
        assert_eq!(bare_name(&"a.b".parse().unwrap()), None);
    }
}
