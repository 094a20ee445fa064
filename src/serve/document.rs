//! Between the contract's `SERVERLESS_RUNTIME` document and tarn: a request body becomes the
//! arguments of one `opennebula_serverless_runtime` (a [`Spec`]), a spec becomes the stack a
//! run plans (`runtime.tarn.json`: the provider block and the resource), and the recorded
//! object becomes the document the answer carries (ID, SERVICE_ID, each function's VM_ID,
//! STATE, ENDPOINT and actual sizes).
//!
//! Pure data; no IO.

use serde_json::{Map, Value as Json, json};

/// The address of the one object of every runtime's stack.
pub const ADDRESS: &str = "opennebula_serverless_runtime.this";

/// The arguments of one runtime, in the provider's spelling (`name`, `faas`, `daas`,
/// `scheduling`, `device_info`).
#[derive(Debug, Clone, PartialEq)]
pub struct Spec(pub Map<String, Json>);

const FUNCTIONS: [(&str, &str); 2] = [("FAAS", "faas"), ("DAAS", "daas")];
const SIZES: [(&str, &str); 3] = [("CPU", "cpu"), ("MEMORY", "memory"), ("DISK_SIZE", "disk_size")];

fn function(f: &Json) -> Option<Json> {
    let flavour = f.get("FLAVOUR")?.as_str().filter(|s| !s.is_empty())?;
    let mut out = Map::new();
    out.insert("flavour".into(), json!(flavour));
    for (upper, lower) in SIZES {
        out.insert(lower.into(), f.get(upper).cloned().unwrap_or(Json::Null));
    }
    Some(Json::Object(out))
}

/// An object of the document (`SCHEDULING`, `DEVICE_INFO`) with the keys `fields` lists, in
/// lower case; `null` when none is given.
fn lowered(v: Option<&Json>, fields: &[&str]) -> Json {
    let Some(m) = v.and_then(Json::as_object) else { return Json::Null };
    let mut out = Map::new();
    let mut any = false;
    for f in fields {
        let x = m.get(&f.to_uppercase()).cloned().unwrap_or(Json::Null);
        any |= !x.is_null();
        out.insert(f.to_string(), x);
    }
    if any { Json::Object(out) } else { Json::Null }
}

impl Spec {
    /// The runtime a (schema-valid) request body asks for. Without a NAME, the original's:
    /// the flavour tuple and a UUID.
    pub fn from_request(body: &Json) -> Spec {
        let sr = &body["SERVERLESS_RUNTIME"];
        let faas = function(&sr["FAAS"]).unwrap_or(Json::Null);
        let daas = function(&sr["DAAS"]).unwrap_or(Json::Null);
        let name = match sr.get("NAME").and_then(Json::as_str).filter(|n| !n.trim().is_empty()) {
            Some(n) => n.to_string(),
            None => {
                let mut tuple = faas["flavour"].as_str().unwrap_or_default().to_string();
                if let Some(d) = daas["flavour"].as_str() {
                    tuple.push('-');
                    tuple.push_str(d);
                }
                format!("{tuple}_{}", uuid::Uuid::new_v4())
            }
        };
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        m.insert("faas".into(), faas);
        m.insert("daas".into(), daas);
        m.insert("scheduling".into(), lowered(sr.get("SCHEDULING"), &["policy", "requirements"]));
        m.insert("device_info".into(), lowered(sr.get("DEVICE_INFO"), &["latency_to_pe", "geographic_location"]));
        Spec(m)
    }

    /// The arguments recorded in the state for the object (what the last run applied).
    pub fn from_state(attributes: &Json) -> Spec {
        let mut m = Map::new();
        for key in ["name", "faas", "daas", "scheduling", "device_info"] {
            m.insert(key.into(), attributes.get(key).cloned().unwrap_or(Json::Null));
        }
        Spec(m)
    }

