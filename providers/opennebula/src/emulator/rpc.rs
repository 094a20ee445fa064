//! oned's XML-RPC endpoint, `POST /RPC2`: the methods of
//! `specs/opennebula-oneflow-xmlrpc.subset.yaml` and `specs/opennebula-xmlrpc.extract.yaml`
//! that tarn and the Provisioning Engine use. Every answer is the `[ok, result, errcode]`
//! envelope (`[false, message, errcode, object id]` on failure, with oned's error codes and
//! message style); a malformed call, an unknown method or a wrong parameter type is an XML-RPC
//! `<fault>`, as xmlrpc-c answers it. The session (first parameter, `user:password`) is checked
//! on every call: AUTHENTICATION when it does not match a user.
//!
//! Reads and changes the world through `Data`; the XML comes from `xml`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Data;
use super::world::{Document, World, now_ms, set};
use super::xml::{self, AnyDoc};
use crate::oned::{ACTION, AUTHENTICATION, AUTHORIZATION, INTERNAL, NO_EXISTS};
use crate::template::{Attr, parse};
use crate::xmlrpc::{RpcValue, decode_call, encode_fault, encode_response};

fn xml_answer(body: String) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

fn success(result: RpcValue) -> String {
    encode_response(&RpcValue::Array(vec![RpcValue::Bool(true), result, RpcValue::Int(0)]))
}

fn failure(message: String, code: i64, object: i64) -> String {
    encode_response(&RpcValue::Array(vec![
        RpcValue::Bool(false),
        RpcValue::Str(message),
        RpcValue::Int(code),
        RpcValue::Int(object),
    ]))
}

/// A call's outcome before it is written: a result, an envelope failure, or an XML-RPC fault.
enum Outcome {
    Ok(RpcValue),
    Fail(String, i64, i64),
    Fault(i64, String),
}

struct Params<'a> {
    method: &'a str,
    values: &'a [RpcValue],
}

impl Params<'_> {
    fn int(&self, i: usize) -> Result<i64, Outcome> {
        match self.values.get(i) {
            Some(RpcValue::Int(n)) => Ok(*n),
            Some(other) => Err(Outcome::Fault(
                -501,
                format!(
                    "Type mismatch: parameter {i} of {} must be an integer, not a {}",
                    self.method,
                    other.type_name()
                ),
            )),
            None => Err(Outcome::Fault(-501, format!("Not enough parameters for {}", self.method))),
        }
    }
    fn opt_int(&self, i: usize, default: i64) -> Result<i64, Outcome> {
        if self.values.len() > i { self.int(i) } else { Ok(default) }
    }
    fn text(&self, i: usize) -> Result<String, Outcome> {
        match self.values.get(i) {
            Some(RpcValue::Str(s)) => Ok(s.clone()),
            Some(other) => Err(Outcome::Fault(
                -501,
                format!(
                    "Type mismatch: parameter {i} of {} must be a string, not a {}",
                    self.method,
                    other.type_name()
                ),
            )),
            None => Err(Outcome::Fault(-501, format!("Not enough parameters for {}", self.method))),
        }
    }
}

pub async fn handle(State(data): State<Data>, body: String) -> Response {
    let (method, params) = match decode_call(&body) {
        Ok(call) => call,
        Err(e) => return xml_answer(encode_fault(-503, &format!("Call XML not a proper XML-RPC call. {e}"))),
    };
    // The calls that only read: the world is written back only if time moved it.
    const READS: &[&str] =
        &["one.vm.info", "one.vmpool.info", "one.template.info", "one.document.info", "one.documentpool.info"];
    let outcome = if READS.contains(&method.as_str()) {
        data.read(|world| call(world, &method, &params))
    } else {
        data.with(|world| call(world, &method, &params))
    };
    xml_answer(match outcome {
        Outcome::Ok(v) => success(v),
        Outcome::Fail(m, code, object) => failure(m, code, object),
        Outcome::Fault(code, m) => encode_fault(code, &m),
    })
}

fn call(world: &mut World, method: &str, values: &[RpcValue]) -> Outcome {
    match dispatch(world, method, values) {
        Ok(o) | Err(o) => o,
    }
}

fn no_exists(method: &str, what: &str, id: i64) -> Outcome {
    Outcome::Fail(format!("[{method}] Error getting {what} [{id}]."), NO_EXISTS, id)
}

