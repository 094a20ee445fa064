//! XML-RPC as oned speaks it: method calls and responses (`<methodCall>`, `<methodResponse>`,
//! `<fault>`), with the value types oned uses (`i4`/`int`, `boolean`, `string` or bare text,
//! `double`, `array`, `struct`). Both directions, so the client and the emulator share one
//! codec. Parsed with quick-xml into a small element tree, then read by element name: never by
//! slicing strings.
//!
//! Knows nothing of oned's methods or its `[ok, result, errcode]` envelope (`oned` does).

use quick_xml::Reader;
use quick_xml::escape::escape;
use quick_xml::events::Event;

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum RpcValue {
    Int(i64),
    Bool(bool),
    Str(String),
    Double(f64),
    Array(Vec<RpcValue>),
    Struct(Vec<(String, RpcValue)>),
}

impl RpcValue {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            RpcValue::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            RpcValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            RpcValue::Str(s) => Some(s),
            _ => None,
        }
    }
    /// The XML-RPC type name (`i4`, `string`, …), for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            RpcValue::Int(_) => "i4",
            RpcValue::Bool(_) => "boolean",
            RpcValue::Str(_) => "string",
            RpcValue::Double(_) => "double",
            RpcValue::Array(_) => "array",
            RpcValue::Struct(_) => "struct",
        }
    }
}

/// A parsed element: its name, child elements and text (unescaped, CDATA included).
#[derive(Debug, Clone, Default)]
pub struct Node {
    pub name: String,
    pub children: Vec<Node>,
    pub text: String,
}

impl Node {
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }
}

/// Parses a whole XML document into its root element.
pub fn parse_tree(xml: &str) -> Result<Node, String> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                stack.push(Node { name, ..Node::default() });
            }
            Ok(Event::Empty(e)) => {
                let node = Node { name: String::from_utf8_lossy(e.name().as_ref()).into_owned(), ..Node::default() };
                attach(&mut stack, &mut root, node)?;
            }
            Ok(Event::End(_)) => {
                let node = stack.pop().ok_or("a closing tag without its opening tag")?;
                attach(&mut stack, &mut root, node)?;
            }
            Ok(Event::Text(t)) => {
                let text = t.unescape().map_err(|e| format!("bad text: {e}"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                } else if !text.trim().is_empty() {
                    return Err("text outside the root element".into());
                }
            }
            Ok(Event::CData(c)) => {
                let text = String::from_utf8_lossy(&c.into_inner()).into_owned();
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("not well-formed XML at byte {}: {e}", reader.error_position())),
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    root.ok_or_else(|| "no root element".to_string())
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, node: Node) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None if root.is_none() => *root = Some(node),
        None => return Err("more than one root element".into()),
    }
    Ok(())
}

fn read_value(node: &Node) -> Result<RpcValue, String> {
    let Some(typed) = node.children.first() else {
        // A bare value is a string.
        return Ok(RpcValue::Str(node.text.clone()));
    };
    let text = typed.text.trim();
    match typed.name.as_str() {
        "i4" | "int" | "i8" => text.parse().map(RpcValue::Int).map_err(|_| format!("{text:?} is not an integer")),
        "boolean" => match text {
            "1" => Ok(RpcValue::Bool(true)),
            "0" => Ok(RpcValue::Bool(false)),
            other => Err(format!("{other:?} is not an XML-RPC boolean (0 or 1)")),
        },
        "string" => Ok(RpcValue::Str(typed.text.clone())),
        "double" => text.parse().map(RpcValue::Double).map_err(|_| format!("{text:?} is not a double")),
        "array" => {
            let data = typed.child("data").ok_or("an array without <data>")?;
            data.children
                .iter()
                .filter(|c| c.name == "value")
                .map(read_value)
                .collect::<Result<_, _>>()
                .map(RpcValue::Array)
        }
        "struct" => {
            let mut members = Vec::new();
            for m in typed.children.iter().filter(|c| c.name == "member") {
                let name = m.child("name").ok_or("a struct member without <name>")?.text.clone();
                let value = read_value(m.child("value").ok_or("a struct member without <value>")?)?;
                members.push((name, value));
            }
            Ok(RpcValue::Struct(members))
        }
        other => Err(format!("unsupported XML-RPC type <{other}>")),
    }
}

