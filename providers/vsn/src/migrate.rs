//! Moving a volume's data from another VSN (`vsn_volume.migrate_from`, seed: "a complete data
//! migration can be performed by transferring the data files to another VSN").
//!
//! Owns the source's configuration (the provider block's fields, parsed and validated by
//! config.rs and node.rs exactly like a provider block) and the copy made inside the volume's
//! create, before its container starts: `tar -c` on the source streamed through tarn into
//! `tar -x` in `<data_root>/.tarn-incoming-<name>` on the target (the two VSNs need no trust
//! between them), both manifests compared (manifest.rs), and only then the staging directory
//! renamed into place. An existing target directory is never altered: equal data proceeds,
//! different data is refused. It must never write to the source, never leave a half-written
//! target data directory, and never put key material into a message.

use tarn_sdk::ssh::Session;
use tarn_sdk::{ProviderError, Value};

use crate::attrs::{self, Map};
use crate::config::NodeConfig;
use crate::manifest::{self, Manifest};
use crate::node::{Node, sh_quote};
use crate::remote;

/// Attributes of `migrate_from` that are not provider-block fields.
const VOLUME: &str = "volume";
/// The sensitive key material lives beside `migrate_from`, so the plan can show the rest.
pub const PRIVATE_KEY: &str = "migrate_from_private_key";
pub const PASSPHRASE: &str = "migrate_from_private_key_passphrase";

/// Where a volume's data comes from.
#[derive(Debug, Clone)]
pub struct Source {
    pub config: NodeConfig,
    /// The source volume's name: its data directory is `<source data_root>/<volume>`.
    pub volume: String,
}

/// The source named by the volume object `o`, `None` without `migrate_from`. Every problem with
/// it is listed in one error, as for a provider block.
pub fn source(o: &Map, name: &str) -> Result<Option<Source>, ProviderError> {
    let Some(Value::Map(from)) = o.get("migrate_from").map(|v| v.unmark().0.clone()) else {
        return Ok(None);
    };
    let mut block = from.clone();
    let volume = attrs::opt_str(&block, VOLUME).unwrap_or_else(|| name.to_string());
    block.shift_remove(VOLUME);
    for (outer, inner) in [(PRIVATE_KEY, "private_key"), (PASSPHRASE, "private_key_passphrase")] {
        if let Some(v) = o.get(outer).map(|v| v.unmark().0.clone()).filter(|v| !v.is_null()) {
            block.insert(inner.to_string(), v);
        }
    }
    let parsed = NodeConfig::parse(&Value::Map(block)).map_err(|e| {
        let detail = e.message.trim_start_matches("the vsn provider block is invalid: ");
        ProviderError::permanent(format!(
            "vsn_volume {name}: \"migrate_from\" is invalid (the private key itself goes in \"{PRIVATE_KEY}\"): {detail}"
        ))
    })?;
    attrs::check_name(&volume, "vsn_volume migrate_from.volume")?;
    Ok(Some(Source { config: parsed, volume }))
}

fn staging_dir(node: &Node, name: &str) -> String {
    format!("{}/.tarn-incoming-{name}", node.config.data_root)
}

async fn is_dir(node: &Node, dir: &str) -> Result<bool, ProviderError> {
    let q = sh_quote(dir);
    let out = node
        .script_checked(&format!("if [ -d {q} ]; then echo yes; elif [ -e {q} ]; then echo other; else echo no; fi"))
        .await?;
    match out.stdout.trim() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(ProviderError::permanent(format!(
            "{dir} on {} exists but is not a directory; move it away and apply again",
            node.describe()
        ))),
    }
}

async fn remove_staging(node: &Node, staging: &str) -> Result<(), ProviderError> {
    node.script_checked(&format!("rm -rf -- {}", sh_quote(staging))).await.map(|_| ())
}

