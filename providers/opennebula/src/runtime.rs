//! `opennebula_serverless_runtime`: the Provisioning Engine's runtime lifecycle on tarn's
//! contract. Create instantiates it with each role's VM template contents (`function`), waits for
//! the service and its VMs, and records the runtime as a SERVERLESS_RUNTIME document; update
//! resizes in place, rewrites the user template and renames (new flavours are a replacement,
//! which the plan decides: `plan.rs`); delete undeploys and waits until the service is gone.
//!
//! Crash safety: the service is named `<name> [tarn:<correlation>]`, which `adopt` finds.
//! Import takes the document id (the engine's runtime ID).

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ErrorKind, ProviderError, Value};

use crate::api::Api;
use crate::config::TemplateRef;
use crate::function::{ROLES, Spec, contents_json, sizes, tuple, user_attrs, vm_attrs};
use crate::model::Vm;
use crate::oneflow::{self, document_id};
use crate::template::{Attr, render};

/// The document type the original engine stores runtimes as.
pub const DOCUMENT_TYPE: i64 = 1337;

pub(crate) fn name_of(v: &Value) -> Result<String, ProviderError> {
    v.get("name")
        .and_then(|n| n.unmark().0.as_str())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ProviderError::permanent("name must be a non-empty string"))
}

pub(crate) fn text(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(|x| x.unmark().0.as_str()).filter(|s| !s.is_empty()).map(str::to_string)
}

fn id_attr(v: &Value, name: &str) -> Option<u64> {
    text(v, name).and_then(|s| s.parse().ok())
}

/// The specs of both functions.
pub(crate) fn specs(runtime: &Value) -> Result<(Spec, Option<Spec>), ProviderError> {
    let faas = Spec::of(runtime, "faas")?.ok_or_else(|| ProviderError::permanent("faas is required"))?;
    Ok((faas, Spec::of(runtime, "daas")?))
}

/// The service name tarn gives a runtime's service, and finds it by after a crash.
pub fn service_name(name: &str, correlation: &str) -> String {
    format!("{name} [tarn:{correlation}]")
}

/// The service template the flavours name: through the `flavours` mapping when it has the
/// tuple, else by name, as the original engine looks it up.
pub async fn resolve(api: &Api, faas: &Spec, daas: Option<&Spec>) -> Result<Json, ProviderError> {
    let tuple = tuple(faas, daas);
    let templates = api.flow.service_templates().await?;
    let wanted = api.settings.flavours.get(&tuple).cloned().unwrap_or_else(|| TemplateRef::Name(tuple.clone()));
    let found = templates.iter().find(|t| match &wanted {
        TemplateRef::Id(id) => document_id(t) == Some(*id),
        TemplateRef::Name(n) => t.get("NAME").and_then(Json::as_str) == Some(n.as_str()),
    });
    found.cloned().ok_or_else(|| {
        let known: Vec<&str> = templates.iter().filter_map(|t| t.get("NAME").and_then(Json::as_str)).collect();
        let via = if api.settings.flavours.contains_key(&tuple) {
            format!("the provider's flavours mapping sends {tuple:?} to {wanted:?}, which")
        } else {
            format!("no service template named {tuple:?} exists, and the provider's flavours mapping has no entry for it; it")
        };
        ProviderError::permanent(format!(
            "unknown flavour {tuple:?}: {via} is not among the service templates this user can use ({}). \
             Use one of those flavours, or map this one in the provider's flavours.",
            if known.is_empty() { "none".to_string() } else { known.join(", ") }
        )).with_kind(ErrorKind::Unknown)
    })
}

/// The VM template id of a service template's role (`template_id`; `vm_template` before OneFlow 6.10).
fn role_vm_template(template: &Json, role: &str) -> Option<u64> {
    let roles = oneflow::body(template).get("roles")?.as_array()?;
    let r = roles.iter().find(|r| r.get("name").and_then(Json::as_str) == Some(role))?;
    ["template_id", "vm_template"].iter().find_map(|k| {
        let v = r.get(*k)?;
        v.as_u64().or_else(|| v.as_str()?.parse().ok())
    })
}

