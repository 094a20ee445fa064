//! Backups of a `libvirt-ssh` gateway: a cron entry on the host runs `virsh backup-begin` on
//! the schedule (push mode, the boot disk copied to `<storage>/PAGW-<project>-<UTC time>.qcow2`),
//! as vsn's maintenance job is a cron entry on its node. Three files, all removed on destroy:
//!
//! - `PAGW_HOST_CRON_DIR/tarn-PAGW-<project>` (default `/etc/cron.d`, 0644): the entry, run as
//!   the slot's `PAGW_HOST_USER`;
//! - `PAGW_HOST_HOME/.pagw-backup-PAGW-<project>.sh` (0700): the job;
//! - `PAGW_HOST_HOME/.pagw-backup-PAGW-<project>.xml` (0600): the backup XML (`libvirt_xml.rs`)
//!   with a placeholder the job replaces with the run's time stamp.
//!
//! With `keep = N`, each run removes the domain's older backups once the new one has started,
//! so that N are left (its own `PAGW-<project>-<stamp>.qcow2` files only: a project whose name
//! extends this one's is never touched). Without it every backup is kept.
//!
//! The backups themselves are kept: removing a gateway does not remove its backups.

use tarn_sdk::ProviderError;

use super::driver::BackupJob;

use super::libvirt_ssh::virsh;
use super::libvirt_xml::{self, STAMP};
use super::{Host, quote};
use crate::db::slots::Slot;

/// The cron entry's path on the host.
pub fn cron_path(slot: &Slot, vm_name: &str) -> String {
    let dir = slot.var("PAGW_HOST_CRON_DIR").filter(|d| !d.is_empty()).unwrap_or("/etc/cron.d");
    format!("{}/tarn-{vm_name}", dir.trim_end_matches('/'))
}

/// The job script's path on the host.
pub fn script_path(host: &Host, vm_name: &str) -> String {
    format!("{}/.pagw-backup-{vm_name}.sh", host.home)
}

fn xml_path(host: &Host, vm_name: &str) -> String {
    format!("{}/.pagw-backup-{vm_name}.xml", host.home)
}

/// Checks a job's schedule (five cron fields), storage directory (an absolute path) and
/// retention (at least 1), before anything is built.
pub fn check(job: &BackupJob) -> Result<(), ProviderError> {
    let (schedule, storage) = (job.schedule.as_str(), job.storage.as_str());
    if job.keep == Some(0) {
        return Err(ProviderError::permanent(
            "pagw_instance: backup.keep must be a whole number of backups, at least 1 (unset keeps them all)",
        ));
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    let printable = |s: &str| s.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if fields.len() != 5 || !printable(schedule) {
        return Err(ProviderError::permanent(format!(
            "pagw_instance: backup.schedule must be five cron fields on a libvirt-ssh host (e.g. \"0 3 * * *\"), \
             not {schedule:?}"
        )));
    }
    if !storage.starts_with('/') || !printable(storage) || storage.contains(' ') {
        return Err(ProviderError::permanent(format!(
            "pagw_instance: backup.storage must be an absolute directory on a libvirt-ssh host, without blanks, \
             not {storage:?}"
        )));
    }
    Ok(())
}

/// Installs the backup job of the domain `vm_name`.
pub async fn install(host: &Host, slot: &Slot, job: &BackupJob) -> Result<(), ProviderError> {
    check(job)?;
    let (vm_name, schedule, storage) = (job.id.as_str(), job.schedule.as_str(), job.storage.as_str());
    let xml = xml_path(host, vm_name);
    let path = script_path(host, vm_name);
    let prune = match job.keep {
        // Newest first by their UTC stamps; the new backup is not counted among the old ones.
        Some(keep) => format!(
            "cd {dir}\n\
             ls -1 | grep -E '^{vm_name}-[0-9]{{8}}T[0-9]{{6}}Z\\.qcow2$' | grep -vxF \"{vm_name}-$stamp.qcow2\" \
             | sort -r | tail -n +{keep} | while read -r old; do rm -f -- \"$old\"; done\n",
            dir = quote(storage),
        ),
        None => String::new(),
    };
    let script = format!(
        "#!/bin/sh\n\
         # Installed by tarn: the backups of the PAGW gateway {vm_name}; removed when it is destroyed.\n\
         set -e\n\
         stamp=$(date -u +%Y%m%dT%H%M%SZ)\n\
         mkdir -p {dir}\n\
         xml=$(mktemp)\n\
         trap 'rm -f \"$xml\"' EXIT\n\
         sed \"s/{STAMP}/$stamp/g\" {xml} > \"$xml\"\n\
         {virsh} backup-begin {name} --backupxml \"$xml\"\n\
         {prune}",
        dir = quote(storage),
        xml = quote(&xml),
        virsh = virsh(slot),
        name = quote(vm_name),
    );
    let user = slot.var("PAGW_HOST_USER").filter(|u| !u.is_empty()).unwrap_or("root");
    let entry = format!(
        "# Installed by tarn: the backups of the PAGW gateway {vm_name}; removed when it is destroyed.\n\
         {schedule} {user} {} >/dev/null 2>&1\n",
        quote(&path)
    );
    host.session.upload_bytes(libvirt_xml::backup(vm_name, storage).as_bytes(), &xml, 0o600).await?;
    host.session.upload_bytes(script.as_bytes(), &path, 0o700).await?;
    host.session.upload_bytes(entry.as_bytes(), &cron_path(slot, vm_name), 0o644).await?;
    Ok(())
}

/// Removes the backup job of `vm_name` (its cron entry first, so it cannot start half-removed);
/// nothing when there is none.
pub async fn remove(host: &Host, slot: &Slot, vm_name: &str) -> Result<(), ProviderError> {
    host.run(
        "removing the backup job",
        &format!(
            "rm -f {} && rm -f {} {}",
            quote(&cron_path(slot, vm_name)),
            quote(&script_path(host, vm_name)),
            quote(&xml_path(host, vm_name))
        ),
    )
    .await?;
    Ok(())
}
