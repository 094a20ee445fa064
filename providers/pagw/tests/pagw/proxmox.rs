//! The `proxmox-ve-ssh` driver: `pvesh` and `qm` over SSH on a test host whose commands talk to
//! the Proxmox emulator, every emulator answer validated against the vendor's spec file.

use std::path::PathBuf;

use tarn_provider_pagw::db::{Db, claim};
use tarn_provider_pagw::emulator::Vm;
use tarn_sdk::sim::spec::{Exchange, OpenApi};
use tarn_sdk::{AdoptRequest, Value};

use crate::build::{CUSTOMIZE, TestHost, context, gateway, host, host_with_pool, leftovers};
use crate::support::*;

/// The vendor file, read as JSON Schema: Proxmox's `format` keys that hold an object describe
/// the inner syntax of a property string (`model=virtio,bridge=vmbr1`), not a JSON Schema
/// format, bounds written as strings are read as numbers, and Perl regexes (`pattern: "(?^u:…)"`) are not ECMA ones, so both are dropped;
/// everything else (types, required keys, enums) is checked as written.
fn spec() -> (OpenApi, tempfile::TempDir) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../specs/proxmox-ve-9.2.subset.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                if o.get("format").is_some_and(|f| !f.is_string()) {
                    o.remove("format");
                }
                // Perl regexes (`(?^u:…)`) are Proxmox's own syntax, which JSON Schema cannot read.
                if o.get("pattern").and_then(serde_json::Value::as_str).is_some_and(|p| p.starts_with("(?^")) {
                    o.remove("pattern");
                }
                // Proxmox writes some bounds as strings (`"minimum": "0"`); JSON Schema needs numbers.
                for bound in ["minimum", "maximum"] {
                    if let Some(n) =
                        o.get(bound).and_then(serde_json::Value::as_str).and_then(|s| s.parse::<i64>().ok())
                    {
                        o.insert(bound.into(), serde_json::Value::from(n));
                    }
                }
                o.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut doc);
    let dir = tempfile::tempdir().unwrap();
    let read = dir.path().join("proxmox.json");
    std::fs::write(&read, serde_json::to_vec(&doc).unwrap()).unwrap();
    (OpenApi::load(&read).unwrap_or_else(|e| panic!("{e}")), dir)
}

/// Every successful answer the emulator gave, its `data` checked against the spec.
pub fn check_answers(h: &TestHost) {
    let (spec, _dir) = spec();
    let answers: Vec<Exchange> = h
        .recorder
        .exchanges()
        .into_iter()
        .filter(|x| x.status == 200)
        .map(|x| Exchange { body: x.body.get("data").cloned().unwrap_or(serde_json::Value::Null), ..x })
        .collect();
    assert!(!answers.is_empty());
    let report = spec.check_all(&answers);
    assert!(report.failures.is_empty(), "{:#?}", report.failures);
}

pub fn vms(h: &TestHost) -> Vec<Vm> {
    h.pve.emulator.state.lock().unwrap().vms.values().cloned().collect()
}

#[tokio::test]
async fn the_vm_is_created_as_giif_does_and_every_answer_follows_the_spec() {
    let g = giif().await;
    let h = host().await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway("px", ctx.path())).await.unwrap();
    let all = vms(&h);
    assert_eq!(all.len(), 1);
    let vm = &all[0];
    assert_eq!((vm.name.as_str(), vm.running), ("PAGW-px", true));
    assert_eq!(v.get("vm_id").and_then(Value::as_f64), Some(f64::from(vm.vmid)));
    let c = |k: &str| vm.config.get(k).cloned().unwrap_or_default();
    assert_eq!(c("onboot"), "1");
    assert_eq!(c("net0"), "model=virtio,bridge=vmbr1,tag=13");
    assert_eq!(c("net1"), "model=virtio,bridge=vmbr2", "an empty PAGW_PUB_VLAN leaves the public NIC untagged");
    assert_eq!(c("agent"), "enabled=1");
    assert_eq!(c("scsi0"), format!("local-lvm:vm-{}-disk-0", vm.vmid));
    assert_eq!(c("boot"), "legacy=c");
    assert!(leftovers(h.home.path()).is_empty(), "the .img is removed after the deploy");
    // Drift: the VM stopped, then deleted, outside tarn.
    h.pve.emulator.state.lock().unwrap().vms.get_mut(&vm.vmid).unwrap().running = false;
    let now = read(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(now.get("vm_status").and_then(Value::as_str), Some("stopped"));
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert!(vms(&h).is_empty());
    check_answers(&h);
}

#[tokio::test]
async fn a_deploy_failure_removes_the_vm_and_its_image_and_releases_the_slot() {
    let g = giif().await;
    let h = host_with_pool("nosuch-pool").await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway("failing", ctx.path())).await.unwrap_err();
    assert!(e.contains("importing the disk") && e.contains("nosuch-pool"), "{e}");
    assert!(vms(&h).is_empty(), "the VM made before the failure is destroyed");
    assert!(leftovers(h.home.path()).is_empty(), "{:?}", leftovers(h.home.path()));
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    assert_eq!(g.sql("SELECT COUNT(*) FROM guacamole_connection").trim(), "0");
    check_answers(&h);
}

#[tokio::test]
async fn destroy_finds_the_vm_by_its_exact_name() {
    let g = giif().await;
    let h = host().await;
    let p = h.provider(&g).await;
    let other = Vm { vmid: 500, name: "PAGW-abcabc".into(), running: true, config: Default::default() };
    h.pve.emulator.state.lock().unwrap().vms.insert(500, other);
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway("abc", ctx.path())).await.unwrap();
    delete(&p, "pagw_instance", &v).await.unwrap();
    let left: Vec<String> = vms(&h).into_iter().map(|vm| vm.name).collect();
    assert_eq!(left, ["PAGW-abcabc"]);
}

#[tokio::test]
async fn adoption_after_a_crash_finds_the_vm_or_releases_the_claim() {
    let g = giif().await;
    let h = host().await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let made = create(&p, "pagw_instance", gateway("whole", ctx.path())).await.unwrap();
    let adopt = |planned: Value| {
        let p = p.clone();
        async move {
            p.adopt(AdoptRequest { type_name: "pagw_instance".into(), correlation: "c".into(), planned }).await.unwrap()
        }
    };
    // Killed after the deploy, before the state was written: the VM and the slot row are found.
    let found = adopt(gateway("whole", ctx.path())).await.unwrap();
    assert_eq!(found.get("vm_id"), made.get("vm_id"));
    // Killed right after the claim committed: no VM, so the claim is released and the create
    // runs again from the start.
    g.sql("INSERT INTO pagw_slots (ip, environment) SELECT '127.0.0.250', environment FROM pagw_slots LIMIT 1");
    claim::claim(&Db::new(&g.url).unwrap(), ROOF, "halfway", false).await.unwrap();
    assert!(adopt(gateway("halfway", ctx.path())).await.is_none());
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "1");
}