/// Instantiates `template` for `runtime` and waits until it runs: the service id, the service
/// and its VMs by function. A failure after the service exists names it in the error's state.
async fn instantiate(
    api: &Api,
    runtime: &Value,
    template: &Json,
    service_name: &str,
) -> Result<(u64, Result<(Json, Vec<Vm>), ProviderError>), ProviderError> {
    let (faas, daas) = specs(runtime)?;
    let template_id =
        document_id(template).ok_or_else(|| ProviderError::permanent("a service template without an ID"))?;
    let mut roles = Vec::new();
    for ((_, role), spec) in ROLES.iter().zip([Some(&faas), daas.as_ref()]) {
        let Some(spec) = spec else { continue };
        let vm_template = role_vm_template(template, role).ok_or_else(|| {
            ProviderError::permanent(format!(
                "the service template {template_id} has no {role} role, which the {} flavour needs",
                spec.flavour
            ))
        })?;
        let vm_tpl = api.oned.template(vm_template).await.map_err(|e| ProviderError {
            message: format!("cannot read the VM template {vm_template} of role {role}: {}", e.message),
            ..e
        })?;
        let mut attrs = vm_attrs(spec, &vm_tpl, &api.settings.capacity, &api.auth())?;
        attrs.extend(user_attrs(runtime));
        attrs.push(Attr::Single("FLAVOURS".into(), template_id.to_string()));
        roles.push(json!({"name": role, "template_contents": contents_json(&attrs)}));
    }
    let merge = json!({"name": service_name, "roles": roles});
    let service = api.flow.instantiate(template_id, &merge).await?;
    let sid =
        document_id(&service).ok_or_else(|| ProviderError::permanent("OneFlow answered a service without an ID"))?;
    Ok((sid, api.wait_running(sid).await))
}

/// The VM of each function in a service: by role name.
fn vm_ids(service: &Json) -> Vec<(String, u64)> {
    oneflow::roles(service).into_iter().filter_map(|(name, _, ids)| Some((name, *ids.first()?))).collect()
}

fn function_value(vm: Option<&Vm>, vm_id: u64) -> Value {
    match vm.filter(|v| !v.is_done()) {
        Some(vm) => Value::map([
            ("vm_id", Value::string(vm.id.to_string())),
            ("state", Value::string(vm.function_state())),
            ("vm_state", Value::string(vm.state_text())),
            ("endpoint", Value::string(vm.endpoint.clone())),
            ("cpu", Value::number(vm.vcpu)),
            ("memory", Value::number(vm.memory)),
            ("disk_size", Value::number(vm.disk_size)),
        ]),
        None => Value::map([
            ("vm_id", Value::string(vm_id.to_string())),
            ("state", Value::string("GONE")),
            ("vm_state", Value::string("DONE")),
            ("endpoint", Value::string("")),
            ("cpu", Value::number(0.0)),
            ("memory", Value::number(0.0)),
            ("disk_size", Value::number(0.0)),
        ]),
    }
}

/// The function block as read back: the wanted one, with a size the VM no longer has replaced
/// by the VM's (a resize outside tarn shows as drift; an unset size is compared with what the
/// VM got when tarn made it).
fn function_block(wanted: &Value, recorded: Option<&Value>, vm: Option<&Vm>) -> Value {
    let (Some(block), Some(vm)) = (wanted.as_map(), vm.filter(|v| !v.is_done())) else { return wanted.clone() };
    let mut block = block.clone();
    for (key, actual) in [("cpu", vm.vcpu), ("memory", vm.memory), ("disk_size", vm.disk_size)] {
        let expected = block
            .get(key)
            .and_then(|v| v.unmark().0.as_f64())
            .or_else(|| recorded.and_then(|r| r.get(key)).and_then(Value::as_f64));
        if expected.is_some_and(|e| e != actual as f64) {
            block.insert(key.into(), Value::number(actual));
        }
    }
    Value::Map(block)
}

