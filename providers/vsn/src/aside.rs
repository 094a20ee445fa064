//! Replacing a container under the same name, so that a failed or rolled-back replacement
//! brings the previous container back (`lifecycle { create_before_destroy = true }`).
//!
//! A create that finds a tarn-managed container already holding its name renames that one to
//! `<name>-tarn-old` (and stops it, unless it is a host without published ports: its network is
//! still shared by the REST containers inside it)
//! before running the new one. If the run fails, the old container gets its name back and is
//! started again: create stays atomic. The engine then deletes the old object by its container
//! ID; when a rollback deletes the new one instead, the old one is renamed back and started.

use tarn_sdk::ProviderError;

use crate::engine::{self, LABEL_MANAGED};
use crate::kinds::Kind;
use crate::lifecycle::inspect;
use crate::node::Node;

/// The name a container is set aside under while its replacement is created.
pub fn aside_name(name: &str) -> String {
    format!("{name}-tarn-old")
}

/// A container set aside by [`set_aside`].
pub struct SetAside {
    name: String,
    stopped: bool,
}

/// Moves a tarn-managed container named `name` out of the way; `None` when there is none.
/// A container tarn did not make is left alone (the run then fails on the name, as it should).
pub async fn set_aside(node: &Node, kind: Kind, name: &str, timeout: u32) -> Result<Option<SetAside>, ProviderError> {
    let Some(seen) = inspect(node, name).await? else { return Ok(None) };
    if seen.label(LABEL_MANAGED) != Some("tarn") {
        return Ok(None);
    }
    let aside = aside_name(name);
    // A leftover from an earlier interrupted replacement goes first: tarn no longer tracks it.
    if inspect(node, &aside).await?.is_some() {
        node.engine_checked(&engine::remove_args(&aside)).await?;
    }
    node.engine_checked(&engine::args(&["rename", name, &aside])).await?;
    // A host keeps running for the REST containers still sharing its network, unless it
    // publishes ports, which its replacement needs.
    let stopped = seen.running && (kind != Kind::Host || !seen.published.is_empty());
    if stopped && let Err(e) = node.engine_checked(&engine::stop_args(&aside, timeout)).await {
        let _ = node.engine(&engine::args(&["rename", &aside, name])).await;
        return Err(e);
    }
    Ok(Some(SetAside { name: name.to_string(), stopped }))
}

/// Gives a set-aside container its name back (the replacement failed).
pub async fn restore(node: &Node, aside: SetAside) -> Result<(), ProviderError> {
    node.engine_checked(&engine::args(&["rename", &aside_name(&aside.name), &aside.name])).await?;
    if aside.stopped {
        node.engine_checked(&engine::args(&["start", &aside.name])).await?;
    }
    Ok(())
}

/// After the container named `name` was deleted: a container set aside for it comes back under
/// its name, running (the rollback of a replacement).
pub async fn bring_back(node: &Node, name: &str) -> Result<(), ProviderError> {
    let aside = aside_name(name);
    let Some(seen) = inspect(node, &aside).await? else { return Ok(()) };
    node.engine_checked(&engine::args(&["rename", &aside, name])).await?;
    if !seen.running {
        node.engine_checked(&engine::args(&["start", name])).await?;
    }
    Ok(())
}
