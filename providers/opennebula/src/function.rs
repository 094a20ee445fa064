//! A runtime's functions (`faas`, `daas`) and what their VMs get, exactly as the original
//! engine's `Function.map_vm_template` and `map_user_template` build it, so existing function
//! images keep working: disk 0 of the role's VM template with `SIZE` set, `CPU` = `VCPU`,
//! `MEMORY`, the hot-resize limits `VCPU_MAX`/`MEMORY_MAX` (size × the capacity multiplier),
//! `HOT_RESIZE`, `MEMORY_RESIZE_MODE`, the template's `CONTEXT` plus `SR_AUTH` (the caller's
//! `user:password` in base64), and in the user template `SCHED_REQUIREMENTS`, `SCHED_RANK`
//! (upper-cased, as the original does), `DEVICE_INFO=[…]` and `FLAVOURS` (the service
//! template's id).
//!
//! Pure: specifications and templates in, template attributes out.

use base64::Engine;
use serde_json::{Map, Value as Json};
use tarn_sdk::{ProviderError, Value};

use crate::config::Capacity;
use crate::model::VmTemplate;
use crate::template::Attr;

/// The OneFlow role names, in the original's order.
pub const ROLES: [(&str, &str); 2] = [("faas", "FAAS"), ("daas", "DAAS")];

/// One function's specification (`faas {…}` or `daas {…}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub flavour: String,
    pub cpu: Option<u64>,
    pub memory: Option<u64>,
    pub disk_size: Option<u64>,
}

fn size(block: &Value, name: &str, attr: &str) -> Result<Option<u64>, ProviderError> {
    match block.get(name).and_then(|v| v.unmark().0.as_f64()) {
        None => Ok(None),
        Some(n) if n >= 1.0 && n.fract() == 0.0 && n < 1e12 => Ok(Some(n as u64)),
        Some(n) => {
            Err(ProviderError::permanent(format!("{attr}.{name} must be a whole number of at least 1, not {n}")))
        }
    }
}

impl Spec {
    /// The `faas`/`daas` block of a runtime; `None` when absent.
    pub fn of(runtime: &Value, attr: &str) -> Result<Option<Spec>, ProviderError> {
        let Some(block) = runtime.get(attr).map(|b| b.unmark().0).filter(|b| !b.is_null()) else { return Ok(None) };
        let flavour = block
            .get("flavour")
            .and_then(|f| f.unmark().0.as_str())
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| ProviderError::permanent(format!("{attr}.flavour must be a non-empty string")))?;
        if flavour.contains('-') && attr == "faas" {
            // The tuple `faas-daas` is how templates are named: a dash would make it ambiguous.
            return Err(ProviderError::permanent(format!("faas.flavour {flavour:?} must not contain '-'")));
        }
        Ok(Some(Spec {
            flavour: flavour.to_string(),
            cpu: size(block, "cpu", attr)?,
            memory: size(block, "memory", attr)?,
            disk_size: size(block, "disk_size", attr)?,
        }))
    }
}

/// The service template name for a runtime, as the original's `tuple`: the FaaS flavour, then
/// `-` and the DaaS flavour when there is one.
pub fn tuple(faas: &Spec, daas: Option<&Spec>) -> String {
    match daas {
        Some(d) => format!("{}-{}", faas.flavour, d.flavour),
        None => faas.flavour.clone(),
    }
}

/// The sizes a function's VM gets: the specification's, else the VM template's, else the
/// capacity defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sizes {
    pub cpu: u64,
    pub memory: u64,
    pub disk: u64,
}

pub fn sizes(spec: &Spec, template: &VmTemplate, capacity: &Capacity) -> Sizes {
    let or = |v: u64, d: u64| if v == 0 { d } else { v };
    Sizes {
        cpu: spec.cpu.unwrap_or_else(|| or(template.vcpu, capacity.cpu_default)),
        memory: spec.memory.unwrap_or_else(|| or(template.memory, capacity.memory_default)),
        disk: spec.disk_size.unwrap_or(capacity.disk_default),
    }
}

/// The VM part of a role's template (`map_vm_template`).
pub fn vm_attrs(
    spec: &Spec,
    template: &VmTemplate,
    capacity: &Capacity,
    auth: &str,
) -> Result<Vec<Attr>, ProviderError> {
    let Some(disk) = &template.disk else {
        return Err(ProviderError::permanent(format!(
            "the VM template {} ({}) has no DISK: a function VM needs one",
            template.id, template.name
        )));
    };
    let s = sizes(spec, template, capacity);
    let mut disk: Vec<(String, String)> = disk.iter().filter(|(k, _)| k != "SIZE").cloned().collect();
    disk.push(("SIZE".into(), s.disk.to_string()));
    let mut context = template.context.clone().unwrap_or_default();
    context.retain(|(k, _)| k != "SR_AUTH");
    context.push(("SR_AUTH".into(), base64::engine::general_purpose::STANDARD.encode(auth)));
    Ok(vec![
        Attr::Vector(
            "HOT_RESIZE".into(),
            vec![("CPU_HOT_ADD_ENABLED".into(), "YES".into()), ("MEMORY_HOT_ADD_ENABLED".into(), "YES".into())],
        ),
        Attr::Single("MEMORY_RESIZE_MODE".into(), capacity.memory_resize_mode.clone()),
        Attr::Vector("DISK".into(), disk),
        Attr::Single("CPU".into(), s.cpu.to_string()),
        Attr::Single("VCPU".into(), s.cpu.to_string()),
        Attr::Single("MEMORY".into(), s.memory.to_string()),
        Attr::Single("VCPU_MAX".into(), (s.cpu * capacity.cpu_mult).to_string()),
        Attr::Single("MEMORY_MAX".into(), (s.memory * capacity.memory_mult).to_string()),
        Attr::Vector("CONTEXT".into(), context),
    ])
}