/// The object's state from what OpenNebula says.
fn state(wanted: &Value, doc_id: &str, service: &Json, template_id: &str, vms: &[(String, u64, Option<Vm>)]) -> Value {
    let recorded = wanted.get("functions").and_then(Value::as_map);
    let mut functions = indexmap::IndexMap::new();
    let mut out = wanted.as_map().cloned().unwrap_or_default();
    for (attr, role) in ROLES {
        let Some((_, vm_id, vm)) = vms.iter().find(|(r, _, _)| r == role) else { continue };
        functions.insert(attr.to_string(), function_value(vm.as_ref(), *vm_id));
        if let Some(block) = wanted.get(attr).filter(|b| !b.is_null()) {
            out.insert(attr.into(), function_block(block, recorded.and_then(|r| r.get(attr)), vm.as_ref()));
        }
    }
    let endpoint = vms
        .iter()
        .find(|(r, _, _)| r == "FAAS")
        .and_then(|(_, _, vm)| vm.as_ref())
        .map(|vm| vm.endpoint.clone())
        .unwrap_or_default();
    out.insert("id".into(), Value::string(doc_id));
    out.insert("service_id".into(), Value::string(document_id(service).unwrap_or_default().to_string()));
    out.insert("service_template_id".into(), Value::string(template_id));
    out.insert("service_state".into(), Value::string(oneflow::service_state_name(oneflow::state(service))));
    out.insert("endpoint".into(), Value::string(endpoint));
    out.insert("functions".into(), Value::Map(functions));
    Value::Map(out)
}

/// The SERVERLESS_RUNTIME document body, as the original engine stores it.
fn document_body(runtime: &Value, service_id: u64, vms: &[(String, u64, Option<Vm>)]) -> Result<String, ProviderError> {
    let mut body = Map::new();
    let (faas, daas) = specs(runtime)?;
    for ((_, role), spec) in ROLES.iter().zip([Some(&faas), daas.as_ref()]) {
        let Some(spec) = spec else { continue };
        let mut f = Map::new();
        f.insert("FLAVOUR".into(), json!(spec.flavour));
        if let Some((_, id, Some(vm))) = vms.iter().find(|(r, _, _)| r == role) {
            f.insert("CPU".into(), json!(vm.vcpu));
            f.insert("MEMORY".into(), json!(vm.memory));
            f.insert("DISK_SIZE".into(), json!(vm.disk_size));
            f.insert("VM_ID".into(), json!(id));
            f.insert("STATE".into(), json!(vm.function_state()));
            f.insert("ENDPOINT".into(), json!(vm.endpoint));
        }
        body.insert(role.to_string(), Json::Object(f));
    }
    let upper = |v: &Value| -> Json {
        let mut m = Map::new();
        for (k, x) in v.as_map().into_iter().flatten() {
            if !x.is_null() {
                m.insert(k.to_uppercase(), x.unmark_deep().to_json_unmarked());
            }
        }
        Json::Object(m)
    };
    body.insert("SCHEDULING".into(), runtime.get("scheduling").map_or(json!({}), upper));
    body.insert("DEVICE_INFO".into(), runtime.get("device_info").map_or(json!({}), upper));
    body.insert("SERVICE_ID".into(), json!(service_id));
    Ok(Json::Object(body).to_string())
}

async fn vms_of(api: &Api, service: &Json) -> Result<Vec<(String, u64, Option<Vm>)>, ProviderError> {
    let mut out = Vec::new();
    for (role, id) in vm_ids(service) {
        out.push((role, id, api.oned.vm(id).await?));
    }
    Ok(out)
}

pub async fn create(api: &Api, planned: &Value, correlation: &str) -> Result<Value, ProviderError> {
    let name = name_of(planned)?;
    let (faas, daas) = specs(planned)?;
    let template = resolve(api, &faas, daas.as_ref()).await?;
    let template_id = document_id(&template).unwrap_or_default().to_string();
    let (sid, outcome) = instantiate(api, planned, &template, &service_name(&name, correlation)).await?;
    // From here the service exists: a failure hands its state to the engine, whose rollback
    // removes it.
    let partial = |e: ProviderError, service: Json| {
        let s = state(planned, "", &service, &template_id, &[]);
        let why = e.kind;
        ProviderError {
            kind: why,
            ..ProviderError::partially_created(format!("service {sid} was instantiated, but {}", e.message), s)
        }
    };
    let stub = json!({"ID": sid.to_string(), "TEMPLATE": {"BODY": {"state": 0}}});
    let (service, _) = match outcome {
        Ok(x) => x,
        Err(e) => {
            let service = api.flow.service(sid).await.ok().flatten().unwrap_or(stub);
            return Err(partial(e, service));
        }
    };
    let vms = match vms_of(api, &service).await {
        Ok(v) => v,
        Err(e) => return Err(partial(e, service)),
    };
    let body = document_body(planned, sid, &vms)?;
    let doc = match api.oned.document_allocate(DOCUMENT_TYPE, &name, &body).await {
        Ok(d) => d,
        Err(e) => return Err(partial(e, service)),
    };
    Ok(state(planned, &doc.to_string(), &service, &template_id, &vms))
}

