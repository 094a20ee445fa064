//! Where this stack's state lives, and opening it: `TARN_BACKEND_URL` if set, else the
//! `tarn { backend "..." { ... } }` block of the configuration, else `.tarn/state.db`.
//!
//! `backend "sqlite" { path = "..." }` and `backend "postgres" { url = "..." schema = "..." }`.
//! With `TARN_BACKEND_URL` set, its URL replaces the block's (so credentials can stay out of
//! files); a postgres block's `schema` still applies unless the URL names `schema=`. Nothing
//! here prints a password: every description of a PostgreSQL location is redacted.

use std::path::PathBuf;
use std::sync::Arc;

use tarn_core::{Diagnostic, Diagnostics};
use tarn_state::postgres::is_postgres_url;
use tarn_state::transfer::Transfer;
use tarn_state::{PgBackend, SqliteBackend, StateError};

use crate::error::CliError;

pub const URL_ENV: &str = "TARN_BACKEND_URL";

/// A state location, not yet opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres { url: String, schema: Option<String> },
}

impl Location {
    /// Parses a location as the user writes it: `postgres://...` / `postgresql://...`, or a
    /// SQLite file as `sqlite://PATH`, `sqlite:PATH` or a plain path.
    pub fn parse(text: &str) -> Result<Location, CliError> {
        let text = text.trim();
        if is_postgres_url(text) {
            tarn_state::postgres::Target::parse(text, None)?;
            return Ok(Location::Postgres { url: text.to_string(), schema: None });
        }
        let path = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")).unwrap_or(text);
        if path.is_empty() || path.contains("://") {
            return Err(CliError::Failed(format!(
                "{:?} is not a state location: give a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DATABASE) \
                 or a SQLite file path (sqlite://PATH or PATH).",
                tarn_state::postgres::target::redact_url(text)
            )));
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }

    /// For messages: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => format!("sqlite {}", p.display()),
            Location::Postgres { url, schema } => match tarn_state::postgres::Target::parse(url, schema.as_deref()) {
                Ok(t) => t.display,
                Err(_) => tarn_state::postgres::target::redact_url(url),
            },
        }
    }

    /// Whether a state may exist here (commands that only read must not create a SQLite file;
    /// a database is asked instead).
    pub fn may_exist(&self) -> bool {
        match self {
            // A record of the last verified state without its file is a state that went
            // missing: opening it says so (`verified::check`) rather than starting afresh.
            Location::Sqlite(p) => p.exists() || tarn_state::sqlite::verified::record_path(p).exists(),
            Location::Postgres { .. } => true,
        }
    }

    /// Opens one workspace of the backend as stored (sensitive values stay sealed): for copying
    /// and wrapping.
    pub fn open(&self, workspace: &str) -> Result<Arc<dyn Transfer>, CliError> {
        match self {
            Location::Sqlite(path) => {
                Ok(Arc::new(SqliteBackend::open_workspace(path, workspace).map_err(|e| match e {
                    StateError::Damaged(message) => CliError::Failed(message),
                    e => CliError::Failed(format!("cannot open the state at {}: {e}", path.display())),
                })?))
            }
            Location::Postgres { url, schema } => {
                // This machine's marks catch a shared state that went back in time.
                let marks = tarn_state::postgres::marks::marks_path(std::path::Path::new(crate::stack::STATE_DIR));
                Ok(Arc::new(PgBackend::open_workspace(url, schema.as_deref(), workspace)?.remembering_serials(marks)))
            }
        }
    }
}

/// This stack's state location (see the module header for the order).
pub fn locate() -> Result<Location, CliError> {
    let block = configured()?;
    if let Ok(url) = std::env::var(URL_ENV)
        && !url.trim().is_empty()
    {
        let mut location = Location::parse(&url).map_err(|e| CliError::Failed(format!("{URL_ENV}: {e}")))?;
        if let (Location::Postgres { schema, url }, Some(Location::Postgres { schema: configured, .. })) =
            (&mut location, &block)
            && !url.contains("schema=")
        {
            *schema = configured.clone();
        }
        return Ok(location);
    }
    Ok(block.unwrap_or_else(|| Location::Sqlite(crate::stack::state_path())))
}

