//! Redaction: the wrapper that keeps credential header values out of `Debug` output and logs, and
//! the URL rewriter that masks sensitive query parameters before a URL is logged or put in an
//! error message.
//!
//! Owns the list of names treated as secret. Must not decide anything about retries or errors:
//! every other module calls in here before it prints a header or a URL.

use std::fmt;

use crate::secrets::Secrets;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};

/// What a masked value prints as.
pub use crate::secrets::REDACTED;

/// Query parameter names (compared case-insensitively, by substring) whose values are masked.
const SENSITIVE_QUERY: &[&str] =
    &["token", "key", "secret", "password", "passwd", "signature", "auth", "credential", "session"];

/// Header names whose values are credentials even when the caller did not mark them.
const SENSITIVE_HEADERS: &[&str] =
    &["authorization", "proxy-authorization", "x-auth-token", "x-auth-key", "x-subject-token", "cookie", "set-cookie"];

/// A header whose value is a credential. `Debug` shows the name only, and the value is marked
/// sensitive for hyper too (HTTP/2 then never indexes it in HPACK tables).
#[derive(Clone)]
pub struct SecretHeader {
    name: HeaderName,
    value: HeaderValue,
}

impl SecretHeader {
    pub fn new(name: HeaderName, mut value: HeaderValue) -> Self {
        value.set_sensitive(true);
        SecretHeader { name, value }
    }

    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The clear value, for the transport only.
    pub(crate) fn value(&self) -> &HeaderValue {
        &self.value
    }
}

impl fmt::Debug for SecretHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {REDACTED}", self.name)
    }
}

/// Whether a header of this name carries a credential whatever the caller said.
pub fn is_sensitive_header(name: &HeaderName) -> bool {
    SENSITIVE_HEADERS.contains(&name.as_str())
}

/// Whether a query parameter of this name carries a secret.
pub fn is_sensitive_query(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_QUERY.iter().any(|s| lower.contains(s))
}

/// The URL as it may be logged: user info dropped, sensitive query values masked.
pub fn redact_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Credentials embedded in the authority are never printable.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_sensitive_query(&k) { REDACTED.to_string() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

/// The URL as it may be logged under `secrets`: [`redact_url`]'s masking, and the secrets masked
/// in the query's values and names (compared decoded, as the URL encodes them) and anywhere else.
pub fn redact_url_with(secrets: &Secrets, url: &Url) -> String {
    if secrets.is_empty() {
        return redact_url(url);
    }
    let mut masked = url.clone();
    if url.query().is_some() {
        let pairs: Vec<(String, String)> =
            url.query_pairs().map(|(k, v)| (secrets.scrub(&k).into_owned(), secrets.scrub(&v).into_owned())).collect();
        masked.query_pairs_mut().clear().extend_pairs(pairs);
    }
    secrets.scrub(&redact_url(&masked)).into_owned()
}

/// The path of a URL, with no query at all: what error messages name.
pub fn path_only(url: &Url) -> String {
    url.path().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calls_secrets_are_masked_in_logged_urls() {
        let secrets = Secrets::from_strings(["s3cret-token".to_string()]);
        let url = Url::parse("https://api.example.com/v4/records?content=v%3D1+s3cret-token&page=2").unwrap();
        let shown = redact_url_with(&secrets, &url);
        assert!(!shown.contains("s3cret") && shown.contains("page=2"), "{shown}");
    }

    #[test]
    fn secret_header_debug_hides_value() {
        let h = SecretHeader::new(HeaderName::from_static("authorization"), HeaderValue::from_static("Bearer hunter2"));
        let shown = format!("{h:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("authorization"));
    }

    #[test]
    fn redact_url_masks_sensitive_query_and_userinfo() {
        let url =
            Url::parse("https://bob:pw@api.example.com/v2/x?page=2&access_token=abc&api_key=def").expect("static url");
        let shown = redact_url(&url);
        assert!(!shown.contains("abc") && !shown.contains("def") && !shown.contains("pw"), "{shown}");
        assert!(shown.contains("page=2"), "{shown}");
        assert_eq!(path_only(&url), "/v2/x");
    }

    #[test]
    fn known_credential_headers_are_sensitive() {
        assert!(is_sensitive_header(&HeaderName::from_static("x-auth-token")));
        assert!(!is_sensitive_header(&HeaderName::from_static("accept")));
    }
}
