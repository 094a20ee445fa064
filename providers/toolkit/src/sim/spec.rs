//! Checking emulator answers against the vendor's own OpenAPI description (the repository's
//! `specs/`), so an emulator cannot drift from the API it stands in for.
//!
//! [`OpenApi`] finds the operation for a method and a concrete path, picks the response schema
//! for the status (the exact code, then `4XX`-style ranges, then `default`), turns the
//! OpenAPI 3.0 schema into plain JSON Schema (every `$ref` inlined, `nullable` as a `null`
//! type, annotations dropped) and validates the body with the `jsonschema` crate, formats
//! included. [`Recorder`] is an axum layer that keeps every answer an emulator gives, so a test
//! drives the emulator through the real client and checks everything it saw.
//!
//! One deliberate reading of vendor files: some error responses are declared as
//! `allOf: [<success envelope>, <...-common-failure>]`, which no body can satisfy (the success
//! envelope says `success: true`, the failure one `success: false`). For statuses >= 400 such an
//! `allOf` is read as its failure branch alone. Behind the `spec-check` feature: tests only.

use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use serde_json::{Map, Value as Json};

/// Keys that only annotate a schema; dropped so they cannot confuse the validator.
const ANNOTATIONS: &[&str] =
    &["example", "examples", "readOnly", "writeOnly", "xml", "externalDocs", "discriminator", "deprecated"];

/// Deeper than this, a `$ref` chain is taken to be a cycle.
const MAX_DEPTH: usize = 64;

/// A problem with the spec itself or with an answer checked against it.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read the spec {path}: {detail}")]
    Read { path: String, detail: String },
    #[error("{method} {path}: no operation in the spec matches")]
    NoOperation { method: String, path: String },
    #[error("{method} {template}: the spec declares no response for status {status}")]
    NoResponse { method: String, template: String, status: u16 },
    #[error("{method} {template}: the spec's schema is unusable: {detail}")]
    BadSchema { method: String, template: String, detail: String },
    #[error("{method} {path} answered {status}, which does not match the spec's schema:\n  {}\nbody: {body}", .errors.join("\n  "))]
    Invalid { method: String, path: String, status: u16, errors: Vec<String>, body: String },
}

/// One answer an emulator gave.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    pub status: u16,
    /// The body as JSON; `Null` when empty or not JSON.
    pub body: Json,
}

/// A loaded OpenAPI document.
#[derive(Debug, Clone)]
pub struct OpenApi {
    doc: Json,
    /// The path part of `servers[0].url` (`/client/v4`), which request paths start with.
    base_path: String,
}

/// What [`OpenApi::check_all`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// `(METHOD, path template, status)` of every answer that validated.
    pub checked: Vec<(String, String, u16)>,
    pub failures: Vec<SpecError>,
}

impl OpenApi {
    pub fn load(path: &Path) -> Result<OpenApi, SpecError> {
        let read_err = |detail: String| SpecError::Read { path: path.display().to_string(), detail };
        let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
        let doc: Json = serde_yaml::from_str(&text).map_err(|e| read_err(e.to_string()))?;
        if doc.get("paths").and_then(Json::as_object).is_none() {
            return Err(read_err("no `paths` object: not an OpenAPI document".into()));
        }
        let server = doc.pointer("/servers/0/url").and_then(Json::as_str).unwrap_or("/");
        let after_scheme = server.split_once("://").map_or(server, |(_, rest)| rest);
        let base_path = match after_scheme.find('/') {
            Some(i) if server.contains("://") => after_scheme[i..].trim_end_matches('/').to_string(),
            _ if !server.contains("://") => server.trim_end_matches('/').to_string(),
            _ => String::new(),
        };
        Ok(OpenApi { doc, base_path })
    }