/// The location the configuration's `backend` block names, if any.
fn configured() -> Result<Option<Location>, CliError> {
    let (config, diags) = tarn_core::load::load(std::path::Path::new("."));
    let Some(config) = config else {
        return Err(CliError::Diagnostics { diags, sources: Box::default() });
    };
    let Some(block) = &config.root.module.settings.backend else { return Ok(None) };
    let mut problems = Diagnostics::default();
    let allowed: &[&str] = match block.kind.as_str() {
        "sqlite" => &["path"],
        "postgres" => &["url", "schema"],
        other => {
            problems.push(
                Diagnostic::error(
                    "Unknown backend",
                    format!("There is no backend {other:?}. tarn stores state in \"sqlite\" (a file) or \"postgres\"."),
                )
                .at(block.span),
            );
            &[]
        }
    };
    for (name, attr) in &block.body.attributes {
        if !allowed.contains(&name.as_str()) && !allowed.is_empty() {
            problems.push(
                Diagnostic::error(
                    "Unsupported argument",
                    format!("The {} backend takes {}; `{name}` is not one of them.", block.kind, allowed.join(" and ")),
                )
                .at(attr.name_span),
            );
        }
    }
    let location = match block.kind.as_str() {
        "sqlite" => text(block, "path", &mut problems)
            .map(PathBuf::from)
            .map(Location::Sqlite)
            .or(Some(Location::Sqlite(crate::stack::state_path()))),
        "postgres" => {
            let schema = text(block, "schema", &mut problems);
            match text(block, "url", &mut problems) {
                Some(url) if !is_postgres_url(&url) => {
                    let span = block.body.attributes.get("url").map(|a| a.value.span).unwrap_or(block.span);
                    problems.push(
                        Diagnostic::error(
                            "Invalid backend URL",
                            "The url must start with postgres:// or postgresql://.",
                        )
                        .at(span),
                    );
                    None
                }
                Some(url) => Some(Location::Postgres { url, schema }),
                None if std::env::var(URL_ENV).is_ok_and(|u| !u.trim().is_empty()) => {
                    Some(Location::Postgres { url: String::new(), schema })
                }
                None => {
                    problems.push(
                        Diagnostic::error(
                            "Missing backend URL",
                            format!("The postgres backend needs `url = \"postgres://...\"`, or the URL in {URL_ENV} (which keeps the password out of files)."),
                        )
                        .at(block.span),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    if problems.has_errors() {
        return Err(CliError::Diagnostics { diags: problems, sources: Box::new(config.sources.clone()) });
    }
    Ok(location)
}

/// A backend argument's value: a quoted string literal, or a diagnostic.
fn text(block: &tarn_core::config::Backend, name: &str, problems: &mut Diagnostics) -> Option<String> {
    let attr = block.body.attributes.get(name)?;
    match &attr.value.expr {
        hcl::edit::expr::Expression::String(s) => Some(s.value().to_string()),
        _ => {
            problems.push(
                Diagnostic::error(
                    "Invalid backend argument",
                    format!("The backend's `{name}` must be a quoted string."),
                )
                .at(attr.value.span),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_as_written() {
        assert_eq!(Location::parse("sqlite://a/b.db").unwrap(), Location::Sqlite("a/b.db".into()));
        assert_eq!(Location::parse("sqlite:x.db").unwrap(), Location::Sqlite("x.db".into()));
        assert_eq!(Location::parse("/tmp/s.db").unwrap(), Location::Sqlite("/tmp/s.db".into()));
        assert!(matches!(Location::parse("postgres://u:pw@h/d").unwrap(), Location::Postgres { .. }));
        let err = Location::parse("mysql://u:hunter2@h/d").unwrap_err().to_string();
        assert!(!err.contains("hunter2") && err.contains("not a state location"), "{err}");
        let pg = Location::parse("postgresql://u:hunter2@h:5433/d?schema=web").unwrap();
        assert_eq!(pg.describe(), "postgres://u@h:5433/d (schema web)");
    }
}
