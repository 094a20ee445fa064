//! OpenNebula's template syntax (`NAME="value"`, vectors `DISK=[IMAGE_ID="3", SIZE="1024"]`),
//! written for `vm_template_contents` and `one.vm.resize`/`one.vm.update`, and read back by the
//! emulator as oned reads what it is sent. Values are always written quoted, with `"` and `\`
//! escaped, so no user value (a device's location, a scheduling expression) can end an
//! attribute early or add one.
//!
//! Knows the syntax only, not which attributes mean what.

/// One attribute: a single value or a vector of named values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Attr {
    Single(String, String),
    Vector(String, Vec<(String, String)>),
}

impl Attr {
    pub fn name(&self) -> &str {
        match self {
            Attr::Single(n, _) | Attr::Vector(n, _) => n,
        }
    }
}

fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The attributes as template text, one per line.
pub fn render(attrs: &[Attr]) -> String {
    let mut lines = Vec::with_capacity(attrs.len());
    for a in attrs {
        match a {
            Attr::Single(n, v) => lines.push(format!("{n}={}", quote(v))),
            Attr::Vector(n, pairs) => {
                let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
                lines.push(format!("{n}=[{}]", inner.join(",\n  ")));
            }
        }
    }
    lines.join("\n")
}

struct Cursor<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Cursor<'_> {
    fn skip_space(&mut self, newlines: bool) {
        while let Some(&c) = self.chars.peek() {
            if c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n') {
                self.chars.next();
            } else if c == '#' {
                while self.chars.peek().is_some_and(|&c| c != '\n') {
                    self.chars.next();
                }
            } else {
                break;
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let mut name = String::new();
        while let Some(&c) = self.chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                name.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        if name.is_empty() {
            return Err(format!("expected an attribute name, found {:?}", self.chars.peek()));
        }
        Ok(name.to_uppercase())
    }

    fn expect(&mut self, wanted: char) -> Result<(), String> {
        self.skip_space(false);
        match self.chars.next() {
            Some(c) if c == wanted => Ok(()),
            other => Err(format!("expected {wanted:?}, found {other:?}")),
        }
    }

    fn value(&mut self, in_vector: bool) -> Result<String, String> {
        self.skip_space(false);
        if self.chars.peek() == Some(&'"') {
            self.chars.next();
            let mut out = String::new();
            loop {
                match self.chars.next() {
                    Some('\\') => match self.chars.next() {
                        Some(c) => out.push(c),
                        None => return Err("unterminated quoted value".into()),
                    },
                    Some('"') => return Ok(out),
                    Some(c) => out.push(c),
                    None => return Err("unterminated quoted value".into()),
                }
            }
        }
        let mut out = String::new();
        while let Some(&c) = self.chars.peek() {
            if c == '\n' || (in_vector && (c == ',' || c == ']')) {
                break;
            }
            out.push(c);
            self.chars.next();
        }
        Ok(out.trim().to_string())
    }
}

/// Reads template text (as oned does for `vm_template_contents`, `one.vm.resize`, …).
pub fn parse(text: &str) -> Result<Vec<Attr>, String> {
    let mut cur = Cursor { chars: text.chars().peekable() };
    let mut out = Vec::new();
    loop {
        cur.skip_space(true);
        if cur.chars.peek().is_none() {
            return Ok(out);
        }
        let name = cur.name()?;
        cur.expect('=')?;
        cur.skip_space(false);
        if cur.chars.peek() == Some(&'[') {
            cur.chars.next();
            let mut pairs = Vec::new();
            loop {
                cur.skip_space(true);
                match cur.chars.peek() {
                    Some(']') => {
                        cur.chars.next();
                        break;
                    }
                    Some(',') => {
                        cur.chars.next();
                        continue;
                    }
                    None => return Err(format!("the vector {name} is not closed with ']'")),
                    _ => {}
                }
                let key = cur.name()?;
                cur.expect('=')?;
                pairs.push((key, cur.value(true)?));
            }
            out.push(Attr::Vector(name, pairs));
        } else {
            out.push(Attr::Single(name.clone(), cur.value(false)?));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_then_parse_gives_the_attributes_back() {
        let attrs = vec![
            Attr::Single("CPU".into(), "2".into()),
            Attr::Single("SCHED_REQUIREMENTS".into(), "FREECPU > 10 & NAME=\"x\\y\"".into()),
            Attr::Vector("DISK".into(), vec![("IMAGE_ID".into(), "3".into()), ("SIZE".into(), "1024".into())]),
            Attr::Vector("DEVICE_INFO".into(), vec![]),
        ];
        assert_eq!(parse(&render(&attrs)).expect("parse"), attrs);
    }

    #[test]
    fn reads_oned_style_text_with_bare_values_and_comments() {
        let text =
            "# capacity\nCPU = 1\nmemory=512\nCONTEXT=[NETWORK=\"YES\",\n SSH_PUBLIC_KEY=\"$USER[SSH_PUBLIC_KEY]\"]\n";
        let attrs = parse(text).expect("parse");
        assert_eq!(attrs[0], Attr::Single("CPU".into(), "1".into()));
        assert_eq!(attrs[1], Attr::Single("MEMORY".into(), "512".into()));
        assert_eq!(attrs[2].name(), "CONTEXT");
        assert!(parse("CPU").is_err());
        assert!(parse("DISK=[SIZE=\"1\"").is_err());
    }
}
