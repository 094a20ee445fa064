//! Where a PostgreSQL state lives: the connection URL taken apart into the driver's
//! configuration, the schema that holds the stack, and the TLS policy — plus the description
//! used in every message, which never contains the password.
//!
//! Accepted: `postgres://` or `postgresql://` URLs with libpq's parameters. tarn reads three
//! parameters itself and passes the rest to the driver: `schema` (default `tarn`), `sslmode`
//! (`disable`, `allow`, `prefer` (default), `require`, `verify-ca`, `verify-full`) and
//! `sslrootcert` (a PEM file, or `system`). A URL without a password takes `PGPASSWORD`; one
//! without a user takes `PGUSER`, then the OS user (as libpq does). It must not connect.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::StateError;

pub const DEFAULT_SCHEMA: &str = "tarn";

/// How TLS is negotiated and what is verified: libpq's `sslmode`, with libpq's meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, without verifying its certificate (`allow`, `prefer`).
    Prefer,
    /// TLS or nothing; the certificate is verified only when `sslrootcert` is given.
    Require,
    /// TLS; the certificate chain is verified, not the host name.
    VerifyCa,
    /// TLS; the chain and the host name are verified.
    VerifyFull,
}

/// Trust anchors for verified TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCerts {
    /// `sslrootcert=PATH`.
    File(PathBuf),
    /// `sslrootcert=system`, or nothing given: the operating system's store.
    System,
}

/// A parsed backend URL.
#[derive(Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub schema: String,
    pub tls: TlsMode,
    /// `None` when the URL names no `sslrootcert`.
    pub roots: Option<RootCerts>,
    /// `postgres://user@host:port/db (schema s)`: for messages; no password.
    pub display: String,
    /// The password, kept only to scrub it from driver messages.
    secret: Option<String>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display)
    }
}

/// Whether `text` names a PostgreSQL backend (as opposed to a SQLite path).
pub fn is_postgres_url(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("postgres://") || t.starts_with("postgresql://")
}

impl Target {
    /// Parses `url`; `schema` (from the configuration block) overrides the URL's `schema`.
    pub fn parse(url: &str, schema: Option<&str>) -> Result<Target, StateError> {
        let bad = |why: String| {
            StateError::Storage(format!(
                "the PostgreSQL backend URL {} is not valid: {why}. Write it as \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require&schema=NAME",
                redact_url(url)
            ))
        };
        if !is_postgres_url(url) {
            return Err(bad("it must start with postgres:// or postgresql://".into()));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let (mut url_schema, mut tls, mut roots) = (None, TlsMode::Prefer, None);
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let value =
                percent_decode(v).ok_or_else(|| bad(format!("the value of {k} is not valid percent-encoding")))?;
            match k {
                "schema" => url_schema = Some(value),
                "sslmode" => {
                    tls = match value.as_str() {
                        "disable" => TlsMode::Disable,
                        "allow" | "prefer" => TlsMode::Prefer,
                        "require" => TlsMode::Require,
                        "verify-ca" => TlsMode::VerifyCa,
                        "verify-full" => TlsMode::VerifyFull,
                        other => {
                            return Err(bad(format!(
                                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                            )));
                        }
                    }
                }
                "sslrootcert" if value == "system" => roots = Some(RootCerts::System),
                "sslrootcert" => roots = Some(RootCerts::File(PathBuf::from(value))),
                _ => rest.push(pair),
            }
        }
        let driver_url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
        let mut config = tokio_postgres::Config::from_str(&driver_url).map_err(|e| bad(e.to_string()))?;
        config.ssl_mode(match tls {
            TlsMode::Disable => tokio_postgres::config::SslMode::Disable,
            TlsMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER").or_else(|_| whoami::username()).unwrap_or_else(|_| "postgres".into());
            config.user(user);
        }
        if config.get_password().is_none()
            && let Ok(pw) = std::env::var("PGPASSWORD")
        {
            config.password(pw);
        }
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("tarn");
        }
        let schema = schema.map(str::to_string).or(url_schema).unwrap_or_else(|| DEFAULT_SCHEMA.to_string());
        if schema.is_empty() || schema.len() > 63 {
            return Err(bad(format!("the schema name {schema:?} must be 1 to 63 characters long")));
        }
        let secret = config.get_password().map(|p| String::from_utf8_lossy(p).into_owned()).filter(|p| p.len() >= 3);
        let display = format!("{} (schema {schema})", describe(&config));
        Ok(Target { config, schema, tls, roots, display, secret })
    }

