//! The provider's refinement of the engine's diff: defaults filled in so plans show the real
//! values (the host's name, a volume's mount path and data directory), values checked before
//! anything runs (names, pull and restart policies, size limits against the provider's cap, a
//! volume's `migrate_from` source),
//! and the one engine-dependent replacement: a restart-policy change on podman 4.

use tarn_sdk::{PlanResponse, ProviderError, Value};

use crate::attrs::{self, opt_num, opt_str};
use crate::config::{EngineKind, GB, NodeConfig};
use crate::kinds::{DEFAULT_HOST_NAME, DEFAULT_MOUNT_PATH, Kind};
use crate::migrate::{self, PASSPHRASE, PRIVATE_KEY};

const PULL: &[&str] = &["never", "missing", "always"];
const RESTART: &[&str] = &["no", "always", "on-failure", "unless-stopped"];

fn one_of(o: &attrs::Map, key: &str, allowed: &[&str], what: &str) -> Result<(), ProviderError> {
    match o.get(key).filter(|v| !v.is_unknown()).and_then(Value::as_str) {
        Some(v) if !allowed.contains(&v) => Err(ProviderError::permanent(format!(
            "{what}: \"{key}\" must be one of {}, not \"{v}\"",
            allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ")
        ))),
        _ => Ok(()),
    }
}

fn known_str(o: &attrs::Map, key: &str) -> Option<String> {
    o.get(key).filter(|v| !v.is_unknown()).and_then(Value::as_str).map(str::to_string)
}

pub fn plan(
    node: &NodeConfig,
    kind: Kind,
    prior: Option<Value>,
    proposed: Value,
) -> Result<PlanResponse, ProviderError> {
    let what = kind.type_name();
    let mut o = attrs::object(proposed, what)?;
    one_of(&o, "pull", PULL, what)?;
    if let Some(name) = known_str(&o, "name") {
        attrs::check_name(&name, what)?;
    }
    let mut requires_replace = Vec::new();
    match kind {
        Kind::Host => {
            if o.get("name").is_none_or(Value::is_unknown) || o.get("name").is_some_and(Value::is_null) {
                o.insert("name".into(), Value::string(DEFAULT_HOST_NAME));
            }
            o.insert("data_root".into(), Value::string(node.data_root.clone()));
        }
        Kind::Volume => {
            if o.get("mount_path").is_none_or(|v| v.is_null() || v.is_unknown()) {
                o.insert("mount_path".into(), Value::string(DEFAULT_MOUNT_PATH));
            }
            if let Some(m) = known_str(&o, "mount_path") {
                if !m.starts_with('/') {
                    return Err(ProviderError::permanent(format!(
                        "{what}: \"mount_path\" must be absolute, not \"{m}\""
                    )));
                }
            }
            match known_str(&o, "name") {
                Some(name) => o.insert("data_dir".into(), Value::string(node.data_dir(&name))),
                None => o.insert("data_dir".into(), Value::Unknown),
            };
            // A source given in full is checked now, before anything runs anywhere.
            let known = |k: &str| o.get(k).is_none_or(Value::is_wholly_known);
            if let Some(name) =
                known_str(&o, "name").filter(|_| known("migrate_from") && known(PRIVATE_KEY) && known(PASSPHRASE))
            {
                migrate::source(&o, &name)?;
            }
            if let Some(gb) = opt_num(&o, "size_limit_gb") {
                let cap = node.volume_size_limit_bytes as f64 / GB as f64;
                if gb.is_nan() || gb <= 0.0 || gb > cap {
                    return Err(ProviderError::permanent(format!(
                        "{what}: \"size_limit_gb\" must be between 0 and the provider's volume_size_limit_gb ({cap}), not {gb}"
                    )));
                }
            }
        }
        Kind::Service => {
            one_of(&o, "restart", RESTART, what)?;
            if let Some(prior) = &prior {
                let before = prior.get("restart").and_then(Value::as_str).unwrap_or("no").to_string();
                let after = opt_str(&o, "restart").unwrap_or_else(|| "no".to_string());
                let known = !o.get("restart").is_some_and(Value::is_unknown);
                if known && before != after && node.engine.kind == EngineKind::Podman {
                    requires_replace.push("restart".to_string());
                }
            }
            if let Some(secrets) = o.get("secrets").and_then(Value::as_map) {
                for (k, v) in secrets {
                    if v.as_str().is_some_and(|s| s.contains('\n')) {
                        return Err(ProviderError::permanent(format!(
                            "{what}: the secret \"{k}\" contains a line break, which an env-file cannot carry"
                        )));
                    }
                }
            }
        }
    }
    Ok(PlanResponse { planned: Value::Map(o), requires_replace })
}
