//! A slot's `environment` column: `VAR="value" ` pairs, as Giif's `create_slots` writes them and
//! its scripts `eval "export $PAGW_ENV"`. Values are shell double-quoted (`\`, `"`, `$` and a
//! backquote escaped), so a private key's line breaks survive.
//!
//! Owns encoding and decoding only. `PAGW_PASSWORD` is never encoded: the clear-text password
//! must not reach the database (Giif's `unset PAGW_PASSWORD` fail-safe).

use indexmap::IndexMap;

/// The variable that must never be stored.
pub const PASSWORD_VAR: &str = "PAGW_PASSWORD";

/// `VAR="value" ` pairs for `vars`, without `PAGW_PASSWORD`.
pub fn encode(vars: &IndexMap<String, String>) -> String {
    let mut out = String::new();
    for (name, value) in vars {
        if name == PASSWORD_VAR {
            continue;
        }
        out.push_str(name);
        out.push_str("=\"");
        for c in value.chars() {
            if matches!(c, '\\' | '"' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("\" ");
    }
    out
}

/// The variables of an `environment` text. Accepts what [`encode`] writes and what Bash's
/// `create_slots` wrote by hand: double- or single-quoted or bare values, separated by blanks.
pub fn decode(text: &str) -> Result<IndexMap<String, String>, String> {
    let mut vars = IndexMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(vars);
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            if !(c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("unexpected {c:?} in a variable name after \"{name}\""));
            }
            name.push(c);
            chars.next();
        }
        if chars.next() != Some('=') || name.is_empty() {
            return Err(format!("expected NAME=VALUE, found \"{name}\""));
        }
        let mut value = String::new();
        match chars.peek() {
            Some('"') => {
                chars.next();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(c @ ('\\' | '"' | '$' | '`')) => value.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                value.push('\\');
                                value.push(c);
                            }
                            None => return Err(format!("{name}: unterminated value")),
                        },
                        Some('"') => break,
                        Some(c) => value.push(c),
                        None => return Err(format!("{name}: unterminated value")),
                    }
                }
            }
            Some('\'') => {
                chars.next();
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => value.push(c),
                        None => return Err(format!("{name}: unterminated value")),
                    }
                }
            }
            _ => {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        vars.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_keys_quotes_and_dollars_and_never_the_password() {
        let mut vars = IndexMap::new();
        vars.insert("PAGW_HOST".to_string(), "10.20.30.77".to_string());
        vars.insert("PAGW_SSH_PRIVKEY".to_string(), "-----BEGIN\nab\"c$d`e\\f\n-----END".to_string());
        vars.insert("PAGW_PUB_VLAN".to_string(), String::new());
        vars.insert(PASSWORD_VAR.to_string(), "hunter2".to_string());
        let text = encode(&vars);
        assert!(!text.contains("hunter2"), "{text}");
        let back = decode(&text).unwrap();
        vars.shift_remove(PASSWORD_VAR);
        assert_eq!(back, vars);
    }

    #[test]
    fn reads_hand_written_single_quoted_and_bare_values() {
        let vars = decode("PAGW_MASK=255.255.255.0 PAGW_DEPLOY_DRIVER='proxmox-ve-ssh'  PAGW_X=\"a b\"").unwrap();
        assert_eq!(vars["PAGW_MASK"], "255.255.255.0");
        assert_eq!(vars["PAGW_DEPLOY_DRIVER"], "proxmox-ve-ssh");
        assert_eq!(vars["PAGW_X"], "a b");
        assert!(decode("PAGW_X=\"open").is_err());
    }
}