pub async fn read(api: &Api, wanted: &Value) -> Result<Option<Value>, ProviderError> {
    let Some(sid) = id_attr(wanted, "service_id") else { return Ok(None) };
    let Some(service) = api.flow.service(sid).await? else { return Ok(None) };
    if oneflow::service_state_name(oneflow::state(&service)) == "DONE" {
        return Ok(None);
    }
    let vms = vms_of(api, &service).await?;
    let doc_id = text(wanted, "id").unwrap_or_default();
    let mut current = wanted.clone();
    if let Some(id) = id_attr(wanted, "id") {
        match api.oned.document(id).await? {
            Some(doc) if let Value::Map(m) = &mut current => {
                m.insert("name".into(), Value::string(doc.name));
            }
            _ => {}
        }
    }
    let template_id = text(wanted, "service_template_id").unwrap_or_default();
    Ok(Some(state(&current, &doc_id, &service, &template_id, &vms)))
}

/// The sizes a function should have: the block's, or for a size left out, what create gave it.
pub(crate) async fn targets(
    api: &Api,
    template_id: &str,
    role: &str,
    spec: &Spec,
) -> Result<crate::function::Sizes, ProviderError> {
    let template = match (spec.cpu, spec.memory, spec.disk_size) {
        (Some(_), Some(_), Some(_)) => None,
        _ => {
            let id: u64 =
                template_id.parse().map_err(|_| ProviderError::permanent("no service_template_id recorded"))?;
            let st = api.flow.service_template(id).await?.ok_or_else(|| {
                ProviderError::not_found(format!(
                    "the service template {id} this runtime was made from no longer exists"
                ))
            })?;
            let vm_tpl = role_vm_template(&st, role)
                .ok_or_else(|| ProviderError::permanent(format!("service template {id} has no {role} role")))?;
            Some(api.oned.template(vm_tpl).await?)
        }
    };
    let empty = crate::model::VmTemplate { id: 0, name: String::new(), disk: None, context: None, vcpu: 0, memory: 0 };
    Ok(sizes(spec, template.as_ref().unwrap_or(&empty), &api.settings.capacity))
}

async fn resize(api: &Api, vm_id: u64, role: &str, want: crate::function::Sizes) -> Result<(), ProviderError> {
    let vm = api.oned.vm(vm_id).await?.ok_or_else(|| {
        ProviderError::not_found(format!(
            "the {role} VM {vm_id} no longer exists: replace the runtime (tarn apply -replace=…)"
        ))
    })?;
    if vm.vcpu == want.cpu && vm.memory == want.memory && vm.disk_size == want.disk {
        return Ok(());
    }
    if vm.function_state() != "RUNNING" {
        return Err(ProviderError::conflict(format!(
            "the {role} VM {vm_id} is {} ({}), not RUNNING: it cannot be resized now; try again when it is",
            vm.function_state(),
            vm.state_text()
        ))
        .with_kind(ErrorKind::NotReady));
    }
    // The plan checked these already; the VM may have changed since.
    crate::plan::within_limits(&vm, role, want, "resize")?;
    if vm.vcpu != want.cpu || vm.memory != want.memory {
        let mut attrs = Vec::new();
        if vm.memory != want.memory {
            attrs.push(Attr::Single("MEMORY".into(), want.memory.to_string()));
        }
        if vm.vcpu != want.cpu {
            attrs.push(Attr::Single("VCPU".into(), want.cpu.to_string()));
        }
        if vm.cpu != want.cpu as f64 {
            attrs.push(Attr::Single("CPU".into(), want.cpu.to_string()));
        }
        api.oned.vm_resize(vm_id, &render(&attrs), true).await?;
        api.wait_vm_running(vm_id, "its capacity resize").await?;
    }
    if vm.disk_size != want.disk {
        api.oned.vm_disk_resize(vm_id, 0, want.disk).await?;
        api.wait_vm_running(vm_id, "its disk resize").await?;
    }
    Ok(())
}

