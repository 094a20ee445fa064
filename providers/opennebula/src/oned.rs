//! The oned XML-RPC calls tarn makes (`specs/opennebula-oneflow-xmlrpc.subset.yaml` and the
//! extract `specs/opennebula-xmlrpc.extract.yaml`): `one.vm.info`, `one.vm.action`,
//! `one.vm.resize`, `one.vm.diskresize`, `one.vm.update`, `one.vm.recover`, `one.vmpool.info`,
//! `one.template.info`, `one.document.allocate`/`info`/`update`/`rename`/`delete`, and
//! `one.documentpool.info`, over `tarn_sdk::http` (POST to `/RPC2`, deadlines, retries of the
//! read calls only).
//!
//! The first parameter of every call is the session `user:password`, so request bodies are
//! never logged. Answers are the `[ok, result_or_error, errcode, …]` envelope; a failure maps
//! its error code to a class and a kind: AUTHENTICATION (unauthenticated) and AUTHORIZATION
//! (denied) are permanent, NO_EXISTS is not found, LOCKED is a conflict (not ready), INTERNAL
//! is transient.

use tarn_sdk::http::{Client, Method, Secrets};
use tarn_sdk::{ErrorClass, ErrorKind, ProviderError};

use crate::model::{Document, Vm, VmTemplate, document_pool, vm_pool};
use crate::xmlrpc::{Response, RpcValue, decode_response, encode_call};

pub const AUTHENTICATION: i64 = 0x0100;
pub const AUTHORIZATION: i64 = 0x0200;
pub const NO_EXISTS: i64 = 0x0400;
pub const ACTION: i64 = 0x0800;
pub const XML_RPC_API: i64 = 0x1000;
pub const INTERNAL: i64 = 0x2000;
pub const ALLOCATE: i64 = 0x4000;
pub const LOCKED: i64 = 0x8000;

/// A failed oned call, with the error code of the envelope.
pub fn oned_error(method: &str, code: i64, message: &str) -> ProviderError {
    let (class, kind, hint) = match code {
        AUTHENTICATION => (
            ErrorClass::Permanent,
            Some(ErrorKind::Unauthenticated),
            ": check the provider's username and password (or ONE_USERNAME/ONE_PASSWORD)",
        ),
        AUTHORIZATION => {
            (ErrorClass::Permanent, Some(ErrorKind::Denied), ": the user is not allowed to do this (ACLs, ownership)")
        }
        NO_EXISTS => (ErrorClass::NotFound, None, ""),
        LOCKED => (ErrorClass::Conflict, Some(ErrorKind::NotReady), ": the object is locked; unlock it or wait"),
        INTERNAL => (ErrorClass::Transient, None, ""),
        _ => (ErrorClass::Permanent, None, ""),
    };
    ProviderError { kind, ..ProviderError::new(class, format!("{method} failed (error {code:#06x}): {message}{hint}")) }
}

/// oned's XML-RPC endpoint with one user's session.
#[derive(Debug, Clone)]
pub struct Oned {
    client: Client,
    /// The full endpoint URL (`…/RPC2`), requested as is: joined to the client's base it would
    /// gain a trailing slash.
    endpoint: String,
    session: String,
}

impl Oned {
    /// `endpoint` is the full URL (`http://frontend:2633/RPC2`), on the client's origin.
    pub fn new(client: Client, endpoint: &str, username: &str, password: &str) -> Oned {
        Oned { client, endpoint: endpoint.to_string(), session: format!("{username}:{password}") }
    }

    pub fn redacting(&self, secrets: Secrets) -> Oned {
        Oned { client: self.client.redacting(secrets), endpoint: self.endpoint.clone(), session: self.session.clone() }
    }