/// The user-template part (`map_user_template`), without `FLAVOURS`.
pub fn user_attrs(runtime: &Value) -> Vec<Attr> {
    let mut out = Vec::new();
    if let Some(s) = runtime.get("scheduling").map(|s| s.unmark().0).filter(|s| !s.is_null()) {
        for (attr, key) in [("requirements", "SCHED_REQUIREMENTS"), ("policy", "SCHED_RANK")] {
            if let Some(v) = s.get(attr).and_then(|v| v.unmark().0.as_str()).filter(|v| !v.is_empty()) {
                out.push(Attr::Single(key.into(), v.to_uppercase()));
            }
        }
    }
    if let Some(d) = runtime.get("device_info").map(|d| d.unmark().0).filter(|d| !d.is_null()) {
        let mut pairs = Vec::new();
        if let Some(l) = d.get("latency_to_pe").and_then(|v| v.unmark().0.as_number()) {
            pairs.push(("LATENCY_TO_PE".into(), l.to_text()));
        }
        if let Some(g) = d.get("geographic_location").and_then(|v| v.unmark().0.as_str()) {
            pairs.push(("GEOGRAPHIC_LOCATION".into(), g.to_string()));
        }
        out.push(Attr::Vector("DEVICE_INFO".into(), pairs));
    }
    out
}

/// Template attributes as OneFlow 7's `template_contents` object (vectors as objects).
pub fn contents_json(attrs: &[Attr]) -> Json {
    let mut m = Map::new();
    for a in attrs {
        match a {
            Attr::Single(k, v) => {
                m.insert(k.clone(), Json::String(v.clone()));
            }
            Attr::Vector(k, pairs) => {
                let inner: Map<String, Json> =
                    pairs.iter().map(|(pk, pv)| (pk.clone(), Json::String(pv.clone()))).collect();
                m.insert(k.clone(), Json::Object(inner));
            }
        }
    }
    Json::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> VmTemplate {
        VmTemplate {
            id: 4,
            name: "function".into(),
            disk: Some(vec![("IMAGE_ID".into(), "2".into()), ("SIZE".into(), "5".into())]),
            context: Some(vec![("NETWORK".into(), "YES".into())]),
            vcpu: 0,
            memory: 768,
        }
    }

    #[test]
    fn the_vm_gets_what_the_original_engine_gives_it() {
        let spec = Spec { flavour: "Function".into(), cpu: Some(3), memory: None, disk_size: None };
        let attrs = vm_attrs(&spec, &template(), &Capacity::default(), "alice:secret").expect("attrs");
        let json = contents_json(&attrs);
        assert_eq!(json["CPU"], "3");
        assert_eq!(json["VCPU"], "3");
        assert_eq!(json["VCPU_MAX"], "6");
        assert_eq!(json["MEMORY"], "768");
        assert_eq!(json["MEMORY_MAX"], "1536");
        assert_eq!(json["DISK"]["SIZE"], "1024");
        assert_eq!(json["DISK"]["IMAGE_ID"], "2");
        assert_eq!(json["CONTEXT"]["NETWORK"], "YES");
        assert_eq!(json["CONTEXT"]["SR_AUTH"], "YWxpY2U6c2VjcmV0");
        assert_eq!(json["HOT_RESIZE"]["CPU_HOT_ADD_ENABLED"], "YES");
        assert_eq!(json["MEMORY_RESIZE_MODE"], "BALLOONING");
        let no_disk = VmTemplate { disk: None, ..template() };
        assert!(vm_attrs(&spec, &no_disk, &Capacity::default(), "a:b").is_err());
    }

    #[test]
    fn scheduling_and_device_info_go_to_the_user_template() {
        let runtime = Value::map([
            (
                "scheduling",
                Value::map([("policy", Value::string("energy")), ("requirements", Value::string("FREECPU > 10"))]),
            ),
            (
                "device_info",
                Value::map([("latency_to_pe", Value::number(100.0)), ("geographic_location", Value::string("Madrid"))]),
            ),
        ]);
        let json = contents_json(&user_attrs(&runtime));
        assert_eq!(json["SCHED_REQUIREMENTS"], "FREECPU > 10");
        assert_eq!(json["SCHED_RANK"], "ENERGY");
        assert_eq!(json["DEVICE_INFO"]["LATENCY_TO_PE"], "100");
        assert_eq!(json["DEVICE_INFO"]["GEOGRAPHIC_LOCATION"], "Madrid");
        let faas = Spec { flavour: "Function".into(), cpu: None, memory: None, disk_size: None };
        let daas = Spec { flavour: "Data".into(), ..faas.clone() };
        assert_eq!(tuple(&faas, Some(&daas)), "Function-Data");
        assert_eq!(tuple(&faas, None), "Function");
    }
}
