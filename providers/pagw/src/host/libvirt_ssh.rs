//! The `libvirt-ssh` deploy driver, for PAGW hosts without Proxmox: `virsh` over SSH against
//! the slot's libvirt (`PAGW_LIBVIRT_URI`, default `qemu:///system`). Deploy imports the built
//! image into `PAGW_STORAGE_POOL` (`vol-create-as` + `vol-upload`, the volume named
//! `PAGW-<project>.<format>`), defines the domain named exactly `PAGW-<project>` (XML from
//! `libvirt_xml.rs`) with the management and public bridges and their VLAN tags (an empty VLAN
//! leaves the NIC untagged), marks it autostart and starts it; a failure after the volume exists
//! removes the domain and the volume. Verification (`verify`) waits until the domain runs; the
//! caller (`Ctx::deploy` through `driver.rs`) removes the `.img` and rolls back a failed one.
//!
//! libvirt tags VLANs on bridges only through Open vSwitch: a tagged NIC on a bridge that is
//! not an Open vSwitch bridge is refused before anything is made. Domains are found by their
//! exact name in `virsh list --all --name`: `PAGW-abc` never matches `PAGW-abcabc`.
//!
//! Slot variables besides Giif's: `PAGW_LIBVIRT_URI`, `PAGW_LIBVIRT_VIRT_TYPE` (`kvm` by
//! default; `qemu` for TCG), and for backups `PAGW_HOST_CRON_DIR` (see `libvirt_backup.rs`).

use std::time::{Duration, Instant};

use tarn_sdk::ProviderError;

use super::libvirt_xml::{self, DomainSpec, Nic};
use super::{Host, quote};
use crate::db::slots::Slot;

/// Giif's VM size (`qm create … --cores 2 --memory 2048`).
const MEMORY_MIB: u32 = 2048;
const VCPUS: u32 = 2;

/// `virsh` for the slot's libvirt, quiet (no blank lines after answers).
pub fn virsh(slot: &Slot) -> String {
    let uri = slot.var("PAGW_LIBVIRT_URI").filter(|u| !u.is_empty()).unwrap_or("qemu:///system");
    format!("virsh -q -c {}", quote(uri))
}

/// The pool volume that holds the gateway's disk.
pub fn volume_name(vm_name: &str, format: &str) -> String {
    format!("{vm_name}.{format}")
}

/// The domain's state, if a domain is named exactly `name`: `running`, `stopped` (libvirt's
/// "shut off"), or what `virsh domstate` says otherwise (`paused`, `crashed`…).
pub async fn find(host: &Host, slot: &Slot, name: &str) -> Result<Option<String>, ProviderError> {
    let virsh = virsh(slot);
    let out = host.run("listing domains (virsh list)", &format!("{virsh} list --all --name")).await?;
    if !out.stdout.lines().any(|line| line.trim() == name) {
        return Ok(None);
    }
    let out = host.run("reading the domain's state", &format!("{virsh} domstate {}", quote(name))).await?;
    let state = out.stdout.trim();
    Ok(Some(if state == "shut off" { "stopped".to_string() } else { state.to_string() }))
}

/// A NIC from the slot's bridge and VLAN variables; refuses a VLAN tag libvirt cannot apply.
async fn nic(host: &Host, slot: &Slot, bridge_var: &str, vlan_var: &str) -> Result<Nic, ProviderError> {
    let bridge = slot.require(bridge_var)?.to_string();
    let vlan = match slot.var(vlan_var).map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<u16>().ok().filter(|t| (1..=4094).contains(t)).ok_or_else(|| {
            ProviderError::permanent(format!(
                "PAGW slot {} ({}): {vlan_var}={v:?} is not a VLAN id (1 to 4094)",
                slot.id, slot.ip
            ))
        })?),
    };
    let probe = format!("command -v ovs-vsctl >/dev/null 2>&1 && ovs-vsctl --timeout=10 br-exists {}", quote(&bridge));
    let ovs = host.try_run(&probe).await?.success();
    if let (Some(tag), false) = (vlan, ovs) {
        return Err(ProviderError::permanent(format!(
            "PAGW slot {} ({}): {vlan_var}={tag} asks for a VLAN tag on the bridge {bridge:?}, which is not an Open \
             vSwitch bridge on the host; libvirt tags VLANs on bridges only through Open vSwitch. Use an Open vSwitch \
             bridge, or a bridge already on that VLAN with {vlan_var} empty; nothing was deployed",
            slot.id, slot.ip
        )));
    }
    Ok(Nic { bridge, vlan, ovs })
}