    /// The base path request paths carry before the spec's path templates.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// Every operation in the spec, as `(METHOD, template)`.
    pub fn operations(&self) -> Vec<(String, String)> {
        let mut ops = Vec::new();
        for (template, item) in self.paths() {
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                if item.get(method).is_some() {
                    ops.push((method.to_uppercase(), template.clone()));
                }
            }
        }
        ops
    }

    /// The path template of the operation that serves `method` on the concrete `path`; a
    /// template with more literal segments wins over one with more parameters.
    pub fn operation_for(&self, method: &str, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let relative = path.strip_prefix(self.base_path.as_str()).unwrap_or(path);
        let wanted: Vec<&str> = relative.trim_matches('/').split('/').collect();
        let method = method.to_lowercase();
        self.paths()
            .filter(|(_, item)| item.get(&method).is_some())
            .filter_map(|(template, _)| {
                let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
                if parts.len() != wanted.len() {
                    return None;
                }
                let mut literals = 0;
                for (t, w) in parts.iter().zip(&wanted) {
                    if t.starts_with('{') && t.ends_with('}') {
                        if w.is_empty() {
                            return None;
                        }
                    } else if t == w {
                        literals += 1;
                    } else {
                        return None;
                    }
                }
                Some((literals, template.clone()))
            })
            .max_by_key(|(literals, _)| *literals)
            .map(|(_, t)| t)
    }

    /// The JSON Schema (draft 4, self-contained) a `status` answer of the operation must match.
    pub fn response_schema(&self, method: &str, template: &str, status: u16) -> Result<Json, SpecError> {
        let no_response =
            || SpecError::NoResponse { method: method.to_uppercase(), template: template.to_string(), status };
        let responses = self
            .doc
            .get("paths")
            .and_then(|p| p.get(template))
            .and_then(|item| item.get(method.to_lowercase()))
            .and_then(|op| op.get("responses"))
            .and_then(Json::as_object)
            .ok_or_else(no_response)?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let response = responses
            .iter()
            .find(|(k, _)| **k == exact)
            .or_else(|| responses.iter().find(|(k, _)| k.eq_ignore_ascii_case(&range)))
            .or_else(|| responses.iter().find(|(k, _)| *k == "default"))
            .map(|(_, v)| v)
            .ok_or_else(no_response)?;
        let response = self.follow_ref(response, 0).map_err(|detail| self.bad(method, template, detail))?;
        let Some(raw) = response.pointer("/content/application~1json/schema") else {
            // No JSON body declared: anything (or nothing) goes.
            return Ok(Json::Bool(true));
        };
        let raw = if status >= 400 { failure_branch(raw).unwrap_or(raw) } else { raw };
        self.convert(raw, 0).map_err(|detail| self.bad(method, template, detail))
    }

    /// Validates one answer.
    pub fn check(&self, exchange: &Exchange) -> Result<String, SpecError> {
        let template = self
            .operation_for(&exchange.method, &exchange.path)
            .ok_or_else(|| SpecError::NoOperation { method: exchange.method.clone(), path: exchange.path.clone() })?;
        let schema = self.response_schema(&exchange.method, &template, exchange.status)?;
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| self.bad(&exchange.method, &template, e.to_string()))?;
        let errors: Vec<String> =
            validator.iter_errors(&exchange.body).map(|e| format!("at {}: {e}", e.instance_path())).collect();
        if errors.is_empty() {
            Ok(template)
        } else {
            Err(SpecError::Invalid {
                method: exchange.method.clone(),
                path: exchange.path.clone(),
                status: exchange.status,
                errors,
                body: exchange.body.to_string(),
            })
        }
    }

    /// Validates every answer; the report lists what passed and what failed.
    pub fn check_all(&self, exchanges: &[Exchange]) -> Report {
        let mut report = Report::default();
        for exchange in exchanges {
            match self.check(exchange) {
                Ok(template) => report.checked.push((exchange.method.clone(), template, exchange.status)),
                Err(e) => report.failures.push(e),
            }
        }
        report
    }

    /// Operations of the spec that no answer in `report` exercised with a 2xx status.
    pub fn uncovered(&self, report: &Report) -> Vec<(String, String)> {
        self.operations()
            .into_iter()
            .filter(|(m, t)| !report.checked.iter().any(|(cm, ct, s)| cm == m && ct == t && (200..300).contains(s)))
            .collect()
    }

    fn paths(&self) -> impl Iterator<Item = (&String, &Json)> {
        self.doc.get("paths").and_then(Json::as_object).into_iter().flat_map(|m| m.iter())
    }

    fn bad(&self, method: &str, template: &str, detail: String) -> SpecError {
        SpecError::BadSchema { method: method.to_uppercase(), template: template.to_string(), detail }
    }

    fn follow_ref<'a>(&'a self, node: &'a Json, depth: usize) -> Result<&'a Json, String> {
        match node.get("$ref").and_then(Json::as_str) {
            None => Ok(node),
            Some(_) if depth > MAX_DEPTH => Err("a $ref chain loops".into()),
            Some(reference) => {
                let pointer =
                    reference.strip_prefix('#').ok_or_else(|| format!("external $ref {reference} is not supported"))?;
                let target = self.doc.pointer(pointer).ok_or_else(|| format!("$ref {reference} does not resolve"))?;
                self.follow_ref(target, depth + 1)
            }
        }
    }

    /// OpenAPI 3.0 schema → self-contained JSON Schema draft 4.
    fn convert(&self, node: &Json, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err("schema nesting too deep (a recursive $ref?)".into());
        }
        let node = self.follow_ref(node, depth)?;
        let Json::Object(object) = node else { return Ok(node.clone()) };
        let mut out = Map::new();
        for (key, value) in object {
            if ANNOTATIONS.contains(&key.as_str()) || key.starts_with("x-") || key == "nullable" {
                continue;
            }
            let converted = match key.as_str() {
                "properties" | "patternProperties" => match value {
                    Json::Object(props) => Json::Object(
                        props.iter().map(|(k, v)| Ok((k.clone(), self.convert(v, depth + 1)?))).collect::<Result<
                            Map<_, _>,
                            String,
                        >>(
                        )?,
                    ),
                    other => other.clone(),
                },
                "items" | "not" | "additionalProperties" if value.is_object() => self.convert(value, depth + 1)?,
                "allOf" | "anyOf" | "oneOf" => match value {
                    Json::Array(list) => {
                        Json::Array(list.iter().map(|v| self.convert(v, depth + 1)).collect::<Result<_, _>>()?)
                    }
                    other => other.clone(),
                },
                _ => value.clone(),
            };
            out.insert(key.clone(), converted);
        }
        if object.get("nullable") == Some(&Json::Bool(true)) {
            if let Some(Json::String(t)) = out.get("type").cloned() {
                out.insert("type".into(), Json::Array(vec![Json::String(t), Json::String("null".into())]));
            }
            if let Some(Json::Array(values)) = out.get_mut("enum")
                && !values.contains(&Json::Null)
            {
                values.push(Json::Null);
            }
        }
        Ok(Json::Object(out))
    }
}

