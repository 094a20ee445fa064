//! Claiming and releasing a slot, each in ONE transaction that is safe against concurrent applies
//! from other machines: it first locks the roof connection group's row (`SELECT … FOR UPDATE`),
//! which serialises every claim and release on the database itself rather than on a local
//! `flock`, and runs at READ COMMITTED so each statement sees what the previous holder committed.
//! The unique keys of `pagw_instances` stay the last line of defence.
//!
//! A claim makes, or for the default project keeps: the slot's `pagw_instances` row, the
//! project's connection group under the roof, `pagw_default_slot` for `default = true`, and the
//! toolbox (`toolbox.rs`). A release deletes them (the groups' children cascade). Must not
//! touch a host.

use mysql_async::prelude::Queryable;
use mysql_async::{IsolationLevel, Transaction, TxOpts};
use tarn_sdk::ProviderError;

use super::slots::{SELECT_SLOT, Slot};
use super::{Db, db_error, toolbox};

/// What a claim holds.
#[derive(Debug, Clone)]
pub struct Claim {
    pub slot: Slot,
    pub group_id: i64,
    /// The rows existed before this claim (the default project's, made by Giif's
    /// `prepare_default` or an earlier apply): a rollback must keep them.
    pub kept: bool,
}

/// A project's gateway records as found in the database.
#[derive(Debug, Clone)]
pub struct Found {
    pub slot: Slot,
    pub group_id: i64,
    pub is_default: bool,
}

async fn begin(conn: &mut mysql_async::Conn) -> Result<Transaction<'_>, ProviderError> {
    let mut opts = TxOpts::default();
    opts.with_isolation_level(IsolationLevel::ReadCommitted);
    conn.start_transaction(opts).await.map_err(|e| db_error("starting the slot transaction", e))
}

/// Locks the roof group's row and returns its id.
async fn lock_roof(tx: &mut Transaction<'_>, roof: &str) -> Result<i64, ProviderError> {
    let id: Option<i64> = tx
        .exec_first(
            "SELECT connection_group_id FROM guacamole_connection_group \
             WHERE connection_group_name = ? AND parent_id IS NULL FOR UPDATE",
            (roof,),
        )
        .await
        .map_err(|e| db_error("locking the roof connection group", e))?;
    id.ok_or_else(|| {
        ProviderError::permanent(format!(
            "the roof connection group \"{roof}\" does not exist in the slot database (Giif's PROJECT_CONNECTION_GROUP)"
        ))
    })
}

async fn project_group<Q: Queryable>(q: &mut Q, roof_id: i64, project: &str) -> Result<Option<i64>, ProviderError> {
    q.exec_first(
        "SELECT connection_group_id FROM guacamole_connection_group WHERE parent_id = ? AND connection_group_name = ?",
        (roof_id, project),
    )
    .await
    .map_err(|e| db_error("looking up the project's connection group", e))
}

async fn slot_by_id<Q: Queryable>(q: &mut Q, id: i64) -> Result<Slot, ProviderError> {
    let row: Option<(i64, String, i64, String)> = q
        .exec_first(format!("{SELECT_SLOT} WHERE s.id = ?"), (id,))
        .await
        .map_err(|e| db_error("reading the slot", e))?;
    let (id, ip, ignored, environment) =
        row.ok_or_else(|| ProviderError::not_found(format!("PAGW slot {id} no longer exists")))?;
    Slot::from_row(id, ip, ignored, &environment)
}

