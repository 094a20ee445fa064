//! The XML documents the `libvirt-ssh` driver hands to `virsh`: the gateway's domain and the
//! backup job of its disk, written with quick-xml's writer so every name and path is escaped.
//!
//! Owns the documents only; running `virsh` is `libvirt_ssh.rs`'s job.

use quick_xml::Writer;
use quick_xml::events::BytesText;

/// One network interface: a host bridge, its VLAN tag (none: untagged), and whether the bridge
/// is an Open vSwitch one (libvirt tags VLANs on bridges only through Open vSwitch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nic {
    pub bridge: String,
    pub vlan: Option<u16>,
    pub ovs: bool,
}

/// What the domain is made of.
pub struct DomainSpec<'a> {
    pub name: &'a str,
    /// `kvm`, or `qemu` (TCG) where the host has no KVM.
    pub virt_type: &'a str,
    pub memory_mib: u32,
    pub vcpus: u32,
    pub pool: &'a str,
    pub volume: &'a str,
    /// The volume's format (`qcow2`, `raw`).
    pub format: &'a str,
    /// The management NIC first, then the public one (Giif's net0 and net1).
    pub nics: &'a [Nic],
}

/// The disk the gateway boots from.
pub const DISK_TARGET: &str = "vda";

fn text(w: &mut Writer<Vec<u8>>, name: &str, value: &str) -> std::io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(value))?;
    Ok(())
}

/// The domain's XML for `virsh define`.
pub fn domain(spec: &DomainSpec<'_>) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written = w.create_element("domain").with_attribute(("type", spec.virt_type)).write_inner_content(|w| {
        text(w, "name", spec.name)?;
        w.create_element("memory")
            .with_attribute(("unit", "MiB"))
            .write_text_content(BytesText::new(&spec.memory_mib.to_string()))?;
        text(w, "vcpu", &spec.vcpus.to_string())?;
        w.create_element("os").write_inner_content(|w| {
            w.create_element("type").with_attribute(("arch", "x86_64")).write_text_content(BytesText::new("hvm"))?;
            w.create_element("boot").with_attribute(("dev", "hd")).write_empty()?;
            Ok(())
        })?;
        w.create_element("features").write_inner_content(|w| {
            w.create_element("acpi").write_empty()?;
            Ok(())
        })?;
        text(w, "on_poweroff", "destroy")?;
        text(w, "on_reboot", "restart")?;
        text(w, "on_crash", "restart")?;
        w.create_element("devices").write_inner_content(|w| {
            w.create_element("disk")
                .with_attribute(("type", "volume"))
                .with_attribute(("device", "disk"))
                .write_inner_content(|w| {
                    w.create_element("driver")
                        .with_attribute(("name", "qemu"))
                        .with_attribute(("type", spec.format))
                        .write_empty()?;
                    w.create_element("source")
                        .with_attribute(("pool", spec.pool))
                        .with_attribute(("volume", spec.volume))
                        .write_empty()?;
                    w.create_element("target")
                        .with_attribute(("dev", DISK_TARGET))
                        .with_attribute(("bus", "virtio"))
                        .write_empty()?;
                    Ok(())
                })?;
            for nic in spec.nics {
                interface(w, nic)?;
            }
            // The guest agent's channel, as Proxmox's `--agent enabled=1` gives.
            w.create_element("channel").with_attribute(("type", "unix")).write_inner_content(|w| {
                w.create_element("target")
                    .with_attribute(("type", "virtio"))
                    .with_attribute(("name", "org.qemu.guest_agent.0"))
                    .write_empty()?;
                Ok(())
            })?;
            w.create_element("serial").with_attribute(("type", "pty")).write_empty()?;
            w.create_element("console").with_attribute(("type", "pty")).write_empty()?;
            Ok(())
        })?;
        Ok(())
    });
    // Writing into a Vec cannot fail.
    debug_assert!(written.is_ok());
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

fn interface(w: &mut Writer<Vec<u8>>, nic: &Nic) -> std::io::Result<()> {
    w.create_element("interface").with_attribute(("type", "bridge")).write_inner_content(|w| {
        w.create_element("source").with_attribute(("bridge", nic.bridge.as_str())).write_empty()?;
        if nic.ovs {
            w.create_element("virtualport").with_attribute(("type", "openvswitch")).write_empty()?;
        }
        if let Some(tag) = nic.vlan {
            w.create_element("vlan").write_inner_content(|w| {
                w.create_element("tag").with_attribute(("id", tag.to_string().as_str())).write_empty()?;
                Ok(())
            })?;
        }
        w.create_element("model").with_attribute(("type", "virtio")).write_empty()?;
        Ok(())
    })?;
    Ok(())
}

/// The placeholder the backup script replaces with the run's time stamp: letters and
/// underscores, so it needs no escaping in XML nor in `sed`, and never part of a domain name
/// (a project name is a DNS label, without underscores).
pub const STAMP: &str = "_PAGW_STAMP_";

/// A push-mode backup of the boot disk into `dir/<domain>-STAMP.qcow2` (`virsh backup-begin
/// --backupxml`).
pub fn backup(domain: &str, dir: &str) -> String {
    let target = format!("{}/{domain}-{STAMP}.qcow2", dir.trim_end_matches('/'));
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    let written = w.create_element("domainbackup").with_attribute(("mode", "push")).write_inner_content(|w| {
        w.create_element("disks").write_inner_content(|w| {
            w.create_element("disk")
                .with_attribute(("name", DISK_TARGET))
                .with_attribute(("backup", "yes"))
                .with_attribute(("type", "file"))
                .write_inner_content(|w| {
                    w.create_element("driver").with_attribute(("type", "qcow2")).write_empty()?;
                    w.create_element("target").with_attribute(("file", target.as_str())).write_empty()?;
                    Ok(())
                })?;
            Ok(())
        })?;
        Ok(())
    });
    debug_assert!(written.is_ok());
    String::from_utf8(w.into_inner()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_escaped_and_only_tagged_ovs_nics_carry_a_vlan() {
        let nics = [
            Nic { bridge: "ovs<0>".into(), vlan: Some(13), ovs: true },
            Nic { bridge: "br-pub".into(), vlan: None, ovs: false },
        ];
        let xml = domain(&DomainSpec {
            name: "PAGW-a&b",
            virt_type: "qemu",
            memory_mib: 2048,
            vcpus: 2,
            pool: "default",
            volume: "PAGW-a.qcow2",
            format: "qcow2",
            nics: &nics,
        });
        assert!(xml.contains("<name>PAGW-a&amp;b</name>"), "{xml}");
        assert!(xml.contains("bridge=\"ovs&lt;0&gt;\""), "{xml}");
        assert_eq!(xml.matches("<vlan>").count(), 1, "{xml}");
        assert_eq!(xml.matches("openvswitch").count(), 1, "{xml}");
        assert!(xml.contains("<tag id=\"13\"/>"), "{xml}");
        let b = backup("PAGW-a", "/var/backups/pagw/");
        assert!(b.contains("file=\"/var/backups/pagw/PAGW-a-_PAGW_STAMP_.qcow2\""), "{b}");
    }
}
