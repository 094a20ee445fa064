//! `pagw_instance`: one project's gateway. Create is build-and-deploy: the slot claimed in one
//! transaction, then (on the host) build and deploy; any failure after the claim releases what
//! the claim made. Destroy is undeploy-and-clear. Read reports drift (records gone, slot changed,
//! toolbox incomplete); import and adopt find a gateway by its project name.
//!
//! Must not store the password anywhere but the resource's own (sensitive) attribute.

use indexmap::IndexMap;
use tarn_sdk::{PlanResponse, ProviderError, Value};

use crate::Ctx;
use crate::db::claim::{self, Release};
use crate::db::{slots, toolbox};
use crate::name;

pub const VM_PREFIX: &str = "PAGW-";

fn str_attr<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).filter(|v| !v.is_unknown()).and_then(Value::as_str)
}

fn project_of(v: &Value) -> Result<String, ProviderError> {
    str_attr(v, "project")
        .map(str::to_string)
        .ok_or_else(|| ProviderError::permanent("pagw_instance: \"project\" is required"))
}

fn is_default(v: &Value) -> bool {
    v.get("default").and_then(Value::as_bool).unwrap_or(false)
}

/// "locked" when the password is empty or unset: the image gives the pagw user a random one.
pub fn account(password: Option<&str>) -> &'static str {
    if password.unwrap_or_default().is_empty() { "locked" } else { "password" }
}

pub async fn plan(ctx: &Ctx, prior: Option<Value>, proposed: Value) -> Result<PlanResponse, ProviderError> {
    let Value::Map(mut o) = proposed else {
        return Err(ProviderError::permanent("pagw_instance: expected an object; this is a bug in tarn"));
    };
    let project = o.get("project").filter(|v| !v.is_unknown()).and_then(Value::as_str).map(str::to_string);
    if let Some(p) = &project {
        name::check_project(p).map_err(|e| ProviderError::permanent(format!("pagw_instance: {e}")))?;
        o.insert("vm_name".into(), Value::string(format!("{VM_PREFIX}{p}")));
    }
    match o.get("password") {
        Some(v) if v.is_unknown() => {}
        pw => {
            let pw = pw.and_then(Value::as_str);
            o.insert("account".into(), Value::string(account(pw)));
        }
    }
    let default = o.get("default").and_then(Value::as_bool).unwrap_or(false);
    if prior.is_none() && !default {
        // No free slot is a plan-time error when tarn can see it.
        if slots::free_count(ctx.db()?).await? == 0 {
            return Err(ProviderError::permanent(
                "pagw_instance: no free PAGW slot in the slot database (every slot with ignored = 0 is held); \
                 load more with pagw_slot_range or free one",
            ));
        }
    }
    Ok(PlanResponse { planned: Value::Map(o), requires_replace: Vec::new() })
}

/// The resource's state from what the database holds.
fn state(planned: &Value, project: &str, slot: &slots::Slot, group_id: i64, toolbox: &str) -> Value {
    let mut o: IndexMap<String, Value> = planned.as_map().cloned().unwrap_or_default();
    o.insert("project".into(), Value::string(project));
    o.insert("slot_id".into(), Value::number(slot.id));
    o.insert("address".into(), Value::string(slot.ip.clone()));
    o.insert("connection_group_id".into(), Value::number(group_id));
    o.insert("vm_name".into(), Value::string(format!("{VM_PREFIX}{project}")));
    o.insert("deploy_driver".into(), Value::string(slot.var("PAGW_DEPLOY_DRIVER").unwrap_or_default()));
    o.insert("account".into(), Value::string(account(str_attr(planned, "password"))));
    o.insert("toolbox".into(), Value::string(toolbox));
    Value::Map(o)
}

pub async fn create(ctx: &Ctx, planned: Value) -> Result<Value, ProviderError> {
    let project = project_of(&planned)?;
    name::check_project(&project).map_err(|e| ProviderError::permanent(format!("pagw_instance: {e}")))?;
    let default = is_default(&planned);
    let db = ctx.db()?;
    let roof = &ctx.config()?.roof_group;
    let claimed = claim::claim(db, roof, &project, default).await?;
    let release = Release { roof, project: &project, slot_id: claimed.slot.id, default };
    match ctx.deploy(&project, &claimed.slot, &planned).await {
        Ok(vmid) => {
            let mut v = state(&planned, &project, &claimed.slot, claimed.group_id, "complete");
            set_vm(&mut v, vmid.map(|id| (id, "running".to_string())));
            Ok(v)
        }
        Err(e) => {
            // Roll back the claim: the records this create made are released, those it kept stay.
            if !claimed.kept {
                if let Err(r) = claim::release(db, release).await {
                    return Err(ProviderError::permanent(format!(
                        "{}; releasing PAGW slot {} afterwards failed too: {}",
                        e.message, claimed.slot.id, r.message
                    )));
                }
            }
            Err(e)
        }
    }
}