    /// The schema, quoted as an SQL identifier.
    pub fn quoted_schema(&self) -> String {
        quote_ident(&self.schema)
    }

    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or("postgres")
    }

    pub fn database(&self) -> &str {
        self.config.get_dbname().unwrap_or_else(|| self.user())
    }

    /// `host:port` of the first host, for messages.
    pub fn server(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        format!("{host}:{port}")
    }

    /// Removes the password from a message that came from the driver or the server.
    pub fn scrub(&self, text: &str) -> String {
        match &self.secret {
            Some(pw) => text.replace(pw.as_str(), "***"),
            None => text.to_string(),
        }
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let user = config.get_user().unwrap_or("postgres");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) if h.contains(':') => format!("[{h}]"),
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or(user);
    format!("postgres://{user}@{host}:{port}/{db}")
}

/// `"name"`, with embedded quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The URL with any password (in the authority or a `password=` parameter) replaced by `***`,
/// for messages about a URL that could not be parsed.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let auth_start = scheme_end + 3;
        let auth_end = out[auth_start..].find(['/', '?']).map(|i| auth_start + i).unwrap_or(out.len());
        if let Some(at) = out[auth_start..auth_end].rfind('@').map(|i| auth_start + i)
            && let Some(colon) = out[auth_start..at].find(':').map(|i| auth_start + i)
        {
            out.replace_range(colon + 1..at, "***");
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k == "password" => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

/// Decodes a query value as libpq does: `%XX` escapes only (a `+` stays a `+`).
fn percent_decode(s: &str) -> Option<String> {
    if s.split('%').skip(1).any(|esc| esc.len() < 2 || !esc.as_bytes()[..2].iter().all(u8::is_ascii_hexdigit)) {
        return None;
    }
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|v| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_escapes_and_keeps_plus_signs_as_libpq_does() {
        let t =
            Target::parse("postgres://ops@db/infra?schema=web+app&sslrootcert=%2Fetc%2Fca+1.pem", None).expect("parse");
        assert_eq!(t.schema, "web+app");
        assert_eq!(t.roots, Some(RootCerts::File(PathBuf::from("/etc/ca+1.pem"))));
        for broken in ["schema=a%2", "schema=%zz", "schema=%"] {
            let Err(err) = Target::parse(&format!("postgres://ops@db/infra?{broken}"), None) else {
                panic!("{broken} was accepted")
            };
            assert!(err.to_string().contains("not valid percent-encoding"), "{broken}: {err}");
        }
    }

    #[test]
    fn parses_the_parts_tarn_reads_and_hides_the_password() {
        let t = Target::parse("postgres://ops:s3cr%21t@db.example:6432/infra?sslmode=verify-full&schema=web&sslrootcert=%2Fca.pem&connect_timeout=3", None)
            .expect("parse");
        assert_eq!(t.schema, "web");
        assert_eq!(t.tls, TlsMode::VerifyFull);
        assert_eq!(t.roots, Some(RootCerts::File(PathBuf::from("/ca.pem"))));
        assert_eq!(t.display, "postgres://ops@db.example:6432/infra (schema web)");
        assert_eq!(t.config.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(t.scrub("auth failed for s3cr!t"), "auth failed for ***");
        assert_eq!(Target::parse("postgresql://u@h/d", Some("other")).expect("parse").schema, "other");
        assert_eq!(Target::parse("postgresql://u@h/d", None).expect("parse").schema, DEFAULT_SCHEMA);
    }

    #[test]
    fn bad_urls_are_refused_without_their_password() {
        for url in
            ["postgres://u:hunter2@h/d?sslmode=maybe", "postgres://u:hunter2@h/d?nonsense=1", "mysql://u:hunter2@h/d"]
        {
            let err = Target::parse(url, None).expect_err(url).to_string();
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.contains("postgres://USER:PASSWORD@HOST"), "{err}");
        }
        assert_eq!(redact_url("postgres://u:pw@h:5/d?password=pw&x=1"), "postgres://u:***@h:5/d?password=***&x=1");
    }
}
