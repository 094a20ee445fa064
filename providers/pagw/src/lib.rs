//! tarn-provider-pagw: the `pagw` provider. A PAGW (project-access gateway, see
//! ../shared/seeds/pagw.md) is a per-project VM; Giif keeps the slots it may use in MariaDB and
//! provisions them with `build_and_deploy.sh` / `undeploy_and_clear.sh`. Here one
//! `pagw_instance` is one gateway: create claims a slot, destroy releases it.
//!
//! - `db/`: the slot database (Giif schema, claim and release each in one transaction with row
//!   locks, the toolbox); `loader.rs` and `pagw_slot_range` load slot definitions;
//!   `pagw_slots` lists slots with their state.
//! - `instance.rs`: the resource's lifecycle, with rollback of the claim when a later step fails.
//!
//! One provider instance serves one slot database.

pub mod config;
pub mod db;
#[cfg(feature = "testing")]
pub mod emulator;
mod host;
mod instance;
pub mod loader;
pub mod name;
pub mod schema;
mod slot_range;
mod slots_data;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use tarn_sdk::{
    AdoptRequest, CreateRequest, DeleteRequest, PlanRequest, PlanResponse, Provider, ProviderError, ProviderSchema,
    ReadDataRequest, ReadRequest, UpdateRequest, Value,
};

use config::PagwConfig;
use db::Db;
use db::slots::Slot;
use host::driver::{BackupJob, Driver, DriverKind, Verification};

/// What the provider's calls share once configured.
pub struct Ctx {
    config: OnceLock<PagwConfig>,
    db: OnceLock<Db>,
}

impl Ctx {
    fn config(&self) -> Result<&PagwConfig, ProviderError> {
        self.config.get().ok_or_else(|| {
            ProviderError::permanent("the pagw provider was used before it was configured; this is a bug in tarn")
        })
    }

    fn db(&self) -> Result<&Db, ProviderError> {
        self.db.get().ok_or_else(|| {
            ProviderError::permanent("the pagw provider was used before it was configured; this is a bug in tarn")
        })
    }

    /// Builds and deploys the gateway of `project` on its slot's host: the driver checked and
    /// the duplicate-address probe first, then, when the configuration names a build context,
    /// the image build over SSH, the slot's deploy driver and the verification. Returns the
    /// VMID. A failure leaves nothing on the host (build.rs and the driver clean up, and a VM
    /// that fails its verification is destroyed); the caller releases the claim.
    async fn deploy(&self, project: &str, slot: &Slot, planned: &Value) -> Result<Option<u32>, ProviderError> {
        let building = planned.get("build_context").and_then(Value::as_str);
        if building.is_some() {
            let kind = DriverKind::of(slot)?;
            if !kind.built() {
                let built: Vec<&str> = DriverKind::ALL.iter().filter(|k| k.built()).map(|k| k.name()).collect();
                return Err(ProviderError::permanent(format!(
                    "PAGW slot {} ({}) uses the deploy driver {:?}, which this tarn does not support yet \
                     (supported: {}); nothing was built",
                    slot.id,
                    slot.ip,
                    kind.name(),
                    built.join(", ")
                )));
            }
            match (kind, backup_of(planned, kind, "")) {
                (DriverKind::LibvirtSsh, Some(job)) => host::libvirt_backup::check(&job)?,
                (_, Some(BackupJob { keep: Some(_), .. })) => {
                    return Err(ProviderError::permanent(format!(
                        "pagw_instance: backup.keep applies to libvirt-ssh hosts only; slot {} ({}) deploys with {} \
                         (a Proxmox backup job's retention is its storage's prune settings); nothing was built",
                        slot.id,
                        slot.ip,
                        kind.name()
                    )));
                }
                _ => {}
            }
        }
        host::probe::refuse_duplicate(&slot.ip, slot.id).await?;
        let Some(context) = building else { return Ok(None) };
        let config = self.config()?;
        let host = host::Host::connect(config, slot).await?;
        let driver = Driver::for_slot(config, slot, &host)?;
        driver.check().await?;
        let verification = verification_of(planned);
        let vm_name = format!("{}{project}", instance::VM_PREFIX);
        let backup = backup_of(planned, driver.kind(), &vm_name);
        let spec = host::build::BuildSpec {
            project,
            password: planned.get("password").and_then(Value::as_str).unwrap_or_default(),
            context: std::path::Path::new(context),
            network: planned.get("build_network").and_then(Value::as_str),
            docker: &config.docker,
            format: planned.get("image_format").and_then(Value::as_str).unwrap_or("qcow2"),
        };
        let image = host::build::build(&host, slot, &spec).await?;
        let remove_image = format!("rm -f {}", host::quote(&image));
        let vmid = match driver.deploy(slot, &vm_name, &image).await {
            Ok(vmid) => vmid,
            Err(e) => {
                host.run_quietly(&remove_image).await;
                return Err(e);
            }
        };
        let finish = async {
            driver.verify(vmid, &vm_name, &verification).await?;
            if verification.ssh_check {
                host::probe::await_ssh(&slot.ip, &vm_name, verification.agent_timeout).await?;
            }
            if let Some(job) = &backup {
                driver.backup_add(vmid, job).await?;
            }
            host.run("removing the image", &remove_image).await?;
            Ok::<(), ProviderError>(())
        };
        if let Err(e) = finish.await {
            // Roll back the deploy: out of the backup job, the VM with its disks, then the image.
            if let Some(job) = &backup {
                let _ = driver.backup_remove(vmid, job).await;
            }
            if let Err(d) = driver.destroy(&vm_name).await {
                host.run_quietly(&remove_image).await;
                return Err(ProviderError::permanent(format!(
                    "{}; destroying {vm_name} afterwards failed too: {}",
                    e.message, d.message
                )));
            }
            host.run_quietly(&remove_image).await;
            return Err(e);
        }
        Ok(Some(vmid))
    }

