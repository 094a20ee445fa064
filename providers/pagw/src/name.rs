//! Project names: a single DNS label, as `build_and_deploy.sh` checks with
//! `^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])$`, at most 63 characters (the image
//! uses it as the gateway's host name). Checked at plan time.

/// `Ok` when `name` is a single DNS label; else a sentence saying why not.
pub fn check_project(name: &str) -> Result<(), String> {
    if name != name.trim() {
        return Err(format!("the project name {name:?} has leading or trailing blanks; remove them"));
    }
    if name.is_empty() {
        return Err("the project name is empty".into());
    }
    if name.len() > 63 {
        return Err(format!("the project name {name:?} is longer than a DNS label (63 characters)"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Err(format!(
            "the project name {name:?} must be a single DNS label (letters, digits and inner hyphens); {c:?} is not allowed"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!("the project name {name:?} must not start or end with a hyphen"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_project;

    #[test]
    fn single_labels_only() {
        for ok in ["a", "abc", "a-b", "A1", "x-y-z9"] {
            assert!(check_project(ok).is_ok(), "{ok}");
        }
        for bad in ["", " a", "a.b", "-a", "a-", "a_b", "ä", &"a".repeat(64)] {
            assert!(check_project(bad).is_err(), "{bad}");
        }
    }
}
