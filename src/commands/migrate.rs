//! `tarn state migrate --to URL`: copies the current workspace (`--workspace`, `TARN_WORKSPACE`
//! or the selected one) of this stack's state into the same workspace elsewhere — lineage,
//! serial, every row (deposed objects too), outputs, run history and journal — to another
//! backend, then reads the copy back and compares it with the source before saying so.
//!
//! Both states are locked for the copy; the target must be empty (nothing is overwritten); the
//! source is left as it was. Rows are copied as stored, so sealed secrets stay sealed and no key
//! is needed. Never prints a password: locations are described redacted.

use std::sync::Arc;

use tarn_state::Backend;
use tarn_state::transfer::{StackDump, Transfer};

use crate::error::CliError;
use crate::location::{self, Location};
use crate::stack::{self, Lock};

pub async fn run(to: &str, lock_timeout: &str) -> Result<(), CliError> {
    let timeout = stack::parse_duration(lock_timeout)?;
    let from_loc = location::locate()?;
    let to_loc = Location::parse(to)?;
    if same_place(&from_loc, &to_loc) {
        return Err(CliError::Failed(format!(
            "the state is already at {}: give --to another PostgreSQL schema, database or SQLite file",
            to_loc.describe()
        )));
    }
    if !from_loc.may_exist() {
        return Err(CliError::Failed(format!(
            "there is no state at {} to migrate; nothing was written",
            from_loc.describe()
        )));
    }
    let workspace = stack::workspace()?;
    let source = from_loc.open(&workspace)?;
    let target = to_loc.open(&workspace)?;
    let source_lock = Lock::acquire(as_backend(&source), "tarn state migrate", timeout).await?;
    let target_lock = match Lock::acquire(as_backend(&target), "tarn state migrate", timeout).await {
        Ok(l) => l,
        Err(e) => {
            source_lock.release().await;
            return Err(e);
        }
    };
    let result = copy(source.as_ref(), target.as_ref(), &from_loc, &to_loc).await;
    target_lock.release().await;
    source_lock.release().await;
    let dump = result?;
    outln!(
        "Copied the state of workspace {} from {} to {}: {}; lineage {} and serial {} unchanged.",
        workspace,
        from_loc.describe(),
        to_loc.describe(),
        dump.summary(),
        dump.lineage,
        dump.serial
    );
    outln!(
        "The source was left as it was. Sensitive values were copied sealed: keep using the same state key. To use \
         the new state, set TARN_BACKEND_URL to the URL you gave, or name it in the configuration's \
         `tarn {{ backend \"...\" {{ ... }} }}` block."
    );
    Ok(())
}

async fn copy(
    source: &dyn Transfer,
    target: &dyn Transfer,
    from: &Location,
    to: &Location,
) -> Result<StackDump, CliError> {
    let dump = source.export().await?;
    if dump.lineage.is_empty() {
        return Err(CliError::Failed(format!(
            "there is no state at {} to migrate; nothing was written",
            from.describe()
        )));
    }
    target.import(&dump).await?;
    let copied = target.export().await?;
    if let Some(what) = difference(&dump, &copied) {
        return Err(CliError::Failed(format!(
            "the copy at {} differs from the source ({what}); this is a bug in tarn. The source is unchanged; empty the \
             target before trying again.",
            to.describe()
        )));
    }
    Ok(dump)
}

/// What differs between a dump and its copy, ignoring the journal sequence numbers the target
/// assigns itself.
fn difference(a: &StackDump, b: &StackDump) -> Option<&'static str> {
    if (&a.lineage, a.serial) != (&b.lineage, b.serial) {
        return Some("lineage or serial");
    }
    if a.resources != b.resources {
        return Some("resource rows");
    }
    if a.outputs != b.outputs {
        return Some("outputs");
    }
    if a.runs != b.runs {
        return Some("run history");
    }
    let strip = |d: &StackDump| {
        d.journal
            .iter()
            .map(|j| {
                (
                    j.record.at.clone(),
                    j.record.entry.run_id.clone(),
                    j.record.entry.address.clone(),
                    j.record.entry.detail.clone(),
                    j.record.closed,
                    j.close_note.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    (strip(a) != strip(b)).then_some("journal")
}

fn same_place(a: &Location, b: &Location) -> bool {
    match (a, b) {
        (Location::Sqlite(x), Location::Sqlite(y)) => {
            x == y || matches!((x.canonicalize(), y.canonicalize()), (Ok(p), Ok(q)) if p == q)
        }
        (Location::Postgres { .. }, Location::Postgres { .. }) => a.describe() == b.describe(),
        _ => false,
    }
}

fn as_backend(b: &Arc<dyn Transfer>) -> Arc<dyn Backend> {
    b.clone()
}