/// Claims a slot for `project` (a free one, or the default singleton's when `default`) and
/// makes its records and toolbox, all in one transaction.
pub async fn claim(db: &Db, roof: &str, project: &str, default: bool) -> Result<Claim, ProviderError> {
    let mut conn = db.conn().await?;
    let mut tx = begin(&mut conn).await?;
    let roof_id = lock_roof(&mut tx, roof).await?;
    let existing_group = project_group(&mut tx, roof_id, project).await?;
    let mut kept = false;
    let slot_id = if default {
        let current: Option<i64> = tx
            .exec_first("SELECT id FROM pagw_default_slot FOR UPDATE", ())
            .await
            .map_err(|e| db_error("reading pagw_default_slot", e))?;
        match current {
            Some(id) => {
                let holder: Option<i64> = tx
                    .exec_first("SELECT connection_group_id FROM pagw_instances WHERE pagw_slots_id = ?", (id,))
                    .await
                    .map_err(|e| db_error("reading the default slot's instance", e))?;
                match (holder, existing_group) {
                    (Some(h), Some(g)) if h == g => kept = true,
                    (Some(_), _) => {
                        return Err(ProviderError::conflict(format!(
                            "the default PAGW slot {id} is held by another project than \"{project}\"; \
                             pagw_default_slot names the default project's slot"
                        )));
                    }
                    (None, _) => {}
                }
                id
            }
            None => {
                let id = first_free(&mut tx).await?;
                tx.exec_drop("INSERT INTO pagw_default_slot (id) VALUES (?)", (id,))
                    .await
                    .map_err(|e| db_error("setting pagw_default_slot", e))?;
                id
            }
        }
    } else {
        first_free(&mut tx).await?
    };
    if existing_group.is_some() && !kept {
        return Err(ProviderError::conflict(format!(
            "the project \"{project}\" already has a connection group under \"{roof}\"; \
             import its gateway (`tarn import <address> {project}`) or choose another name"
        )));
    }
    let group_id = match existing_group {
        Some(g) => g,
        None => {
            tx.exec_drop(
                "INSERT INTO guacamole_connection_group (parent_id, connection_group_name) VALUES (?, ?)",
                (roof_id, project),
            )
            .await
            .map_err(|e| db_error("creating the project's connection group", e))?;
            let g = tx.last_insert_id().unwrap_or_default() as i64;
            tx.exec_drop("INSERT INTO pagw_instances (pagw_slots_id, connection_group_id) VALUES (?, ?)", (slot_id, g))
                .await
                .map_err(|e| db_error("recording the slot in pagw_instances", e))?;
            g
        }
    };
    let slot = slot_by_id(&mut tx, slot_id).await?;
    let key = slot.var("PAGW_SSH_PRIVKEY").unwrap_or_default().to_string();
    toolbox::ensure(&mut tx, group_id, &slot.ip, &key).await?;
    tx.commit().await.map_err(|e| db_error("committing the slot claim", e))?;
    Ok(Claim { slot, group_id, kept })
}

/// The first free slot (not ignored, not held, not the default singleton's), locked.
async fn first_free(tx: &mut Transaction<'_>) -> Result<i64, ProviderError> {
    let id: Option<i64> = tx
        .exec_first(
            "SELECT id FROM pagw_slots WHERE ignored = 0 \
             AND id NOT IN (SELECT pagw_slots_id FROM pagw_instances) \
             AND id NOT IN (SELECT id FROM pagw_default_slot) \
             ORDER BY id LIMIT 1 FOR UPDATE",
            (),
        )
        .await
        .map_err(|e| db_error("looking for a free PAGW slot", e))?;
    id.ok_or_else(|| {
        ProviderError::permanent(
            "no free PAGW slot: every slot with ignored = 0 is held by a project (load more with pagw_slot_range)",
        )
    })
}

/// The records of `project` under the roof, if any.
pub async fn find(db: &Db, roof: &str, project: &str) -> Result<Option<Found>, ProviderError> {
    let mut conn = db.conn().await?;
    let row: Option<(i64, i64, Option<i64>)> = conn
        .exec_first(
            "SELECT g.connection_group_id, i.pagw_slots_id, d.id FROM guacamole_connection_group g \
             JOIN guacamole_connection_group r ON r.connection_group_id = g.parent_id \
             JOIN pagw_instances i ON i.connection_group_id = g.connection_group_id \
             LEFT JOIN pagw_default_slot d ON d.id = i.pagw_slots_id \
             WHERE r.connection_group_name = ? AND r.parent_id IS NULL AND g.connection_group_name = ?",
            (roof, project),
        )
        .await
        .map_err(|e| db_error("looking up the project's gateway records", e))?;
    let Some((group_id, slot_id, default)) = row else { return Ok(None) };
    let slot = slot_by_id(&mut conn, slot_id).await?;
    Ok(Some(Found { slot, group_id, is_default: default.is_some() }))
}

/// What a release must delete.
#[derive(Debug, Clone, Copy)]
pub struct Release<'a> {
    pub roof: &'a str,
    pub project: &'a str,
    pub slot_id: i64,
    pub default: bool,
}

/// Deletes the project's `pagw_instances` row, its connection group (toolbox and resources
/// cascade) and, for the default project, `pagw_default_slot`, in one transaction. Records
/// already gone are not an error.
pub async fn release(db: &Db, r: Release<'_>) -> Result<(), ProviderError> {
    let mut conn = db.conn().await?;
    let mut tx = begin(&mut conn).await?;
    let roof_id = lock_roof(&mut tx, r.roof).await?;
    if let Some(g) = project_group(&mut tx, roof_id, r.project).await? {
        tx.exec_drop("DELETE FROM pagw_instances WHERE connection_group_id = ?", (g,))
            .await
            .map_err(|e| db_error("deleting the pagw_instances row", e))?;
        tx.exec_drop("DELETE FROM guacamole_connection_group WHERE connection_group_id = ?", (g,))
            .await
            .map_err(|e| db_error("deleting the project's connection group", e))?;
    }
    if r.default {
        tx.exec_drop("DELETE FROM pagw_default_slot WHERE id = ?", (r.slot_id,))
            .await
            .map_err(|e| db_error("clearing pagw_default_slot", e))?;
    }
    tx.commit().await.map_err(|e| db_error("committing the slot release", e))
}
