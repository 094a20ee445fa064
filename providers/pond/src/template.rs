//! `{{name}}` templates: virtual hosts and configuration files rendered from variables.
//!
//! Owns the one rendering rule: `{{ name }}` (spaces allowed) is replaced by the variable's
//! value; a name without a value is an error listing every such name, so a typo never ships an
//! empty database password. It must not evaluate anything else (no loops, no escapes).

use std::collections::BTreeMap;

/// Renders `text`; `what` names the template in the error.
pub fn render(text: &str, vars: &BTreeMap<String, String>, what: &str) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = after[..end].trim();
        match vars.get(name) {
            Some(v) => out.push_str(v),
            None => {
                if !missing.contains(&name.to_string()) {
                    missing.push(name.to_string());
                }
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        let known: Vec<&str> = vars.keys().map(String::as_str).collect();
        Err(format!(
            "the template {what} uses {} without a value; the variables are: {}",
            missing.iter().map(|m| format!("{{{{{m}}}}}")).collect::<Vec<_>>().join(", "),
            known.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn names_are_replaced_with_or_without_spaces() {
        let v = vars(&[("domain", "example.org"), ("root", "/srv")]);
        assert_eq!(render("{{domain}} at {{ root }}/x", &v, "t").unwrap(), "example.org at /srv/x");
    }

    #[test]
    fn every_missing_name_is_listed_once() {
        let err = render("{{a}} {{b}} {{a}}", &vars(&[("c", "1")]), "config/.env").unwrap_err();
        assert!(err.contains("config/.env uses {{a}}, {{b}} without a value"), "{err}");
        assert!(err.contains("the variables are: c"), "{err}");
    }
}
