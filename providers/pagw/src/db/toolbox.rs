//! The project's toolbox in Guacamole, as step 5 of `build_and_deploy.sh` makes it: under the
//! project's connection group, the child groups `Resources` and `Project Toolbox`, and in the
//! toolbox three SSH connections through guacd (`ARP Scan`, `Wireguard VPN`, `PPTP VPN`), each
//! with the parameters `hostname`, `port`, `private-key` and `username`.
//!
//! Runs inside the caller's transaction (the claim), and checks what exists (drift). Must not
//! commit.

use mysql_async::Transaction;
use mysql_async::prelude::Queryable;
use tarn_sdk::ProviderError;

use super::db_error;

pub const RESOURCES: &str = "Resources";
pub const TOOLBOX: &str = "Project Toolbox";
/// `(connection name, username)`: the forced-command users the image sets up.
pub const CONNECTIONS: [(&str, &str); 3] =
    [("ARP Scan", "arpscan"), ("Wireguard VPN", "wireguard"), ("PPTP VPN", "pptp")];
const PROXY_HOSTNAME: &str = "guacd";
const PROXY_PORT: i64 = 4822;

/// The id of the child group `name` of `parent`, created when missing.
async fn group(tx: &mut Transaction<'_>, parent: i64, name: &str) -> Result<i64, ProviderError> {
    let found: Option<i64> = tx
        .exec_first(
            "SELECT connection_group_id FROM guacamole_connection_group WHERE parent_id = ? AND connection_group_name = ?",
            (parent, name),
        )
        .await
        .map_err(|e| db_error("reading the toolbox groups", e))?;
    if let Some(id) = found {
        return Ok(id);
    }
    tx.exec_drop(
        "INSERT INTO guacamole_connection_group (parent_id, connection_group_name) VALUES (?, ?)",
        (parent, name),
    )
    .await
    .map_err(|e| db_error(&format!("creating the \"{name}\" group"), e))?;
    Ok(tx.last_insert_id().unwrap_or_default() as i64)
}

/// Makes the toolbox complete under the project group `project_group`: missing groups,
/// connections and parameters are added; parameters that differ are set to what they must be.
pub async fn ensure(
    tx: &mut Transaction<'_>,
    project_group: i64,
    address: &str,
    private_key: &str,
) -> Result<(), ProviderError> {
    group(tx, project_group, RESOURCES).await?;
    let toolbox = group(tx, project_group, TOOLBOX).await?;
    for (name, username) in CONNECTIONS {
        let found: Option<i64> = tx
            .exec_first(
                "SELECT connection_id FROM guacamole_connection WHERE parent_id = ? AND connection_name = ?",
                (toolbox, name),
            )
            .await
            .map_err(|e| db_error("reading the toolbox connections", e))?;
        let id = match found {
            Some(id) => id,
            None => {
                tx.exec_drop(
                    "INSERT INTO guacamole_connection (connection_name, parent_id, protocol, proxy_port, proxy_hostname) \
                     VALUES (?, ?, 'ssh', ?, ?)",
                    (name, toolbox, PROXY_PORT, PROXY_HOSTNAME),
                )
                .await
                .map_err(|e| db_error(&format!("creating the \"{name}\" connection"), e))?;
                tx.last_insert_id().unwrap_or_default() as i64
            }
        };
        for (param, value) in
            [("hostname", address), ("port", "22"), ("private-key", private_key), ("username", username)]
        {
            tx.exec_drop(
                "INSERT INTO guacamole_connection_parameter (connection_id, parameter_name, parameter_value) \
                 VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE parameter_value = VALUES(parameter_value)",
                (id, param, value),
            )
            .await
            .map_err(|e| db_error(&format!("setting \"{param}\" of the \"{name}\" connection"), e))?;
        }
    }
    Ok(())
}

/// What is missing or wrong in the toolbox of `project_group`, one phrase each (empty: intact).
pub async fn check<Q: Queryable>(
    conn: &mut Q,
    project_group: i64,
    address: &str,
) -> Result<Vec<String>, ProviderError> {
    let mut problems = Vec::new();
    let groups: Vec<(i64, String)> = conn
        .exec(
            "SELECT connection_group_id, connection_group_name FROM guacamole_connection_group WHERE parent_id = ?",
            (project_group,),
        )
        .await
        .map_err(|e| db_error("reading the toolbox groups", e))?;
    if !groups.iter().any(|(_, n)| n == RESOURCES) {
        problems.push(format!("the \"{RESOURCES}\" group is missing"));
    }
    let Some((toolbox, _)) = groups.iter().find(|(_, n)| n == TOOLBOX) else {
        problems.push(format!("the \"{TOOLBOX}\" group is missing"));
        return Ok(problems);
    };
    for (name, username) in CONNECTIONS {
        let params: Vec<(String, String)> = conn
            .exec(
                "SELECT p.parameter_name, p.parameter_value FROM guacamole_connection c \
                 JOIN guacamole_connection_parameter p ON p.connection_id = c.connection_id \
                 WHERE c.parent_id = ? AND c.connection_name = ?",
                (toolbox, name),
            )
            .await
            .map_err(|e| db_error("reading the toolbox connections", e))?;
        if params.is_empty() {
            problems.push(format!("the \"{name}\" connection is missing"));
            continue;
        }
        let get = |p: &str| params.iter().find(|(k, _)| k == p).map(|(_, v)| v.as_str());
        for (param, want) in [("hostname", Some(address)), ("port", Some("22")), ("username", Some(username))] {
            if get(param) != want {
                problems.push(format!(
                    "\"{name}\" has {param} {:?}, not {:?}",
                    get(param).unwrap_or("(none)"),
                    want.unwrap_or("")
                ));
            }
        }
        if get("private-key").is_none() {
            problems.push(format!("\"{name}\" has no private-key"));
        }
    }
    Ok(problems)
}

/// How many connections and groups the project's `Resources` group holds: what destroying the
/// project group would delete with it.
pub async fn resources_held<Q: Queryable>(conn: &mut Q, project_group: i64) -> Result<(i64, i64), ProviderError> {
    let row: Option<(i64, i64)> = conn
        .exec_first(
            "SELECT \
               (SELECT COUNT(*) FROM guacamole_connection c WHERE c.parent_id = r.connection_group_id), \
               (SELECT COUNT(*) FROM guacamole_connection_group g WHERE g.parent_id = r.connection_group_id) \
             FROM guacamole_connection_group r WHERE r.parent_id = ? AND r.connection_group_name = ?",
            (project_group, RESOURCES),
        )
        .await
        .map_err(|e| db_error("reading the project's resources", e))?;
    Ok(row.unwrap_or((0, 0)))
}
