//! Version constraints in Terraform's syntax (`">= 1.2, < 2.0"`, `"~> 0.4"`, `"= 1.0.3"`,
//! `"!= 1.1.0"`), checked with the `semver` crate: `required_version` in the `tarn {}` block
//! against the running tarn, and a `required_providers` entry's `version` against the
//! provider's. Pure: the caller says which versions are running.

use super::model::{Config, ModuleTree};
use crate::diag::{Diagnostic, Diagnostics};
use semver::Version;

/// One comparison of a constraint.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// `~>`: the rightmost written component may grow.
    Pessimistic {
        parts: usize,
    },
}

/// Parses `1`, `1.2` or `1.2.3` (with an optional pre-release), missing parts as zero, and
/// counts the parts written.
fn parse_version(text: &str) -> Result<(Version, usize), String> {
    let text = text.trim().trim_start_matches('v');
    let (core, rest) = match text.find(['-', '+']) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let parts = core.split('.').count();
    if parts == 0 || parts > 3 || core.split('.').any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return Err(format!("\"{text}\" is not a version (like 1.2 or 1.2.3)"));
    }
    let padded = match parts {
        1 => format!("{core}.0.0{rest}"),
        2 => format!("{core}.0{rest}"),
        _ => format!("{core}{rest}"),
    };
    Version::parse(&padded).map(|v| (v, parts)).map_err(|e| format!("\"{text}\" is not a version: {e}"))
}

/// Parses a whole constraint: comparisons separated by commas, all of which must hold.
fn parse(constraint: &str) -> Result<Vec<(Op, Version)>, String> {
    let mut out = Vec::new();
    for item in constraint.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err("a comparison is empty (two commas, or a trailing one)".into());
        }
        let (op, rest) = [
            ("~>", Op::Pessimistic { parts: 0 }),
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ]
        .into_iter()
        .find_map(|(p, op)| item.strip_prefix(p).map(|rest| (op, rest)))
        .unwrap_or((Op::Eq, item));
        let (version, parts) = parse_version(rest)?;
        let op = match op {
            Op::Pessimistic { .. } => Op::Pessimistic { parts },
            op => op,
        };
        out.push((op, version));
    }
    Ok(out)
}

/// Whether `version` satisfies every comparison of `constraint`.
pub fn satisfies(constraint: &str, version: &Version) -> Result<bool, String> {
    let ours = Version::new(version.major, version.minor, version.patch);
    Ok(parse(constraint)?.into_iter().all(|(op, v)| match op {
        Op::Eq => ours == v,
        Op::Ne => ours != v,
        Op::Gt => ours > v,
        Op::Ge => ours >= v,
        Op::Lt => ours < v,
        Op::Le => ours <= v,
        Op::Pessimistic { parts } => {
            let upper = match parts {
                1 => Version::new(v.major + 1, 0, 0),
                2 => Version::new(v.major + 1, 0, 0),
                _ => Version::new(v.major, v.minor + 1, 0),
            };
            ours >= v && ours < upper
        }
    }))
}

/// `required_version` of every module against the running tarn.
pub fn check_required_version(config: &Config, running: &str) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let Ok((running_v, _)) = parse_version(running) else { return diags };
    for tree in modules(config) {
        let Some(c) = &tree.module.settings.required_version else { continue };
        match satisfies(&c.text, &running_v) {
            Ok(true) => {}
            Ok(false) => diags.push(
                Diagnostic::error(
                    "Unsupported tarn version",
                    format!(
                        "This configuration requires tarn {}, and this is tarn {running}. Run it with a tarn that \
                         satisfies the constraint, or change required_version.",
                        c.text
                    ),
                )
                .at(c.span),
            ),
            Err(e) => diags.push(invalid(&c.text, &e).at(c.span)),
        }
    }
    diags
}

/// The `version` of every `required_providers` entry against the version of the provider that
/// serves it (`version_of(local name)`; `None`: the provider does not say, or does not exist,
/// which is reported elsewhere).
pub fn check_provider_versions(config: &Config, version_of: &dyn Fn(&str) -> Option<String>) -> Diagnostics {
    let mut diags = Diagnostics::default();
    for tree in modules(config) {
        for (name, req) in &tree.module.settings.required_providers {
            let Some(constraint) = &req.version else { continue };
            let parsed = parse(constraint);
            if let Err(e) = &parsed {
                diags.push(invalid(constraint, e).at(req.version_span));
                continue;
            }
            let Some(running) = version_of(name) else { continue };
            let ok = parse_version(&running).map(|(v, _)| satisfies(constraint, &v).unwrap_or(false));
            match ok {
                Ok(true) => {}
                Ok(false) => diags.push(
                    Diagnostic::error(
                        "Unsupported provider version",
                        format!(
                            "Provider \"{name}\" must satisfy version {constraint}, and the one available is version \
                             {running}. Install a provider version that satisfies it, or change the constraint."
                        ),
                    )
                    .at(req.version_span),
                ),
                Err(e) => diags.push(
                    Diagnostic::error(
                        "Unsupported provider version",
                        format!(
                            "Provider \"{name}\" must satisfy version {constraint}, and it reports a version tarn cannot \
                             compare: {e}."
                        ),
                    )
                    .at(req.version_span),
                ),
            }
        }
    }
    diags
}

fn invalid(text: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        "Invalid version constraint",
        format!(
            "\"{text}\" is not a version constraint: {why}. Write comparisons separated by commas, like \">= 1.2, < 2.0\" \
             or \"~> 1.4\"."
        ),
    )
}

fn modules(config: &Config) -> Vec<&ModuleTree> {
    let mut out = Vec::new();
    let mut stack = vec![&config.root];
    while let Some(t) = stack.pop() {
        out.push(t);
        stack.extend(t.children.values());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(c: &str, v: &str) -> bool {
        satisfies(c, &Version::parse(v).unwrap()).unwrap()
    }

    #[test]
    fn comparisons_and_pessimistic_operator() {
        assert!(ok(">= 0.1", "0.1.0"));
        assert!(!ok(">= 99.0", "0.1.0"));
        assert!(ok(">= 0.1, < 1.0", "0.5.2"));
        assert!(!ok(">= 0.1, < 0.5", "0.5.0"));
        assert!(ok("~> 0.1", "0.9.0"));
        assert!(!ok("~> 0.1", "1.0.0"));
        assert!(ok("~> 0.1.2", "0.1.9"));
        assert!(!ok("~> 0.1.2", "0.2.0"));
        assert!(ok("0.1.0", "0.1.0"));
        assert!(!ok("!= 0.1.0", "0.1.0"));
        assert!(ok("= 1", "1.0.0"));
    }

    #[test]
    fn malformed_constraints_are_errors() {
        let v = Version::new(1, 0, 0);
        assert!(satisfies(">= x", &v).is_err());
        assert!(satisfies(">= 1,", &v).is_err());
        assert!(satisfies("1.2.3.4", &v).is_err());
    }
}
