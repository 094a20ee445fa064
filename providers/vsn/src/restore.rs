//! Restore: a container a rollback brings back after this run deleted it (the old half of a
//! delete-then-create replacement, tarn's default order). Its whole definition is in its
//! recorded state and its data in its data directory, so it is created again from the state,
//! as it was, while its image is still on the VSN (or its `image_archive` on this machine).
//!
//! When it cannot come back (its image is gone, or its host container could not be restored),
//! nothing is created: the VSN stays without it, its data directory untouched, and the error
//! says so — the seed's "rolled back to a containerless state, while all persistent data is
//! preserved". It never migrates data (`migrate_from` matters only at the first creation).
//!
//! A restored host carries `tarn.vsn.restored-from=<old ID>`: REST containers restored after it
//! join the network of the host that took the place of the one their state names.

use std::collections::BTreeMap;

use tarn_sdk::{ProviderError, Value};

use crate::attrs::{self, opt_str};
use crate::engine::{self, LABEL_RESTORED_FROM};
use crate::kinds::{Kind, name_of};
use crate::lifecycle::{self, inspect};
use crate::node::Node;

/// Whether `image` is in the engine's local store.
async fn image_present(node: &Node, image: &str) -> Result<bool, ProviderError> {
    let out = node.engine(&engine::args(&["image", "inspect", "--format", "{{.Id}}", image])).await?;
    Ok(out.success())
}

/// The container now standing for host container `id`: itself, or the one restored in its place.
async fn current_host(node: &Node, id: &str) -> Result<Option<String>, ProviderError> {
    if let Some(seen) = inspect(node, id).await? {
        return Ok(Some(seen.id));
    }
    let out = node.engine_checked(&engine::find_by_label_args(LABEL_RESTORED_FROM, id)).await?;
    match out.stdout.lines().map(str::trim).find(|n| !n.is_empty()) {
        Some(name) => Ok(inspect(node, name).await?.map(|seen| seen.id)),
        None => Ok(None),
    }
}

pub async fn restore(node: &Node, kind: Kind, state: Value, correlation: &str) -> Result<Value, ProviderError> {
    let mut o = attrs::object(state, kind.type_name())?;
    let name = name_of(kind, &o)?;
    let image = attrs::req_str(&o, "image", kind.type_name())?;
    let kept = match kind {
        Kind::Volume => format!("; its data directory {} is kept", node.config.data_dir(&name)),
        _ => "; all data is kept".to_string(),
    };
    let cannot = |why: String| {
        ProviderError::permanent(format!(
            "the previous container {name} cannot be created again on {}: {why}. The VSN is left without it{kept}",
            node.describe()
        ))
    };
    let archive = opt_str(&o, "image_archive").filter(|a| std::path::Path::new(a).is_file());
    if archive.is_none() && !image_present(node, &image).await? {
        return Err(cannot(format!("its image {image} is no longer there")));
    }
    let mut labels = BTreeMap::new();
    if let Some(old) = opt_str(&o, "id").filter(|id| !id.is_empty()) {
        labels.insert(LABEL_RESTORED_FROM.to_string(), old);
    }
    if kind != Kind::Host {
        let old_host = attrs::req_str(&o, "host_id", kind.type_name())?;
        match current_host(node, &old_host).await? {
            Some(host) => attrs::set_str(&mut o, "host_id", host),
            None => return Err(cannot(format!("its host container {old_host} is not there (not restored)"))),
        }
    }
    // The data is already in place; it is never copied again.
    o.shift_remove("migrate_from");
    lifecycle::create_labelled(node, kind, Value::Map(o), correlation, labels).await
}
