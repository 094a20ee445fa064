//! Opening a connection: TLS per the URL, the driver's connection task spawned on tokio, the
//! schema brought up to date — and every way that can fail turned into one paragraph that says
//! what went wrong and how to fix it, with the password scrubbed. It must not read or write
//! state rows.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use super::target::{Target, TlsMode};
use super::{schema, tls};
use crate::StateError;

/// A new connection to `target`, its schema migrated (or a newer one refused).
pub async fn open(target: &Target) -> Result<Client, StateError> {
    let connector = tls::connector(target)?;
    let (mut client, connection) = target.config.connect(connector).await.map_err(|e| connect_error(target, &e))?;
    let backend = target.display.clone();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            // The next call on the client fails and says so; this only leaves a trace.
            tracing::debug!(%backend, "PostgreSQL connection ended: {e}");
        }
    });
    schema::migrate(&mut client, target).await?;
    Ok(client)
}

/// What went wrong while connecting, and the fix.
fn connect_error(target: &Target, e: &tokio_postgres::Error) -> StateError {
    let (server, user, db) = (target.server(), target.user(), target.database());
    let said = target.scrub(&with_causes(e));
    let msg = if let Some(db_err) = e.as_db_error() {
        let code = db_err.code();
        if *code == SqlState::INVALID_PASSWORD || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION {
            format!(
                "PostgreSQL at {server} refused the credentials of user {user:?} for the state ({said}). Check the user \
                 and password in the backend URL (TARN_BACKEND_URL or the `backend \"postgres\"` block; a URL without \
                 a password takes PGPASSWORD), and that pg_hba.conf lets this user connect to database {db:?} from here."
            )
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            format!(
                "the database {db:?} does not exist on the PostgreSQL server at {server}. Create it \
                 (`createdb -h HOST -p PORT -U {user} {db}`, or CREATE DATABASE \"{db}\"; as its owner) or fix the \
                 database name in the backend URL."
            )
        } else if *code == SqlState::TOO_MANY_CONNECTIONS || *code == SqlState::CANNOT_CONNECT_NOW {
            format!("the PostgreSQL server at {server} is not accepting connections now ({said}). Retry in a moment.")
        } else {
            format!("PostgreSQL at {server} refused the connection for the state ({said}).")
        }
    } else if said.contains("password missing") {
        format!(
            "PostgreSQL at {server} asks for a password for user {user:?} and none was given. Put it in the backend \
             URL (postgres://{user}:PASSWORD@...) or in PGPASSWORD."
        )
    } else if said.to_ascii_lowercase().contains("tls") || said.contains("certificate") {
        let hint = match target.tls {
            TlsMode::VerifyCa | TlsMode::VerifyFull => {
                "Check that sslrootcert names the CA that signed the server's certificate (and, for verify-full, \
                 that the host in the URL is a name in that certificate)"
            }
            _ => "Check that the server has TLS enabled (ssl = on), or use sslmode=disable on a trusted network",
        };
        format!("the TLS connection to the PostgreSQL server at {server} failed ({said}). {hint}.")
    } else {
        format!(
            "cannot reach the PostgreSQL server at {server} for the state ({said}). Check that the server is running \
             and reachable from this machine, and the host and port in the backend URL (TARN_BACKEND_URL or the \
             `backend \"postgres\"` block)."
        )
    };
    StateError::Storage(msg)
}

/// The error and its causes: "error connecting to server: Connection refused (os error 111)".
fn with_causes(e: &tokio_postgres::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        cause = c.source();
    }
    text
}

/// An error of a statement on an open connection: the operation, the backend and what the
/// server said; a lost connection says so.
pub fn query_error(target: &Target, op: &str, e: &tokio_postgres::Error) -> StateError {
    let said = target.scrub(&with_causes(e));
    if e.is_closed() {
        return StateError::Storage(format!(
            "{op} ({}): the connection to the PostgreSQL server was lost ({said}). Nothing after the last completed \
             step was recorded; run tarn again once the server is reachable.",
            target.display
        ));
    }
    if let Some(db) = e.as_db_error()
        && *db.code() == SqlState::INSUFFICIENT_PRIVILEGE
    {
        return StateError::Storage(format!(
            "{op} ({}): user {:?} lacks a privilege ({}). Grant it: GRANT USAGE, CREATE ON SCHEMA {} TO \"{}\"; and \
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO \"{}\"; GRANT USAGE ON ALL SEQUENCES \
             IN SCHEMA {} TO \"{}\";",
            target.display,
            target.user(),
            db.message(),
            target.quoted_schema(),
            target.user(),
            target.quoted_schema(),
            target.user(),
            target.quoted_schema(),
            target.user()
        ));
    }
    if let Some(db) = e.as_db_error()
        && db.code().code() == super::schema::LEASE_LOST
    {
        // The fence refused the write (the backend words the reason from the lock row).
        return StateError::LeaseLost(db.message().to_string());
    }
    let detail = e.as_db_error().map(|d| target.scrub(d.message())).unwrap_or(said);
    StateError::Storage(format!("{op} ({}): {detail}", target.display))
}
