//! oned's objects as tarn reads them from the XML of `one.vm.info`, `one.vmpool.info`,
//! `one.template.info`, `one.document.info` and `one.documentpool.info` (the elements
//! `vm.xsd`, `vm_pool.xsd`, `vmtemplate.xsd`, `document.xsd` and `document_pool.xsd` define),
//! and the VM state names of the XML-RPC reference. Also how a VM's state reads as a
//! Provisioning Engine function state (`PENDING`, `RUNNING`, `UPDATING`, `ERROR`), as the
//! original engine's `Function#state_function` maps it.
//!
//! Pure: XML text in, values out.

use crate::xmlrpc::{Node, parse_tree};

impl Node {
    /// The element at a `/`-separated path of child names.
    pub fn at(&self, path: &str) -> Option<&Node> {
        path.split('/').filter(|p| !p.is_empty()).try_fold(self, |n, part| n.child(part))
    }
    /// The trimmed text at a path; `None` when absent or empty.
    pub fn text_at(&self, path: &str) -> Option<String> {
        self.at(path).map(|n| n.text.trim().to_string()).filter(|t| !t.is_empty())
    }
    fn number_at(&self, path: &str) -> Option<f64> {
        self.text_at(path)?.parse().ok()
    }
    fn all(&self, name: &str) -> impl Iterator<Item = &Node> {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// The children of a vector attribute (`DISK`, `CONTEXT`) as name/value pairs.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.children.iter().map(|c| (c.name.clone(), c.text.clone())).collect()
    }
}

fn root(xml: &str, wanted: &str) -> Result<Node, String> {
    let node = parse_tree(xml)?;
    if node.name != wanted {
        return Err(format!("expected <{wanted}>, found <{}>", node.name));
    }
    Ok(node)
}

fn required_id(node: &Node, what: &str) -> Result<u64, String> {
    node.text_at("ID").and_then(|t| t.parse().ok()).ok_or_else(|| format!("{what} without a numeric <ID>"))
}

/// VM `STATE` names (the XML-RPC reference's `vm_states`).
pub fn state_name(state: u32) -> &'static str {
    const NAMES: [&str; 12] = [
        "INIT",
        "PENDING",
        "HOLD",
        "ACTIVE",
        "STOPPED",
        "SUSPENDED",
        "DONE",
        "FAILED",
        "POWEROFF",
        "UNDEPLOYED",
        "CLONING",
        "CLONING_FAILURE",
    ];
    NAMES.get(state as usize).copied().unwrap_or("UNKNOWN_STATE")
}

