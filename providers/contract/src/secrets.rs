//! The sensitive values a request carries, so that its log lines and errors never show them.
//!
//! A [`Secrets`] is built from the tarn values of a provider call (the planned object, the prior
//! state: every string or number under a `Sensitive` mark, which the engine sets from variables,
//! outputs and the schema's sensitive attributes). The engine puts it in the call's scope
//! (`crate::call::with_secrets`), and a provider may add more to a client it keeps
//! (`Client::redacting`, in the toolkit's HTTP client). The client replaces each of them, wherever it occurs
//! (a whole field, part of a longer string, an object key), in the request and response bodies
//! it logs at trace level, in the URL it logs, and in the vendor message of an error, since an
//! API often echoes what it was sent. Redaction works on the JSON values, before they are
//! printed, so escaping in the printed form cannot hide a secret from it.
//!
//! Must not decide anything about requests; it only rewrites what is shown.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::value::Value;

/// What every masked secret is shown as, in logs and messages alike.
pub const REDACTED: &str = "<redacted>";

/// A set of secret strings, longest first (so a secret containing another is masked whole).
/// `Debug` shows how many, never which.
#[derive(Clone, Default)]
pub struct Secrets(Arc<[String]>);

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} redacted)", self.0.len())
    }
}

impl Secrets {
    /// Every string and number under a sensitive mark in `values`.
    pub fn of<'v>(values: impl IntoIterator<Item = &'v Value>) -> Secrets {
        let mut found = Vec::new();
        // (value, under a mark): iterative, as values may nest deeply.
        let mut stack: Vec<(&Value, bool)> = values.into_iter().map(|v| (v, false)).collect();
        while let Some((v, marked)) = stack.pop() {
            match v {
                Value::Sensitive(inner) => stack.push((inner, true)),
                Value::List(items) | Value::Set(items) => stack.extend(items.iter().map(|i| (i, marked))),
                // Keys are not collected: under a mark they are mostly the attribute names of
                // a sensitive object, and masking those would garble every body.
                Value::Map(m) => stack.extend(m.values().map(|i| (i, marked))),
                Value::String(s) if marked && !s.is_empty() => found.push(s.clone()),
                Value::Number(n) if marked => found.push(n.to_text()),
                Value::Bool(_) | Value::Null | Value::Unknown | Value::Number(_) | Value::String(_) => {}
            }
        }
        Secrets::from_strings(found)
    }

    /// These strings (empty ones are ignored).
    pub fn from_strings(strings: impl IntoIterator<Item = String>) -> Secrets {
        let mut all: Vec<String> = strings.into_iter().filter(|s| !s.is_empty()).collect();
        all.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        all.dedup();
        Secrets(all.into())
    }

    /// Both sets.
    pub fn union(&self, other: &Secrets) -> Secrets {
        if other.is_empty() {
            return self.clone();
        }
        if self.is_empty() {
            return other.clone();
        }
        Secrets::from_strings(self.0.iter().chain(other.0.iter()).cloned())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `text` with every secret replaced by the redaction marker.
    pub fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(text);
        for secret in self.0.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), REDACTED));
            }
        }
        out
    }

    /// `body` with every secret replaced in its strings and object keys.
    pub fn scrub_json<'j>(&self, body: &'j Json) -> Cow<'j, Json> {
        if self.is_empty() {
            return Cow::Borrowed(body);
        }
        let mut copy = body.clone();
        let mut stack = vec![&mut copy];
        while let Some(j) = stack.pop() {
            match j {
                Json::String(s) => {
                    if let Cow::Owned(clean) = self.scrub(s) {
                        *s = clean;
                    }
                }
                Json::Number(n) => {
                    let text = n.to_string();
                    if self.0.contains(&text) {
                        *j = Json::String(REDACTED.into());
                    }
                }
                Json::Array(items) => stack.extend(items.iter_mut()),
                Json::Object(map) => {
                    if map.keys().any(|k| self.scrub(k) != k.as_str()) {
                        let entries = std::mem::take(map);
                        map.extend(entries.into_iter().map(|(k, v)| (self.scrub(&k).into_owned(), v)));
                    }
                    stack.extend(map.values_mut());
                }
                Json::Bool(_) | Json::Null => {}
            }
        }
        Cow::Owned(copy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_only_what_is_marked_and_masks_it_everywhere() {
        let planned = Value::map([
            ("name", Value::string("www")),
            ("content", Value::string("s3cret-token").sensitive()),
            ("nested", Value::map([("pin", Value::number(4711.0))]).sensitive()),
        ]);
        let secrets = Secrets::of([&planned]);
        assert_eq!(format!("{secrets:?}"), "Secrets(2 redacted)");
        let body = serde_json::json!({
            "name": "www",
            "content": "v=1 s3cret-token",
            "pin": 4711,
            "echo": [{"s3cret-token": "key"}],
        });
        let shown = secrets.scrub_json(&body).to_string();
        assert!(!shown.contains("s3cret-token") && !shown.contains("4711"), "{shown}");
        assert!(shown.contains("\"name\":\"www\"") && shown.contains(REDACTED), "{shown}");
        assert_eq!(secrets.scrub("GET /x?content=s3cret-token"), format!("GET /x?content={REDACTED}"));
    }

    #[test]
    fn a_secret_containing_another_is_masked_whole() {
        let secrets = Secrets::from_strings(["abc".to_string(), "abcdef".to_string(), String::new()]);
        assert_eq!(secrets.scrub("xabcdefx abc"), format!("x{REDACTED}x {REDACTED}"));
        assert!(Secrets::default().scrub_json(&serde_json::json!("abc")).as_str() == Some("abc"));
    }
}
