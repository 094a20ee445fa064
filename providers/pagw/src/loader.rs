//! Slot definitions, as Giif's `database/pagw-slots.example` writes them: shell assignments of
//! `PAGW_*` variables, among them `PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='FIRST LAST'`. Loading a
//! definition gives one slot per address of the range, each with every other `PAGW_*` variable,
//! and `PAGW_MGMT_VLAN` counted up by one per address (`((PAGW_MGMT_VLAN++))`).
//!
//! Owns parsing and expanding only; `PAGW_PASSWORD` is dropped whatever the file says (Giif's
//! `unset PAGW_PASSWORD` fail-safe), so no clear-text password reaches the database. Lines that
//! are not assignments (`unset`, `create_slots`, comments) are ignored.

use std::net::Ipv4Addr;

use indexmap::IndexMap;

use crate::db::env::PASSWORD_VAR;
use crate::db::slots::NewSlot;

pub const RANGE_VAR: &str = "PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT";
pub const VLAN_VAR: &str = "PAGW_MGMT_VLAN";
/// The most addresses one definition may expand to: a typo in a range must not insert a /8.
pub const MAX_SLOTS: u32 = 4096;

/// A parsed definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
    /// Every `PAGW_*` variable but the range and the password.
    pub vars: IndexMap<String, String>,
    /// The definition set `PAGW_PASSWORD`, which was dropped.
    pub dropped_password: bool,
}

fn quoted(rest: &str, quote: char) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if quote == '"' => {
                if let Some((_, n)) = chars.next() {
                    if !matches!(n, '\\' | '"' | '$' | '`' | '\n') {
                        value.push('\\');
                    }
                    if n != '\n' {
                        value.push(n);
                    }
                }
            }
            c if c == quote => return Ok((value, &rest[i + c.len_utf8()..])),
            c => value.push(c),
        }
    }
    Err(format!("unterminated {quote}-quoted value"))
}

/// Parses a definition's text.
pub fn parse(text: &str) -> Result<Definition, String> {
    let mut vars = IndexMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let line = rest.trim_start();
        let body = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let name_len = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
        if name_len > 0 && body[name_len..].starts_with('=') && !body.starts_with('#') {
            let name = &body[..name_len];
            let after = &body[name_len + 1..];
            let (value, remainder) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => quoted(&after[1..], q).map_err(|e| format!("{name}: {e}"))?,
                _ => {
                    let end = after.find(|c: char| c.is_whitespace() || c == ';').unwrap_or(after.len());
                    (after[..end].to_string(), &after[end..])
                }
            };
            if name.starts_with("PAGW_") {
                vars.insert(name.to_string(), value);
            }
            rest = remainder;
        } else {
            rest = line;
        }
        // Skip to the end of the line (comments, commands, what follows an assignment).
        rest = rest.find('\n').map_or("", |i| &rest[i + 1..]);
    }
    let range = vars.shift_remove(RANGE_VAR).ok_or_else(|| format!("the definition sets no {RANGE_VAR}"))?;
    let dropped_password = vars.shift_remove(PASSWORD_VAR).is_some();
    let mut ends = range.split_whitespace();
    let (first, last) = match (ends.next(), ends.next(), ends.next()) {
        (Some(a), Some(b), None) => (a, b),
        (Some(a), None, None) => (a, a),
        _ => return Err(format!("{RANGE_VAR} must be \"FIRST LAST\" (prips format), not {range:?}")),
    };
    let parse_ip = |s: &str| s.parse::<Ipv4Addr>().map_err(|_| format!("{RANGE_VAR}: {s:?} is not an IPv4 address"));
    let (first, last) = (parse_ip(first)?, parse_ip(last)?);
    if u32::from(first) > u32::from(last) {
        return Err(format!("{RANGE_VAR}: {first} comes after {last}"));
    }
    if u32::from(last) - u32::from(first) >= MAX_SLOTS {
        return Err(format!("{RANGE_VAR}: {first}–{last} is more than {MAX_SLOTS} addresses"));
    }
    Ok(Definition { first, last, vars, dropped_password })
}

impl Definition {
    /// One `(address, variables)` per address, the management VLAN counted up per address.
    pub fn expand(&self) -> Result<Vec<NewSlot>, String> {
        let start_vlan = match self.vars.get(VLAN_VAR) {
            Some(v) if !v.is_empty() => {
                Some(v.parse::<u32>().map_err(|_| format!("{VLAN_VAR} must be a number, not {v:?}"))?)
            }
            _ => None,
        };
        let mut out = Vec::new();
        for (n, ip) in (u32::from(self.first)..=u32::from(self.last)).enumerate() {
            let mut vars = self.vars.clone();
            if let Some(v) = start_vlan {
                let vlan = v + n as u32;
                if vlan > 4094 {
                    return Err(format!("{VLAN_VAR} would reach {vlan}, past the last VLAN (4094)"));
                }
                vars.insert(VLAN_VAR.to_string(), vlan.to_string());
            }
            out.push((Ipv4Addr::from(ip).to_string(), vars));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"#!/bin/bash
# Example slot definition
unset PAGW_PASSWORD
PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='198.51.100.10 198.51.100.12'
PAGW_MASK=255.255.255.0
PAGW_GATEWAY=198.51.100.1
export PAGW_HOST=10.20.30.77
PAGW_SSH_PRIVKEY='-----BEGIN OPENSSH PRIVATE KEY-----
abc
-----END OPENSSH PRIVATE KEY-----'
PAGW_DEPLOY_DRIVER='proxmox-ve-ssh'
PAGW_MGMT_VLAN='13'
PAGW_PUB_VLAN=''
PAGW_PASSWORD="hunter2"
OTHER=1
create_slots
"#;

    #[test]
    fn expands_the_range_counts_the_vlan_up_and_drops_the_password() {
        let d = parse(EXAMPLE).unwrap();
        assert!(d.dropped_password);
        assert!(!d.vars.contains_key("OTHER"));
        assert_eq!(d.vars["PAGW_HOST"], "10.20.30.77");
        assert!(d.vars["PAGW_SSH_PRIVKEY"].contains("\nabc\n"));
        let slots = d.expand().unwrap();
        let got: Vec<(&str, &str)> = slots.iter().map(|(ip, v)| (ip.as_str(), v[VLAN_VAR].as_str())).collect();
        assert_eq!(got, [("198.51.100.10", "13"), ("198.51.100.11", "14"), ("198.51.100.12", "15")]);
        assert!(slots.iter().all(|(_, v)| !v.contains_key(PASSWORD_VAR) && v["PAGW_PUB_VLAN"].is_empty()));
    }

    #[test]
    fn refuses_bad_ranges() {
        assert!(parse("PAGW_MASK=1").unwrap_err().contains(RANGE_VAR));
        assert!(parse("PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='10.0.0.9 10.0.0.1'").unwrap_err().contains("after"));
        assert!(parse("PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='10.0.0.0 10.255.0.0'").unwrap_err().contains("more than"));
    }
}