/// VM `LCM_STATE` names (the XML-RPC reference's `vm_lcm_states`, 0 to 71, in order).
pub fn lcm_name(lcm: u32) -> &'static str {
    const NAMES: [&str; 72] = [
        "LCM_INIT",
        "PROLOG",
        "BOOT",
        "RUNNING",
        "MIGRATE",
        "SAVE_STOP",
        "SAVE_SUSPEND",
        "SAVE_MIGRATE",
        "PROLOG_MIGRATE",
        "PROLOG_RESUME",
        "EPILOG_STOP",
        "EPILOG",
        "SHUTDOWN",
        "CANCEL",
        "FAILURE",
        "CLEANUP_RESUBMIT",
        "UNKNOWN",
        "HOTPLUG",
        "SHUTDOWN_POWEROFF",
        "BOOT_UNKNOWN",
        "BOOT_POWEROFF",
        "BOOT_SUSPENDED",
        "BOOT_STOPPED",
        "CLEANUP_DELETE",
        "HOTPLUG_SNAPSHOT",
        "HOTPLUG_NIC",
        "HOTPLUG_SAVEAS",
        "HOTPLUG_SAVEAS_POWEROFF",
        "HOTPLUG_SAVEAS_SUSPENDED",
        "SHUTDOWN_UNDEPLOY",
        "EPILOG_UNDEPLOY",
        "PROLOG_UNDEPLOY",
        "BOOT_UNDEPLOY",
        "HOTPLUG_PROLOG_POWEROFF",
        "HOTPLUG_EPILOG_POWEROFF",
        "BOOT_MIGRATE",
        "BOOT_FAILURE",
        "BOOT_MIGRATE_FAILURE",
        "PROLOG_MIGRATE_FAILURE",
        "PROLOG_FAILURE",
        "EPILOG_FAILURE",
        "EPILOG_STOP_FAILURE",
        "EPILOG_UNDEPLOY_FAILURE",
        "PROLOG_MIGRATE_POWEROFF",
        "PROLOG_MIGRATE_POWEROFF_FAILURE",
        "PROLOG_MIGRATE_SUSPEND",
        "PROLOG_MIGRATE_SUSPEND_FAILURE",
        "BOOT_UNDEPLOY_FAILURE",
        "BOOT_STOPPED_FAILURE",
        "PROLOG_RESUME_FAILURE",
        "PROLOG_UNDEPLOY_FAILURE",
        "DISK_SNAPSHOT_POWEROFF",
        "DISK_SNAPSHOT_REVERT_POWEROFF",
        "DISK_SNAPSHOT_DELETE_POWEROFF",
        "DISK_SNAPSHOT_SUSPENDED",
        "DISK_SNAPSHOT_REVERT_SUSPENDED",
        "DISK_SNAPSHOT_DELETE_SUSPENDED",
        "DISK_SNAPSHOT",
        "DISK_SNAPSHOT_REVERT",
        "DISK_SNAPSHOT_DELETE",
        "PROLOG_MIGRATE_UNKNOWN",
        "PROLOG_MIGRATE_UNKNOWN_FAILURE",
        "DISK_RESIZE",
        "DISK_RESIZE_POWEROFF",
        "DISK_RESIZE_UNDEPLOYED",
        "HOTPLUG_NIC_POWEROFF",
        "HOTPLUG_RESIZE",
        "HOTPLUG_SAVEAS_UNDEPLOYED",
        "HOTPLUG_SAVEAS_STOPPED",
        "BACKUP",
        "BACKUP_POWEROFF",
        "RESTORE",
    ];
    NAMES.get(lcm as usize).copied().unwrap_or("OTHER")
}

/// A virtual machine, as `one.vm.info` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Vm {
    pub id: u64,
    pub name: String,
    pub state: u32,
    pub lcm_state: u32,
    pub cpu: f64,
    pub vcpu: u64,
    pub memory: u64,
    pub vcpu_max: u64,
    pub memory_max: u64,
    /// Size in MB of disk 0.
    pub disk_size: u64,
    /// The address of NIC 0 (`EXTERNAL_IP`, else `IP6`, else `IP`), empty without one.
    pub endpoint: String,
    pub error: Option<String>,
    report_ready: bool,
    ready: bool,
    /// `USER_TEMPLATE` attributes with a single value.
    pub user_template: Vec<(String, String)>,
}

impl Vm {
    pub fn parse(xml: &str) -> Result<Vm, String> {
        Vm::from_node(&root(xml, "VM")?)
    }