fn write_value(out: &mut String, v: &RpcValue) {
    out.push_str("<value>");
    match v {
        RpcValue::Int(i) => out.push_str(&format!("<i4>{i}</i4>")),
        RpcValue::Bool(b) => out.push_str(&format!("<boolean>{}</boolean>", u8::from(*b))),
        RpcValue::Str(s) => {
            out.push_str("<string>");
            out.push_str(&escape(s.as_str()));
            out.push_str("</string>");
        }
        RpcValue::Double(d) => out.push_str(&format!("<double>{d}</double>")),
        RpcValue::Array(items) => {
            out.push_str("<array><data>");
            for item in items {
                write_value(out, item);
            }
            out.push_str("</data></array>");
        }
        RpcValue::Struct(members) => {
            out.push_str("<struct>");
            for (name, value) in members {
                out.push_str("<member><name>");
                out.push_str(&escape(name.as_str()));
                out.push_str("</name>");
                write_value(out, value);
                out.push_str("</member>");
            }
            out.push_str("</struct>");
        }
    }
    out.push_str("</value>");
}

/// A `<methodCall>` document.
pub fn encode_call(method: &str, params: &[RpcValue]) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
    out.push_str(&escape(method));
    out.push_str("</methodName><params>");
    for p in params {
        out.push_str("<param>");
        write_value(&mut out, p);
        out.push_str("</param>");
    }
    out.push_str("</params></methodCall>\n");
    out
}

/// The method name and parameters of a `<methodCall>` document.
pub fn decode_call(xml: &str) -> Result<(String, Vec<RpcValue>), String> {
    let root = parse_tree(xml)?;
    if root.name != "methodCall" {
        return Err(format!("expected <methodCall>, found <{}>", root.name));
    }
    let name = root.child("methodName").ok_or("no <methodName>")?.text.trim().to_string();
    let mut params = Vec::new();
    if let Some(list) = root.child("params") {
        for p in list.children.iter().filter(|c| c.name == "param") {
            params.push(read_value(p.child("value").ok_or("a <param> without <value>")?)?);
        }
    }
    Ok((name, params))
}

/// A `<methodResponse>` with one parameter.
pub fn encode_response(value: &RpcValue) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><params><param>");
    write_value(&mut out, value);
    out.push_str("</param></params></methodResponse>\n");
    out
}

/// A `<methodResponse>` with a `<fault>` (a call the XML-RPC layer itself refused).
pub fn encode_fault(code: i64, message: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\"?>\n<methodResponse><fault>");
    let fault = RpcValue::Struct(vec![
        ("faultCode".into(), RpcValue::Int(code)),
        ("faultString".into(), RpcValue::Str(message.into())),
    ]);
    write_value(&mut out, &fault);
    out.push_str("</fault></methodResponse>\n");
    out
}

/// What a `<methodResponse>` held.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Value(RpcValue),
    Fault { code: i64, message: String },
}

pub fn decode_response(xml: &str) -> Result<Response, String> {
    let root = parse_tree(xml)?;
    if root.name != "methodResponse" {
        return Err(format!("expected <methodResponse>, found <{}>", root.name));
    }
    if let Some(fault) = root.child("fault") {
        let value = read_value(fault.child("value").ok_or("a <fault> without <value>")?)?;
        let RpcValue::Struct(members) = value else { return Err("a <fault> that is not a struct".into()) };
        let get = |k: &str| members.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        return Ok(Response::Fault {
            code: get("faultCode").and_then(|v| v.as_int()).unwrap_or(0),
            message: get("faultString").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        });
    }
    let param = root
        .child("params")
        .and_then(|p| p.child("param"))
        .and_then(|p| p.child("value"))
        .ok_or("a <methodResponse> without <params><param><value>")?;
    read_value(param).map(Response::Value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_responses_round_trip_with_escaping() {
        let params = vec![
            RpcValue::Str("oneadmin:p<a&s>\"".into()),
            RpcValue::Int(-2),
            RpcValue::Bool(true),
            RpcValue::Array(vec![RpcValue::Double(1.5), RpcValue::Struct(vec![("k".into(), RpcValue::Int(1))])]),
        ];
        let (name, back) = decode_call(&encode_call("one.vm.info", &params)).expect("decode");
        assert_eq!(name, "one.vm.info");
        assert_eq!(back, params);
        let answer = RpcValue::Array(vec![RpcValue::Bool(true), RpcValue::Str("<VM><ID>1</ID></VM>".into())]);
        assert_eq!(decode_response(&encode_response(&answer)).expect("decode"), Response::Value(answer));
        assert_eq!(
            decode_response(&encode_fault(-501, "no such method")).expect("decode"),
            Response::Fault { code: -501, message: "no such method".into() }
        );
    }

    #[test]
    fn bare_values_are_strings_and_garbage_is_an_error() {
        let xml = "<methodResponse><params><param><value>plain</value></param></params></methodResponse>";
        assert_eq!(decode_response(xml).expect("decode"), Response::Value(RpcValue::Str("plain".into())));
        assert!(decode_response("<html>oops").is_err());
        assert!(decode_response("{\"json\": true}").is_err());
    }
}
