//! The `vsn_deployment_plan` data source: the seed's deployment plan (a JSON file) and its
//! optional secret file (a JSON object of NAME: "value" pairs), validated before anything runs:
//! first against the JSON Schema in docs/vsn-deployment-plan.schema.json, then the special
//! checks a schema cannot express (unique container names, volumes and secrets that exist,
//! service ports the host publishes, size limits within the provider's cap, archives that
//! exist). Every problem is reported at once, by JSON pointer.
//!
//! Secret values never appear in an error: the secret file is validated with masked errors,
//! and the values leave only through `service_secrets`, which the schema marks sensitive.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value as Json;
use tarn_sdk::{ProviderError, Value};

use crate::kinds::{DEFAULT_HOST_NAME, DEFAULT_MOUNT_PATH};

/// The deployment plan's JSON Schema, as documented.
pub const SCHEMA: &str = include_str!("../../../docs/vsn-deployment-plan.schema.json");

const SECRETS_SCHEMA: &str = r#"{
  "type": "object",
  "propertyNames": { "pattern": "^[A-Za-z_][A-Za-z0-9_]*$" },
  "additionalProperties": { "type": "string", "pattern": "^[^\\r\\n]*$" }
}"#;

fn read_json(path: &str, what: &str) -> Result<Json, ProviderError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ProviderError::permanent(format!("cannot read the {what} {path}: {e}")))?;
    serde_json::from_str(&text).map_err(|e| {
        // serde_json's message names line and column, never the content.
        ProviderError::permanent(format!(
            "the {what} {path} is not valid JSON: {path}:{}:{}: {e}",
            e.line(),
            e.column()
        ))
    })
}

fn schema_errors(schema: &str, instance: &Json, masked: bool) -> Result<Vec<String>, ProviderError> {
    let schema: Json = serde_json::from_str(schema)
        .map_err(|e| ProviderError::permanent(format!("the deployment plan schema is broken: {e}")))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| ProviderError::permanent(format!("the deployment plan schema is broken: {e}")))?;
    Ok(validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "/".to_string() } else { at };
            if masked { format!("{at}: {}", e.masked()) } else { format!("{at}: {e}") }
        })
        .collect())
}

