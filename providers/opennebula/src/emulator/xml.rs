//! The XML oned answers with, element for element in the order its XSDs (`vm.xsd`,
//! `vm_pool.xsd`, `vmtemplate.xsd`, `document.xsd`, `document_pool.xsd`) require: every
//! mandatory element present, text escaped, template attributes as elements (vectors as nested
//! elements). The tests validate these strings against the XSDs with xmllint.
//!
//! Presentation only: reads the world, changes nothing.

use quick_xml::escape::escape;

use super::world::{Document, FlowDoc, SYSTEM_ATTRS, Vm, VmTemplate, World};
use crate::template::Attr;

fn el(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

fn attr_xml(out: &mut String, a: &Attr) {
    match a {
        Attr::Single(n, v) => el(out, n, v),
        Attr::Vector(n, pairs) => {
            out.push_str(&format!("<{n}>"));
            for (k, v) in pairs {
                el(out, k, v);
            }
            out.push_str(&format!("</{n}>"));
        }
    }
}

fn permissions(out: &mut String, owner_only: bool) {
    let other = if owner_only { "0" } else { "1" };
    out.push_str("<PERMISSIONS>");
    for (k, v) in [
        ("OWNER_U", "1"),
        ("OWNER_M", "1"),
        ("OWNER_A", "0"),
        ("GROUP_U", other),
        ("GROUP_M", "0"),
        ("GROUP_A", "0"),
        ("OTHER_U", other),
        ("OTHER_M", "0"),
        ("OTHER_A", "0"),
    ] {
        el(out, k, v);
    }
    out.push_str("</PERMISSIONS>");
}

fn owner(out: &mut String, world: &World, id: u64, uid: u64, name: &str) {
    el(out, "ID", &id.to_string());
    el(out, "UID", &uid.to_string());
    el(out, "GID", "1");
    el(out, "UNAME", &world.user_name(uid));
    el(out, "GNAME", "users");
    el(out, "NAME", name);
}

fn history(out: &mut String) {
    out.push_str("<HISTORY_RECORDS/>");
}

/// `<VM>` as `one.vm.info` answers (`vm.xsd`).
pub fn vm(world: &World, vm: &Vm) -> String {
    let mut o = String::from("<VM>");
    owner(&mut o, world, vm.id, vm.uid, &vm.name);
    permissions(&mut o, true);
    el(&mut o, "LAST_POLL", "0");
    el(&mut o, "STATE", &vm.state.to_string());
    el(&mut o, "LCM_STATE", &vm.lcm.to_string());
    el(&mut o, "PREV_STATE", &vm.prev_state.to_string());
    el(&mut o, "PREV_LCM_STATE", &vm.prev_lcm.to_string());
    el(&mut o, "RESCHED", &vm.resched.to_string());
    el(&mut o, "STIME", &vm.stime.to_string());
    el(&mut o, "ETIME", &vm.etime.to_string());
    el(&mut o, "DEPLOY_ID", &if vm.state == 3 { format!("one-{}", vm.id) } else { String::new() });
    o.push_str("<MONITORING/><SCHED_ACTIONS/><TEMPLATE>");
    // vm.xsd fixes the order: CONTEXT, CPU, DISK*, MEMORY, MEMORY_MAX, MEMORY_RESIZE_MODE, NIC*,
    // TEMPLATE_ID, TM_MAD_SYSTEM, VCPU, VCPU_MAX, VMID.
    for name in SYSTEM_ATTRS {
        for a in vm.template.iter().filter(|a| a.name() == *name) {
            attr_xml(&mut o, a);
        }
        if *name == "TEMPLATE_ID" {
            el(&mut o, "TM_MAD_SYSTEM", "ssh");
        }
        if *name == "VCPU_MAX" {
            el(&mut o, "VMID", &vm.id.to_string());
        }
    }
    o.push_str("</TEMPLATE><USER_TEMPLATE>");
    for a in &vm.user {
        attr_xml(&mut o, a);
    }
    o.push_str("</USER_TEMPLATE>");
    history(&mut o);
    o.push_str("<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS/></BACKUPS></VM>");
    o
}

/// `<VM_POOL>` as `one.vmpool.info` answers (`vm_pool.xsd`: short bodies).
pub fn vm_pool(world: &World, vms: &[&Vm]) -> String {
    let mut o = String::from("<VM_POOL>");
    for vm in vms {
        o.push_str("<VM>");
        owner(&mut o, world, vm.id, vm.uid, &vm.name);
        el(&mut o, "LAST_POLL", "0");
        el(&mut o, "STATE", &vm.state.to_string());
        el(&mut o, "LCM_STATE", &vm.lcm.to_string());
        el(&mut o, "RESCHED", &vm.resched.to_string());
        el(&mut o, "STIME", &vm.stime.to_string());
        el(&mut o, "ETIME", &vm.etime.to_string());
        el(&mut o, "DEPLOY_ID", "");
        o.push_str("<TEMPLATE>");
        for name in ["CPU", "MEMORY", "VCPU", "DISK", "NIC"] {
            for a in vm.template.iter().filter(|a| a.name() == name) {
                attr_xml(&mut o, a);
            }
        }
        o.push_str("</TEMPLATE><MONITORING/><USER_TEMPLATE/>");
        history(&mut o);
        o.push_str("</VM>");
    }
    o.push_str("</VM_POOL>");
    o
}

/// `<VMTEMPLATE>` as `one.template.info` answers (`vmtemplate.xsd`).
pub fn vm_template(world: &World, t: &VmTemplate) -> String {
    let mut o = String::from("<VMTEMPLATE>");
    owner(&mut o, world, t.id, t.uid, &t.name);
    permissions(&mut o, t.owner_only);
    el(&mut o, "REGTIME", &t.regtime.to_string());
    o.push_str("<TEMPLATE>");
    for a in &t.attrs {
        attr_xml(&mut o, a);
    }
    o.push_str("</TEMPLATE></VMTEMPLATE>");
    o
}

fn document_xml(o: &mut String, world: &World, id: u64, uid: u64, name: &str, doc_type: i64, body: &str) {
    o.push_str("<DOCUMENT>");
    owner(o, world, id, uid, name);
    el(o, "TYPE", &doc_type.to_string());
    permissions(o, true);
    o.push_str("<TEMPLATE><BODY><![CDATA[");
    o.push_str(&body.replace("]]>", "]]]]><![CDATA[>"));
    o.push_str("]]></BODY></TEMPLATE></DOCUMENT>");
}

/// One document (`document.xsd`), from the document store or OneFlow's (types 100, 101).
pub enum AnyDoc<'a> {
    Plain(&'a Document),
    Flow(&'a FlowDoc, i64),
}

pub fn document(world: &World, d: &AnyDoc<'_>) -> String {
    let mut o = String::new();
    match d {
        AnyDoc::Plain(d) => document_xml(&mut o, world, d.id, d.uid, &d.name, d.doc_type, &d.body),
        AnyDoc::Flow(f, t) => document_xml(&mut o, world, f.id, f.uid, &f.name, *t, &f.body.to_string()),
    }
    o
}

/// `<DOCUMENT_POOL>` (`document_pool.xsd`).
pub fn document_pool(world: &World, docs: &[AnyDoc<'_>]) -> String {
    let mut o = String::from("<DOCUMENT_POOL>");
    for d in docs {
        o.push_str(&document(world, d));
    }
    o.push_str("</DOCUMENT_POOL>");
    o
}
