//! `vsn_image_cleanup`: images do not pile up on the VSN (the seed's step 2 drops the images with
//! the containers). The resource lists the images the deployment uses and depends on every
//! container, so it is applied after all of them succeeded; a new list replaces it, and that
//! create removes the images of the deployment before the previous one that no container (of
//! tarn or not, running or not) still uses. The previous deployment's images stay until the next
//! successful apply, so that a rollback can bring its containers back (restore.rs).
//!
//! Which deployment was previous is recorded on the VSN itself, in
//! `/etc/tarn-vsn/images-NAME.json` (`{"current": [...], "previous": [...]}`), so the plan can
//! predict `removed` (it shows in the plan) and a failed apply, which never reaches this
//! resource, changes nothing. Provider option `keep_images = true`: nothing is removed.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};
use tarn_sdk::{PlanResponse, ProviderError, Value};

use crate::attrs::{self, Map, req_str, strings};
use crate::engine;
use crate::node::{Node, sh_quote};

pub fn record_path(name: &str) -> String {
    format!("/etc/tarn-vsn/images-{name}.json")
}

/// The deployments recorded on the VSN: (current, previous).
async fn recorded(node: &Node, name: &str) -> Result<(Vec<String>, Vec<String>), ProviderError> {
    let out = node.script(&format!("cat -- {} 2>/dev/null", sh_quote(&record_path(name)))).await?;
    if !out.success() {
        return Ok((Vec::new(), Vec::new()));
    }
    let json: Json = serde_json::from_str(out.stdout.trim()).unwrap_or(Json::Null);
    let list = |k: &str| -> Vec<String> {
        json[k].as_array().map(|l| l.iter().filter_map(Json::as_str).map(str::to_string).collect()).unwrap_or_default()
    };
    Ok((list("current"), list("previous")))
}

/// The image ID `reference` names on the VSN; `None` when it is not there.
async fn image_id(node: &Node, reference: &str) -> Result<Option<String>, ProviderError> {
    let out = node.engine(&engine::args(&["image", "inspect", "--format", "{{.Id}}", reference])).await?;
    Ok(out.success().then(|| out.stdout.trim().trim_start_matches("sha256:").to_string()))
}

/// Image IDs of every container on the VSN, in any state.
async fn images_in_use(node: &Node) -> Result<BTreeSet<String>, ProviderError> {
    let ids = node.engine_checked(&engine::args(&["ps", "-aq", "--no-trunc"])).await?;
    let ids: Vec<&str> = ids.stdout.split_whitespace().collect();
    if ids.is_empty() {
        return Ok(BTreeSet::new());
    }
    let mut args = engine::args(&["inspect", "--format", "{{.Image}}"]);
    args.extend(ids.iter().map(|s| s.to_string()));
    // A container removed meanwhile makes inspect fail for it; the others still print.
    let out = node.engine(&args).await?;
    Ok(out
        .stdout
        .lines()
        .map(|l| l.trim().trim_start_matches("sha256:").to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// What this apply removes: the images of the deployment before the previous one, unless the
/// new or the previous deployment uses them, a container uses them, or they are gone already.
async fn to_remove(node: &Node, name: &str, wanted: &[String]) -> Result<(Vec<String>, Vec<String>), ProviderError> {
    let (current, previous) = recorded(node, name).await?;
    if node.config.keep_images {
        return Ok((current, Vec::new()));
    }
    let keep: BTreeSet<&String> = wanted.iter().chain(&current).collect();
    let used = images_in_use(node).await?;
    let mut removed = Vec::new();
    for image in previous.iter().filter(|i| !keep.contains(i)) {
        if let Some(id) = image_id(node, image).await? {
            if !used.contains(&id) {
                removed.push(image.clone());
            }
        }
    }
    Ok((current, removed))
}

fn list(items: &[String]) -> Value {
    Value::List(items.iter().cloned().map(Value::String).collect())
}

fn names(o: &Map) -> Result<(String, Vec<String>), ProviderError> {
    let what = crate::schema::IMAGES;
    let name = req_str(o, "name", what)?;
    attrs::check_name(&name, what)?;
    Ok((name, strings(o, "images")))
}

/// Predicts `previous` and `removed`, so the plan shows which images go.
pub async fn plan(node: &Node, proposed: Value) -> Result<PlanResponse, ProviderError> {
    let mut o = attrs::object(proposed, crate::schema::IMAGES)?;
    let known =
        o.get("name").is_some_and(Value::is_wholly_known) && o.get("images").is_some_and(Value::is_wholly_known);
    if known {
        let (name, wanted) = names(&o)?;
        let (previous, removed) = to_remove(node, &name, &wanted).await?;
        o.insert("previous".into(), list(&previous));
        o.insert("removed".into(), list(&removed));
        o.insert("id".into(), Value::string(record_path(&name)));
    }
    Ok(PlanResponse { planned: Value::Map(o), requires_replace: Vec::new() })
}

pub async fn create(node: &Node, planned: Value) -> Result<Value, ProviderError> {
    let mut o = attrs::object(planned, crate::schema::IMAGES)?;
    let (name, wanted) = names(&o)?;
    let (previous, candidates) = to_remove(node, &name, &wanted).await?;
    let mut removed = Vec::new();
    for image in candidates {
        // Without -f: an engine refusing (a container started meanwhile uses it) keeps it.
        if node.engine(&engine::args(&["rmi", &image])).await?.success() {
            removed.push(image);
        }
    }
    let record = json!({ "current": wanted, "previous": previous }).to_string();
    let path = record_path(&name);
    node.script_checked(&format!(
        "mkdir -p /etc/tarn-vsn && printf '%s\\n' {r} > {p}.new && mv -f {p}.new {p}",
        r = sh_quote(&record),
        p = sh_quote(&path)
    ))
    .await?;
    o.insert("previous".into(), list(&previous));
    o.insert("removed".into(), list(&removed));
    o.insert("id".into(), Value::string(path));
    Ok(Value::Map(o))
}

/// The record stays: it is the history the next deployment's cleanup needs.
pub async fn read(state: Value) -> Result<Option<Value>, ProviderError> {
    Ok(Some(state))
}