pub async fn update(api: &Api, prior: &Value, planned: &Value) -> Result<Value, ProviderError> {
    let (faas, daas) = specs(planned)?;
    let (old_faas, old_daas) = specs(prior)?;
    let doc_id = id_attr(prior, "id");
    let template_id = text(prior, "service_template_id").unwrap_or_default();
    let sid = id_attr(prior, "service_id").ok_or_else(|| ProviderError::permanent("no service_id recorded"))?;
    if tuple(&faas, daas.as_ref()) != tuple(&old_faas, old_daas.as_ref()) {
        // The plan makes new flavours a replacement (another template is another service).
        return Err(ProviderError::permanent(
            "an update cannot change the flavours: the plan replaces the runtime for that. This is a bug in tarn",
        ));
    }
    let service = api
        .flow
        .service(sid)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("service {sid} no longer exists")))?;
    repair(api, sid, &service).await?;
    let ids = vm_ids(&service);
    for ((_, role), spec) in ROLES.iter().zip([Some(&faas), daas.as_ref()]) {
        let (Some(spec), Some((_, vm_id))) = (spec, ids.iter().find(|(r, _)| r == role)) else { continue };
        let want = targets(api, &template_id, role, spec).await?;
        resize(api, *vm_id, role, want).await?;
    }
    let user_changed = ["scheduling", "device_info"].iter().any(|k| prior.get(k) != planned.get(k));
    if user_changed {
        let attrs = user_attrs(planned);
        for (_, vm_id) in &ids {
            if !attrs.is_empty() {
                api.oned.vm_update(*vm_id, &render(&attrs), true).await?;
            }
            // Just the flag: placement is the scheduler's business (as the original).
            api.oned.vm_action("resched", *vm_id).await?;
        }
    }
    let service = api
        .flow
        .service(sid)
        .await?
        .ok_or_else(|| ProviderError::not_found(format!("service {sid} vanished during its update")))?;
    let vms = vms_of(api, &service).await?;
    let name = name_of(planned)?;
    if let Some(id) = doc_id {
        if name_of(prior).ok().as_deref() != Some(name.as_str()) {
            api.oned.document_rename(id, &name).await?;
        }
        api.oned.document_update(id, &document_body(planned, sid, &vms)?).await?;
    }
    let doc = doc_id.map(|d| d.to_string()).unwrap_or_default();
    Ok(state(planned, &doc, &service, &template_id, &vms))
}

/// A service found in WARNING or a FAILED_* state (drift the plan proposes to repair) is
/// recovered (OneFlow's `recover` retries what failed) and waited for until it and its VMs
/// run again. One in a transient state (deploying, scaling, undeploying, …) cannot be changed
/// now: not ready.
async fn repair(api: &Api, sid: u64, service: &Json) -> Result<(), ProviderError> {
    let name = oneflow::service_state_name(oneflow::state(service));
    match name {
        "RUNNING" => Ok(()),
        "WARNING" | "FAILED_DEPLOYING" | "FAILED_SCALING" | "FAILED_DEPLOYING_NETS" => {
            api.flow.recover(sid, false).await?;
            api.wait_running(sid).await.map(|_| ())
        }
        _ => Err(ProviderError::conflict(format!(
            "service {sid} is {name}, not RUNNING: it cannot be changed now; try again when it is"
        ))
        .with_kind(ErrorKind::NotReady)),
    }
}

pub async fn delete(api: &Api, current: &Value) -> Result<(), ProviderError> {
    if let Some(sid) = id_attr(current, "service_id") {
        api.remove_service(sid).await?;
    }
    if let Some(id) = id_attr(current, "id") {
        api.oned.document_delete(id).await?;
    }
    Ok(())
}

