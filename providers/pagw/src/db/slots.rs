//! Slots: reading `pagw_slots` with each slot's state (free, claimed by a project, ignored, the
//! default project's), inserting the slots a definition describes, and removing unclaimed ones.
//!
//! A slot's `PAGW_ADDRESS` is its `ip` column, never part of `environment` (Giif synthesises
//! it the same way). Must not claim or release: that is `claim.rs`, in one transaction.

use indexmap::IndexMap;
use mysql_async::prelude::Queryable;
use tarn_sdk::ProviderError;

use super::{Db, db_error, env};

/// One row of `pagw_slots`, with the variables of its `environment` decoded.
#[derive(Debug, Clone)]
pub struct Slot {
    pub id: i64,
    pub ip: String,
    pub ignored: bool,
    pub env: IndexMap<String, String>,
}

impl Slot {
    pub fn from_row(id: i64, ip: String, ignored: i64, environment: &str) -> Result<Slot, ProviderError> {
        let env = env::decode(environment).map_err(|e| {
            ProviderError::permanent(format!("the environment of PAGW slot {id} ({ip}) cannot be read: {e}"))
        })?;
        Ok(Slot { id, ip, ignored: ignored != 0, env })
    }

    /// A variable of the slot; `PAGW_ADDRESS` is the slot's address.
    pub fn var(&self, name: &str) -> Option<&str> {
        if name == "PAGW_ADDRESS" {
            return Some(&self.ip);
        }
        self.env.get(name).map(String::as_str)
    }

    /// A variable the slot must have, or an error naming the slot.
    pub fn require(&self, name: &str) -> Result<&str, ProviderError> {
        self.var(name).ok_or_else(|| {
            ProviderError::permanent(format!("PAGW slot {} ({}) has no {name} in its environment", self.id, self.ip))
        })
    }
}

/// A slot with what holds it.
#[derive(Debug, Clone)]
pub struct SlotState {
    pub slot: Slot,
    /// The project (connection group name) whose `pagw_instances` row holds it.
    pub project: Option<String>,
    pub is_default: bool,
}

impl SlotState {
    /// `free`, `ignored`, `claimed` or `default`.
    pub fn state(&self) -> &'static str {
        match (&self.project, self.is_default, self.slot.ignored) {
            (_, true, _) => "default",
            (Some(_), false, _) => "claimed",
            (None, false, true) => "ignored",
            (None, false, false) => "free",
        }
    }
}

/// One row of the slot listing: the slot's columns, its project, its default-singleton id.
type ListRow = (i64, String, i64, String, Option<String>, Option<i64>);

/// A slot to insert: its address and variables.
pub type NewSlot = (String, IndexMap<String, String>);

pub const SELECT_SLOT: &str = "SELECT s.id, s.ip, s.ignored, s.environment FROM pagw_slots s";

/// Every slot, in id order, with its holder.
pub async fn list(db: &Db) -> Result<Vec<SlotState>, ProviderError> {
    let mut conn = db.conn().await?;
    let rows: Vec<ListRow> = conn
        .query(
            "SELECT s.id, s.ip, s.ignored, s.environment, g.connection_group_name, d.id \
             FROM pagw_slots s \
             LEFT JOIN pagw_instances i ON i.pagw_slots_id = s.id \
             LEFT JOIN guacamole_connection_group g ON g.connection_group_id = i.connection_group_id \
             LEFT JOIN pagw_default_slot d ON d.id = s.id \
             ORDER BY s.id",
        )
        .await
        .map_err(|e| db_error("listing PAGW slots", e))?;
    rows.into_iter()
        .map(|(id, ip, ignored, environment, project, default)| {
            Ok(SlotState {
                slot: Slot::from_row(id, ip, ignored, &environment)?,
                project,
                is_default: default.is_some(),
            })
        })
        .collect()
}

/// How many slots a new, non-default project could claim now.
pub async fn free_count(db: &Db) -> Result<usize, ProviderError> {
    Ok(list(db).await?.iter().filter(|s| s.state() == "free").count())
}

/// Inserts one slot per `(ip, environment)` in one transaction; returns their ids in order.
pub async fn insert(db: &Db, slots: &[NewSlot], ignored: bool) -> Result<Vec<i64>, ProviderError> {
    let mut conn = db.conn().await?;
    let mut tx = conn
        .start_transaction(mysql_async::TxOpts::default())
        .await
        .map_err(|e| db_error("starting the slot transaction", e))?;
    let mut ids = Vec::new();
    for (ip, vars) in slots {
        tx.exec_drop(
            "INSERT INTO pagw_slots (ip, ignored, environment) VALUES (?, ?, ?)",
            (ip, ignored, env::encode(vars)),
        )
        .await
        .map_err(|e| db_error(&format!("inserting the PAGW slot for {ip}"), e))?;
        let id = tx.last_insert_id().ok_or_else(|| ProviderError::permanent("MariaDB returned no slot id"))?;
        ids.push(id as i64);
    }
    tx.commit().await.map_err(|e| db_error("committing the new slots", e))?;
    Ok(ids)
}

/// Deletes the slots `ids` in one transaction, refusing (and deleting none) when a project or
/// the default singleton still holds one of them.
pub async fn remove(db: &Db, ids: &[i64]) -> Result<(), ProviderError> {
    let mut conn = db.conn().await?;
    let mut tx = conn
        .start_transaction(mysql_async::TxOpts::default())
        .await
        .map_err(|e| db_error("starting the slot transaction", e))?;
    for id in ids {
        let held: Option<(String, String)> = tx
            .exec_first(
                "SELECT s.ip, COALESCE(g.connection_group_name, 'the default project') FROM pagw_slots s \
                 LEFT JOIN pagw_instances i ON i.pagw_slots_id = s.id \
                 LEFT JOIN guacamole_connection_group g ON g.connection_group_id = i.connection_group_id \
                 LEFT JOIN pagw_default_slot d ON d.id = s.id \
                 WHERE s.id = ? AND (i.pagw_slots_id IS NOT NULL OR d.id IS NOT NULL) FOR UPDATE",
                (id,),
            )
            .await
            .map_err(|e| db_error("checking a slot before removing it", e))?;
        if let Some((ip, project)) = held {
            return Err(ProviderError::conflict(format!(
                "PAGW slot {id} ({ip}) is held by {project}; destroy that gateway first, then its slot"
            )));
        }
        tx.exec_drop("DELETE FROM pagw_slots WHERE id = ?", (id,))
            .await
            .map_err(|e| db_error(&format!("deleting PAGW slot {id}"), e))?;
    }
    tx.commit().await.map_err(|e| db_error("committing the slot removal", e))
}

/// The slots among `ids` that still exist, as `(id, ip)`.
pub async fn existing(db: &Db, ids: &[i64]) -> Result<Vec<(i64, String)>, ProviderError> {
    let mut conn = db.conn().await?;
    let mut found = Vec::new();
    for id in ids {
        let row: Option<(i64, String)> = conn
            .exec_first("SELECT id, ip FROM pagw_slots WHERE id = ?", (id,))
            .await
            .map_err(|e| db_error("reading PAGW slots", e))?;
        found.extend(row);
    }
    Ok(found)
}
