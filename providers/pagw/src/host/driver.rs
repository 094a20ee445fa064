//! The deploy drivers' one dispatch point: the slot's `PAGW_DEPLOY_DRIVER` names a [`DriverKind`],
//! and a [`Driver`] runs each operation a `pagw_instance` needs on that kind of host: deploy,
//! verify, find by exact name (the drift read), stop and destroy with the disks, and the backup
//! job's add and remove. Each driver lives in its own file (`proxmox_ssh.rs`, `proxmox_api.rs`,
//! `libvirt_ssh.rs`); this file only chooses and forwards.
//!
//! Must not hold a driver's commands or API calls, and must not decide rollback: the caller
//! (`Ctx` in lib.rs) destroys what a failed deploy or verification left.

use tarn_sdk::ProviderError;

use super::proxmox_api::PveApi;
use super::{Host, backup, libvirt_backup, libvirt_ssh, proxmox_ssh};
use crate::config::PagwConfig;
use crate::db::slots::Slot;

/// The drivers a slot may name, as Giif spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    ProxmoxSsh,
    ProxmoxApi,
    LibvirtSsh,
}

impl DriverKind {
    pub const ALL: [DriverKind; 3] = [DriverKind::ProxmoxSsh, DriverKind::ProxmoxApi, DriverKind::LibvirtSsh];

    pub fn name(self) -> &'static str {
        match self {
            DriverKind::ProxmoxSsh => "proxmox-ve-ssh",
            DriverKind::ProxmoxApi => "proxmox-ve-api",
            DriverKind::LibvirtSsh => "libvirt-ssh",
        }
    }

    /// Whether this tarn can deploy with the driver (checked before anything is built).
    pub fn built(self) -> bool {
        match self {
            DriverKind::ProxmoxSsh => true,
            DriverKind::ProxmoxApi => true,
            DriverKind::LibvirtSsh => true,
        }
    }

    /// The driver of `slot`, from its `PAGW_DEPLOY_DRIVER`.
    pub fn of(slot: &Slot) -> Result<DriverKind, ProviderError> {
        let named = slot.var("PAGW_DEPLOY_DRIVER").unwrap_or_default();
        DriverKind::ALL.into_iter().find(|k| k.name() == named).ok_or_else(|| {
            let known: Vec<&str> = DriverKind::ALL.iter().map(|k| k.name()).collect();
            ProviderError::permanent(format!(
                "PAGW slot {} ({}) names the deploy driver {named:?}; tarn knows {}; nothing was built",
                slot.id,
                slot.ip,
                known.join(", ")
            ))
        })
    }
}

/// A VM found on the host by its exact name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundVm {
    /// The VM's id on the host (the Proxmox VMID).
    pub id: u32,
    /// `running`, `stopped`, … as the host reports it.
    pub status: String,
}

/// What the verification after a deploy waits for.
#[derive(Debug, Clone)]
pub struct Verification {
    /// How long the VM has to run with an answering guest agent.
    pub agent_timeout: std::time::Duration,
    /// Then also wait, within the same time, until the gateway answers on port 22.
    pub ssh_check: bool,
}

impl Default for Verification {
    fn default() -> Self {
        Verification { agent_timeout: std::time::Duration::from_secs(120), ssh_check: false }
    }
}

/// The backup job a gateway's VM is put into (the instance's optional `backup` block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupJob {
    /// The job's id on the host (Proxmox: `/cluster/backup/{id}`).
    pub id: String,
    /// When it runs (Proxmox calendar event, e.g. `sun 01:00`).
    pub schedule: String,
    /// Where backups go (a storage id).
    pub storage: String,
    /// libvirt-ssh: how many of the domain's backups to keep (older ones are removed after each
    /// run); `None` keeps them all. Proxmox hosts refuse it (their storages prune backups).
    pub keep: Option<u32>,
}

/// A driver bound to one slot's host for the operations of one call.
pub enum Driver<'h> {
    ProxmoxSsh(&'h Host),
    /// The API of the slot's Proxmox host (the SSH host stays the build host).
    ProxmoxApi(PveApi),
    /// libvirt needs the slot's variables (URI, pool, bridges, cron directory) in every call.
    LibvirtSsh(&'h Host, &'h Slot),
}