/// The service an interrupted create made, found by its name; its document is made if the
/// crash came before it.
pub async fn adopt(api: &Api, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let name = name_of(planned)?;
    let wanted = service_name(&name, correlation);
    let services = api.flow.services().await?;
    let Some(service) = services.into_iter().find(|s| s.get("NAME").and_then(Json::as_str) == Some(wanted.as_str()))
    else {
        return Ok(None);
    };
    let sid = document_id(&service).unwrap_or_default();
    let vms = vms_of(api, &service).await?;
    let (faas, daas) = specs(planned)?;
    let template_id = resolve(api, &faas, daas.as_ref())
        .await
        .ok()
        .and_then(|t| document_id(&t))
        .map(|i| i.to_string())
        .unwrap_or_default();
    let docs = api.oned.documents(DOCUMENT_TYPE).await?;
    let existing = docs.iter().find(|d| {
        d.body.as_deref().and_then(|b| serde_json::from_str::<Json>(b).ok()).and_then(|b| b.get("SERVICE_ID")?.as_u64())
            == Some(sid)
    });
    let doc_id = match existing {
        Some(d) => d.id,
        None => api.oned.document_allocate(DOCUMENT_TYPE, &name, &document_body(planned, sid, &vms)?).await?,
    };
    Ok(Some(state(planned, &doc_id.to_string(), &service, &template_id, &vms)))
}

/// A runtime by its document id (the Provisioning Engine's runtime ID).
pub async fn import(api: &Api, id: &str) -> Result<Option<Value>, ProviderError> {
    let id: u64 = id.trim().parse().map_err(|_| {
        ProviderError::permanent(format!("{id:?} is not a runtime id (the SERVERLESS_RUNTIME document's number)"))
    })?;
    let Some(doc) = api.oned.document(id).await? else { return Ok(None) };
    if doc.doc_type != DOCUMENT_TYPE.to_string() {
        return Err(ProviderError::permanent(format!(
            "document {id} is not a serverless runtime (its type is {}, not {DOCUMENT_TYPE})",
            doc.doc_type
        )));
    }
    let body: Json = doc.body.as_deref().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Json::Null);
    let body = body.get("SERVERLESS_RUNTIME").cloned().unwrap_or(body);
    let sid = body.get("SERVICE_ID").and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()));
    let Some(sid) = sid else { return Err(ProviderError::permanent(format!("document {id} names no SERVICE_ID"))) };
    let block = |role: &str| -> Value {
        let Some(f) = body.get(role) else { return Value::Null };
        let num = |k: &str| f.get(k).and_then(Json::as_f64).map_or(Value::Null, Value::number);
        Value::map([
            ("flavour", f.get("FLAVOUR").and_then(Json::as_str).map_or(Value::Null, Value::string)),
            ("cpu", num("CPU")),
            ("memory", num("MEMORY")),
            ("disk_size", num("DISK_SIZE")),
        ])
    };
    let lower = |key: &str| -> Value {
        match body.get(key).and_then(Json::as_object) {
            Some(m) if !m.is_empty() => {
                Value::Map(m.iter().map(|(k, v)| (k.to_lowercase(), Value::from_json(v))).collect())
            }
            _ => Value::Null,
        }
    };
    let service = api.flow.service(sid).await?;
    let template_id = match &service {
        Some(s) => {
            let vm = vm_ids(s).first().map(|(_, v)| *v);
            match vm {
                Some(v) => {
                    api.oned.vm(v).await?.and_then(|vm| vm.user("FLAVOURS").map(str::to_string)).unwrap_or_default()
                }
                None => String::new(),
            }
        }
        None => String::new(),
    };
    let wanted = Value::map([
        ("name", Value::string(doc.name.clone())),
        ("faas", block("FAAS")),
        ("daas", block("DAAS")),
        ("scheduling", lower("SCHEDULING")),
        ("device_info", lower("DEVICE_INFO")),
        ("id", Value::string(id.to_string())),
        ("service_id", Value::string(sid.to_string())),
        ("service_template_id", Value::string(template_id)),
    ]);
    read(api, &wanted).await
}