/// For an error response declared as `allOf: [<success envelope>, <...failure>]`, the failure
/// branch (see the module header).
fn failure_branch(schema: &Json) -> Option<&Json> {
    let branches = schema.get("allOf")?.as_array()?;
    branches.iter().find(|b| b.get("$ref").and_then(Json::as_str).is_some_and(|r| r.ends_with("failure")))
}

/// Keeps every answer an emulator gives, for [`OpenApi::check_all`]. Clones share the record.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl Recorder {
    /// Wraps `router` so every answer it gives is recorded.
    pub fn wrap(&self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(self.clone(), record))
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn record(
    axum::extract::State(recorder): axum::extract::State<Recorder>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
    recorder.exchanges.lock().unwrap_or_else(|p| p.into_inner()).push(Exchange {
        method,
        path,
        status: parts.status.as_u16(),
        body: json,
    });
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec() -> (tempfile::TempDir, OpenApi) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("api.yaml");
        std::fs::write(
            &path,
            r##"
openapi: 3.0.3
servers: [{url: "https://api.example.com/v1"}]
paths:
  /things/{id}:
    get:
      responses:
        '200':
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ok'}
        4XX:
          content:
            application/json:
              schema:
                allOf: [{$ref: '#/components/schemas/ok'}, {$ref: '#/components/schemas/common-failure'}]
  /things/special:
    get:
      responses: {'204': {description: none}}
components:
  schemas:
    ok:
      type: object
      required: [success, result]
      properties:
        success: {enum: [true]}
        result: {type: object, nullable: true, properties: {when: {type: string, format: date-time}}}
    common-failure:
      type: object
      required: [success]
      properties: {success: {enum: [false]}}
"##,
        )
        .expect("write");
        let api = OpenApi::load(&path).expect("load");
        (dir, api)
    }

    fn exchange(path: &str, status: u16, body: Json) -> Exchange {
        Exchange { method: "GET".into(), path: path.into(), status, body }
    }

    #[test]
    fn matches_templates_preferring_literals_under_the_base_path() {
        let (_d, api) = spec();
        assert_eq!(api.base_path(), "/v1");
        assert_eq!(api.operation_for("GET", "/v1/things/42?x=1").as_deref(), Some("/things/{id}"));
        assert_eq!(api.operation_for("GET", "/v1/things/special").as_deref(), Some("/things/special"));
        assert_eq!(api.operation_for("POST", "/v1/things/42"), None);
    }

    #[test]
    fn validates_refs_nullable_formats_and_failure_branches() {
        let (_d, api) = spec();
        api.check(&exchange("/v1/things/1", 200, json!({"success": true, "result": null}))).expect("nullable result");
        api.check(&exchange("/v1/things/1", 200, json!({"success": true, "result": {"when": "2024-01-01T00:00:00Z"}})))
            .expect("valid date-time");
        let bad_format =
            api.check(&exchange("/v1/things/1", 200, json!({"success": true, "result": {"when": "yesterday"}})));
        assert!(matches!(bad_format, Err(SpecError::Invalid { .. })), "{bad_format:?}");
        let missing = api.check(&exchange("/v1/things/1", 200, json!({"result": null})));
        assert!(matches!(missing, Err(SpecError::Invalid { .. })), "{missing:?}");
        api.check(&exchange("/v1/things/1", 404, json!({"success": false}))).expect("4XX reads as its failure branch");
        let no_response = api.check(&exchange("/v1/things/1", 500, json!({})));
        assert!(matches!(no_response, Err(SpecError::NoResponse { .. })), "{no_response:?}");
        let report = api.check_all(&[exchange("/v1/things/1", 200, json!({"success": true, "result": null}))]);
        assert_eq!(api.uncovered(&report), vec![("GET".to_string(), "/things/special".to_string())]);
    }
}
