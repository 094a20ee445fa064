//! The `proxmox-ve-api` deploy driver: what `proxmox-ve-ssh` does, through the Proxmox VE REST
//! API (specs/proxmox-ve-9.2.subset.json) with an API token. `GET /cluster/nextid`, then one
//! `POST /nodes/{node}/qemu` making the VM named exactly `PAGW-<project>` with `onboot`, the
//! management and public bridges with their VLAN tags (an empty `PAGW_PUB_VLAN` leaves the
//! public NIC untagged), the boot disk imported from the built image on the host
//! (`scsi0: POOL:0,import-from=PATH`) and the boot order; then start. Every call that answers a
//! task (a UPID) is polled until the task stops, and a task whose exit status is not `OK` fails
//! the step, naming the call. A failure after the create destroys the VM with its disks.
//!
//! Where the API is: the slot's `PAGW_PVE_API_URL` (default `https://PAGW_HOST:8006/api2/json`),
//! node `PAGW_PVE_NODE` (default: the cluster's only node). The token
//! (`USER@REALM!TOKENID=SECRET`) is the slot's `PAGW_PVE_API_TOKEN` or the provider's
//! `proxmox_api_token`; it travels only in the `Authorization` header, which the HTTP client
//! never logs. TLS is verified: the host's certificate must have the pinned SHA-256 fingerprint
//! when one is given (the slot's `PAGW_PVE_TLS_FINGERPRINT`, else the provider's
//! `proxmox_tls_fingerprint`), else chain to the provider's `proxmox_ca_file` or the system's roots.
//!
//! `import-from` with a file path needs the token of `root@pam` on Proxmox (as `qm importdisk`
//! needs root): the image is built on the host itself, where the driver finds it.

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use tarn_sdk::ProviderError;
use tarn_sdk::http::{Client, Method};
use tokio::sync::OnceCell;

use super::driver::{BackupJob, FoundVm, Verification};
use crate::config::PagwConfig;
use crate::db::slots::Slot;

/// How long one task may run before the driver gives up on it.
const TASK_TIMEOUT: Duration = Duration::from_secs(600);

/// `USER@REALM!TOKENID=SECRET`, each part non-empty.
pub fn token_is_well_formed(token: &str) -> bool {
    let Some((id, secret)) = token.split_once('=') else { return false };
    let Some((user, name)) = id.split_once('!') else { return false };
    user.contains('@') && !name.is_empty() && !secret.is_empty() && !token.chars().any(char::is_whitespace)
}

/// A UPID or name, percent-encoded for one path segment.
fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The API of one slot's Proxmox host.
pub struct PveApi {
    client: Client,
    node: OnceCell<String>,
    slot_node: Option<String>,
}

