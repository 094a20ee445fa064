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
//! never logs. The URL must be `https://` (Proxmox serves its API only over HTTPS; over plain
//! HTTP the token would travel in clear): another scheme is refused before anything is sent.
//! TLS is verified: the host's certificate must have the pinned SHA-256 fingerprint when one is
//! given (the slot's `PAGW_PVE_TLS_FINGERPRINT`, else the provider's `proxmox_tls_fingerprint` or
//! the `PAGW_PVE_TLS_FINGERPRINT` environment variable), else chain to the provider's
//! `proxmox_ca_file`, else to the system's roots. A refused certificate fails the call at once,
//! before any request is sent, naming the host, what was trusted and (pinned) both
//! fingerprints. [`PveApi::check`] runs before the image is built.
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

/// `HOST:PORT` of an API URL, which must be `https://`: Proxmox VE serves its API only over
/// HTTPS (pveproxy on 8006), and a plain-HTTP URL would send the API token in clear.
fn api_host(url: &str, slot: i64) -> Result<String, ProviderError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| {
        ProviderError::permanent(format!(
            "PAGW slot {slot}: PAGW_PVE_API_URL {url:?} is not a URL (https://HOST:8006/api2/json)"
        ))
    })?;
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(ProviderError::permanent(format!(
            "PAGW slot {slot}: PAGW_PVE_API_URL {url:?} is not https://: Proxmox VE serves its API only over HTTPS \
             (https://HOST:8006/api2/json), and over plain HTTP the API token would cross the network in clear; \
             nothing was sent"
        )));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.is_empty() {
        return Err(ProviderError::permanent(format!("PAGW slot {slot}: PAGW_PVE_API_URL {url:?} names no host")));
    }
    Ok(if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:443")
    })
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

/// What the driver trusts of the Proxmox host's TLS certificate.
enum Trust {
    /// Exactly the certificate with this SHA-256 fingerprint; `from` says who gave it.
    Pinned { fingerprint: String, from: &'static str },
    /// Certificates that chain to the CA(s) of this PEM file.
    CaFile(String),
    /// Certificates that chain to the system's roots.
    System,
}

impl Trust {
    /// The slot's `PAGW_PVE_TLS_FINGERPRINT`, else the provider's fingerprint (its
    /// `proxmox_tls_fingerprint` or the `PAGW_PVE_TLS_FINGERPRINT` environment variable), else
    /// the provider's `proxmox_ca_file`, else the system's roots.
    fn of(config: &PagwConfig, slot: &Slot) -> Trust {
        if let Some(fp) = slot.var("PAGW_PVE_TLS_FINGERPRINT").filter(|f| !f.trim().is_empty()) {
            return Trust::Pinned { fingerprint: fp.to_string(), from: "the slot's PAGW_PVE_TLS_FINGERPRINT" };
        }
        if let Some(fp) = &config.proxmox_tls_fingerprint {
            return Trust::Pinned { fingerprint: fp.clone(), from: config.proxmox_tls_fingerprint_from };
        }
        match &config.proxmox_ca_file {
            Some(path) => Trust::CaFile(path.clone()),
            None => Trust::System,
        }
    }