    /// Calls `method` with the session and `params`; the result of a successful envelope.
    pub async fn call(&self, method: &str, params: Vec<RpcValue>) -> Result<RpcValue, ProviderError> {
        let mut all = Vec::with_capacity(params.len() + 1);
        all.push(RpcValue::Str(self.session.clone()));
        all.extend(params);
        let body = encode_call(method, &all);
        let mut request = self.client.request(Method::POST, &self.endpoint).text(&body, "text/xml").sensitive();
        if method.ends_with(".info") {
            // Reads change nothing: safe to send again after a 5xx or a time-out.
            request = request.retry_non_idempotent();
        }
        let answer = request.send().await?;
        let text = match &answer.body {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let response = decode_response(&text).map_err(|e| {
            ProviderError::permanent(format!("{method}: oned answered something that is not XML-RPC: {e}"))
        })?;
        let values = match response {
            Response::Fault { code, message } => {
                return Err(ProviderError::permanent(format!("{method}: XML-RPC fault {code}: {message}")));
            }
            Response::Value(RpcValue::Array(values)) => values,
            Response::Value(other) => {
                return Err(ProviderError::permanent(format!(
                    "{method}: expected the [ok, result, errcode] array, got a {}",
                    other.type_name()
                )));
            }
        };
        let ok = values.first().and_then(RpcValue::as_bool).ok_or_else(|| {
            ProviderError::permanent(format!("{method}: the answer's first element is not the success boolean"))
        })?;
        let result = values.get(1).cloned().unwrap_or(RpcValue::Str(String::new()));
        if ok {
            return Ok(result);
        }
        let code = values.get(2).and_then(RpcValue::as_int).unwrap_or(INTERNAL);
        Err(oned_error(method, code, result.as_str().unwrap_or("no message")))
    }

    async fn xml(&self, method: &str, params: Vec<RpcValue>) -> Result<String, ProviderError> {
        match self.call(method, params).await? {
            RpcValue::Str(s) => Ok(s),
            other => {
                Err(ProviderError::permanent(format!("{method}: expected an XML string, got a {}", other.type_name())))
            }
        }
    }

    async fn id(&self, method: &str, params: Vec<RpcValue>) -> Result<u64, ProviderError> {
        match self.call(method, params).await? {
            RpcValue::Int(i) if i >= 0 => Ok(i as u64),
            other => Err(ProviderError::permanent(format!("{method}: expected an id, got {other:?}"))),
        }
    }

    fn parsed<T>(method: &str, parsed: Result<T, String>) -> Result<T, ProviderError> {
        parsed.map_err(|e| ProviderError::permanent(format!("{method}: unexpected XML: {e}")))
    }

    /// `None` when the VM does not exist (NO_EXISTS).
    pub async fn vm(&self, id: u64) -> Result<Option<Vm>, ProviderError> {
        let xml = tarn_sdk::error::found(self.xml("one.vm.info", vec![RpcValue::Int(id as i64)]).await)?;
        xml.map(|x| Self::parsed("one.vm.info", Vm::parse(&x))).transpose()
    }

    pub async fn vm_action(&self, action: &str, id: u64) -> Result<(), ProviderError> {
        self.id("one.vm.action", vec![RpcValue::Str(action.into()), RpcValue::Int(id as i64)]).await.map(|_| ())
    }

    /// `template` holds `CPU`, `VCPU`, `MEMORY`; `enforce` asks oned to check host capacity.
    pub async fn vm_resize(&self, id: u64, template: &str, enforce: bool) -> Result<(), ProviderError> {
        let params = vec![RpcValue::Int(id as i64), RpcValue::Str(template.into()), RpcValue::Bool(enforce)];
        self.id("one.vm.resize", params).await.map(|_| ())
    }

    /// Grows disk `disk_id` to `size_mb`.
    pub async fn vm_disk_resize(&self, id: u64, disk_id: u64, size_mb: u64) -> Result<(), ProviderError> {
        let params = vec![RpcValue::Int(id as i64), RpcValue::Int(disk_id as i64), RpcValue::Str(size_mb.to_string())];
        self.id("one.vm.diskresize", params).await.map(|_| ())
    }

    /// Merges (`merge`) or replaces the user template.
    pub async fn vm_update(&self, id: u64, template: &str, merge: bool) -> Result<(), ProviderError> {
        let params = vec![RpcValue::Int(id as i64), RpcValue::Str(template.into()), RpcValue::Int(i64::from(merge))];
        self.id("one.vm.update", params).await.map(|_| ())
    }

    /// Recover operation: success (1), failure (0), retry (2), delete (3), …
    pub async fn vm_recover(&self, id: u64, operation: i64) -> Result<(), ProviderError> {
        self.id("one.vm.recover", vec![RpcValue::Int(id as i64), RpcValue::Int(operation)]).await.map(|_| ())
    }

    /// The VMs the user can see: `(id, name, state)`.
    pub async fn vms(&self) -> Result<Vec<(u64, String, u32)>, ProviderError> {
        let params = vec![RpcValue::Int(-2), RpcValue::Int(-1), RpcValue::Int(-1), RpcValue::Int(-2)];
        let xml = self.xml("one.vmpool.info", params).await?;
        Self::parsed("one.vmpool.info", vm_pool(&xml))
    }

    pub async fn template(&self, id: u64) -> Result<VmTemplate, ProviderError> {
        let xml = self.xml("one.template.info", vec![RpcValue::Int(id as i64), RpcValue::Bool(false)]).await?;
        Self::parsed("one.template.info", VmTemplate::parse(&xml))
    }

    /// Allocates a document of `doc_type` named `name` whose body is `body` (JSON), as
    /// OpenNebula's `DocumentJSON` does: `<TEMPLATE><NAME>…</NAME><BODY><![CDATA[…]]></BODY></TEMPLATE>`.
    pub async fn document_allocate(&self, doc_type: i64, name: &str, body: &str) -> Result<u64, ProviderError> {
        let params = vec![RpcValue::Str(document_template(name, body)), RpcValue::Int(doc_type)];
        self.id("one.document.allocate", params).await
    }

    pub async fn document(&self, id: u64) -> Result<Option<Document>, ProviderError> {
        let xml = tarn_sdk::error::found(self.xml("one.document.info", vec![RpcValue::Int(id as i64)]).await)?;
        xml.map(|x| Self::parsed("one.document.info", Document::parse(&x))).transpose()
    }

    /// Replaces the document's body (update type 0: the whole template).
    pub async fn document_update(&self, id: u64, body: &str) -> Result<(), ProviderError> {
        let template = format!("<TEMPLATE><BODY><![CDATA[{}]]></BODY></TEMPLATE>", cdata(body));
        let params = vec![RpcValue::Int(id as i64), RpcValue::Str(template), RpcValue::Int(0)];
        self.id("one.document.update", params).await.map(|_| ())
    }

    pub async fn document_rename(&self, id: u64, name: &str) -> Result<(), ProviderError> {
        self.id("one.document.rename", vec![RpcValue::Int(id as i64), RpcValue::Str(name.into())]).await.map(|_| ())
    }

    /// `Ok(false)`: it was already gone.
    pub async fn document_delete(&self, id: u64) -> Result<bool, ProviderError> {
        let done = tarn_sdk::error::found(self.id("one.document.delete", vec![RpcValue::Int(id as i64)]).await)?;
        Ok(done.is_some())
    }

    /// The documents of `doc_type` the user can see.
    pub async fn documents(&self, doc_type: i64) -> Result<Vec<Document>, ProviderError> {
        let params = vec![RpcValue::Int(-1), RpcValue::Int(-1), RpcValue::Int(-1), RpcValue::Int(doc_type)];
        let xml = self.xml("one.documentpool.info", params).await?;
        Self::parsed("one.documentpool.info", document_pool(&xml))
    }
}

/// `]]>` cannot appear inside CDATA: split it across two sections.
fn cdata(text: &str) -> String {
    text.replace("]]>", "]]]]><![CDATA[>")
}

fn document_template(name: &str, body: &str) -> String {
    format!(
        "<TEMPLATE><NAME>{}</NAME><BODY><![CDATA[{}]]></BODY></TEMPLATE>",
        quick_xml::escape::escape(name),
        cdata(body)
    )
}