    /// Removes an image an interrupted create may have left in `PAGW_HOST_HOME`.
    async fn discard_image(&self, project: &str, slot: &Slot) -> Result<(), ProviderError> {
        let host = host::Host::connect(self.config()?, slot).await?;
        host.run("removing the image", &format!("rm -f {}", host::quote(&host::build::image_path(&host, project))))
            .await?;
        Ok(())
    }

    /// The VM of `project` on its slot's host, by exact name, with its status.
    async fn vm(&self, project: &str, slot: &Slot) -> Result<Option<(u32, String)>, ProviderError> {
        let host = host::Host::connect(self.config()?, slot).await?;
        let vm_name = format!("{}{project}", instance::VM_PREFIX);
        let found = Driver::for_slot(self.config()?, slot, &host)?.find(&vm_name).await?;
        Ok(found.map(|vm| (vm.id, vm.status)))
    }

    /// Undeploys the gateway of `project`: its VM stopped and destroyed with its disks and any
    /// leftover image removed, when it was built here; then the zombie guard: if the address
    /// still answers on port 22, the records stay and the destroy fails.
    async fn undeploy(&self, project: &str, slot: &Slot, state: &Value) -> Result<(), ProviderError> {
        if state.get("build_context").and_then(Value::as_str).is_some() {
            let host = host::Host::connect(self.config()?, slot).await?;
            let driver = Driver::for_slot(self.config()?, slot, &host)?;
            let vm_name = format!("{}{project}", instance::VM_PREFIX);
            if let Some(job) = backup_of(state, driver.kind(), &vm_name) {
                if let Some(vm) = driver.find(&vm_name).await? {
                    driver.backup_remove(vm.id, &job).await?;
                }
            }
            driver.destroy(&vm_name).await?;
            host.run("removing the image", &format!("rm -f {}", host::quote(&host::build::image_path(&host, project))))
                .await?;
        }
        if host::probe::answers(&slot.ip).await {
            return Err(ProviderError::permanent(format!(
                "{}:22 still answers after the gateway of \"{project}\" was undeployed (a zombie): its records are \
                 kept; stop whatever answers there, then destroy again",
                slot.ip
            )));
        }
        Ok(())
    }
}

/// The verification the instance asks for (`agent_timeout`, `ssh_check`).
fn verification_of(v: &Value) -> Verification {
    let mut out = Verification::default();
    if let Some(secs) = v.get("agent_timeout").and_then(Value::as_f64).filter(|s| *s >= 0.0) {
        out.agent_timeout = std::time::Duration::from_secs_f64(secs);
    }
    out.ssh_check = v.get("ssh_check").and_then(Value::as_bool).unwrap_or(false);
    out
}