    /// Why a refused certificate was refused, and where to look.
    fn hint(&self) -> String {
        match self {
            Trust::Pinned { fingerprint, from } => format!(
                "only the certificate with the SHA-256 fingerprint {} is trusted ({from}); if the host's \
                 certificate was renewed, read its fingerprint on the host with `openssl x509 -noout -fingerprint \
                 -sha256 -in /etc/pve/local/pve-ssl.pem`",
                tarn_sdk::http::pinned::parse_fingerprint(fingerprint)
                    .map(|f| tarn_sdk::http::pinned::format_fingerprint(&f))
                    .unwrap_or_else(|_| fingerprint.clone())
            ),
            Trust::CaFile(path) => format!(
                "only certificates issued by the CA in proxmox_ca_file {path} are trusted (on a Proxmox host: \
                 /etc/pve/pve-root-ca.pem), for the name or address the API URL gives"
            ),
            Trust::System => "the certificate is checked against the system's roots: for a host with Proxmox's own \
                 self-signed certificate, give the provider's proxmox_tls_fingerprint (or PAGW_PVE_TLS_FINGERPRINT) \
                 or proxmox_ca_file"
                .to_string(),
        }
    }
}

/// The API of one slot's Proxmox host.
pub struct PveApi {
    client: Client,
    node: OnceCell<String>,
    slot_node: Option<String>,
    /// `HOST:PORT` of the API, for messages.
    host: String,
    trust: Trust,
}

impl PveApi {
    pub fn new(config: &PagwConfig, slot: &Slot) -> Result<PveApi, ProviderError> {
        let url = match slot.var("PAGW_PVE_API_URL").filter(|u| !u.is_empty()) {
            Some(url) => url.to_string(),
            None => format!("https://{}:8006/api2/json", slot.require("PAGW_HOST")?),
        };
        let host = api_host(&url, slot.id)?;
        let token = slot
            .var("PAGW_PVE_API_TOKEN")
            .filter(|t| !t.is_empty())
            .or(config.proxmox_api_token.as_deref())
            .ok_or_else(|| {
                ProviderError::permanent(format!(
                    "PAGW slot {} uses proxmox-ve-api but no API token is set: give the provider's \
                     proxmox_api_token (or the PAGW_PVE_API_TOKEN environment variable), or the slot's \
                     PAGW_PVE_API_TOKEN (USER@REALM!TOKENID=SECRET)",
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
        let trust = Trust::of(config, slot);
        match &trust {
            Trust::Pinned { fingerprint, from } => {
                if let Err(e) = tarn_sdk::http::pinned::parse_fingerprint(fingerprint) {
                    return Err(ProviderError::permanent(format!("PAGW slot {}: {from}: {e}", slot.id)));
                }
                builder = builder.pinned_certificate_sha256(fingerprint);
            }
            Trust::CaFile(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| ProviderError::permanent(format!("reading proxmox_ca_file {path}: {e}")))?;
                builder = builder.ca_certificates_pem(&pem);
            }
            Trust::System => {}
        }
        let slot_node = slot.var("PAGW_PVE_NODE").filter(|n| !n.is_empty()).map(str::to_string);
        let client = builder.build().map_err(|mut e| {
            e.message = format!("PAGW slot {}: the Proxmox API client: {}", slot.id, e.message);
            e
        })?;
        Ok(PveApi { client, node: OnceCell::new(), slot_node, host, trust })
    }

    /// One call; its `data`. A failure names the call and the step it served; one that never
    /// reached the API (refused certificate, no answer) names the host and what is trusted.
    async fn call(&self, method: Method, path: &str, body: Option<Json>, what: &str) -> Result<Json, ProviderError> {
        let mut req = self.client.request(method.clone(), path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        match req.send().await {
            Ok(r) => Ok(r.body.get("data").cloned().unwrap_or(Json::Null)),
            Err(mut e) if e.message.contains("could not connect") => {
                let refused = e.message.contains("certificate");
                let detail = e.message.split_once("could not connect: ").map_or(e.message.as_str(), |(_, d)| d);
                // rustls shows the pinned verifier's sentence inside `Other(OtherError(…))`.
                let detail = match detail.strip_prefix("invalid peer certificate: Other(OtherError(") {
                    Some(rest) => match rest.rsplit_once("))") {
                        Some((inner, tail)) => format!("invalid peer certificate: {inner}{tail}"),
                        None => detail.to_string(),
                    },
                    None => detail.to_string(),
                };
                e.message = format!(
                    "{what}: could not connect to the Proxmox API at {} (Proxmox API {method} {path}): {}{}",
                    self.host,
                    detail,
                    if refused {
                        format!("; nothing was sent. The TLS certificate was refused: {}", self.trust.hint())
                    } else {
                        String::new()
                    }
                );
                Err(e)
            }
            Err(mut e) => {
                e.message = format!("{what}: Proxmox API {method} {path} failed: {}", e.message);
                Err(e)
            }
        }
    }

    /// Checks, before anything is built, that the API answers this token over a trusted
    /// connection and that the node is known: lists the node's VMs.
    pub async fn check(&self) -> Result<(), ProviderError> {
        let listed = async { self.call(Method::GET, &self.qemu().await?, None, "listing VMs").await };
        listed.await.map(drop).map_err(|mut e| {
            e.message = format!("checking the Proxmox API before the build: {}", e.message);
            e
        })
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
