//! The Giif schema the provider works on: the three PAGW tables of
//! `database/30-pagw-schema.sh` and the subset of Apache Guacamole's MariaDB tables the Giif
//! scripts touch (connection groups, connections and their parameters), column for column.
//!
//! Operators already have this schema; [`create`] exists for tests and fresh installs (it is
//! idempotent). Must not hold any slot logic.

use mysql_async::prelude::Queryable;

use super::{Db, db_error};
use tarn_sdk::ProviderError;

/// Guacamole's tables (the columns of its `001-create-schema.sql` the scripts use, with the
/// same keys and cascades), then Giif's `pagw_*` tables with their RESTRICT foreign keys.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS guacamole_connection_group (
        connection_group_id INT NOT NULL AUTO_INCREMENT,
        parent_id INT,
        connection_group_name VARCHAR(128) NOT NULL,
        type ENUM('ORGANIZATIONAL','BALANCING') NOT NULL DEFAULT 'ORGANIZATIONAL',
        max_connections INT,
        max_connections_per_user INT,
        enable_session_affinity BOOLEAN NOT NULL DEFAULT 0,
        PRIMARY KEY (connection_group_id),
        UNIQUE KEY connection_group_name_parent (connection_group_name, parent_id),
        CONSTRAINT guacamole_connection_group_ibfk_1 FOREIGN KEY (parent_id)
          REFERENCES guacamole_connection_group (connection_group_id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS guacamole_connection (
        connection_id INT NOT NULL AUTO_INCREMENT,
        connection_name VARCHAR(128) NOT NULL,
        parent_id INT,
        protocol VARCHAR(32) NOT NULL,
        proxy_port INT,
        proxy_hostname VARCHAR(512),
        proxy_encryption_method ENUM('NONE','SSL'),
        max_connections INT,
        max_connections_per_user INT,
        connection_weight INT,
        failover_only BOOLEAN NOT NULL DEFAULT 0,
        PRIMARY KEY (connection_id),
        UNIQUE KEY connection_name_parent (connection_name, parent_id),
        CONSTRAINT guacamole_connection_ibfk_1 FOREIGN KEY (parent_id)
          REFERENCES guacamole_connection_group (connection_group_id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS guacamole_connection_parameter (
        connection_id INT NOT NULL,
        parameter_name VARCHAR(128) NOT NULL,
        parameter_value VARCHAR(4096) NOT NULL,
        PRIMARY KEY (connection_id, parameter_name),
        CONSTRAINT guacamole_connection_parameter_ibfk_1 FOREIGN KEY (connection_id)
          REFERENCES guacamole_connection (connection_id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS pagw_slots (
        id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
        ip VARCHAR(15) NOT NULL COMMENT 'Public IPv4 address',
        ignored BOOLEAN NOT NULL DEFAULT FALSE COMMENT 'Can be used as a filter for manual scheduling policies',
        environment VARCHAR(5000) NOT NULL COMMENT 'A list of VAR=VAL settings used for build_and_deploy.sh'
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS pagw_instances (
        pagw_slots_id INT UNIQUE NOT NULL,
        connection_group_id INT UNIQUE NOT NULL,
        PRIMARY KEY (pagw_slots_id, connection_group_id),
        FOREIGN KEY (pagw_slots_id) REFERENCES pagw_slots (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
        FOREIGN KEY (connection_group_id) REFERENCES guacamole_connection_group (connection_group_id)
          ON DELETE RESTRICT ON UPDATE RESTRICT
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS pagw_default_slot (
        id INT PRIMARY KEY REFERENCES pagw_slots (id) ON DELETE RESTRICT ON UPDATE RESTRICT,
        dummy_column ENUM('This_table_is_a_singleton') NOT NULL DEFAULT 'This_table_is_a_singleton',
        UNIQUE INDEX force_singleton (dummy_column)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
];

/// Creates the schema when missing, and the roof connection group (a top-level group named
/// `roof`) when there is none, as `30-pagw-schema.sh` does.
pub async fn create(db: &Db, roof: &str) -> Result<(), ProviderError> {
    let mut conn = db.conn().await?;
    for statement in SCHEMA {
        conn.query_drop(*statement).await.map_err(|e| db_error("creating the Giif schema", e))?;
    }
    let existing: Option<i64> = conn
        .exec_first(
            "SELECT connection_group_id FROM guacamole_connection_group \
             WHERE connection_group_name = ? AND parent_id IS NULL",
            (roof,),
        )
        .await
        .map_err(|e| db_error("looking up the roof connection group", e))?;
    if existing.is_none() {
        conn.exec_drop("INSERT INTO guacamole_connection_group (connection_group_name) VALUES (?)", (roof,))
            .await
            .map_err(|e| db_error("creating the roof connection group", e))?;
    }
    Ok(())
}
