//! The plugin protocol's messages: JSON-RPC 2.0 requests, responses and errors, one JSON object
//! per line, and the method names and parameter shapes of protocol version 1
//! (docs/plugin-protocol.md is the prose form of this file). Pure encoding and decoding; no IO.

use serde_json::{Value as Json, json};

/// The protocol versions this tarn speaks, newest first. The plugin picks one in `handshake`.
pub const SUPPORTED_VERSIONS: &[u64] = &[1];

/// Method names, exactly as they appear on the wire.
pub mod method {
    pub const HANDSHAKE: &str = "handshake";
    pub const SCHEMA: &str = "schema";
    pub const CONFIGURE: &str = "configure";
    pub const READ: &str = "read";
    pub const PLAN: &str = "plan";
    pub const CREATE: &str = "create";
    pub const UPDATE: &str = "update";
    pub const DELETE: &str = "delete";
    pub const READ_DATA: &str = "read_data";
    pub const IMPORT: &str = "import";
    pub const ADOPT: &str = "adopt";
}

/// JSON-RPC error codes tarn gives meaning to.
pub mod code {
    /// The line was not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    /// The plugin does not implement the method: optional methods fall back to their default.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    /// A provider error: `data.class` says which (transient, conflict, not_found, ...).
    pub const PROVIDER_ERROR: i64 = -32000;
    /// The plugin speaks none of the protocol versions tarn offered.
    pub const UNSUPPORTED_VERSION: i64 = -32001;
}

/// The longest line tarn accepts from a plugin (a whole answer): 64 MiB.
pub const MAX_LINE: usize = 64 << 20;

/// One request line, with its terminating newline.
pub fn request_line(id: u64, method: &str, params: &Json) -> String {
    let mut line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    line.push('\n');
    line
}

/// An error answer from the plugin, as it sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Json>,
}

/// A decoded answer line: the request id it answers and its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub id: u64,
    pub outcome: Result<Json, RpcError>,
}

/// Decodes one line from the plugin's stdout. The error is a sentence saying what is wrong
/// with the line (never the line itself: it may hold secrets).
pub fn parse_response(line: &str) -> Result<Response, String> {
    let json: Json = serde_json::from_str(line).map_err(|e| format!("it is not JSON ({e})"))?;
    let Json::Object(obj) = json else {
        return Err("it is not a JSON object".into());
    };
    if obj.get("jsonrpc").and_then(Json::as_str) != Some("2.0") {
        return Err("it lacks \"jsonrpc\": \"2.0\"".into());
    }
    if obj.contains_key("method") {
        return Err("it is a request; plugins only answer tarn's requests".into());
    }
    let id = obj
        .get("id")
        .and_then(Json::as_u64)
        .ok_or_else(|| "it has no numeric \"id\" naming the request it answers".to_string())?;
    let outcome = match (obj.get("result"), obj.get("error")) {
        (Some(result), None) => Ok(result.clone()),
        (None, Some(Json::Object(err))) => {
            let code = err.get("code").and_then(Json::as_i64).ok_or("its error has no integer \"code\"")?;
            let message = err.get("message").and_then(Json::as_str).ok_or("its error has no string \"message\"")?;
            Err(RpcError { code, message: message.to_string(), data: err.get("data").cloned() })
        }
        (None, Some(_)) => return Err("its \"error\" is not an object".into()),
        (Some(_), Some(_)) => return Err("it has both \"result\" and \"error\"".into()),
        (None, None) => return Err("it has neither \"result\" nor \"error\"".into()),
    };
    Ok(Response { id, outcome })
}

/// What a plugin says about itself in its `handshake` answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Handshake {
    pub protocol_version: u64,
    /// The plugin's own name for itself (informational; configuration uses the local name).
    pub name: String,
    pub version: Option<String>,
    /// The conformance subject the plugin proposes (`tarn providers check`), as sent.
    pub test_subject: Option<Json>,
}

pub fn handshake_params(local_name: &str) -> Json {
    json!({
        "protocol_versions": SUPPORTED_VERSIONS,
        "tarn_version": env!("CARGO_PKG_VERSION"),
        "name": local_name,
    })
}

pub fn parse_handshake(result: &Json) -> Result<Handshake, String> {
    let obj = result.as_object().ok_or("the handshake answer is not an object")?;
    let version = obj
        .get("protocol_version")
        .and_then(Json::as_u64)
        .ok_or("the handshake answer has no integer \"protocol_version\"")?;
    if !SUPPORTED_VERSIONS.contains(&version) {
        return Err(format!("the plugin chose protocol version {version}, but this tarn speaks {}", versions_list()));
    }
    Ok(Handshake {
        protocol_version: version,
        name: obj.get("name").and_then(Json::as_str).unwrap_or_default().to_string(),
        version: obj.get("version").and_then(Json::as_str).map(str::to_string),
        test_subject: obj.get("test_subject").cloned(),
    })
}

/// "1" or "1, 2": the versions this tarn offers, for messages.
pub fn versions_list() -> String {
    SUPPORTED_VERSIONS.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_one_line_of_jsonrpc() {
        let line = request_line(7, "read", &json!({"type": "kv_entry", "state": {"v": "a\nb"}}));
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1, "newlines inside strings are escaped: {line}");
        let back: Json = serde_json::from_str(&line).unwrap();
        assert_eq!(back["jsonrpc"], "2.0");
        assert_eq!(back["id"], 7);
        assert_eq!(back["method"], "read");
    }

    #[test]
    fn responses_decode_and_bad_lines_are_described() {
        let ok = parse_response(r#"{"jsonrpc":"2.0","id":3,"result":null}"#).unwrap();
        assert_eq!(ok, Response { id: 3, outcome: Ok(Json::Null) });
        let err = parse_response(
            r#"{"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"gone","data":{"class":"not_found"}}}"#,
        )
        .unwrap();
        assert_eq!(err.outcome.unwrap_err().data.unwrap()["class"], "not_found");
        for (line, want) in [
            ("hello", "not JSON"),
            ("[1]", "not a JSON object"),
            (r#"{"id":1,"result":1}"#, "jsonrpc"),
            (r#"{"jsonrpc":"2.0","result":1}"#, "\"id\""),
            (r#"{"jsonrpc":"2.0","id":1}"#, "neither"),
            (r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{}}"#, "both"),
            (r#"{"jsonrpc":"2.0","id":1,"error":{"message":"x"}}"#, "code"),
        ] {
            let e = parse_response(line).unwrap_err();
            assert!(e.contains(want), "{line}: {e}");
        }
    }

    #[test]
    fn handshake_refuses_versions_tarn_does_not_speak() {
        let h = parse_handshake(&json!({"protocol_version": 1, "name": "kv"})).unwrap();
        assert_eq!(h.name, "kv");
        let e = parse_handshake(&json!({"protocol_version": 9})).unwrap_err();
        assert!(e.contains("version 9") && e.contains("speaks 1"), "{e}");
    }
}
