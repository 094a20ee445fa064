//! The `proxmox-ve-api` driver against the Proxmox emulator over HTTPS (its certificate pinned)
//! with an API token (every answer validated against the spec, tasks included); its rollback when a task ends in error
//! or a call answers 500; the verification after deploy (guest agent within `agent_timeout`)
//! failing and rolling back a create; Proxmox backup jobs through the API and through `pvesh`.

use std::time::Duration;

use serde_json::json;
use tarn_sdk::Value;

use crate::build::{API_TOKEN, CUSTOMIZE, TestHost, context, gateway, host_with_driver, leftovers};
use crate::proxmox::{check_answers, vms};
use crate::support::*;

const API: &str = "proxmox-ve-api";
const SSH: &str = "proxmox-ve-ssh";

fn with(mut v: Value, extra: &[(&str, Value)]) -> Value {
    if let Value::Map(o) = &mut v {
        for (k, x) in extra {
            o.insert(k.to_string(), x.clone());
        }
    }
    v
}

fn backup(job: &str) -> Value {
    obj(&[("job", Value::string(job)), ("schedule", Value::string("sat 02:30")), ("storage", Value::string("local"))])
}

fn jobs(h: &TestHost) -> serde_json::Map<String, serde_json::Value> {
    let pve = h.pve.emulator.state.lock().unwrap();
    pve.backups.iter().map(|(id, j)| (id.clone(), serde_json::Value::Object(j.clone()))).collect()
}

/// Nothing of a failed create is left: no VM, no volume, no image, no records.
fn nothing_left(h: &TestHost, g: &Giif) {
    assert!(vms(h).is_empty(), "{:?}", vms(h));
    assert!(h.pve.emulator.state.lock().unwrap().volumes.is_empty());
    assert!(leftovers(h.home.path()).is_empty(), "{:?}", leftovers(h.home.path()));
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    assert_eq!(g.sql("SELECT COUNT(*) FROM guacamole_connection").trim(), "0");
}

#[tokio::test]
async fn the_api_driver_deploys_with_a_token_polls_every_task_and_destroys_by_exact_name() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", with(gateway("api", ctx.path()), &[("backup", backup("pagw-weekly"))]))
        .await
        .unwrap();
    let all = vms(&h);
    assert_eq!(all.len(), 1);
    let vm = &all[0];
    assert_eq!((vm.name.as_str(), vm.running), ("PAGW-api", true));
    assert_eq!(v.get("vm_id").and_then(Value::as_f64), Some(f64::from(vm.vmid)));
    assert_eq!(v.get("deploy_driver").and_then(Value::as_str), Some(API));
    let c = |k: &str| vm.config.get(k).cloned().unwrap_or_default();
    assert_eq!(c("onboot"), "1");
    assert_eq!(c("net0"), "model=virtio,bridge=vmbr1,tag=13");
    assert_eq!(c("net1"), "model=virtio,bridge=vmbr2", "an empty PAGW_PUB_VLAN leaves the public NIC untagged");
    assert_eq!(c("scsi0"), format!("local-lvm:vm-{}-disk-0", vm.vmid), "imported from the built image");
    assert_eq!(c("boot"), "order=scsi0");
    assert_eq!(c("agent"), "enabled=1");
    assert!(leftovers(h.home.path()).is_empty(), "the .img is removed after the deploy");
    // Every call carried the token in Proxmox's header; the shims (the SSH driver's) send none.
    let seen = h.pve.emulator.state.lock().unwrap().authorizations.clone();
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [format!("PVEAPIToken={API_TOKEN}")]);
    // The backup job was made with the VM in it.
    let job = jobs(&h)["pagw-weekly"].clone();
    assert_eq!(job["vmid"], json!(vm.vmid.to_string()));
    assert_eq!((job["schedule"].as_str(), job["storage"].as_str()), (Some("sat 02:30"), Some("local")));
    // Drift through the API: stopped outside tarn.
    h.pve.emulator.state.lock().unwrap().vms.get_mut(&vm.vmid).unwrap().running = false;
    let now = read(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(now.get("vm_status").and_then(Value::as_str), Some("stopped"));
    // A VM whose name only starts with PAGW-api is not this gateway's.
    let other = tarn_provider_pagw::emulator::Vm {
        vmid: 700,
        name: "PAGW-apiapi".into(),
        running: true,
        config: Default::default(),
    };
    h.pve.emulator.state.lock().unwrap().vms.insert(700, other);
    delete(&p, "pagw_instance", &v).await.unwrap();
    let left: Vec<String> = vms(&h).into_iter().map(|vm| vm.name).collect();
    assert_eq!(left, ["PAGW-apiapi"]);
    assert!(h.pve.emulator.state.lock().unwrap().volumes.is_empty(), "the disk went with the VM (purge)");
    assert!(jobs(&h).is_empty(), "the emptied backup job is removed");
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    check_answers(&h);
}

