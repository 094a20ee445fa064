//! A runtime's plan, as the original engine decides a request: the flavours must name a service
//! template this user can use (an unknown flavour fails the plan, for a new runtime and an
//! existing one alike); on an existing runtime, new flavours are a replacement (a new service
//! from the other template), while new sizes resize the VMs in place, and only within the
//! limits the VMs were made with (VCPU_MAX, MEMORY_MAX: the size at creation × engine.conf's
//! `:capacity:` multipliers; disks only grow): beyond them the plan fails. A service found not
//! RUNNING is repaired: replaced when a function's VM is gone, else recovered by the update.
//!
//! Reads only: nothing here changes OpenNebula.

use tarn_sdk::{PlanResponse, ProviderError, Value};

use crate::api::Api;
use crate::function::{ROLES, Sizes, Spec, tuple};
use crate::model::Vm;
use crate::oneflow::document_id;
use crate::runtime::{name_of, resolve, specs, targets};

pub async fn plan(api: &Api, prior: Option<&Value>, mut proposed: Value) -> Result<PlanResponse, ProviderError> {
    name_of(&proposed)?;
    let (faas, daas) = specs(&proposed)?;
    let template = resolve(api, &faas, daas.as_ref()).await?;
    let mut requires_replace = Vec::new();
    if let Some(prior) = prior {
        let (old_faas, old_daas) = specs(prior)?;
        if tuple(&faas, daas.as_ref()) != tuple(&old_faas, old_daas.as_ref()) {
            // The flavours choose the service template: another one is another service.
            let flavour = |s: Option<&Spec>| s.map(|s| s.flavour.clone());
            if faas.flavour != old_faas.flavour {
                requires_replace.push("faas".to_string());
            }
            if flavour(daas.as_ref()) != flavour(old_daas.as_ref()) {
                requires_replace.push("daas".to_string());
            }
            return Ok(PlanResponse { planned: proposed, requires_replace });
        }
        if Some("RUNNING") != prior.get("service_state").and_then(Value::as_str) {
            // Drift: the service was found not RUNNING (the schema keeps it at RUNNING, so the
            // plan proposes it again). A function whose VM is gone cannot come back in place:
            // a new service replaces the runtime. Otherwise the update recovers the service,
            // and what its VMs then are is known after apply.
            let gone = ROLES.iter().any(|(attr, _)| {
                prior.get("functions").and_then(|f| f.get(attr)).and_then(|f| f.get("state")).and_then(Value::as_str)
                    == Some("GONE")
            });
            if gone {
                requires_replace.push("service_state".to_string());
            } else if let Value::Map(m) = &mut proposed {
                m.insert("functions".into(), Value::Unknown);
            }
        }
        let mut resized = false;
        for ((attr, role), (spec, old)) in
            ROLES.iter().zip([(Some(&faas), Some(&old_faas)), (daas.as_ref(), old_daas.as_ref())])
        {
            let (Some(spec), Some(old)) = (spec, old) else { continue };
            let sizes = |s: &Spec| (s.cpu, s.memory, s.disk_size);
            let known = proposed.get(attr).is_some_and(Value::is_wholly_known);
            if sizes(spec) == sizes(old) || !known {
                continue;
            }
            resized = true;
            let Some(vm_id) = prior_vm(prior, attr) else { continue };
            // A VM gone is drift the apply reports; its limits cannot be read.
            let Some(vm) = api.oned.vm(vm_id).await?.filter(|v| !v.is_done()) else { continue };
            let template_id = crate::runtime::text(prior, "service_template_id").unwrap_or_default();
            let want = targets(api, &template_id, role, spec).await?;
            within_limits(&vm, role, want, &format!("{attr} of this runtime"))?;
        }
        if resized && let Value::Map(m) = &mut proposed {
            // The VMs' sizes are read back after the resize.
            m.insert("functions".into(), Value::Unknown);
        }
    } else if let Value::Map(m) = &mut proposed
        && m.get("service_template_id").is_some_and(Value::is_unknown)
    {
        let id = document_id(&template).unwrap_or_default();
        m.insert("service_template_id".into(), Value::string(id.to_string()));
    }
    Ok(PlanResponse { planned: proposed, requires_replace })
}

/// The VM id recorded for a function (`functions.<attr>.vm_id`).
fn prior_vm(prior: &Value, attr: &str) -> Option<u64> {
    prior.get("functions")?.get(attr)?.get("vm_id")?.as_str()?.parse().ok()
}

/// Whether `vm` can take `want` in place: CPUs and memory up to VCPU_MAX and MEMORY_MAX,
/// a disk no smaller than it is. `what` names the function for the message.
pub fn within_limits(vm: &Vm, role: &str, want: Sizes, what: &str) -> Result<(), ProviderError> {
    if want.cpu > vm.vcpu_max || want.memory > vm.memory_max {
        return Err(ProviderError::permanent(format!(
            "{what}: the {role} VM {} can grow in place to {} CPUs and {} MB (VCPU_MAX, MEMORY_MAX: its size at creation × the capacity multipliers); {} CPUs and {} MB need a new runtime (tarn apply -replace=…)",
            vm.id, vm.vcpu_max, vm.memory_max, want.cpu, want.memory
        )));
    }
    if want.disk < vm.disk_size {
        return Err(ProviderError::permanent(format!(
            "{what}: the {role} VM {}'s disk is {} MB; OpenNebula only grows disks, so {} MB needs a new runtime (tarn apply -replace=…)",
            vm.id, vm.disk_size, want.disk
        )));
    }
    Ok(())
}