fn dispatch(world: &mut World, method: &str, values: &[RpcValue]) -> Result<Outcome, Outcome> {
    const METHODS: &[&str] = &[
        "one.vm.info",
        "one.vm.action",
        "one.vm.resize",
        "one.vm.diskresize",
        "one.vm.update",
        "one.vm.recover",
        "one.vmpool.info",
        "one.template.info",
        "one.document.allocate",
        "one.document.info",
        "one.document.update",
        "one.document.rename",
        "one.document.delete",
        "one.documentpool.info",
    ];
    if !METHODS.contains(&method) {
        return Err(Outcome::Fault(-506, format!("Method '{method}' not defined")));
    }
    let p = Params { method, values };
    let session = p.text(0)?;
    let uid = match session.split_once(':').and_then(|(u, pw)| world.user_by_login(u, pw)) {
        Some(u) => u.id,
        None => {
            return Ok(Outcome::Fail(
                format!("[{method}] User couldn't be authenticated, aborting call."),
                AUTHENTICATION,
                -1,
            ));
        }
    };
    let now = now_ms();
    Ok(match method {
        "one.vm.info" => {
            let id = p.int(1)?;
            match world.vms.iter().find(|v| v.id as i64 == id) {
                Some(vm) if vm.uid != uid => not_authorized(method, uid, "MANAGE VM", id),
                Some(vm) => Outcome::Ok(RpcValue::Str(xml::vm(world, vm))),
                None => no_exists(method, "virtual machine", id),
            }
        }
        "one.vmpool.info" => {
            // Every filter flag reaches only what this user may see: its own VMs, DONE ones left out.
            p.opt_int(1, -2)?;
            let mine: Vec<_> = world.vms.iter().filter(|v| v.state != 6 && v.uid == uid).collect();
            Outcome::Ok(RpcValue::Str(xml::vm_pool(world, &mine)))
        }
        "one.vm.action" => {
            let action = p.text(1)?;
            let id = p.int(2)?;
            let Some(i) = world.vms.iter().position(|v| v.id as i64 == id) else {
                return Ok(no_exists(method, "virtual machine", id));
            };
            match action.as_str() {
                "terminate" | "terminate-hard" => {
                    world.terminate_vm(id as u64, now);
                    Outcome::Ok(RpcValue::Int(id))
                }
                "resched" | "unresched" => {
                    world.vms[i].resched = u32::from(action == "resched");
                    Outcome::Ok(RpcValue::Int(id))
                }
                "poweroff" | "poweroff-hard" | "resume" => {
                    // ACTIVE/RUNNING → SHUTDOWN_POWEROFF → POWEROFF, and POWEROFF → BOOT_POWEROFF
                    // → ACTIVE/RUNNING, one step each.
                    let due = Some(now + world.step_ms);
                    let vm = &mut world.vms[i];
                    let next = match (action.as_str(), vm.state, vm.lcm) {
                        ("resume", 8, _) => Some((3, 20)),
                        ("poweroff" | "poweroff-hard", 3, 3) => Some((3, 18)),
                        _ => None,
                    };
                    let Some((state, lcm)) = next else {
                        let now_in = crate::model::state_name(vm.state);
                        return Ok(Outcome::Fail(
                            format!(
                                "[{method}] Error performing action \"{action}\" on virtual machine [{id}]. This action is not available for state {now_in}"
                            ),
                            ACTION,
                            id,
                        ));
                    };
                    (vm.prev_state, vm.prev_lcm) = (vm.state, vm.lcm);
                    (vm.state, vm.lcm, vm.due) = (state, lcm, due);
                    Outcome::Ok(RpcValue::Int(id))
                }
                "reboot" | "reboot-hard" | "hold" | "release" | "stop" | "suspend" | "undeploy" | "undeploy-hard" => {
                    Outcome::Ok(RpcValue::Int(id))
                }
                other => Outcome::Fail(format!("[{method}] Action {other} is not supported"), ACTION, id),
            }
        }
        "one.vm.resize" => {
            let id = p.int(1)?;
            let text = p.text(2)?;
            let Some(vm) = world.vms.iter_mut().find(|v| v.id as i64 == id) else {
                return Ok(no_exists(method, "virtual machine", id));
            };
            if !(vm.state == 3 && vm.lcm == 3) && vm.state != 8 {
                return Ok(Outcome::Fail(
                    format!(
                        "[{method}] Resize action is not available for state {}",
                        crate::model::state_name(vm.state)
                    ),
                    ACTION,
                    id,
                ));
            }
            let attrs = match parse(&text) {
                Ok(a) => a,
                Err(e) => return Ok(Outcome::Fail(format!("[{method}] Error parsing template: {e}"), INTERNAL, id)),
            };
            let num = |attrs: &[Attr], n: &str| {
                super::world::single(attrs, n).and_then(|v| v.parse::<f64>().ok()).filter(|v| *v > 0.0)
            };
            for (key, max) in [("VCPU", "VCPU_MAX"), ("MEMORY", "MEMORY_MAX")] {
                if let (Some(want), Some(limit)) = (num(&attrs, key), num(&vm.template, max)) {
                    if want > limit {
                        return Ok(Outcome::Fail(
                            format!("[{method}] Cannot hot-resize {key} to {want}: it exceeds {max} = {limit}."),
                            ACTION,
                            id,
                        ));
                    }
                }
            }
            for key in ["CPU", "VCPU", "MEMORY"] {
                if let Some(v) = num(&attrs, key) {
                    set(&mut vm.template, Attr::Single(key.into(), tarn_sdk::Number::from_f64(v).to_text()));
                }
            }
            (vm.prev_state, vm.prev_lcm, vm.lcm, vm.due) = (vm.state, vm.lcm, 66, Some(now + world.step_ms));
            Outcome::Ok(RpcValue::Int(id))
        }
        "one.vm.diskresize" => {
            let id = p.int(1)?;
            let disk = p.int(2)?;
            let size = p.text(3)?;
            let step = world.step_ms;
            let Some(vm) = world.vms.iter_mut().find(|v| v.id as i64 == id) else {
                return Ok(no_exists(method, "virtual machine", id));
            };
            if !(vm.state == 3 && vm.lcm == 3) {
                return Ok(Outcome::Fail(
                    format!("[{method}] Disk resize is not available in state {}", crate::model::state_name(vm.state)),
                    ACTION,
                    id,
                ));
            }
            let Ok(new) = size.trim().parse::<u64>() else {
                return Ok(Outcome::Fail(format!("[{method}] Wrong size {size:?}"), ACTION, id));
            };
            let Some(Attr::Vector(_, pairs)) = vm.template.iter_mut().find(|a| {
                matches!(a, Attr::Vector(n, p) if n == "DISK" && p.iter().any(|(k, v)| k == "DISK_ID" && *v == disk.to_string()))
            }) else {
                return Ok(Outcome::Fail(format!("[{method}] VM {id} disk {disk} does not exist"), ACTION, id));
            };
            let current = pairs.iter().find(|(k, _)| k == "SIZE").and_then(|(_, v)| v.parse::<u64>().ok()).unwrap_or(0);
            if new <= current {
                return Ok(Outcome::Fail(
                    format!("[{method}] New disk size has to be greater than current one"),
                    ACTION,
                    id,
                ));
            }
            pairs.retain(|(k, _)| k != "SIZE");
            pairs.push(("SIZE".into(), new.to_string()));
            (vm.prev_state, vm.prev_lcm, vm.lcm, vm.due) = (vm.state, vm.lcm, 62, Some(now + step));
            Outcome::Ok(RpcValue::Int(id))
        }
        "one.vm.update" => {
            let id = p.int(1)?;
            let text = p.text(2)?;
            let merge = p.opt_int(3, 0)? == 1;
            let Some(vm) = world.vms.iter_mut().find(|v| v.id as i64 == id) else {
                return Ok(no_exists(method, "virtual machine", id));
            };
            let attrs = match parse(&text) {
                Ok(a) => a,
                Err(e) => return Ok(Outcome::Fail(format!("[{method}] Error parsing template: {e}"), INTERNAL, id)),
            };
            if !merge {
                vm.user.clear();
            }
            for a in attrs {
                set(&mut vm.user, a);
            }
            Outcome::Ok(RpcValue::Int(id))
        }
        "one.vm.recover" => {
            let id = p.int(1)?;
            let op = p.int(2)?;
            let step = world.step_ms;
            let Some(vm) = world.vms.iter_mut().find(|v| v.id as i64 == id) else {
                return Ok(no_exists(method, "virtual machine", id));
            };
            match op {
                1 => (vm.lcm, vm.due) = (3, None),
                0 => (vm.lcm, vm.due) = (14, None),
                2 if vm.lcm == 39 => (vm.lcm, vm.due) = (1, Some(now + step)),
                2 => {}
                3 | 5 => (vm.state, vm.lcm, vm.due) = (6, 0, None),
                4 => (vm.state, vm.lcm, vm.due) = (1, 0, Some(now + step)),
                _ => return Ok(Outcome::Fail(format!("[{method}] Wrong recover operation {op}"), ACTION, id)),
            }
            Outcome::Ok(RpcValue::Int(id))
        }
        "one.template.info" => {
            let id = p.int(1)?;
            match world.vm_templates.iter().find(|t| t.id as i64 == id) {
                Some(t) if t.owner_only && t.uid != uid => not_authorized(method, uid, "USE TEMPLATE", id),
                Some(t) => Outcome::Ok(RpcValue::Str(xml::vm_template(world, t))),
                None => no_exists(method, "template", id),
            }
        }
        "one.document.allocate" => {
            let text = p.text(1)?;
            let doc_type = p.int(2)?;
            let tree = match crate::xmlrpc::parse_tree(&text) {
                Ok(t) => t,
                Err(e) => {
                    return Ok(Outcome::Fail(format!("[{method}] Error parsing document template: {e}"), INTERNAL, -1));
                }
            };
            let name = tree.text_at("NAME").unwrap_or_default();
            let body = tree.at("BODY").map(|b| b.text.clone()).unwrap_or_default();
            let id = world.fresh_id();
            let name = if name.is_empty() { format!("document-{id}") } else { name };
            world.documents.push(Document { id, uid, name, doc_type, body });
            Outcome::Ok(RpcValue::Int(id as i64))
        }
        "one.document.info" => {
            let id = p.int(1)?;
            match find_doc(world, id) {
                Some(d) => Outcome::Ok(RpcValue::Str(xml::document(world, &d))),
                None => Outcome::Fail(format!("[{method}] Error getting document [{id}]."), NO_EXISTS, id),
            }
        }
        "one.document.update" => {
            let id = p.int(1)?;
            let text = p.text(2)?;
            let Some(d) = world.documents.iter_mut().find(|d| d.id as i64 == id) else {
                return Ok(no_exists(method, "document", id));
            };
            match crate::xmlrpc::parse_tree(&text) {
                Ok(t) => {
                    if let Some(b) = t.at("BODY") {
                        d.body = b.text.clone();
                    }
                    Outcome::Ok(RpcValue::Int(id))
                }
                Err(e) => Outcome::Fail(format!("[{method}] Error parsing document template: {e}"), INTERNAL, id),
            }
        }
        "one.document.rename" => {
            let id = p.int(1)?;
            let name = p.text(2)?;
            let Some(d) = world.documents.iter_mut().find(|d| d.id as i64 == id) else {
                return Ok(no_exists(method, "document", id));
            };
            if name.trim().is_empty() {
                return Ok(Outcome::Fail(format!("[{method}] Invalid NAME, it cannot be empty"), ACTION, id));
            }
            d.name = name;
            Outcome::Ok(RpcValue::Int(id))
        }
        "one.document.delete" => {
            let id = p.int(1)?;
            let before = world.documents.len();
            world.documents.retain(|d| d.id as i64 != id);
            if world.documents.len() == before {
                no_exists(method, "document", id)
            } else {
                Outcome::Ok(RpcValue::Int(id))
            }
        }
        "one.documentpool.info" => {
            let doc_type = p.opt_int(4, -1)?;
            let mut docs: Vec<AnyDoc<'_>> = Vec::new();
            docs.extend(
                world
                    .documents
                    .iter()
                    .filter(|d| d.uid == uid && (doc_type < 0 || d.doc_type == doc_type))
                    .map(AnyDoc::Plain),
            );
            if doc_type == 100 {
                docs.extend(world.services.iter().filter(|s| s.uid == uid).map(|s| AnyDoc::Flow(s, 100)));
            }
            if doc_type == 101 {
                docs.extend(world.service_templates.iter().map(|s| AnyDoc::Flow(s, 101)));
            }
            Outcome::Ok(RpcValue::Str(xml::document_pool(world, &docs)))
        }
        _ => Outcome::Fault(-506, format!("Method '{method}' not defined")),
    })
}

fn not_authorized(method: &str, uid: u64, what: &str, id: i64) -> Outcome {
    Outcome::Fail(format!("[{method}] User [{uid}] : Not authorized to perform {what} [{id}]."), AUTHORIZATION, id)
}

fn find_doc(world: &World, id: i64) -> Option<AnyDoc<'_>> {
    if let Some(d) = world.documents.iter().find(|d| d.id as i64 == id) {
        return Some(AnyDoc::Plain(d));
    }
    if let Some(s) = world.services.iter().find(|s| s.id as i64 == id) {
        return Some(AnyDoc::Flow(s, 100));
    }
    world.service_templates.iter().find(|s| s.id as i64 == id).map(|s| AnyDoc::Flow(s, 101))
}
