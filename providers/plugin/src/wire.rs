//! Values on the plugin wire: plain JSON for known values, and the plan wire form's one-key
//! marker objects for the marks — `{"$tarn":"unknown"}` for "known after apply", and
//! `{"$tarn":"sensitive","value":X}` for a value the plugin marks sensitive. Unlike the saved-plan
//! form ([`tarn_sdk::WireValue`]), a sensitive value here carries its payload: it travels over a
//! private pipe to or from the process that needs it, and is never logged (see `connection`).

use serde_json::{Map, Value as Json, json};
use tarn_sdk::Value;
use tarn_sdk::value::number_to_json;

const MARK: &str = "$tarn";

/// Encodes a value for a plugin. Sensitive marks are kept, with their payload.
pub fn encode(v: &Value) -> Json {
    match v {
        Value::Unknown => json!({ MARK: "unknown" }),
        Value::Sensitive(inner) => json!({ MARK: "sensitive", "value": encode(inner) }),
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number_to_json(n),
        Value::String(s) => Json::String(s.clone()),
        // A set travels as an array, exactly as a list: the protocol has no set.
        Value::List(l) | Value::Set(l) => Json::Array(l.iter().map(encode).collect()),
        Value::Map(m) => Json::Object(m.iter().map(|(k, v)| (k.clone(), encode(v))).collect()),
    }
}

/// Decodes a value from a plugin. A marker object with an unknown mark name is an error, so a
/// typo in a plugin does not silently become data.
pub fn decode(j: &Json) -> Result<Value, String> {
    Ok(match j {
        Json::Object(o) if o.contains_key(MARK) => decode_mark(o)?,
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(tarn_sdk::Number::from_json(n)),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::List(a.iter().map(decode).collect::<Result<_, _>>()?),
        Json::Object(o) => {
            Value::Map(o.iter().map(|(k, v)| Ok((k.clone(), decode(v)?))).collect::<Result<_, String>>()?)
        }
    })
}

fn decode_mark(o: &Map<String, Json>) -> Result<Value, String> {
    match (o.get(MARK).and_then(Json::as_str), o.len()) {
        (Some("unknown"), 1) => Ok(Value::Unknown),
        (Some("sensitive"), 2) if o.contains_key("value") => Ok(decode(&o["value"])?.sensitive()),
        // The saved-plan form of a redacted secret: the mark without its payload.
        (Some("sensitive"), 1) => Ok(Value::Unknown.sensitive()),
        _ => Err(format!(
            "an object with key \"{MARK}\" must be {{\"{MARK}\":\"unknown\"}} or {{\"{MARK}\":\"sensitive\",\"value\":...}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_the_round_trip() {
        let v = Value::map([
            ("id", Value::Unknown),
            ("secret", Value::string("hunter2").sensitive()),
            ("n", Value::number(3.0)),
            ("f", Value::number(2.5)),
            ("l", Value::List(vec![Value::Bool(true), Value::Null, Value::map([("x", Value::Unknown)])])),
        ]);
        let j = encode(&v);
        assert_eq!(j["id"], json!({"$tarn": "unknown"}));
        assert_eq!(j["n"].to_string(), "3");
        assert_eq!(decode(&j).unwrap(), v);
        // The redacted saved-plan form decodes too.
        assert_eq!(decode(&json!({"$tarn": "sensitive"})).unwrap(), Value::Unknown.sensitive());
    }

    #[test]
    fn unknown_marker_shapes_are_errors() {
        for bad in [json!({"$tarn": "secret"}), json!({"$tarn": "unknown", "x": 1}), json!({"$tarn": 1})] {
            assert!(decode(&json!({"a": [bad.clone()]})).is_err(), "{bad}");
        }
    }
}