/// The instance's `backup` block as the job of the slot's driver `kind`: on Proxmox the job
/// `job` (the VM's name when unset) with the defaults filled in; on libvirt the domain's own
/// cron entry, named after `vm_name`, with schedule and storage as given.
fn backup_of(v: &Value, kind: DriverKind, vm_name: &str) -> Option<BackupJob> {
    let b = v.get("backup").filter(|b| !b.is_null() && !b.is_unknown())?;
    let given = |k: &str| b.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    // Out of range (below 1, fractional, too large) reads as 0, which libvirt_backup::check refuses.
    let keep = b
        .get("keep")
        .and_then(Value::as_f64)
        .map(|n| if n >= 1.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX) { n as u32 } else { 0 });
    Some(match kind {
        DriverKind::LibvirtSsh => BackupJob {
            id: vm_name.to_string(),
            schedule: given("schedule").unwrap_or_default(),
            storage: given("storage").unwrap_or_default(),
            keep,
        },
        DriverKind::ProxmoxSsh | DriverKind::ProxmoxApi => BackupJob {
            id: given("job").unwrap_or_else(|| vm_name.to_string()),
            schedule: given("schedule").unwrap_or_else(|| host::backup::DEFAULT_SCHEDULE.to_string()),
            storage: given("storage").unwrap_or_else(|| host::backup::DEFAULT_STORAGE.to_string()),
            keep,
        },
    })
}

/// The `pagw` provider.
pub struct PagwProvider {
    ctx: Ctx,
}

pub fn provider() -> Arc<dyn Provider> {
    Arc::new(PagwProvider { ctx: Ctx { config: OnceLock::new(), db: OnceLock::new() } })
}

fn unknown_type(name: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "the pagw provider has no resource type \"{name}\"; it offers pagw_instance and pagw_slot_range"
    ))
}

#[async_trait]
impl Provider for PagwProvider {
    fn name(&self) -> &str {
        "pagw"
    }

    fn schema(&self) -> ProviderSchema {
        schema::provider_schema()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let parsed = PagwConfig::parse(&config)?;
        let db = Db::new(&parsed.database_url)?;
        if parsed.create_schema {
            db::giif::create(&db, &parsed.roof_group).await?;
        }
        let _ = self.ctx.db.set(db);
        let _ = self.ctx.config.set(parsed);
        Ok(())
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<Value>, ProviderError> {
        match req.type_name.as_str() {
            schema::INSTANCE => instance::read(&self.ctx, req.state).await,
            schema::SLOT_RANGE => slot_range::read(&self.ctx, req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn plan(&self, req: PlanRequest) -> Result<PlanResponse, ProviderError> {
        match req.type_name.as_str() {
            schema::INSTANCE => instance::plan(&self.ctx, req.prior, req.proposed).await,
            schema::SLOT_RANGE => {
                Ok(PlanResponse { planned: slot_range::plan(req.proposed)?, requires_replace: Vec::new() })
            }
            other => Err(unknown_type(other)),
        }
    }

    async fn create(&self, req: CreateRequest) -> Result<Value, ProviderError> {
        match req.type_name.as_str() {
            schema::INSTANCE => instance::create(&self.ctx, req.planned).await,
            schema::SLOT_RANGE => slot_range::create(&self.ctx, req.planned).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<Value, ProviderError> {
        // Every configurable attribute forces replacement; an update only refreshes computed ones.
        Ok(req.planned)
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        match req.type_name.as_str() {
            schema::INSTANCE => instance::delete(&self.ctx, req.state).await,
            schema::SLOT_RANGE => slot_range::delete(&self.ctx, req.state).await,
            other => Err(unknown_type(other)),
        }
    }

    async fn read_data(&self, req: ReadDataRequest) -> Result<Value, ProviderError> {
        if req.type_name != schema::SLOTS {
            return Err(ProviderError::permanent(format!(
                "the pagw provider has no data source \"{}\"; it offers pagw_slots",
                req.type_name
            )));
        }
        slots_data::read(&self.ctx, req.config).await
    }

    async fn import(&self, type_name: &str, id: &str) -> Result<Option<Value>, ProviderError> {
        match type_name {
            schema::INSTANCE => instance::import(&self.ctx, id).await,
            other => Err(ProviderError::permanent(format!(
                "{other} does not support import; pagw_instance does (by project name)"
            ))),
        }
    }

    async fn adopt(&self, req: AdoptRequest) -> Result<Option<Value>, ProviderError> {
        match req.type_name.as_str() {
            schema::INSTANCE => instance::adopt(&self.ctx, req.planned).await,
            // Slot rows carry no correlation; an interrupted load is seen by pagw_slots.
            schema::SLOT_RANGE => Ok(None),
            other => Err(unknown_type(other)),
        }
    }
}
