//! The `proxmox-ve-ssh` deploy driver (Giif's `deploy/proxmox-ve-ssh.sh` and
//! `undeploy/proxmox-ve-ssh.sh`), over SSH on the Proxmox host: `pvesh get /cluster/nextid`,
//! `qm create` named exactly `PAGW-<project>` with `onboot`, the management and public bridges
//! with their VLAN tags (an empty `PAGW_PUB_VLAN` leaves the public NIC untagged), `qm
//! importdisk` into `PAGW_STORAGE_POOL`, the boot disk, start; then (as its own step, see
//! driver.rs) the guest agent's answer awaited. A failure after `qm create` destroys the VM with
//! its disks; the image stays for the caller to remove.
//!
//! VMs are found by their exact name in `qm list`: `PAGW-abc` never matches `PAGW-abcabc`.

use std::time::{Duration, Instant};

use tarn_sdk::ProviderError;

use super::driver::Verification;
use super::{Host, quote};
use crate::db::slots::Slot;

/// The VMID of the VM named exactly `name`, if any.
pub async fn find(host: &Host, name: &str) -> Result<Option<u32>, ProviderError> {
    let out = host.run("listing VMs (qm list)", "qm list").await?;
    Ok(out.stdout.lines().skip(1).find_map(|line| {
        let mut cols = line.split_whitespace();
        let id = cols.next()?.parse::<u32>().ok()?;
        (cols.next()? == name).then_some(id)
    }))
}

/// Whether the VM runs (`qm status`).
pub async fn status(host: &Host, vmid: u32) -> Result<String, ProviderError> {
    let out = host.run("reading the VM's status", &format!("qm status {vmid}")).await?;
    Ok(out.stdout.trim().trim_start_matches("status:").trim().to_string())
}

fn net(bridge: &str, vlan: &str) -> String {
    if vlan.is_empty() {
        format!("model=virtio,bridge={bridge}")
    } else {
        format!("model=virtio,bridge={bridge},tag={vlan}")
    }
}

/// Deploys `image` as the VM `vm_name` and starts it; returns its VMID.
///
/// `nextid` then `qm create` is not atomic: another apply on the same host (Giif ran one at a
/// time under a flock; tarn's claims are per slot, so two gateways on one host deploy at once)
/// may create that id in between. `qm create` then fails with "already exists", having made
/// nothing, and the pair is tried again with a fresh id.
pub async fn deploy(host: &Host, slot: &Slot, vm_name: &str, image: &str) -> Result<u32, ProviderError> {
    let net0 = quote(&net(slot.require("PAGW_HOST_MGMT_BRIDGE")?, slot.var("PAGW_MGMT_VLAN").unwrap_or_default()));
    let net1 = quote(&net(slot.require("PAGW_HOST_PUB_BRIDGE")?, slot.var("PAGW_PUB_VLAN").unwrap_or_default()));
    let mut attempt = 0;
    let vmid = loop {
        attempt += 1;
        let out = host.run("asking for the next VMID", "pvesh get /cluster/nextid").await?;
        let vmid: u32 = out.stdout.trim().trim_matches('"').parse().map_err(|_| {
            ProviderError::permanent(format!("pvesh get /cluster/nextid printed {:?}, not a VMID", out.stdout.trim()))
        })?;
        let create = format!(
            "qm create {vmid} --name {name} --onboot 1 --ostype l26 --cdrom none --scsihw virtio-scsi-pci \
             --bootdisk scsi0 --sockets 1 --cores 2 --memory 2048 --net0 {net0} --net1 {net1} --agent enabled=1",
            name = quote(vm_name),
        );
        match host.run(&format!("creating {vm_name}"), &create).await {
            Ok(_) => break vmid,
            Err(e) if super::driver::vmid_taken(&e, attempt) => super::driver::pause_before_retry(attempt).await,
            Err(e) => return Err(e),
        }
    };
    match finish(host, slot, vmid, vm_name, image).await {
        Ok(()) => Ok(vmid),
        Err(e) => {
            remove(host, vmid).await;
            Err(e)
        }
    }
}

async fn finish(host: &Host, slot: &Slot, vmid: u32, vm_name: &str, image: &str) -> Result<(), ProviderError> {
    let pool = slot.require("PAGW_STORAGE_POOL")?;
    let out = host.run("importing the disk", &format!("qm importdisk {vmid} {} {}", quote(image), quote(pool))).await?;
    // "Successfully imported disk as 'unused0:local-lvm:vm-100-disk-0'".
    let volume = out
        .stdout
        .split('\'')
        .nth(1)
        .and_then(|v| v.split_once(':'))
        .map(|(_, vol)| vol.to_string())
        .unwrap_or_else(|| format!("{pool}:vm-{vmid}-disk-0"));
    host.run("attaching the boot disk", &format!("qm set {vmid} --scsi0 {}", quote(&volume))).await?;
    host.run("setting the boot order", &format!("qm set {vmid} --boot legacy=c")).await?;
    host.run(&format!("starting {vm_name}"), &format!("qm start {vmid}")).await?;
    Ok(())
}

/// Waits until the VM runs and its QEMU guest agent answers.
pub async fn verify(host: &Host, vmid: u32, vm_name: &str, verification: &Verification) -> Result<(), ProviderError> {
    let start = Instant::now();
    loop {
        if status(host, vmid).await? == "running" && host.try_run(&format!("qm agent {vmid} ping")).await?.success() {
            return Ok(());
        }
        if start.elapsed() > verification.agent_timeout {
            return Err(ProviderError::permanent(format!(
                "{vm_name} (VMID {vmid}) did not run with an answering guest agent within {} s",
                verification.agent_timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Stops and destroys the VM with its disks; best effort (rollback).
async fn remove(host: &Host, vmid: u32) {
    host.run_quietly(&format!("qm stop {vmid}; qm destroy {vmid} --destroy-unreferenced-disks 1 --purge 1")).await;
}

/// Undeploys the VM named exactly `vm_name`, if there is one: stop, destroy with its disks.
pub async fn undeploy(host: &Host, vm_name: &str) -> Result<(), ProviderError> {
    let Some(vmid) = find(host, vm_name).await? else { return Ok(()) };
    if status(host, vmid).await? == "running" {
        host.run(&format!("stopping {vm_name}"), &format!("qm stop {vmid}")).await?;
    }
    host.run(&format!("destroying {vm_name}"), &format!("qm destroy {vmid} --destroy-unreferenced-disks 1 --purge 1"))
        .await?;
    Ok(())
}
