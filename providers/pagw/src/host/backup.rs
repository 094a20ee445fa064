//! Proxmox backup jobs (`/cluster/backup`) for both Proxmox drivers: the job a gateway's VM is
//! put into, made when missing, and its `vmid` list (`100,101`) with the VM added or taken out.
//! The API driver calls these shapes over HTTP (proxmox_api.rs); the SSH driver through `pvesh`
//! on the host (here).
//!
//! Must not touch a job's other settings: an operator's job keeps its schedule and storage.

use serde_json::{Value as Json, json};
use tarn_sdk::ProviderError;

use super::driver::BackupJob;
use super::{Host, quote};

pub const DEFAULT_SCHEDULE: &str = "sun 01:00";
pub const DEFAULT_STORAGE: &str = "local";

/// The body of `POST /cluster/backup` for a job holding `vmid` alone.
pub fn new_job(job: &BackupJob, vmid: u32) -> Json {
    json!({
        "id": job.id,
        "schedule": job.schedule,
        "storage": job.storage,
        "vmid": vmid.to_string(),
        "mode": "snapshot",
        "enabled": 1,
        "comment": "PAGW gateways (tarn)",
    })
}

/// The list `vmids` with `vmid` added (once).
pub fn with(vmids: &str, vmid: u32) -> String {
    let mut ids: Vec<String> = vmids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    if !ids.contains(&vmid.to_string()) {
        ids.push(vmid.to_string());
    }
    ids.join(",")
}

/// The list `vmids` without `vmid`; `None` when nothing is left.
pub fn without(vmids: &str, vmid: u32) -> Option<String> {
    let ids: Vec<&str> = vmids.split(',').map(str::trim).filter(|s| !s.is_empty() && *s != vmid.to_string()).collect();
    (!ids.is_empty()).then(|| ids.join(","))
}

/// The job `id` as `pvesh get /cluster/backup` lists it, if any.
async fn find(host: &Host, id: &str) -> Result<Option<Json>, ProviderError> {
    let out = host
        .run("listing backup jobs (pvesh get /cluster/backup)", "pvesh get /cluster/backup --output-format json")
        .await?;
    let jobs: Json = serde_json::from_str(out.stdout.trim()).map_err(|e| {
        ProviderError::permanent(format!("pvesh get /cluster/backup printed something that is not JSON: {e}"))
    })?;
    Ok(jobs.as_array().into_iter().flatten().find(|j| j.get("id").and_then(Json::as_str) == Some(id)).cloned())
}

/// `pvesh create|set /cluster/backup…` with `--key value` options.
fn pvesh(verb: &str, path: &str, options: &[(&str, String)]) -> String {
    let mut cmd = format!("pvesh {verb} {}", quote(path));
    for (k, v) in options {
        cmd.push_str(&format!(" --{k} {}", quote(v)));
    }
    cmd
}

/// Puts `vmid` into the job (SSH driver).
pub async fn add_ssh(host: &Host, vmid: u32, job: &BackupJob) -> Result<(), ProviderError> {
    match find(host, &job.id).await? {
        None => {
            let opts = [
                ("id", job.id.clone()),
                ("schedule", job.schedule.clone()),
                ("storage", job.storage.clone()),
                ("vmid", vmid.to_string()),
                ("mode", "snapshot".to_string()),
                ("enabled", "1".to_string()),
            ];
            host.run(&format!("making backup job {}", job.id), &pvesh("create", "/cluster/backup", &opts)).await?;
        }
        Some(j) => {
            let ids = with(j.get("vmid").and_then(Json::as_str).unwrap_or_default(), vmid);
            let path = format!("/cluster/backup/{}", job.id);
            host.run(&format!("adding VM {vmid} to backup job {}", job.id), &pvesh("set", &path, &[("vmid", ids)]))
                .await?;
        }
    }
    Ok(())
}

/// Takes `vmid` out of the job; an emptied job is removed (SSH driver).
pub async fn remove_ssh(host: &Host, vmid: u32, job: &BackupJob) -> Result<(), ProviderError> {
    let Some(j) = find(host, &job.id).await? else { return Ok(()) };
    let path = format!("/cluster/backup/{}", job.id);
    match without(j.get("vmid").and_then(Json::as_str).unwrap_or_default(), vmid) {
        None => {
            host.run(&format!("removing the emptied backup job {}", job.id), &pvesh("delete", &path, &[])).await?;
        }
        Some(rest) => {
            host.run(
                &format!("taking VM {vmid} out of backup job {}", job.id),
                &pvesh("set", &path, &[("vmid", rest)]),
            )
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmid_lists_gain_and_lose_one_id() {
        assert_eq!(with("", 100), "100");
        assert_eq!(with("100,101", 101), "100,101");
        assert_eq!(with("100", 102), "100,102");
        assert_eq!(without("100,102", 100).as_deref(), Some("102"));
        assert_eq!(without("100", 100), None);
        assert_eq!(without("1000", 100).as_deref(), Some("1000"), "ids are compared whole");
    }
}