#[tokio::test]
async fn a_task_that_ends_in_error_rolls_the_api_deploy_back_and_names_the_call() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let p = h.provider(&g).await;
    h.pve.emulator.state.lock().unwrap().faults.failing_task =
        Some(("qmstart".into(), "start failed: QEMU exited with code 1".into()));
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway("failtask", ctx.path())).await.unwrap_err();
    assert!(e.contains("starting PAGW-failtask"), "{e}");
    assert!(e.contains("Proxmox API POST nodes/pve/qemu/100/status/start"), "{e}");
    assert!(e.contains("start failed: QEMU exited with code 1"), "{e}");
    nothing_left(&h, &g);
    check_answers(&h);
}

#[tokio::test]
async fn a_500_from_the_api_rolls_the_deploy_back_and_names_the_call() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let p = h.provider(&g).await;
    h.pve.emulator.state.lock().unwrap().faults.failing_call = Some(("POST".into(), "/nodes/pve/qemu".into()));
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway("fivehundred", ctx.path())).await.unwrap_err();
    assert!(e.contains("creating PAGW-fivehundred: Proxmox API POST nodes/pve/qemu failed"), "{e}");
    assert!(e.contains("injected fault"), "{e}");
    nothing_left(&h, &g);
    // The slot is free again: with the fault gone, the next create gets it.
    h.pve.emulator.state.lock().unwrap().faults.failing_call = None;
    create(&p, "pagw_instance", gateway("fivehundred", ctx.path())).await.unwrap();
    check_answers(&h);
}

/// The guest agent answers only after a minute; the instance allows one second.
async fn verification_times_out(driver: &'static str) {
    let g = giif().await;
    let h = host_with_driver(driver).await;
    let p = h.provider(&g).await;
    h.pve.emulator.state.lock().unwrap().faults.agent_delay = Duration::from_secs(60);
    let ctx = context(CUSTOMIZE);
    let config = with(
        gateway("slowagent", ctx.path()),
        &[("agent_timeout", Value::number(1.0)), ("backup", backup("pagw-nightly"))],
    );
    let e = create(&p, "pagw_instance", config).await.unwrap_err();
    assert!(e.contains("PAGW-slowagent") && e.contains("answering guest agent within 1 s"), "{e}");
    nothing_left(&h, &g);
    assert!(jobs(&h).is_empty(), "the backup job is added only after the verification");
    check_answers(&h);
}

#[tokio::test]
async fn a_guest_agent_that_does_not_answer_in_time_fails_the_api_create_and_rolls_it_back() {
    verification_times_out(API).await;
}

#[tokio::test]
async fn a_guest_agent_that_does_not_answer_in_time_fails_the_ssh_create_and_rolls_it_back() {
    verification_times_out(SSH).await;
}

#[tokio::test]
async fn the_ssh_check_fails_the_create_when_the_gateway_does_not_answer_on_port_22() {
    let g = giif().await;
    let h = host_with_driver(API).await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let config =
        with(gateway("nossh", ctx.path()), &[("agent_timeout", Value::number(1.0)), ("ssh_check", Value::Bool(true))]);
    let e = create(&p, "pagw_instance", config).await.unwrap_err();
    assert!(e.contains(&format!("{}:22 did not answer within 1 s", h.definition_address())), "{e}");
    nothing_left(&h, &g);
}

