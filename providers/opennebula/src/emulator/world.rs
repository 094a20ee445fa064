//! The emulated OpenNebula's objects and how they move over time: users, VM templates, OneFlow
//! service templates and services, VMs and documents, in one serialisable `World` (the
//! snapshot file holds it whole). Time passes lazily: every request first calls `tick`, which
//! applies each transition whose moment has come, so a VM goes PENDING → PROLOG → BOOT →
//! RUNNING one `step` apart, a service DEPLOYING → RUNNING when its VMs run (or
//! FAILED_DEPLOYING when one fails), and an undeploy UNDEPLOYING → UNDEPLOYING_NETS → gone.
//!
//! Must not know HTTP or XML: `rpc`, `flow` and `xml` present it.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use crate::template::Attr;

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    /// `None`: the user cannot log in (an owner of objects only).
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VmTemplate {
    pub id: u64,
    pub uid: u64,
    pub name: String,
    /// Only its owner may use it (the `DenyVMTemplate` case).
    pub owner_only: bool,
    pub attrs: Vec<Attr>,
    pub regtime: u64,
}

/// A OneFlow document: a service template (type 101) or a service (type 100).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FlowDoc {
    pub id: u64,
    pub uid: u64,
    pub name: String,
    pub body: Json,
    /// When the next service transition is due (ms since the epoch).
    pub due: Option<u64>,
    /// A service whose VMs always fail to deploy (instantiated from `FAILED_DEPLOY`).
    pub doomed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Vm {
    pub id: u64,
    pub uid: u64,
    pub name: String,
    pub state: u32,
    pub lcm: u32,
    pub prev_state: u32,
    pub prev_lcm: u32,
    pub resched: u32,
    pub stime: u64,
    pub etime: u64,
    /// System attributes (`TEMPLATE`) and the rest (`USER_TEMPLATE`).
    pub template: Vec<Attr>,
    pub user: Vec<Attr>,
    pub due: Option<u64>,
    pub doomed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Document {
    pub id: u64,
    pub uid: u64,
    pub name: String,
    pub doc_type: i64,
    pub body: String,
}

/// Attributes oned keeps in a VM's `TEMPLATE` (in `vm.xsd`'s order); the rest go to `USER_TEMPLATE`.
pub const SYSTEM_ATTRS: &[&str] =
    &["CONTEXT", "CPU", "DISK", "MEMORY", "MEMORY_MAX", "MEMORY_RESIZE_MODE", "NIC", "TEMPLATE_ID", "VCPU", "VCPU_MAX"];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub next_id: u64,
    pub next_vm: u64,
    pub next_ip: u64,
    /// Milliseconds between two steps of a VM or service.
    pub step_ms: u64,
    pub users: Vec<User>,
    pub vm_templates: Vec<VmTemplate>,
    pub service_templates: Vec<FlowDoc>,
    pub services: Vec<FlowDoc>,
    pub vms: Vec<Vm>,
    pub documents: Vec<Document>,
}

pub fn attr<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name() == name)
}

pub fn single(attrs: &[Attr], name: &str) -> Option<String> {
    match attr(attrs, name)? {
        Attr::Single(_, v) => Some(v.clone()),
        Attr::Vector(..) => None,
    }
}

pub fn set(attrs: &mut Vec<Attr>, new: Attr) {
    match attrs.iter_mut().find(|a| a.name() == new.name()) {
        Some(slot) => *slot = new,
        None => attrs.push(new),
    }
}

fn log(body: &mut Json, severity: &str, message: String) {
    if let Some(log) = body.get_mut("log").and_then(Json::as_array_mut) {
        log.push(json!({"timestamp": now_ms() / 1000, "severity": severity, "message": message}));
    }
}

/// Moves a service and every role of it to new states, logging the service's.
pub fn set_state(service: &mut FlowDoc, state: i64, role_state: i64) {
    service.body["state"] = json!(state);
    let name = crate::oneflow::service_state_name(state);
    log(&mut service.body, if name.starts_with("FAILED") { "E" } else { "I" }, format!("New state: {name}"));
    if let Some(roles) = service.body.get_mut("roles").and_then(Json::as_array_mut) {
        for r in roles {
            r["state"] = json!(role_state);
        }
    }
}