    fn from_node(vm: &Node) -> Result<Vm, String> {
        let t = vm.at("TEMPLATE").cloned().unwrap_or_default();
        let num = |p: &str| t.number_at(p).unwrap_or(0.0);
        let disk0 = t.all("DISK").find(|d| d.text_at("DISK_ID").as_deref() == Some("0"));
        let nic0 = t.all("NIC").find(|n| n.text_at("NIC_ID").as_deref() == Some("0"));
        let endpoint =
            nic0.and_then(|n| ["EXTERNAL_IP", "IP6", "IP"].iter().find_map(|a| n.text_at(a))).unwrap_or_default();
        let user = vm.at("USER_TEMPLATE").cloned().unwrap_or_default();
        Ok(Vm {
            id: required_id(vm, "a <VM>")?,
            name: vm.text_at("NAME").unwrap_or_default(),
            state: vm.number_at("STATE").ok_or("a <VM> without <STATE>")? as u32,
            lcm_state: vm.number_at("LCM_STATE").ok_or("a <VM> without <LCM_STATE>")? as u32,
            cpu: num("CPU"),
            vcpu: num("VCPU") as u64,
            memory: num("MEMORY") as u64,
            vcpu_max: num("VCPU_MAX") as u64,
            memory_max: num("MEMORY_MAX") as u64,
            disk_size: disk0.and_then(|d| d.number_at("SIZE")).unwrap_or(0.0) as u64,
            endpoint,
            error: t.text_at("ERROR").or_else(|| user.text_at("ERROR")),
            report_ready: t.text_at("CONTEXT/REPORT_READY").as_deref() == Some("YES"),
            ready: user.text_at("READY").as_deref() == Some("YES"),
            user_template: user
                .children
                .iter()
                .filter(|c| c.children.is_empty())
                .map(|c| (c.name.clone(), c.text.clone()))
                .collect(),
        })
    }

    pub fn user(&self, name: &str) -> Option<&str> {
        self.user_template.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// `ACTIVE/RUNNING`, `PENDING/LCM_INIT`, …
    pub fn state_text(&self) -> String {
        format!("{}/{}", state_name(self.state), lcm_name(self.lcm_state))
    }

    pub fn is_done(&self) -> bool {
        self.state == 6
    }

    /// The function state the Provisioning Engine reports for this VM.
    pub fn function_state(&self) -> &'static str {
        let lcm = lcm_name(self.lcm_state);
        if self.state == 3 && lcm == "RUNNING" {
            return if !self.report_ready || self.ready { "RUNNING" } else { "PENDING" };
        }
        if self.state == 1 || self.state == 0 {
            return "PENDING";
        }
        const PENDING: &[&str] = &[
            "LCM_INIT",
            "BOOT",
            "PROLOG",
            "BOOT_UNKNOWN",
            "BOOT_POWEROFF",
            "BOOT_SUSPENDED",
            "BOOT_STOPPED",
            "BOOT_UNDEPLOY",
            "PROLOG_UNDEPLOY",
            "CLEANUP_RESUBMIT",
        ];
        if PENDING.contains(&lcm) {
            return "PENDING";
        }
        // The original's STATE_MAP[:error], exactly (EPILOG_*_FAILURE are not in it).
        const ERROR: &[&str] = &[
            "FAILURE",
            "UNKNOWN",
            "BOOT_FAILURE",
            "BOOT_MIGRATE_FAILURE",
            "BOOT_UNDEPLOY_FAILURE",
            "BOOT_STOPPED_FAILURE",
            "PROLOG_FAILURE",
            "PROLOG_MIGRATE_FAILURE",
            "PROLOG_MIGRATE_POWEROFF_FAILURE",
            "PROLOG_MIGRATE_SUSPEND_FAILURE",
            "PROLOG_RESUME_FAILURE",
            "PROLOG_UNDEPLOY_FAILURE",
            "PROLOG_MIGRATE_UNKNOWN",
            "PROLOG_MIGRATE_UNKNOWN_FAILURE",
        ];
        if self.state == 7 || ERROR.contains(&lcm) {
            return "ERROR";
        }
        "UPDATING"
    }
}

/// The VMs of a `<VM_POOL>` (ids and states; the pool's short bodies).
pub fn vm_pool(xml: &str) -> Result<Vec<(u64, String, u32)>, String> {
    let pool = root(xml, "VM_POOL")?;
    pool.all("VM")
        .map(|vm| {
            let id = required_id(vm, "a pool <VM>")?;
            Ok((id, vm.text_at("NAME").unwrap_or_default(), vm.number_at("STATE").unwrap_or(0.0) as u32))
        })
        .collect()
}

