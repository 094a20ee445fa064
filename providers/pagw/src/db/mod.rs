//! The slot database: Giif's MariaDB (or MySQL) with its `pagw_*` tables and Guacamole's
//! connection tables. One connection pool per provider instance, over rustls when the URL asks
//! for TLS, never OpenSSL.
//!
//! Owns connecting and classifying database errors. The URL carries credentials: it must never
//! appear in a message or a log line. Submodules: `giif` (the schema), `env` (a slot's
//! `environment` text), `slots` (listing and loading), `claim` (claim and release transactions),
//! `toolbox` (the project's Guacamole groups and connections).

pub mod claim;
pub mod env;
pub mod giif;
pub mod slots;
pub mod toolbox;

use mysql_async::{Conn, Opts, Pool};
use tarn_sdk::ProviderError;

/// A pool on the slot database.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    /// A pool for `url` (`mysql://user:password@host:port/database`). Connects lazily.
    pub fn new(url: &str) -> Result<Db, ProviderError> {
        let opts = Opts::from_url(url).map_err(|_| {
            ProviderError::permanent(
                "the pagw provider's \"database_url\" is not a valid MySQL URL \
                 (mysql://USER:PASSWORD@HOST:PORT/DATABASE); the value is not shown because it holds credentials",
            )
        })?;
        Ok(Db { pool: Pool::new(opts) })
    }

    pub async fn conn(&self) -> Result<Conn, ProviderError> {
        self.pool.get_conn().await.map_err(|e| db_error("connecting to the slot database", e))
    }
}

/// MariaDB's lock wait time-out and deadlock codes: another apply holds the rows, try again.
const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
const ER_LOCK_DEADLOCK: u16 = 1213;
/// A unique key refused a row: someone else took the slot or the name meanwhile.
pub const ER_DUP_ENTRY: u16 = 1062;

/// A database failure while `doing`, classified. The message is the server's own (it never
/// holds the URL); I/O failures are transient, as are lock time-outs and deadlocks.
pub fn db_error(doing: &str, e: mysql_async::Error) -> ProviderError {
    match &e {
        mysql_async::Error::Server(s) if s.code == ER_LOCK_WAIT_TIMEOUT || s.code == ER_LOCK_DEADLOCK => {
            ProviderError::transient(format!("{doing}: {} (another apply holds these rows)", s.message))
        }
        mysql_async::Error::Server(s) if s.code == ER_DUP_ENTRY => {
            ProviderError::conflict(format!("{doing}: {}", s.message))
        }
        mysql_async::Error::Server(s) => ProviderError::permanent(format!("{doing}: {} (error {})", s.message, s.code)),
        mysql_async::Error::Io(io) => ProviderError::transient(format!("{doing}: {io}")),
        mysql_async::Error::Url(_) => ProviderError::permanent(format!(
            "{doing}: the database URL is not valid (the value is not shown because it holds credentials)"
        )),
        other => ProviderError::permanent(format!("{doing}: {other}")),
    }
}
