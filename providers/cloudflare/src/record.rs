//! `cloudflare_dns_record`: tarn attributes ⇄ the API's DNS record, and its lifecycle.
//!
//! Drift is honest: `read` returns what the API has, except where the API only rewrote the
//! user's spelling (a relative `name` made fully qualified, a CNAME target's case or trailing
//! dot, an IPv6 address compressed): then the configured spelling is kept. Unset `ttl`,
//! `proxied` and `comment` stay null while the API holds their defaults. Updates are PATCHes,
//! so the correlation tag tarn put on the record survives them.

use serde_json::{Map, Value as Json, json};
use tarn_sdk::{ProviderError, Value};

use crate::api::Api;
use tarn_sdk::attrs::{attr_bool, attr_num, attr_str, required_str};

/// The tag that carries a create's correlation: `tarn-correlation:<tag>`.
pub const CORRELATION_TAG: &str = "tarn-correlation";

/// The request body for `planned` (create when `correlation` is given, else a PATCH).
pub fn body(planned: &Value, correlation: Option<&str>) -> Result<Json, ProviderError> {
    let kind = required_str(planned, "type")?;
    let ttl = attr_num(planned, "ttl");
    let proxied = attr_bool(planned, "proxied");
    if proxied == Some(true) && ttl.is_some_and(|t| t != 1.0) {
        return Err(ProviderError::permanent(
            "a proxied record's ttl is always 1 (automatic): remove ttl or set it to 1",
        ));
    }
    let mut b = Map::new();
    b.insert("type".into(), json!(kind));
    b.insert("name".into(), json!(required_str(planned, "name")?));
    b.insert("content".into(), json!(required_str(planned, "content")?));
    b.insert("ttl".into(), json!(ttl.map(|t| t as u64).unwrap_or(1)));
    b.insert("proxied".into(), json!(proxied.unwrap_or(false)));
    if let Some(p) = attr_num(planned, "priority") {
        b.insert("priority".into(), json!(p as u64));
    }
    // Null clears a comment on PATCH; on create it is the same as leaving it out.
    b.insert("comment".into(), attr_str(planned, "comment").map_or(Json::Null, |c| json!(c)));
    if let Some(tag) = correlation {
        b.insert("tags".into(), json!([format!("{CORRELATION_TAG}:{tag}")]));
    }
    Ok(Json::Object(b))
}

/// The state for an API record, keeping the spelling of `wanted` (the prior state or the plan)
/// where the API's value means the same.
pub fn state(api: &Json, wanted: &Value) -> Value {
    let text = |k: &str| api.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
    let hostname = text("name");
    let prior_hostname = attr_str(wanted, "hostname");
    let wanted_name = attr_str(wanted, "name");
    let zone_name = text("zone_name");
    let name = match wanted_name {
        Some(n) if prior_hostname.as_deref() == Some(hostname.as_str()) => n,
        Some(n) if !zone_name.is_empty() && qualify(&n, &zone_name) == hostname => n,
        _ => hostname.clone(),
    };
    let content = text("content");
    let content = match attr_str(wanted, "content") {
        Some(c) if same_content(&c, &content, &text("type")) => c,
        _ => content,
    };
    let ttl = api.get("ttl").and_then(Json::as_f64).unwrap_or(1.0);
    let proxied = api.get("proxied").and_then(Json::as_bool).unwrap_or(false);
    let ttl_v = if ttl == 1.0 && attr_num(wanted, "ttl").is_none() { Value::Null } else { Value::number(ttl) };
    let proxied_v = if !proxied && attr_bool(wanted, "proxied").is_none() { Value::Null } else { Value::Bool(proxied) };
    let comment = api.get("comment").and_then(Json::as_str).filter(|c| !c.is_empty());
    Value::map([
        ("zone_id", Value::string(text("zone_id"))),
        ("name", Value::string(name)),
        ("type", Value::string(text("type"))),
        ("content", Value::string(content)),
        ("ttl", ttl_v),
        ("proxied", proxied_v),
        ("priority", api.get("priority").and_then(Json::as_f64).map_or(Value::Null, Value::number)),
        ("comment", comment.map_or(Value::Null, Value::string)),
        ("id", Value::string(text("id"))),
        ("hostname", Value::string(hostname)),
        ("proxiable", Value::Bool(api.get("proxiable").and_then(Json::as_bool).unwrap_or(false))),
        ("created_on", Value::string(text("created_on"))),
    ])
}

/// `name` as the API stores it in `zone`.
fn qualify(name: &str, zone: &str) -> String {
    let n = name.trim().trim_end_matches('.').to_lowercase();
    if n == "@" {
        zone.to_string()
    } else if n == zone || n.ends_with(&format!(".{zone}")) {
        n
    } else {
        format!("{n}.{zone}")
    }
}

fn same_content(wanted: &str, api: &str, kind: &str) -> bool {
    match kind {
        "A" | "AAAA" => wanted.trim().parse::<std::net::IpAddr>().ok() == api.parse::<std::net::IpAddr>().ok(),
        "CNAME" | "MX" | "NS" | "PTR" => {
            wanted.trim().trim_end_matches('.').eq_ignore_ascii_case(api.trim_end_matches('.'))
        }
        _ => wanted == api,
    }
}

/// Finds the record an interrupted create made, by its correlation tag.
pub async fn adopt(api: &Api, planned: &Value, correlation: &str) -> Result<Option<Value>, ProviderError> {
    let zone_id = required_str(planned, "zone_id")?;
    let tag = format!("{CORRELATION_TAG}:{correlation}");
    let found = api.records(&zone_id, &[("tag", tag.as_str())]).await?;
    Ok(found.first().map(|r| state(r, planned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(name: &str, content: &str) -> Value {
        Value::map([("name", Value::string(name)), ("content", Value::string(content)), ("hostname", Value::Null)])
    }

    #[test]
    fn respellings_are_not_drift_but_changes_are() {
        let api = json!({"id": "r1", "zone_id": "z", "zone_name": "example.com", "name": "www.example.com", "type": "CNAME",
            "content": "target.example.net", "ttl": 1, "proxied": false, "proxiable": true, "created_on": "t"});
        let s = state(&api, &wanted("WWW", "Target.example.net."));
        assert_eq!(s.get("name").and_then(Value::as_str), Some("WWW"));
        assert_eq!(s.get("content").and_then(Value::as_str), Some("Target.example.net."));
        assert_eq!(s.get("ttl"), Some(&Value::Null));
        assert_eq!(s.get("hostname").and_then(Value::as_str), Some("www.example.com"));
        let s = state(&api, &wanted("api", "other.example.net"));
        assert_eq!(s.get("name").and_then(Value::as_str), Some("www.example.com"));
        assert_eq!(s.get("content").and_then(Value::as_str), Some("target.example.net"));
    }

    #[test]
    fn proxied_with_a_ttl_is_refused_before_any_call() {
        let planned = Value::map([
            ("type", Value::string("A")),
            ("name", Value::string("x")),
            ("content", Value::string("192.0.2.1")),
            ("ttl", Value::number(300.0)),
            ("proxied", Value::Bool(true)),
        ]);
        let err = body(&planned, None).expect_err("refused");
        assert!(err.message.contains("proxied record's ttl"), "{}", err.message);
    }
}