/// Records the VM's id and status (`none` when nothing was deployed, `missing` when the VM is gone).
fn set_vm(v: &mut Value, vm: Option<(u32, String)>) {
    if let Value::Map(o) = v {
        let built = o.get("build_context").and_then(Value::as_str).is_some();
        let (id, status) = match vm {
            Some((id, status)) => (Value::number(f64::from(id)), status),
            None => (Value::Null, if built { "missing" } else { "none" }.to_string()),
        };
        o.insert("vm_id".into(), id);
        o.insert("vm_status".into(), Value::string(status));
    }
}

/// The gateway of `project` as the database has it, or `None`.
async fn lookup(ctx: &Ctx, planned: &Value, project: &str) -> Result<Option<Value>, ProviderError> {
    let db = ctx.db()?;
    let Some(found) = claim::find(db, &ctx.config()?.roof_group, project).await? else { return Ok(None) };
    let mut conn = db.conn().await?;
    let problems = toolbox::check(&mut conn, found.group_id, &found.slot.ip).await?;
    let tb = if problems.is_empty() { "complete".to_string() } else { format!("incomplete: {}", problems.join("; ")) };
    let mut v = state(planned, project, &found.slot, found.group_id, &tb);
    let vm = if planned.get("build_context").and_then(Value::as_str).is_some() {
        ctx.vm(project, &found.slot).await?
    } else {
        None
    };
    set_vm(&mut v, vm);
    if let Value::Map(o) = &mut v {
        // An unset `default` stays unset (null): reading it back as false would be a change of a
        // force-new attribute, and every re-plan of an ordinary project a replacement.
        if found.is_default || o.get("default").is_some_and(|d| !d.is_null()) {
            o.insert("default".into(), Value::Bool(found.is_default));
        }
    }
    Ok(Some(v))
}

pub async fn read(ctx: &Ctx, state: Value) -> Result<Option<Value>, ProviderError> {
    let project = project_of(&state)?;
    lookup(ctx, &state, &project).await
}

pub async fn delete(ctx: &Ctx, state: Value) -> Result<(), ProviderError> {
    let project = project_of(&state)?;
    let db = ctx.db()?;
    let roof = &ctx.config()?.roof_group;
    let Some(found) = claim::find(db, roof, &project).await? else {
        // Already cleared; a default project's singleton may still point at the slot.
        if let (true, Some(slot_id)) = (is_default(&state), state.get("slot_id").and_then(Value::as_f64)) {
            claim::release(db, Release { roof, project: &project, slot_id: slot_id as i64, default: true }).await?;
        }
        return Ok(());
    };
    let mut conn = db.conn().await?;
    let (connections, groups) = toolbox::resources_held(&mut conn, found.group_id).await?;
    drop(conn);
    if connections + groups > 0 {
        return Err(ProviderError::permanent(format!(
            "the project \"{project}\" still has {connections} connection(s) and {groups} group(s) under \"{}\"; \
             move them to the default project before removing its gateway (destroying the project's group would \
             delete them)",
            toolbox::RESOURCES
        )));
    }
    ctx.undeploy(&project, &found.slot, &state).await?;
    claim::release(db, Release { roof, project: &project, slot_id: found.slot.id, default: found.is_default }).await
}

pub async fn import(ctx: &Ctx, project: &str) -> Result<Option<Value>, ProviderError> {
    name::check_project(project).map_err(|e| ProviderError::permanent(format!("pagw_instance import: {e}")))?;
    let planned = Value::map([("project", Value::string(project))]);
    lookup(ctx, &planned, project).await
}

/// After a crash mid-create: the records the claim committed, found by the project's name.
///
/// With a build context, the gateway exists only when its VM does (found by its exact name):
/// a claim whose VM was never made is released, and the create runs again from the start.
pub async fn adopt(ctx: &Ctx, planned: Value) -> Result<Option<Value>, ProviderError> {
    let project = project_of(&planned)?;
    let Some(found) = lookup(ctx, &planned, &project).await? else { return Ok(None) };
    if found.get("vm_status").and_then(Value::as_str) != Some("missing") {
        return Ok(Some(found));
    }
    let db = ctx.db()?;
    let roof = &ctx.config()?.roof_group;
    let Some(records) = claim::find(db, roof, &project).await? else { return Ok(None) };
    ctx.discard_image(&project, &records.slot).await?;
    if records.is_default {
        // The default project's records may be Giif's own: kept, and claimed again by the create.
        return Ok(None);
    }
    claim::release(db, Release { roof, project: &project, slot_id: records.slot.id, default: records.is_default })
        .await?;
    Ok(None)
}