fn strs(v: Option<&Json>) -> Vec<String> {
    v.and_then(Json::as_array)
        .map(|l| l.iter().filter_map(Json::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// Validates the plan and the secret file; every problem in one error.
pub fn validate(plan: &Json, secrets: Option<&Json>, size_cap_gb: f64, plan_path: &str) -> Result<(), ProviderError> {
    let mut problems = schema_errors(SCHEMA, plan, false)?;
    if let Some(s) = secrets {
        problems.extend(schema_errors(SECRETS_SCHEMA, s, true)?.into_iter().map(|p| format!("secret file {p}")));
    }
    if problems.is_empty() {
        problems = special_checks(plan, secrets, size_cap_gb);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ProviderError::permanent(format!(
            "the deployment plan {plan_path} is invalid:\n  - {}",
            problems.join("\n  - ")
        )))
    }
}

/// The checks a JSON Schema cannot express.
fn special_checks(plan: &Json, secrets: Option<&Json>, size_cap_gb: f64) -> Vec<String> {
    let mut problems = Vec::new();
    let host = &plan["host"];
    let host_name = host["name"].as_str().unwrap_or(DEFAULT_HOST_NAME).to_string();
    let mut names = BTreeMap::from([(host_name, "/host/name".to_string())]);
    let mut volumes = BTreeSet::new();
    let empty = Vec::new();
    let mut archives = Vec::new();
    if let Some(a) = host["image_archive"].as_str() {
        archives.push(("/host/image_archive".to_string(), a.to_string()));
    }
    for (i, v) in plan["volumes"].as_array().unwrap_or(&empty).iter().enumerate() {
        let name = v["name"].as_str().unwrap_or_default().to_string();
        if let Some(first) = names.insert(name.clone(), format!("/volumes/{i}/name")) {
            problems.push(format!("/volumes/{i}/name: the container name \"{name}\" is already used at {first}"));
        }
        volumes.insert(name);
        if let Some(gb) = v["size_limit_gb"].as_f64() {
            if gb > size_cap_gb {
                problems.push(format!(
                    "/volumes/{i}/size_limit_gb: {gb} GB is over the VSN's volume size limit of {size_cap_gb} GB"
                ));
            }
        }
        if let Some(a) = v["image_archive"].as_str() {
            archives.push((format!("/volumes/{i}/image_archive"), a.to_string()));
        }
    }
    let published: Vec<String> = strs(host.get("ports"))
        .iter()
        .map(|p| {
            let (spec, proto) = p.split_once('/').unwrap_or((p, "tcp"));
            format!("{}/{proto}", spec.rsplit(':').next().unwrap_or_default())
        })
        .collect();
    let secret_keys: BTreeSet<String> =
        secrets.and_then(Json::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default();
    for (i, s) in plan["services"].as_array().unwrap_or(&empty).iter().enumerate() {
        let name = s["name"].as_str().unwrap_or_default().to_string();
        if let Some(first) = names.insert(name.clone(), format!("/services/{i}/name")) {
            problems.push(format!("/services/{i}/name: the container name \"{name}\" is already used at {first}"));
        }
        for (j, v) in strs(s.get("volumes")).iter().enumerate() {
            if !volumes.contains(v) {
                problems.push(format!("/services/{i}/volumes/{j}: no volume container named \"{v}\" in this plan"));
            }
        }
        for (j, k) in strs(s.get("secrets")).iter().enumerate() {
            if secrets.is_none() {
                problems.push(format!(
                    "/services/{i}/secrets/{j}: the secret \"{k}\" is named but no secret file was given"
                ));
            } else if !secret_keys.contains(k) {
                problems.push(format!("/services/{i}/secrets/{j}: the secret file has no key \"{k}\""));
            }
            if s["env"].get(k).is_some() {
                problems.push(format!("/services/{i}/secrets/{j}: \"{k}\" is both a secret and a plain env entry"));
            }
        }
        for (j, p) in strs(s.get("ports")).iter().enumerate() {
            let want = if p.contains('/') { p.clone() } else { format!("{p}/tcp") };
            if !published.contains(&want) {
                problems.push(format!("/services/{i}/ports/{j}: port {p} is not published by the host (services share the host's network; add it to /host/ports)"));
            }
        }
        if let Some(a) = s["image_archive"].as_str() {
            archives.push((format!("/services/{i}/image_archive"), a.to_string()));
        }
    }
    for (at, a) in archives {
        if !Path::new(&a).is_file() {
            problems.push(format!("{at}: the image archive {a} does not exist on this machine"));
        }
    }
    problems
}

fn json_or_null(v: Option<&Json>) -> Value {
    match v {
        Some(j) if !j.is_null() => Value::from_json(j),
        _ => Value::Null,
    }
}

fn list(v: Option<&Json>) -> Value {
    Value::List(strs(v).into_iter().map(Value::String).collect())
}

/// The data source's attributes, every optional field filled in (null or empty) so that
/// configurations can use `each.value.FIELD` without `try`.
pub fn outputs(plan: &Json, secrets: Option<&Json>) -> Value {
    let host = &plan["host"];
    let host_v = Value::map([
        ("name", Value::string(host["name"].as_str().unwrap_or(DEFAULT_HOST_NAME))),
        ("image", json_or_null(host.get("image"))),
        ("image_archive", json_or_null(host.get("image_archive"))),
        ("pull", json_or_null(host.get("pull"))),
        ("command", json_or_null(host.get("command"))),
        ("env", json_or_null(host.get("env"))),
        ("ports", list(host.get("ports"))),
    ]);
    let empty = Vec::new();
    let volumes = plan["volumes"].as_array().unwrap_or(&empty).iter().map(|v| {
        let name = v["name"].as_str().unwrap_or_default().to_string();
        let obj = Value::map([
            ("name", Value::string(name.clone())),
            ("image", json_or_null(v.get("image"))),
            ("image_archive", json_or_null(v.get("image_archive"))),
            ("pull", json_or_null(v.get("pull"))),
            ("mount_path", Value::string(v["mount_path"].as_str().unwrap_or(DEFAULT_MOUNT_PATH))),
            ("size_limit_gb", json_or_null(v.get("size_limit_gb"))),
        ]);
        (name, obj)
    });
    let mut service_secrets = Vec::new();
    let services = plan["services"].as_array().unwrap_or(&empty).iter().map(|s| {
        let name = s["name"].as_str().unwrap_or_default().to_string();
        let keys = strs(s.get("secrets"));
        let values: Vec<(String, Value)> = keys
            .iter()
            .filter_map(|k| {
                secrets.and_then(|m| m.get(k)).and_then(Json::as_str).map(|v| (k.clone(), Value::string(v)))
            })
            .collect();
        service_secrets.push((name.clone(), if values.is_empty() { Value::Null } else { Value::map(values) }));
        let obj = Value::map([
            ("name", Value::string(name.clone())),
            ("image", json_or_null(s.get("image"))),
            ("image_archive", json_or_null(s.get("image_archive"))),
            ("pull", json_or_null(s.get("pull"))),
            ("command", json_or_null(s.get("command"))),
            ("env", json_or_null(s.get("env"))),
            ("secrets", Value::List(keys.into_iter().map(Value::String).collect())),
            ("volumes", list(s.get("volumes"))),
            ("ports", list(s.get("ports"))),
            ("restart", json_or_null(s.get("restart"))),
            ("healthcheck", json_or_null(s.get("healthcheck"))),
        ]);
        (name, obj)
    });
    let volumes = Value::map(volumes.collect::<Vec<_>>());
    let services = Value::map(services.collect::<Vec<_>>());
    Value::map([
        ("host", host_v),
        ("volumes", volumes),
        ("services", services),
        ("service_secrets", Value::map(service_secrets).sensitive()),
    ])
}

/// Reads the data source: the configuration's `file` and `secrets_file`.
pub fn read(config: &Value, size_cap_gb: f64) -> Result<Value, ProviderError> {
    let file = config
        .get("file")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::permanent("vsn_deployment_plan: \"file\" is required"))?;
    let plan = read_json(file, "deployment plan")?;
    let secrets_path = config.get("secrets_file").and_then(Value::as_str);
    let secrets = match secrets_path {
        // serde_json's parse errors name a position, never the content.
        Some(p) => Some(read_json(p, "secret file")?),
        None => None,
    };
    validate(&plan, secrets.as_ref(), size_cap_gb, file)?;
    let mut out = outputs(&plan, secrets.as_ref());
    if let Value::Map(m) = &mut out {
        m.insert("file".into(), Value::string(file));
        m.insert("secrets_file".into(), secrets_path.map(Value::string).unwrap_or(Value::Null));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Json {
        json!({
            "version": 1,
            "host": { "image": "localhost/host:1", "ports": ["127.0.0.1:8080:80"] },
            "volumes": [ { "name": "db-data", "image": "localhost/busybox:1" } ],
            "services": [ { "name": "web", "image": "localhost/web:1", "volumes": ["db-data"], "secrets": ["TOKEN"], "ports": ["80"] } ]
        })
    }

    #[test]
    fn a_good_plan_validates_and_fills_every_field() {
        let secrets = json!({"TOKEN": "s3cret"});
        validate(&good(), Some(&secrets), 200.0, "p.json").unwrap();
        let out = outputs(&good(), Some(&secrets));
        assert_eq!(out.get("host").unwrap().get("name").unwrap(), &Value::string("vsn-host"));
        let web = out.get("services").unwrap().get("web").unwrap();
        assert_eq!(web.get("restart"), Some(&Value::Null));
        assert_eq!(
            out.get("volumes").unwrap().get("db-data").unwrap().get("mount_path").unwrap(),
            &Value::string("/data")
        );
        assert!(out.get("service_secrets").unwrap().is_sensitive());
    }

    #[test]
    fn schema_errors_name_the_json_pointer() {
        let mut p = good();
        p["host"]["pull"] = json!("sometimes");
        p["services"][0]["healthcheck"] = json!({"interval": "5s"});
        let err = validate(&p, None, 200.0, "p.json").unwrap_err().message;
        assert!(err.contains("/host/pull"), "{err}");
        assert!(err.contains("/services/0/healthcheck"), "{err}");
    }

    #[test]
    fn special_checks_report_every_problem() {
        let mut p = good();
        p["services"][0]["volumes"] = json!(["nope"]);
        p["services"][0]["ports"] = json!(["443"]);
        p["volumes"][0]["size_limit_gb"] = json!(500);
        p["services"].as_array_mut().unwrap().push(json!({"name": "db-data", "image": "x"}));
        let err = validate(&p, Some(&json!({})), 200.0, "p.json").unwrap_err().message;
        for needle in [
            "/services/0/volumes/0",
            "/services/0/secrets/0",
            "/services/0/ports/0",
            "/volumes/0/size_limit_gb",
            "/services/1/name",
        ] {
            assert!(err.contains(needle), "{needle} missing in {err}");
        }
    }

    #[test]
    fn the_example_plan_is_valid() {
        let mut plan: Json = serde_json::from_str(include_str!("../../../examples/vsn/plan.json")).unwrap();
        let secrets: Json = serde_json::from_str(include_str!("../../../examples/vsn/secrets.example.json")).unwrap();
        // Its image archives exist once `build-images.sh` has run: every one it names is one
        // the script makes, and the rest of the plan is valid as it is.
        let script = include_str!("../../../examples/vsn/build-images.sh");
        let mut archives = Vec::new();
        for list in ["volumes", "services"] {
            for o in plan[list].as_array_mut().into_iter().flatten() {
                archives.extend(o.as_object_mut().and_then(|o| o.remove("image_archive")));
            }
        }
        archives.extend(plan["host"].as_object_mut().and_then(|o| o.remove("image_archive")));
        assert_eq!(archives.len(), 3);
        for a in archives {
            let a = a.as_str().unwrap().to_string();
            let (name, tag) = a.trim_start_matches("images/").trim_end_matches(".tar").rsplit_once('-').unwrap();
            assert!(script.contains(&format!("\nimage {name} {tag} ")), "build-images.sh does not make {a}");
        }
        validate(&plan, Some(&secrets), 200.0, "examples/vsn/plan.json").unwrap();
    }

    #[test]
    fn secret_values_never_appear_in_errors() {
        let secrets = json!({"TOKEN": "line1\nS3CRET-VALUE", "bad key": "S3CRET-2"});
        let err = validate(&good(), Some(&secrets), 200.0, "p.json").unwrap_err().message;
        assert!(err.contains("secret file"), "{err}");
        assert!(!err.contains("S3CRET"), "{err}");
    }
}