/// Deploys `image` as the domain `vm_name`, started. On failure nothing the deploy made is left
/// (the image is the caller's).
pub async fn deploy(host: &Host, slot: &Slot, vm_name: &str, image: &str) -> Result<(), ProviderError> {
    if find(host, slot, vm_name).await?.is_some() {
        return Err(ProviderError::conflict(format!(
            "a domain named {vm_name} already exists on {}; nothing was deployed (import the gateway, or remove \
             the domain)",
            host.session.endpoint()
        )));
    }
    let nics = [
        nic(host, slot, "PAGW_HOST_MGMT_BRIDGE", "PAGW_MGMT_VLAN").await?,
        nic(host, slot, "PAGW_HOST_PUB_BRIDGE", "PAGW_PUB_VLAN").await?,
    ];
    let pool = slot.require("PAGW_STORAGE_POOL")?;
    // The build checked the format with qemu-img already; the volume takes the same.
    let format = host
        .run("reading the image's format", &format!("qemu-img info {} | sed -n 's/^file format: //p'", quote(image)))
        .await?;
    let format = format.stdout.trim();
    let volume = volume_name(vm_name, format);
    let virsh = virsh(slot);
    let size = host.run("measuring the image", &format!("stat -c %s {}", quote(image))).await?;
    host.run(
        "creating the volume",
        &format!(
            "{virsh} vol-create-as {} {} {} --format {}",
            quote(pool),
            quote(&volume),
            size.stdout.trim(),
            quote(format)
        ),
    )
    .await?;
    let spec = DomainSpec {
        name: vm_name,
        virt_type: slot.var("PAGW_LIBVIRT_VIRT_TYPE").filter(|t| !t.is_empty()).unwrap_or("kvm"),
        memory_mib: MEMORY_MIB,
        vcpus: VCPUS,
        pool,
        volume: &volume,
        format,
        nics: &nics,
    };
    match finish(host, slot, &spec, image).await {
        Ok(()) => Ok(()),
        Err(e) => {
            remove(host, slot, vm_name, pool, &volume).await;
            Err(e)
        }
    }
}

async fn finish(host: &Host, slot: &Slot, spec: &DomainSpec<'_>, image: &str) -> Result<(), ProviderError> {
    let virsh = virsh(slot);
    let name = quote(spec.name);
    host.run(
        "uploading the disk into the pool",
        &format!("{virsh} vol-upload --pool {} {} {}", quote(spec.pool), quote(spec.volume), quote(image)),
    )
    .await?;
    let xml_path = format!("{}/.pagw-{}.xml", host.home, spec.name);
    host.session.upload_bytes(libvirt_xml::domain(spec).as_bytes(), &xml_path, 0o600).await?;
    let xml = quote(&xml_path);
    host.run(&format!("defining {}", spec.name), &format!("{virsh} define {xml}; rc=$?; rm -f {xml}; exit $rc"))
        .await?;
    host.run("marking the domain autostart", &format!("{virsh} autostart {name}")).await?;
    host.run(&format!("starting {}", spec.name), &format!("{virsh} start {name}")).await?;
    Ok(())
}

/// Waits until the domain runs, at most `timeout`.
pub async fn verify(host: &Host, slot: &Slot, vm_name: &str, timeout: Duration) -> Result<(), ProviderError> {
    let start = Instant::now();
    loop {
        if find(host, slot, vm_name).await?.as_deref() == Some("running") {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(ProviderError::permanent(format!(
                "{vm_name} did not reach the running state within {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Removes the domain and its volume; best effort (rollback).
async fn remove(host: &Host, slot: &Slot, vm_name: &str, pool: &str, volume: &str) {
    let virsh = virsh(slot);
    let name = quote(vm_name);
    host.run_quietly(&format!(
        "{virsh} destroy {name} >/dev/null 2>&1; {virsh} undefine {name} --remove-all-storage >/dev/null 2>&1; \
         {virsh} vol-delete --pool {} {} >/dev/null 2>&1",
        quote(pool),
        quote(volume)
    ))
    .await;
}

/// Undeploys the domain named exactly `vm_name`, if there is one: stopped (`virsh destroy`, as
/// `qm stop` is a hard stop too), then undefined with its storage.
pub async fn undeploy(host: &Host, slot: &Slot, vm_name: &str) -> Result<(), ProviderError> {
    let Some(state) = find(host, slot, vm_name).await? else { return Ok(()) };
    let virsh = virsh(slot);
    let name = quote(vm_name);
    if state != "stopped" {
        host.run(&format!("stopping {vm_name}"), &format!("{virsh} destroy {name}")).await?;
    }
    host.run(
        &format!("undefining {vm_name} with its storage"),
        &format!("{virsh} undefine {name} --remove-all-storage"),
    )
    .await?;
    Ok(())
}
