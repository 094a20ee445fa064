//! Pipeline habits: whether tarn may prompt, and whether it runs under CI. One place decides,
//! so every command follows the same rules (docs/cli.md, "Pipelines").
//!
//! - `--input=false` (or `TARN_INPUT=false`): never prompt; where an answer is needed, fail
//!   with exit 1 and a message saying which flag replaces the answer.
//! - `CI` set to anything but `""`, `0` or `false` (CI systems set `CI=true`): the same, plus no
//!   colour and no progress bar.
//! - Standard input that is not a terminal: no prompt either (there is nobody to answer).
//!
//! `main` turns `--input=false` into `TARN_INPUT=false` before any thread starts, like
//! `--no-color` into `NO_COLOR`; this module only reads the environment.

use std::io::IsTerminal;

pub const INPUT_ENV: &str = "TARN_INPUT";

fn falsy(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "" | "0" | "false" | "no")
}

/// Whether this is a CI run (`CI=true`).
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !falsy(&v))
}

/// Why tarn may not ask a question now, or `None` when it may.
pub fn no_input_reason() -> Option<&'static str> {
    if std::env::var(INPUT_ENV).is_ok_and(|v| falsy(&v)) {
        Some("input is disabled (--input=false)")
    } else if ci() {
        Some("this is a CI run (CI=true), where tarn never prompts")
    } else if !std::io::stdin().is_terminal() {
        Some("there is no terminal to ask on")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::falsy;

    #[test]
    fn false_like_values() {
        for v in ["", "0", "false", "FALSE", " no "] {
            assert!(falsy(v), "{v:?}");
        }
        for v in ["true", "1", "yes", "github"] {
            assert!(!falsy(v), "{v:?}");
        }
    }
}