    /// A PUT: as the original, only NAME and the sizes (CPU, MEMORY, DISK_SIZE) of functions
    /// the runtime has change; flavours, SCHEDULING and DEVICE_INFO are kept.
    pub fn resized(&self, body: &Json) -> Spec {
        let sr = &body["SERVERLESS_RUNTIME"];
        let mut m = self.0.clone();
        if let Some(n) = sr.get("NAME").and_then(Json::as_str).filter(|n| !n.trim().is_empty()) {
            m.insert("name".into(), json!(n));
        }
        for (upper, lower) in FUNCTIONS {
            let (Some(given), Some(Json::Object(mine))) = (sr.get(upper), m.get_mut(lower)) else { continue };
            for (su, sl) in SIZES {
                if let Some(v) = given.get(su).filter(|v| !v.is_null()) {
                    mine.insert(sl.into(), v.clone());
                }
            }
        }
        Spec(m)
    }

    /// The stack of this runtime, as tarn's JSON configuration syntax. Strings from the
    /// request are escaped, so a `${` in a NAME is text, not an interpolation.
    pub fn stack(&self, provider: &Json) -> String {
        let mut resource = Map::new();
        for (k, v) in &self.0 {
            resource.insert(k.clone(), escape(v));
        }
        let doc = json!({
            "variable": {
                "one_username": {"type": "string"},
                "one_password": {"type": "string", "sensitive": true}
            },
            "provider": {"opennebula": provider},
            "resource": {"opennebula_serverless_runtime": {"this": resource}}
        });
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    }
}

/// Template escapes for every string in `v` (`${` → `$${`, `%{` → `%%{`).
fn escape(v: &Json) -> Json {
    match v {
        Json::String(s) => json!(s.replace("${", "$${").replace("%{", "%%{")),
        Json::Array(a) => Json::Array(a.iter().map(escape).collect()),
        Json::Object(m) => Json::Object(m.iter().map(|(k, x)| (k.clone(), escape(x))).collect()),
        other => other.clone(),
    }
}

fn number(s: Option<&Json>) -> Option<i64> {
    let v = s?;
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)).or_else(|| v.as_str()?.parse().ok())
}

/// The contract's function STATE for tarn's (a VM gone is an ERROR to the device).
fn contract_state(s: &str) -> &'static str {
    match s {
        "PENDING" => "PENDING",
        "RUNNING" => "RUNNING",
        "UPDATING" => "UPDATING",
        _ => "ERROR",
    }
}