/// Brings the data of `src` into `<data_root>/<name>` on `node` (see the module header).
/// `limit` is the volume's size limit in bytes, checked on the source before copying.
pub async fn bring(node: &Node, src: Source, name: &str, limit: u64) -> Result<(), ProviderError> {
    let from = Node::connect(src.config).await.map_err(|e| ProviderError {
        message: format!("vsn_volume {name}: the source VSN of \"migrate_from\": {}", e.message),
        ..e
    })?;
    let src_dir = from.config.data_dir(&src.volume);
    let dir = node.config.data_dir(name);
    let (old, new) = (format!("{src_dir} on {}", from.describe()), format!("{dir} on {}", node.describe()));
    let target_exists = is_dir(node, &dir).await?;
    let Some(source_manifest) = manifest::read(&from, &src_dir).await? else {
        let also = if target_exists {
            format!(
                "; {new} exists, but without the source it cannot be checked to hold the same data. Remove \"migrate_from\" to use {new} as it is"
            )
        } else {
            String::new()
        };
        return Err(ProviderError::permanent(format!(
            "vsn_volume {name}: the data to move, {old}, does not exist{also}"
        )));
    };
    if target_exists {
        let here = manifest::read(node, &dir).await?.unwrap_or_default();
        return match source_manifest.first_difference(&here, "the source", "the target") {
            None => Ok(()),
            Some(diff) => Err(ProviderError::permanent(format!(
                "vsn_volume {name}: {new} already exists and differs from {old}, so it was left as it is (first difference: {diff}). \
                 Either remove \"migrate_from\" to keep the target's data, or move {dir} aside on the target VSN and apply again to copy afresh"
            ))),
        };
    }
    if let Some(size) = remote::dir_size(&from, &src_dir).await? {
        if size > limit {
            return Err(ProviderError::permanent(format!(
                "vsn_volume {name}: {old} holds {size} bytes, over the volume size limit of {limit} bytes; nothing was copied"
            )));
        }
    }
    let staging = staging_dir(node, name);
    let result = copy_and_verify(node, &from, &src_dir, &staging, &source_manifest, &old).await;
    let placed = match result {
        Ok(()) => {
            let (s, d) = (sh_quote(&staging), sh_quote(&dir));
            node.script_checked(&format!(
                "if [ -e {d} ]; then echo \"{dir} appeared during the copy\" >&2; exit 1; fi; mv -T -- {s} {d}"
            ))
            .await
            .map(|_| ())
        }
        Err(e) => Err(e),
    };
    if let Err(e) = placed {
        let _ = remove_staging(node, &staging).await;
        return Err(ProviderError {
            message: format!("vsn_volume {name}: moving {old} to {new} failed: {}", e.message),
            ..e
        });
    }
    Ok(())
}

/// Streams the source directory into a fresh staging directory and compares the manifests.
async fn copy_and_verify(
    node: &Node,
    from: &Node,
    src_dir: &str,
    staging: &str,
    want: &Manifest,
    old: &str,
) -> Result<(), ProviderError> {
    let s = sh_quote(staging);
    node.script_checked(&format!(
        "rm -rf -- {s} && mkdir -p -- {root} && mkdir -m 0700 -- {s}",
        root = sh_quote(&node.config.data_root)
    ))
    .await?;
    let read = from.root_script(&format!("tar -C {} --numeric-owner -cpf - .", sh_quote(src_dir)));
    let write = node.root_script(&format!("tar -C {s} --numeric-owner -xpf -"));
    // Connections of the pipe's own (see tarn_sdk's ssh/pipe.rs), closed when it is done.
    let (src_session, dst_session) =
        (Session::connect(&from.config.ssh).await?, Session::connect(&node.config.ssh).await?);
    let piped = src_session.pipe(read, &dst_session, write).await;
    // A connection whose sink failed may not answer a goodbye (see pipe.rs): do not wait on it.
    for session in [&src_session, &dst_session] {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), session.close()).await;
    }
    piped?;
    let got = manifest::read(node, staging).await?.unwrap_or_default();
    match want.first_difference(&got, "the source", "the copy") {
        None => Ok(()),
        Some(diff) => Err(ProviderError::permanent(format!(
            "the copy in {staging} on {} does not match {old} (first difference: {diff}); the copy was removed",
            node.describe()
        ))),
    }
}
