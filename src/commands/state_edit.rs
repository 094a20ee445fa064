//! `tarn state show`, `tarn state mv` and `tarn state rm`: reading one instance, renaming rows
//! and forgetting rows, without touching the real objects. Moves and removals are decided
//! under the lock and written as one atomic batch; a refusal writes nothing and records no run.

use super::state_run::Locked;
use super::state_select::{Selector, destinations, select};
use crate::cli::LockArgs;
use crate::error::CliError;
use crate::render::{self, Color};
use crate::stack;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use tarn_state::{ResourceRecord, StateBatch};

pub async fn show(address: &str, json_out: bool, color: Color) -> Result<(), CliError> {
    let selector = Selector::parse(address)?;
    let rows = if stack::state_exists() { stack::open_backend()?.snapshot().await?.resources } else { Vec::new() };
    let found = select(&rows, &selector)?;
    let [row] = found.as_slice() else {
        let list: Vec<&str> = found.iter().map(|r| r.address.as_str()).collect();
        return Err(CliError::Failed(format!(
            "{selector} means {} instances ({}); give one of them",
            list.len(),
            list.join(", ")
        )));
    };
    if json_out {
        outln!(
            "{}",
            json!({"format_version": render::json::FORMAT_VERSION, "resource": render::json::state_resource(row)})
        );
    } else {
        out!("{}", render::state_resource(row, color.stdout));
    }
    Ok(())
}

pub struct MoveArgs<'a> {
    pub source: &'a str,
    pub destination: &'a str,
    pub dry_run: bool,
    pub json: bool,
    pub lock: &'a LockArgs,
}

pub async fn mv(args: MoveArgs<'_>) -> Result<(), CliError> {
    let (src, dst) = (Selector::parse(args.source)?, Selector::parse(args.destination)?);
    let locked = Locked::open(&format!("tarn state mv {src} {dst}"), args.lock).await?;
    let result = mv_locked(&locked, &src, &dst, &args).await;
    locked.close().await;
    result
}

async fn mv_locked(locked: &Locked, src: &Selector, dst: &Selector, args: &MoveArgs<'_>) -> Result<(), CliError> {
    let snapshot = locked.layers.sealed.snapshot().await?;
    let rows = select(&snapshot.resources, src)?;
    let moves = destinations(&rows, src, dst)?;
    let renames: BTreeMap<&str, &str> = moves.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    for (from, to) in &moves {
        if snapshot.resources.iter().any(|r| &r.address == to) && !renames.contains_key(to.as_str()) {
            return Err(CliError::Failed(format!(
                "cannot move {from} to {to}: the state already records {to}. Nothing was changed. Remove or move \
                 that one first (`tarn state rm {to}`), or pick another destination."
            )));
        }
    }
    if !args.dry_run {
        let batch = move_batch(&snapshot.resources, &renames, src, dst);
        locked.record(json!({ "move": moves.len() }), locked.layers.sealed.apply_batch(batch)).await?;
    }
    if args.json {
        let moved: Vec<_> = moves.iter().map(|(from, to)| json!({"from": from, "to": to})).collect();
        outln!("{}", json!({"format_version": render::json::FORMAT_VERSION, "dry_run": args.dry_run, "moved": moved}));
    } else {
        let verb = if args.dry_run { "Would move" } else { "Moved" };
        for (from, to) in &moves {
            outln!("{verb} {from} to {to}");
        }
        if !args.dry_run {
            outln!("Moved {} instance(s). The real objects were not touched.", moves.len());
        }
    }
    Ok(())
}

/// The moved rows under their new addresses, and every other row whose recorded
/// dependencies name a moved address (so destroy order still holds), in one batch.
fn move_batch(rows: &[ResourceRecord], renames: &BTreeMap<&str, &str>, src: &Selector, dst: &Selector) -> StateBatch {
    let rename_dep = |dep: &str| -> Option<String> {
        if let Some(to) = renames.get(dep) {
            return Some(to.to_string());
        }
        match (src, dst) {
            (Selector::Resource(a), Selector::Resource(b)) if a.key.is_none() && dep == a.to_string() => {
                Some(b.block().to_string())
            }
            (Selector::Module(a), Selector::Module(b)) => {
                dep.strip_prefix(a.as_str()).filter(|r| r.starts_with('.')).map(|r| format!("{b}{r}"))
            }
            _ => None,
        }
    };
    let mut batch = StateBatch::default();
    for r in rows {
        let new_address = renames.get(r.address.as_str()).map(|s| s.to_string());
        let deps: Vec<String> = r.dependencies.iter().map(|d| rename_dep(d).unwrap_or_else(|| d.clone())).collect();
        if new_address.is_none() && deps == r.dependencies {
            continue;
        }
        if new_address.is_some() {
            batch.delete.push(r.address.clone());
        }
        batch.put.push(ResourceRecord {
            address: new_address.unwrap_or_else(|| r.address.clone()),
            dependencies: deps,
            ..r.clone()
        });
    }
    batch
}

pub async fn rm(addresses: &[String], dry_run: bool, json_out: bool, lock: &LockArgs) -> Result<(), CliError> {
    let selectors = addresses.iter().map(|a| Selector::parse(a)).collect::<Result<Vec<_>, _>>()?;
    let shown: Vec<String> = selectors.iter().map(ToString::to_string).collect();
    let locked = Locked::open(&format!("tarn state rm {}", shown.join(" ")), lock).await?;
    let result = rm_locked(&locked, &selectors, dry_run, json_out).await;
    locked.close().await;
    result
}

async fn rm_locked(locked: &Locked, selectors: &[Selector], dry_run: bool, json_out: bool) -> Result<(), CliError> {
    // The raw view: removing needs no key, and sealed values are not opened.
    let snapshot = locked.layers.raw.snapshot().await?;
    let mut removed = BTreeSet::new();
    for s in selectors {
        removed.extend(select(&snapshot.resources, s)?.into_iter().map(|r| r.address.clone()));
    }
    if !dry_run {
        let batch = StateBatch { delete: removed.iter().cloned().collect(), ..StateBatch::default() };
        locked.record(json!({ "remove": removed.len() }), locked.layers.raw.apply_batch(batch)).await?;
    }
    if json_out {
        outln!("{}", json!({"format_version": render::json::FORMAT_VERSION, "dry_run": dry_run, "removed": removed}));
    } else {
        let verb = if dry_run { "Would remove" } else { "Removed" };
        for a in &removed {
            outln!("{verb} {a}");
        }
        if !dry_run {
            outln!(
                "Removed {} instance(s) from the state. The real objects still exist: tarn no longer manages them.",
                removed.len()
            );
        }
    }
    Ok(())
}