impl World {
    pub fn user_by_login(&self, name: &str, password: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name && u.password.as_deref() == Some(password))
    }

    pub fn user_name(&self, id: u64) -> String {
        self.users.iter().find(|u| u.id == id).map(|u| u.name.clone()).unwrap_or_else(|| format!("user{id}"))
    }

    pub fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn service_ids_vms(service: &FlowDoc) -> Vec<u64> {
        crate::oneflow::roles(&json!({"TEMPLATE": {"BODY": service.body}}))
            .into_iter()
            .flat_map(|(_, _, ids)| ids)
            .collect()
    }

    /// The first role whose VM template the service's owner may not use.
    fn denied_role(&self, service: &FlowDoc) -> Option<(String, u64)> {
        let roles = service.body["roles"].as_array()?;
        roles.iter().find_map(|r| {
            let tpl = r["template_id"].as_u64()?;
            let t = self.vm_templates.iter().find(|t| t.id == tpl)?;
            (t.owner_only && t.uid != service.uid).then(|| (r["name"].as_str().unwrap_or_default().to_string(), tpl))
        })
    }

    /// Applies every transition due by `now`; whether anything changed.
    pub fn tick(&mut self, now: u64) -> bool {
        let step = self.step_ms;
        let mut changed = false;
        for vm in &mut self.vms {
            while let Some(due) = vm.due.filter(|d| *d <= now) {
                changed = true;
                vm.prev_state = vm.state;
                vm.prev_lcm = vm.lcm;
                let next = due + step;
                (vm.state, vm.lcm, vm.due) = match (vm.state, vm.lcm) {
                    (1, _) => (3, 1, Some(next)),
                    (3, 1) if vm.doomed => {
                        set(
                            &mut vm.user,
                            Attr::Single(
                                "ERROR".into(),
                                "Error executing image transfer script: image not found".into(),
                            ),
                        );
                        (3, 39, None)
                    }
                    (3, 1) => (3, 2, Some(next)),
                    (3, 12) => {
                        vm.etime = now / 1000;
                        (6, 0, None)
                    }
                    (3, 18) => (8, 0, None),
                    (3, _) => (3, 3, None),
                    (s, l) => (s, l, None),
                };
            }
        }
        let mut gone = Vec::new();
        let mut new_vms = Vec::new();
        // Every service looks its VMs up by id: one index, not a scan of every VM per service.
        let index: std::collections::HashMap<u64, usize> =
            self.vms.iter().enumerate().map(|(i, v)| (v.id, i)).collect();
        for i in 0..self.services.len() {
            let state = self.services[i].body["state"].as_i64().unwrap_or(0);
            let due = self.services[i].due.is_some_and(|d| d <= now);
            let ids = Self::service_ids_vms(&self.services[i]);
            let vms: Vec<&Vm> = ids.iter().filter_map(|id| index.get(id).map(|&at| &self.vms[at])).collect();
            let all_running = vms.iter().all(|v| v.state == 3 && v.lcm == 3);
            let failed = vms.iter().any(|v| v.lcm == 39 || v.state == 7);
            let all_done = vms.iter().all(|v| v.state == 6);
            let denied = self.denied_role(&self.services[i]);
            let service = &mut self.services[i];
            changed |= match state {
                0 if due && denied.is_some() => {
                    let (role, tpl) = denied.unwrap_or_default();
                    let uid = service.uid;
                    log(
                        &mut service.body,
                        "E",
                        format!(
                            "Error instantiating VM Template [{tpl}] in Role {role}: [one.template.instantiate] User [{uid}] : Not authorized to perform USE TEMPLATE [{tpl}]."
                        ),
                    );
                    set_state(service, 7, 7);
                    service.due = None;
                    true
                }
                0 if due => {
                    set_state(service, 1, 1);
                    service.due = None;
                    new_vms.push(i);
                    true
                }
                1 if failed => {
                    set_state(service, 7, 7);
                    true
                }
                1 if !ids.is_empty() && all_running => {
                    set_state(service, 2, 2);
                    true
                }
                2 if vms.len() < ids.len() || vms.iter().any(|v| v.state == 6 || v.lcm == 39) => {
                    set_state(service, 4, 4);
                    true
                }
                // OneFlow's monitor: a service in WARNING whose VMs all run again is RUNNING.
                4 if !ids.is_empty() && vms.len() == ids.len() && all_running => {
                    set_state(service, 2, 2);
                    true
                }
                3 if all_done => {
                    set_state(service, 12, 5);
                    service.due = Some(now + step);
                    true
                }
                12 if due => {
                    gone.push(service.id);
                    true
                }
                _ => false,
            };
        }
        for i in new_vms {
            self.deploy(i, now);
        }
        self.services.retain(|s| !gone.contains(&s.id));
        changed
    }

    /// Creates the VMs of service `index`'s roles.
    fn deploy(&mut self, index: usize, now: u64) {
        let sid = self.services[index].id;
        let uid = self.services[index].uid;
        let doomed = self.services[index].doomed;
        let roles = self.services[index].body["roles"].as_array().cloned().unwrap_or_default();
        let mut with_nodes = Vec::new();
        for mut role in roles {
            let name = role["name"].as_str().unwrap_or("role").to_string();
            let cardinality = role["cardinality"].as_u64().unwrap_or(1);
            let tpl_id = role["template_id"].as_u64().unwrap_or(0);
            let contents = role.get("template_contents").cloned().unwrap_or(json!({}));
            let mut nodes = Vec::new();
            for n in 0..cardinality {
                let vm_name = format!("{name}_{n}_(service_{sid})");
                let id = self.create_vm(uid, &vm_name, tpl_id, &contents, doomed, now);
                nodes.push(json!({"deploy_id": id, "vm_info": {"VM": {
                    "ID": id.to_string(), "UID": uid.to_string(), "GID": "1", "UNAME": self.user_name(uid),
                    "GNAME": "users", "NAME": vm_name}}}));
            }
            role["nodes"] = Json::Array(nodes);
            role["last_vmname"] = json!(cardinality);
            with_nodes.push(role);
        }
        self.services[index].body["roles"] = Json::Array(with_nodes);
    }

    fn create_vm(&mut self, uid: u64, name: &str, tpl_id: u64, contents: &Json, doomed: bool, now: u64) -> u64 {
        let mut attrs: Vec<Attr> =
            self.vm_templates.iter().find(|t| t.id == tpl_id).map(|t| t.attrs.clone()).unwrap_or_default();
        if let Some(obj) = contents.as_object() {
            for (k, v) in obj {
                let a = match v {
                    Json::Object(m) => Attr::Vector(
                        k.to_uppercase(),
                        m.iter()
                            .map(|(pk, pv)| {
                                (pk.to_uppercase(), pv.as_str().map_or_else(|| pv.to_string(), str::to_string))
                            })
                            .collect(),
                    ),
                    other => {
                        Attr::Single(k.to_uppercase(), other.as_str().map_or_else(|| other.to_string(), str::to_string))
                    }
                };
                set(&mut attrs, a);
            }
        }
        let id = self.next_vm;
        self.next_vm += 1;
        let (mut template, user): (Vec<Attr>, Vec<Attr>) =
            attrs.into_iter().partition(|a| SYSTEM_ATTRS.contains(&a.name()));
        for a in &mut template {
            match a {
                Attr::Vector(n, pairs) if n == "DISK" => {
                    pairs.retain(|(k, _)| k != "DISK_ID");
                    pairs.push(("DISK_ID".into(), "0".into()));
                    if !pairs.iter().any(|(k, _)| k == "SIZE") {
                        pairs.push(("SIZE".into(), "2048".into()));
                    }
                }
                Attr::Vector(n, pairs) if n == "NIC" => {
                    self.next_ip += 1;
                    pairs.push(("NIC_ID".into(), "0".into()));
                    pairs.push(("IP".into(), format!("10.0.{}.{}", self.next_ip / 250, self.next_ip % 250 + 2)));
                }
                _ => {}
            }
        }
        template.push(Attr::Single("TEMPLATE_ID".into(), tpl_id.to_string()));
        self.vms.push(Vm {
            id,
            uid,
            name: name.to_string(),
            state: 1,
            lcm: 0,
            prev_state: 0,
            prev_lcm: 0,
            resched: 0,
            stime: now / 1000,
            etime: 0,
            template,
            user,
            due: Some(now + self.step_ms),
            doomed,
        });
        id
    }

    /// Starts a VM's shutdown (terminate); it is DONE one step later.
    pub fn terminate_vm(&mut self, id: u64, now: u64) {
        if let Some(vm) = self.vms.iter_mut().find(|v| v.id == id && v.state != 6) {
            (vm.prev_state, vm.prev_lcm) = (vm.state, vm.lcm);
            (vm.state, vm.lcm, vm.due) = (3, 12, Some(now + self.step_ms));
        }
    }

    /// Undeploys a service: its VMs shut down, then its networks, then it is gone.
    pub fn undeploy(&mut self, index: usize, now: u64) {
        let ids = Self::service_ids_vms(&self.services[index]);
        set_state(&mut self.services[index], 3, 3);
        for id in ids {
            self.terminate_vm(id, now);
        }
    }

    /// Removes a service at once (`recover` with `delete`), its VMs DONE.
    pub fn force_delete(&mut self, index: usize, now: u64) {
        let ids = Self::service_ids_vms(&self.services[index]);
        for vm in self.vms.iter_mut().filter(|v| ids.contains(&v.id)) {
            (vm.state, vm.lcm, vm.due, vm.etime) = (6, 0, None, now / 1000);
        }
        self.services.remove(index);
    }
}