/// A VM template, as `one.template.info` describes it: what the original engine copies into a
/// function's VM (disk 0 and the context), and its capacity.
#[derive(Debug, Clone, PartialEq)]
pub struct VmTemplate {
    pub id: u64,
    pub name: String,
    pub disk: Option<Vec<(String, String)>>,
    pub context: Option<Vec<(String, String)>>,
    pub vcpu: u64,
    pub memory: u64,
}

impl VmTemplate {
    pub fn parse(xml: &str) -> Result<VmTemplate, String> {
        let t = root(xml, "VMTEMPLATE")?;
        let body = t.at("TEMPLATE").cloned().unwrap_or_default();
        Ok(VmTemplate {
            id: required_id(&t, "a <VMTEMPLATE>")?,
            name: t.text_at("NAME").unwrap_or_default(),
            disk: body.child("DISK").map(Node::pairs),
            context: body.child("CONTEXT").map(Node::pairs),
            vcpu: body.number_at("VCPU").unwrap_or(0.0) as u64,
            memory: body.number_at("MEMORY").unwrap_or(0.0) as u64,
        })
    }
}

/// A document (`one.document.info`): its `TEMPLATE/BODY` is the JSON the owner keeps in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub id: u64,
    pub name: String,
    pub doc_type: String,
    pub body: Option<String>,
}

impl Document {
    pub fn parse(xml: &str) -> Result<Document, String> {
        Document::from_node(&root(xml, "DOCUMENT")?)
    }

    fn from_node(d: &Node) -> Result<Document, String> {
        Ok(Document {
            id: required_id(d, "a <DOCUMENT>")?,
            name: d.text_at("NAME").unwrap_or_default(),
            doc_type: d.text_at("TYPE").unwrap_or_default(),
            body: d.text_at("TEMPLATE/BODY"),
        })
    }
}

pub fn document_pool(xml: &str) -> Result<Vec<Document>, String> {
    root(xml, "DOCUMENT_POOL")?.all("DOCUMENT").map(Document::from_node).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vm_reads_its_capacity_endpoint_and_function_state() {
        let xml = "<VM><ID>7</ID><NAME>FAAS_0_(service_3)</NAME><STATE>3</STATE><LCM_STATE>3</LCM_STATE>\
            <TEMPLATE><CPU>2</CPU><VCPU>2</VCPU><MEMORY>1024</MEMORY><VCPU_MAX>4</VCPU_MAX>\
            <DISK><DISK_ID>0</DISK_ID><SIZE>2048</SIZE></DISK><NIC><NIC_ID>0</NIC_ID><IP>10.0.0.5</IP></NIC></TEMPLATE>\
            <USER_TEMPLATE><FLAVOURS>0</FLAVOURS><DEVICE_INFO><LATENCY_TO_PE>3</LATENCY_TO_PE></DEVICE_INFO></USER_TEMPLATE></VM>";
        let vm = Vm::parse(xml).expect("parse");
        assert_eq!((vm.id, vm.vcpu, vm.memory, vm.vcpu_max, vm.disk_size), (7, 2, 1024, 4, 2048));
        assert_eq!(vm.endpoint, "10.0.0.5");
        assert_eq!(vm.function_state(), "RUNNING");
        assert_eq!(vm.user("FLAVOURS"), Some("0"));
        assert_eq!(vm.state_text(), "ACTIVE/RUNNING");
        let pending = Vm { lcm_state: 1, ..vm.clone() };
        assert_eq!(pending.function_state(), "PENDING");
        let failed = Vm { lcm_state: 39, ..vm.clone() };
        assert_eq!(failed.function_state(), "ERROR");
        let resizing = Vm { lcm_state: 66, ..vm };
        assert_eq!(resizing.function_state(), "UPDATING");
        assert!(Vm::parse("<DOCUMENT><ID>1</ID></DOCUMENT>").is_err());
    }
}