/// The `SERVERLESS_RUNTIME` document of a recorded object: ID (the OpenNebula document),
/// SERVICE_ID, and per function its FLAVOUR, actual sizes, VM_ID, STATE and ENDPOINT.
pub fn to_document(attributes: &Json) -> Json {
    let a = attributes;
    let mut sr = Map::new();
    sr.insert("NAME".into(), a.get("name").cloned().unwrap_or(json!("")));
    if let Some(id) = number(a.get("id")) {
        sr.insert("ID".into(), json!(id));
    }
    for (upper, lower) in FUNCTIONS {
        let Some(wanted) = a.get(lower).filter(|v| v.is_object()) else { continue };
        let actual = &a["functions"][lower];
        let mut f = Map::new();
        f.insert("FLAVOUR".into(), wanted.get("flavour").cloned().unwrap_or(json!("")));
        for (su, sl) in SIZES {
            if let Some(n) = number(actual.get(sl)).filter(|n| *n > 0).or_else(|| number(wanted.get(sl))) {
                f.insert(su.into(), json!(n));
            }
        }
        if let Some(vm) = number(actual.get("vm_id")) {
            f.insert("VM_ID".into(), json!(vm));
        }
        if let Some(s) = actual.get("state").and_then(Json::as_str) {
            f.insert("STATE".into(), json!(contract_state(s)));
        }
        f.insert("ENDPOINT".into(), actual.get("endpoint").cloned().unwrap_or(json!("")));
        sr.insert(upper.into(), Json::Object(f));
    }
    let upper = |v: Option<&Json>| -> Json {
        let mut out = Map::new();
        for (k, x) in v.and_then(Json::as_object).into_iter().flatten() {
            if !x.is_null() {
                out.insert(k.to_uppercase(), x.clone());
            }
        }
        Json::Object(out)
    };
    sr.insert("SCHEDULING".into(), upper(a.get("scheduling")));
    sr.insert("DEVICE_INFO".into(), upper(a.get("device_info")));
    if let Some(sid) = number(a.get("service_id")) {
        sr.insert("SERVICE_ID".into(), json!(sid));
    }
    json!({ "SERVERLESS_RUNTIME": sr })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Json {
        serde_json::from_str(include_str!("../../specs/provisioning-engine/examples/serverless-runtime.json")).unwrap()
    }

    #[test]
    fn the_contract_example_becomes_the_provider_arguments() {
        let spec = Spec::from_request(&example());
        assert_eq!(spec.0["name"], "nature-s3");
        assert_eq!(spec.0["faas"], json!({"flavour": "nature", "cpu": 1, "memory": 512, "disk_size": null}));
        assert_eq!(spec.0["scheduling"], json!({"policy": "energy", "requirements": "FREECPU > 10"}));
        assert_eq!(spec.0["device_info"]["latency_to_pe"], 100);
    }

    #[test]
    fn without_a_name_the_tuple_and_a_uuid_and_empty_objects_are_null() {
        let spec = Spec::from_request(&json!({"SERVERLESS_RUNTIME": {"FAAS": {"FLAVOUR": "Function"},
            "DAAS": {"FLAVOUR": ""}, "SCHEDULING": {}, "DEVICE_INFO": {}}}));
        assert!(spec.0["name"].as_str().unwrap().starts_with("Function_"));
        assert!(spec.0["daas"].is_null() && spec.0["scheduling"].is_null() && spec.0["device_info"].is_null());
    }

    #[test]
    fn a_put_changes_only_the_name_and_sizes() {
        let spec = Spec::from_request(&example());
        let put = json!({"SERVERLESS_RUNTIME": {"NAME": "renamed", "FAAS": {"FLAVOUR": "other", "CPU": 2},
            "SCHEDULING": {"POLICY": "latency"}}});
        let new = spec.resized(&put);
        assert_eq!(new.0["name"], "renamed");
        assert_eq!(new.0["faas"]["cpu"], 2);
        assert_eq!(new.0["faas"]["flavour"], "nature");
        assert_eq!(new.0["scheduling"], spec.0["scheduling"]);
    }

    #[test]
    fn request_strings_are_never_templates() {
        let spec = Spec::from_request(
            &json!({"SERVERLESS_RUNTIME": {"NAME": "${var.one_password}", "FAAS": {"FLAVOUR": "F"}}}),
        );
        let stack: Json = serde_json::from_str(&spec.stack(&json!({}))).unwrap();
        assert_eq!(stack["resource"]["opennebula_serverless_runtime"]["this"]["name"], "$${var.one_password}");
    }

    #[test]
    fn a_recorded_object_becomes_the_contract_document() {
        let attrs = json!({"name": "n", "id": "7", "service_id": "5", "faas": {"flavour": "Function", "cpu": 1,
            "memory": null, "disk_size": null}, "daas": null, "scheduling": {"policy": "energy", "requirements": null},
            "device_info": null, "functions": {"faas": {"vm_id": "3", "state": "RUNNING", "vm_state": "RUNNING",
            "endpoint": "10.0.0.3", "cpu": 1, "memory": 1024, "disk_size": 1024}}});
        let doc = to_document(&attrs);
        assert_eq!(
            doc,
            json!({"SERVERLESS_RUNTIME": {"NAME": "n", "ID": 7, "FAAS": {"FLAVOUR": "Function", "CPU": 1,
                "MEMORY": 1024, "DISK_SIZE": 1024, "VM_ID": 3, "STATE": "RUNNING", "ENDPOINT": "10.0.0.3"},
                "SCHEDULING": {"POLICY": "energy"}, "DEVICE_INFO": {}, "SERVICE_ID": 5}})
        );
    }
}