impl<'h> Driver<'h> {
    /// The driver of `slot` on its connected `host`.
    pub fn for_slot(config: &PagwConfig, slot: &'h Slot, host: &'h Host) -> Result<Driver<'h>, ProviderError> {
        Ok(match DriverKind::of(slot)? {
            DriverKind::ProxmoxSsh => Driver::ProxmoxSsh(host),
            DriverKind::ProxmoxApi => Driver::ProxmoxApi(PveApi::new(config, slot)?),
            DriverKind::LibvirtSsh => Driver::LibvirtSsh(host, slot),
        })
    }

    pub fn kind(&self) -> DriverKind {
        match self {
            Driver::ProxmoxSsh(_) => DriverKind::ProxmoxSsh,
            Driver::ProxmoxApi(..) => DriverKind::ProxmoxApi,
            Driver::LibvirtSsh(..) => DriverKind::LibvirtSsh,
        }
    }

    /// What can be checked of the deploy target before anything is built: the Proxmox API
    /// answers over a trusted connection with the token (the SSH drivers' host is already
    /// connected).
    pub async fn check(&self) -> Result<(), ProviderError> {
        match self {
            Driver::ProxmoxApi(api) => api.check().await,
            Driver::ProxmoxSsh(_) | Driver::LibvirtSsh(..) => Ok(()),
        }
    }

    /// Creates the VM `vm_name` from `image` (a file on the host) and starts it; returns its id.
    /// A failure removes what this call made on the host.
    pub async fn deploy(&self, slot: &Slot, vm_name: &str, image: &str) -> Result<u32, ProviderError> {
        match self {
            Driver::ProxmoxSsh(host) => proxmox_ssh::deploy(host, slot, vm_name, image).await,
            Driver::ProxmoxApi(api) => api.deploy(slot, vm_name, image).await,
            // libvirt knows domains by name only: no lasting numeric id.
            Driver::LibvirtSsh(host, _) => libvirt_ssh::deploy(host, slot, vm_name, image).await.map(|()| 0),
        }
    }

    /// Waits until the VM runs and answers as `verification` asks.
    pub async fn verify(&self, id: u32, vm_name: &str, verification: &Verification) -> Result<(), ProviderError> {
        match self {
            Driver::ProxmoxSsh(host) => proxmox_ssh::verify(host, id, vm_name, verification).await,
            Driver::ProxmoxApi(api) => api.verify(id, vm_name, verification).await,
            Driver::LibvirtSsh(host, slot) => {
                libvirt_ssh::verify(host, slot, vm_name, verification.agent_timeout).await
            }
        }
    }

    /// The VM named exactly `vm_name` with its status, if there is one (the drift read).
    pub async fn find(&self, vm_name: &str) -> Result<Option<FoundVm>, ProviderError> {
        match self {
            Driver::ProxmoxSsh(host) => match proxmox_ssh::find(host, vm_name).await? {
                Some(id) => Ok(Some(FoundVm { id, status: proxmox_ssh::status(host, id).await? })),
                None => Ok(None),
            },
            Driver::ProxmoxApi(api) => api.find(vm_name).await,
            Driver::LibvirtSsh(host, slot) => {
                Ok(libvirt_ssh::find(host, slot, vm_name).await?.map(|status| FoundVm { id: 0, status }))
            }
        }
    }

    /// Stops and destroys the VM named exactly `vm_name` with its disks; nothing when absent.
    pub async fn destroy(&self, vm_name: &str) -> Result<(), ProviderError> {
        match self {
            Driver::ProxmoxSsh(host) => proxmox_ssh::undeploy(host, vm_name).await,
            Driver::ProxmoxApi(api) => api.destroy(vm_name).await,
            // The backup job goes with the domain, whether or not the state remembers one.
            Driver::LibvirtSsh(host, slot) => {
                libvirt_backup::remove(host, slot, vm_name).await?;
                libvirt_ssh::undeploy(host, slot, vm_name).await
            }
        }
    }

    /// Puts the VM `id` into the host's backup job `job` (made when missing). On libvirt the
    /// job is the domain's own cron entry and `job.id` the domain's name.
    pub async fn backup_add(&self, id: u32, job: &BackupJob) -> Result<(), ProviderError> {
        match self {
            Driver::ProxmoxSsh(host) => backup::add_ssh(host, id, job).await,
            Driver::ProxmoxApi(api) => api.backup_add(id, job).await,
            Driver::LibvirtSsh(host, slot) => libvirt_backup::install(host, slot, job).await,
        }
    }

    /// Takes the VM `id` out of the backup job `job`; nothing when it is not in it.
    pub async fn backup_remove(&self, id: u32, job: &BackupJob) -> Result<(), ProviderError> {
        match self {
            Driver::ProxmoxSsh(host) => backup::remove_ssh(host, id, job).await,
            Driver::ProxmoxApi(api) => api.backup_remove(id, job).await,
            Driver::LibvirtSsh(host, slot) => libvirt_backup::remove(host, slot, &job.id).await,
        }
    }
}

/// How many times a create whose fresh VMID another create took meanwhile is tried.
pub const CREATE_ATTEMPTS: u32 = 5;

/// Whether `e` (of the `attempt`th create) says the VMID was taken meanwhile, and another
/// attempt remains. Proxmox: "unable to create VM 100 - VM 100 already exists on node 'pve'".
pub fn vmid_taken(e: &ProviderError, attempt: u32) -> bool {
    attempt < CREATE_ATTEMPTS && e.message.contains("already exists")
}

/// A short pause, growing with the attempts, so two racing applies draw apart.
pub async fn pause_before_retry(attempt: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(150 * u64::from(attempt))).await;
}