#[tokio::test]
async fn the_ssh_driver_adds_the_vm_to_an_operators_backup_job_with_pvesh_and_takes_it_out_on_destroy() {
    let g = giif().await;
    let h = host_with_driver(SSH).await;
    let p = h.provider(&g).await;
    let operators = json!({ "schedule": "mon 03:00", "storage": "backup-nfs", "vmid": "900", "enabled": true });
    h.pve.emulator.state.lock().unwrap().backups.insert("weekly".into(), operators.as_object().unwrap().clone());
    let ctx = context(CUSTOMIZE);
    let v =
        create(&p, "pagw_instance", with(gateway("bk", ctx.path()), &[("backup", backup("weekly"))])).await.unwrap();
    let vmid = v.get("vm_id").and_then(Value::as_f64).unwrap() as u32;
    let job = jobs(&h)["weekly"].clone();
    assert_eq!(job["vmid"], json!(format!("900,{vmid}")));
    assert_eq!(job["schedule"], json!("mon 03:00"), "the operator's job keeps its settings");
    delete(&p, "pagw_instance", &v).await.unwrap();
    let job = jobs(&h)["weekly"].clone();
    assert_eq!(job["vmid"], json!("900"), "the job stays for the operator's other VM");
    assert!(vms(&h).is_empty());
    check_answers(&h);
}

#[tokio::test]
async fn a_backup_retention_is_refused_on_proxmox_hosts_before_anything_is_built() {
    let g = giif().await;
    let h = host_with_driver(SSH).await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let mut b = backup("pagw-nightly");
    if let Value::Map(o) = &mut b {
        o.insert("keep".into(), Value::number(3));
    }
    let e = create(&p, "pagw_instance", with(gateway("kept", ctx.path()), &[("backup", b)])).await.unwrap_err();
    assert!(e.contains("backup.keep applies to libvirt-ssh hosts only") && e.contains("proxmox-ve-ssh"), "{e}");
    nothing_left(&h, &g);
    assert!(jobs(&h).is_empty(), "{:?}", jobs(&h));
}

#[tokio::test]
async fn a_vmid_taken_between_nextid_and_create_is_drawn_again_by_both_drivers() {
    for driver in [SSH, API] {
        let g = giif().await;
        let h = host_with_driver(driver).await;
        let p = h.provider(&g).await;
        // Another apply's VM holds 100, and nextid still answers 100 twice (it raced us).
        let other = tarn_provider_pagw::emulator::Vm {
            vmid: 100,
            name: "PAGW-other".into(),
            running: true,
            config: Default::default(),
        };
        {
            let mut pve = h.pve.emulator.state.lock().unwrap();
            pve.vms.insert(100, other);
            pve.faults.taken_nextid = 2;
        }
        let ctx = context(CUSTOMIZE);
        let v =
            create(&p, "pagw_instance", gateway("raced", ctx.path())).await.unwrap_or_else(|e| panic!("{driver}: {e}"));
        assert_eq!(v.get("vm_id").and_then(Value::as_f64), Some(101.0), "{driver}");
        let mut names: Vec<(u32, String)> = vms(&h).into_iter().map(|vm| (vm.vmid, vm.name)).collect();
        names.sort();
        assert_eq!(names, [(100, "PAGW-other".to_string()), (101, "PAGW-raced".to_string())], "{driver}");
        assert_eq!(h.pve.emulator.state.lock().unwrap().faults.taken_nextid, 0, "{driver}: both stale answers used");
        delete(&p, "pagw_instance", &v).await.unwrap();
        assert_eq!(vms(&h).into_iter().map(|vm| vm.name).collect::<Vec<_>>(), ["PAGW-other"], "{driver}");
        check_answers(&h);
    }
}
