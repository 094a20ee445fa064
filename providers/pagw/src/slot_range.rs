//! `pagw_slot_range`: slots loaded from a definition (loader.rs) in one transaction; destroy
//! removes them, refusing while a project or the default singleton holds one. Read reports
//! slots deleted outside tarn (the object is gone when none is left).

use tarn_sdk::{ProviderError, Value};

use crate::Ctx;
use crate::db::slots;
use crate::loader;

fn definition(v: &Value) -> Result<loader::Definition, ProviderError> {
    let text = v.get("definition").and_then(Value::as_str).unwrap_or_default();
    loader::parse(text).map_err(|e| ProviderError::permanent(format!("pagw_slot_range: {e}")))
}

fn ids(v: &Value) -> Vec<i64> {
    v.get("slot_ids")
        .and_then(Value::as_list)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_f64)
        .map(|n| n as i64)
        .collect()
}

/// Checks the definition at plan time and fills in the addresses it gives.
pub fn plan(proposed: Value) -> Result<Value, ProviderError> {
    let Value::Map(mut o) = proposed else { return Ok(proposed) };
    if o.get("definition").is_some_and(|d| !d.is_unknown()) {
        let d = definition(&Value::Map(o.clone()))?;
        let expanded = d.expand().map_err(|e| ProviderError::permanent(format!("pagw_slot_range: {e}")))?;
        o.insert("addresses".into(), Value::List(expanded.into_iter().map(|(ip, _)| Value::string(ip)).collect()));
    }
    Ok(Value::Map(o))
}

pub async fn create(ctx: &Ctx, planned: Value) -> Result<Value, ProviderError> {
    let d = definition(&planned)?;
    let expanded = d.expand().map_err(|e| ProviderError::permanent(format!("pagw_slot_range: {e}")))?;
    let ignored = planned.get("ignored").and_then(Value::as_bool).unwrap_or(false);
    let ids = slots::insert(ctx.db()?, &expanded, ignored).await?;
    let Value::Map(mut o) = planned else { return Err(ProviderError::permanent("pagw_slot_range: not an object")) };
    o.insert("slot_ids".into(), Value::List(ids.into_iter().map(Value::number).collect()));
    o.insert("addresses".into(), Value::List(expanded.into_iter().map(|(ip, _)| Value::string(ip)).collect()));
    Ok(Value::Map(o))
}

pub async fn read(ctx: &Ctx, state: Value) -> Result<Option<Value>, ProviderError> {
    let found = slots::existing(ctx.db()?, &ids(&state)).await?;
    if found.is_empty() {
        return Ok(None);
    }
    let Value::Map(mut o) = state else { return Ok(None) };
    o.insert("slot_ids".into(), Value::List(found.iter().map(|(i, _)| Value::number(*i)).collect()));
    o.insert("addresses".into(), Value::List(found.into_iter().map(|(_, ip)| Value::string(ip)).collect()));
    Ok(Some(Value::Map(o)))
}

pub async fn delete(ctx: &Ctx, state: Value) -> Result<(), ProviderError> {
    let db = ctx.db()?;
    let present: Vec<i64> = slots::existing(db, &ids(&state)).await?.into_iter().map(|(i, _)| i).collect();
    slots::remove(db, &present).await
}