impl PveApi {
    pub fn new(config: &PagwConfig, slot: &Slot) -> Result<PveApi, ProviderError> {
        let url = match slot.var("PAGW_PVE_API_URL").filter(|u| !u.is_empty()) {
            Some(url) => url.to_string(),
            None => format!("https://{}:8006/api2/json", slot.require("PAGW_HOST")?),
        };
        let token = slot
            .var("PAGW_PVE_API_TOKEN")
            .filter(|t| !t.is_empty())
            .or(config.proxmox_api_token.as_deref())
            .ok_or_else(|| {
                ProviderError::permanent(format!(
                    "PAGW slot {} uses proxmox-ve-api but no API token is set: give the provider's \
                     proxmox_api_token, or the slot's PAGW_PVE_API_TOKEN (USER@REALM!TOKENID=SECRET)",
                    slot.id
                ))
            })?;
        if !token_is_well_formed(token) {
            return Err(ProviderError::permanent(format!(
                "PAGW slot {}: the Proxmox API token must read USER@REALM!TOKENID=SECRET (the value is not shown)",
                slot.id
            )));
        }
        let mut builder = Client::builder(url)
            .secret_header("authorization", &format!("PVEAPIToken={token}"))
            .request_timeout(Duration::from_secs(60));
        let pinned = slot.var("PAGW_PVE_TLS_FINGERPRINT").filter(|f| !f.is_empty());
        if let Some(fp) = pinned.or(config.proxmox_tls_fingerprint.as_deref()) {
            builder = builder.pinned_certificate_sha256(fp);
        } else if let Some(path) = &config.proxmox_ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ProviderError::permanent(format!("reading proxmox_ca_file {path}: {e}")))?;
            builder = builder.ca_certificates_pem(&pem);
        }
        let slot_node = slot.var("PAGW_PVE_NODE").filter(|n| !n.is_empty()).map(str::to_string);
        Ok(PveApi { client: builder.build()?, node: OnceCell::new(), slot_node })
    }

    /// One call; its `data`. A failure names the call and the step it served.
    async fn call(&self, method: Method, path: &str, body: Option<Json>, what: &str) -> Result<Json, ProviderError> {
        let mut req = self.client.request(method.clone(), path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        match req.send().await {
            Ok(r) => Ok(r.body.get("data").cloned().unwrap_or(Json::Null)),
            Err(mut e) => {
                e.message = format!("{what}: Proxmox API {method} {path} failed: {}", e.message);
                Err(e)
            }
        }
    }

    /// The node the VMs live on.
    async fn node(&self) -> Result<&str, ProviderError> {
        self.node
            .get_or_try_init(|| async {
                if let Some(n) = &self.slot_node {
                    return Ok(n.clone());
                }
                let nodes = self.call(Method::GET, "nodes", None, "finding the Proxmox node").await?;
                let names: Vec<&str> =
                    nodes.as_array().into_iter().flatten().filter_map(|n| n.get("node")?.as_str()).collect();
                match names.as_slice() {
                    [one] => Ok(one.to_string()),
                    _ => Err(ProviderError::permanent(format!(
                        "the Proxmox cluster has the nodes {names:?}: name the one for PAGW VMs in the slot's \
                         PAGW_PVE_NODE"
                    ))),
                }
            })
            .await
            .map(String::as_str)
    }

    /// Polls the task `upid` until it stops; fails unless its exit status is `OK`.
    async fn wait(&self, upid: &Json, call: &str) -> Result<(), ProviderError> {
        let Some(upid) = upid.as_str() else {
            return Err(ProviderError::permanent(format!("{call} answered {upid}, not a task (UPID)")));
        };
        let path = format!("nodes/{}/tasks/{}/status", self.node().await?, segment(upid));
        let start = Instant::now();
        loop {
            let t = self.call(Method::GET, &path, None, &format!("polling the task of {call}")).await?;
            if t.get("status").and_then(Json::as_str) == Some("stopped") {
                return match t.get("exitstatus").and_then(Json::as_str) {
                    Some("OK") => Ok(()),
                    other => Err(ProviderError::permanent(format!(
                        "{call}: its task {upid} ended with {:?}",
                        other.unwrap_or("no exit status")
                    ))),
                };
            }
            if start.elapsed() > TASK_TIMEOUT {
                return Err(ProviderError::transient(format!(
                    "{call}: its task {upid} still runs after {} s",
                    TASK_TIMEOUT.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A call answering a task, polled to its end.
    async fn task(&self, method: Method, path: &str, body: Option<Json>, what: &str) -> Result<(), ProviderError> {
        let upid = self.call(method.clone(), path, body, what).await?;
        self.wait(&upid, &format!("{what} (Proxmox API {method} {path})")).await
    }

    async fn qemu(&self) -> Result<String, ProviderError> {
        Ok(format!("nodes/{}/qemu", self.node().await?))
    }

    /// The VM named exactly `name`, with its status.
    pub async fn find(&self, name: &str) -> Result<Option<FoundVm>, ProviderError> {
        let list = self.call(Method::GET, &self.qemu().await?, None, "listing VMs").await?;
        Ok(list.as_array().into_iter().flatten().find_map(|vm| {
            (vm.get("name")?.as_str()? == name).then(|| FoundVm {
                id: vm.get("vmid").and_then(Json::as_u64).unwrap_or_default() as u32,
                status: vm.get("status").and_then(Json::as_str).unwrap_or_default().to_string(),
            })
        }))
    }

    /// Creates `vm_name` from `image` and starts it; returns its VMID. A create whose fresh
    /// VMID another create took meanwhile (two applies on one host) is tried again with a new
    /// one, as in `proxmox_ssh.rs`.
    pub async fn deploy(&self, slot: &Slot, vm_name: &str, image: &str) -> Result<u32, ProviderError> {
        let net = |bridge: &str, vlan: &str| {
            if vlan.is_empty() {
                format!("model=virtio,bridge={bridge}")
            } else {
                format!("model=virtio,bridge={bridge},tag={vlan}")
            }
        };
        let net0 = net(slot.require("PAGW_HOST_MGMT_BRIDGE")?, slot.var("PAGW_MGMT_VLAN").unwrap_or_default());
        let net1 = net(slot.require("PAGW_HOST_PUB_BRIDGE")?, slot.var("PAGW_PUB_VLAN").unwrap_or_default());
        let scsi0 = format!("{}:0,import-from={image}", slot.require("PAGW_STORAGE_POOL")?);
        let qemu = self.qemu().await?;
        let mut attempt = 0;
        let (vmid, made) = loop {
            attempt += 1;
            let next = self.call(Method::GET, "cluster/nextid", None, "asking for the next VMID").await?;
            let vmid: u32 =
                next.as_u64().map(|n| n as u32).or_else(|| next.as_str()?.parse().ok()).ok_or_else(|| {
                    ProviderError::permanent(format!("GET /cluster/nextid answered {next}, not a VMID"))
                })?;
            let body = json!({
                "vmid": vmid,
                "name": vm_name,
                "onboot": 1,
                "ostype": "l26",
                "scsihw": "virtio-scsi-pci",
                "sockets": 1,
                "cores": 2,
                "memory": "2048",
                "agent": "enabled=1",
                "net0": net0,
                "net1": net1,
                "scsi0": scsi0,
                "boot": "order=scsi0",
            });
            match self.task(Method::POST, &qemu, Some(body), &format!("creating {vm_name}")).await {
                Err(e) if super::driver::vmid_taken(&e, attempt) => super::driver::pause_before_retry(attempt).await,
                made => break (vmid, made),
            }
        };
        let started = match made {
            Ok(()) => {
                self.task(
                    Method::POST,
                    &format!("{qemu}/{vmid}/status/start"),
                    Some(json!({})),
                    &format!("starting {vm_name}"),
                )
                .await
            }
            Err(e) => Err(e),
        };
        match started {
            Ok(()) => Ok(vmid),
            Err(e) => {
                // A failed create task may still have left the VM (Proxmox keeps a half-made one).
                let _ = self.destroy(vm_name).await;
                Err(e)
            }
        }
    }

    /// Waits until the VM runs and its guest agent answers `agent/ping`.
    pub async fn verify(&self, vmid: u32, vm_name: &str, verification: &Verification) -> Result<(), ProviderError> {
        let qemu = self.qemu().await?;
        let start = Instant::now();
        loop {
            let status = self
                .call(
                    Method::GET,
                    &format!("{qemu}/{vmid}/status/current"),
                    None,
                    &format!("reading {vm_name}'s status"),
                )
                .await?;
            if status.get("status").and_then(Json::as_str) == Some("running")
                && self
                    .client
                    .request(Method::POST, &format!("{qemu}/{vmid}/agent/ping"))
                    .json(&json!({}))
                    .send()
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            if start.elapsed() > verification.agent_timeout {
                return Err(ProviderError::permanent(format!(
                    "{vm_name} (VMID {vmid}) did not run with an answering guest agent within {} s \
                     (Proxmox API POST {qemu}/{vmid}/agent/ping)",
                    verification.agent_timeout.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Stops and deletes the VM named exactly `vm_name` with its disks (purge); nothing when absent.
    pub async fn destroy(&self, vm_name: &str) -> Result<(), ProviderError> {
        let Some(vm) = self.find(vm_name).await? else { return Ok(()) };
        let qemu = self.qemu().await?;
        if vm.status == "running" {
            self.task(
                Method::POST,
                &format!("{qemu}/{}/status/stop", vm.id),
                Some(json!({})),
                &format!("stopping {vm_name}"),
            )
            .await?;
        }
        let path = format!("{qemu}/{}?purge=1&destroy-unreferenced-disks=1", vm.id);
        self.task(Method::DELETE, &path, None, &format!("destroying {vm_name}")).await
    }

    /// The backup jobs (`GET /cluster/backup`).
    async fn jobs(&self) -> Result<Vec<Json>, ProviderError> {
        let list = self.call(Method::GET, "cluster/backup", None, "listing backup jobs").await?;
        Ok(list.as_array().cloned().unwrap_or_default())
    }

    /// Puts `vmid` into the backup job `job`, made when missing.
    pub async fn backup_add(&self, vmid: u32, job: &BackupJob) -> Result<(), ProviderError> {
        let found = self.jobs().await?.into_iter().find(|j| j.get("id").and_then(Json::as_str) == Some(&job.id));
        match found {
            None => {
                let body = super::backup::new_job(job, vmid);
                self.call(Method::POST, "cluster/backup", Some(body), &format!("making backup job {}", job.id)).await?;
            }
            Some(j) => {
                let vmids = super::backup::with(j.get("vmid").and_then(Json::as_str).unwrap_or_default(), vmid);
                let path = format!("cluster/backup/{}", segment(&job.id));
                self.call(
                    Method::PUT,
                    &path,
                    Some(json!({ "vmid": vmids })),
                    &format!("adding VM {vmid} to backup job {}", job.id),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Takes `vmid` out of the backup job `job`; an emptied job is removed.
    pub async fn backup_remove(&self, vmid: u32, job: &BackupJob) -> Result<(), ProviderError> {
        let found = self.jobs().await?.into_iter().find(|j| j.get("id").and_then(Json::as_str) == Some(&job.id));
        let Some(j) = found else { return Ok(()) };
        let path = format!("cluster/backup/{}", segment(&job.id));
        match super::backup::without(j.get("vmid").and_then(Json::as_str).unwrap_or_default(), vmid) {
            None => {
                self.call(Method::DELETE, &path, None, &format!("removing the emptied backup job {}", job.id)).await?;
            }
            Some(rest) => {
                self.call(
                    Method::PUT,
                    &path,
                    Some(json!({ "vmid": rest })),
                    &format!("taking VM {vmid} out of backup job {}", job.id),
                )
                .await?;
            }
        }
        Ok(())
    }
}
