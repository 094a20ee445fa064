//! The `libvirt-ssh` driver against the machine's real libvirtd with QEMU under TCG (see
//! `tarn_provider_pagw::testing::TestLibvirt`), over a real sshd, the image built by the private
//! dockerd: the domain, its volume in a `dir` pool, a VLAN-tagged NIC on an Open vSwitch bridge
//! and an untagged one on a Linux bridge, autostart, running; destroy by exact name; drift;
//! rollback; the backup job run as cron would.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tarn_provider_pagw::testing::{TestDocker, TestLibvirt};
use tarn_sdk::ssh::testing::TestSshd;
use tarn_sdk::{Provider, Value};

use crate::build::{CUSTOMIZE, context, gateway, leftovers};
use crate::support::*;

/// A libvirt PAGW host: a real sshd in front of this machine's libvirt, its home and cron
/// directories, and the bridges and VLANs its slot names.
struct VirtHost {
    sshd: TestSshd,
    home: tempfile::TempDir,
    cron: tempfile::TempDir,
    lv: &'static TestLibvirt,
}

fn virt_host() -> VirtHost {
    TestDocker::shared();
    let lv = TestLibvirt::shared();
    let sshd = TestSshd::start().unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::Builder::new().prefix("pagw-home-").tempdir().unwrap();
    let cron = tempfile::Builder::new().prefix("pagw-cron-").tempdir().unwrap();
    VirtHost { sshd, home, cron, lv }
}

impl VirtHost {
    /// A loopback address nothing listens on (port 22), per host.
    fn address(&self) -> String {
        format!("127.1.{}.{}", (self.sshd.port() >> 8) & 0xff, self.sshd.port() & 0xff | 1)
    }

    /// A provider on a fresh Giif database with one libvirt slot whose management NIC is tagged
    /// `mgmt_vlan` on `mgmt_bridge`, its public one untagged on the Linux bridge.
    async fn provider(&self, g: &Giif, mgmt_bridge: &str, mgmt_vlan: &str) -> Arc<dyn Provider> {
        let key = std::fs::read_to_string(self.sshd.client_key_path()).unwrap();
        let address = self.address();
        let definition = format!(
            "PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='{address} {address}'\n\
             PAGW_MASK=255.255.255.0\nPAGW_GATEWAY=198.51.100.1\n\
             PAGW_HOST=127.0.0.1\nPAGW_HOST_PORT={port}\nPAGW_HOST_USER={user}\nPAGW_HOST_HOME={home}\n\
             PAGW_HOST_DOCKER_TMP=/tmp\nPAGW_SSH_PRIVKEY='{key}'\nPAGW_SSH_PUBKEY='ssh-ed25519 AAAA test'\n\
             PAGW_DEPLOY_DRIVER='libvirt-ssh'\nPAGW_LIBVIRT_VIRT_TYPE='qemu'\nPAGW_HOST_CRON_DIR='{cron}'\n\
             PAGW_HOST_MGMT_BRIDGE='{mgmt_bridge}'\nPAGW_MGMT_VLAN='{mgmt_vlan}'\n\
             PAGW_HOST_PUB_BRIDGE='{pub_bridge}'\nPAGW_PUB_VLAN=''\nPAGW_STORAGE_POOL='{pool}'\n",
            port = self.sshd.port(),
            user = self.sshd.user(),
            home = self.home.path().display(),
            cron = self.cron.path().display(),
            pub_bridge = self.lv.linux_bridge,
            pool = self.lv.pool,
        );
        let p = tarn_provider_pagw::provider();
        let env = Value::map([("DOCKER_HOST", Value::string(TestDocker::shared().host()))]);
        p.configure(obj(&[
            ("database_url", Value::string(g.url.clone())),
            ("host_env", env),
            ("docker", Value::string("/usr/bin/docker")),
        ]))
        .await
        .unwrap_or_else(|e| panic!("configure: {}", e.message));
        create(&p, "pagw_slot_range", obj(&[("definition", Value::string(definition))]))
            .await
            .unwrap_or_else(|e| panic!("load slots: {e}"));
        p
    }

    fn domains(&self) -> Vec<String> {
        let out = self.lv.virsh(&["list", "--all", "--name"]).unwrap();
        out.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
    }

    fn volumes(&self) -> Vec<String> {
        let out = self.lv.virsh(&["vol-list", "--pool", &self.lv.pool]).unwrap();
        out.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
    }
}

/// `gateway()` with a backup block keeping `keep` backups.
fn with_backup(mut v: Value, storage: &Path, keep: Option<f64>) -> Value {
    if let Value::Map(o) = &mut v {
        let mut backup =
            vec![("schedule", Value::string("0 3 * * *")), ("storage", Value::string(storage.display().to_string()))];
        backup.extend(keep.map(|k| ("keep", Value::number(k))));
        o.insert("backup".into(), obj(&backup));
    }
    v
}

#[tokio::test]
async fn the_domain_runs_with_its_disk_in_the_pool_and_tagged_bridges_and_is_destroyed_by_exact_name() {
    let g = giif().await;
    let h = virt_host();
    let p = h.provider(&g, &h.lv.ovs_bridge, "13").await;
    // A domain whose name begins like ours must survive our destroy.
    let decoy = format!("PAGW-lvabc{}abc", h.sshd.port());
    let project = format!("lvabc{}", h.sshd.port());
    let name = format!("PAGW-{project}");
    h.lv.virsh(&["define", &decoy_xml(&decoy, &h.lv.linux_bridge)]).unwrap();
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway(&project, ctx.path())).await.unwrap();
    assert_eq!(v.get("vm_status").and_then(Value::as_str), Some("running"));
    assert_eq!(h.lv.virsh(&["domstate", &name]).unwrap().trim(), "running");
    let info = h.lv.virsh(&["dominfo", &name]).unwrap();
    assert!(info.lines().any(|l| l.starts_with("Autostart:") && l.contains("enable")), "{info}");
    let xml = h.lv.virsh(&["dumpxml", &name]).unwrap();
    assert!(xml.contains(&format!("volume='{name}.qcow2'")) || xml.contains(&format!("{name}.qcow2")), "{xml}");
    // The management NIC is tagged 13 on the Open vSwitch bridge; the public one is untagged.
    let ifaces = h.lv.virsh(&["domiflist", &name]).unwrap();
    let on = |bridge: &str| -> String {
        ifaces.lines().find(|l| l.contains(bridge)).and_then(|l| l.split_whitespace().next()).unwrap().to_string()
    };
    assert_eq!(h.lv.ovs_tag(&on(&h.lv.ovs_bridge)), "13", "{ifaces}");
    assert!(xml.matches("<vlan>").count() == 1, "{xml}");
    assert!(h.volumes().contains(&format!("{name}.qcow2")), "{:?}", h.volumes());
    assert!(leftovers(h.home.path()).is_empty(), "the .img is removed: {:?}", leftovers(h.home.path()));
    // Drift: stopped outside tarn, then read.
    h.lv.virsh(&["destroy", &name]).unwrap();
    let now = read(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(now.get("vm_status").and_then(Value::as_str), Some("stopped"));
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert!(!h.domains().contains(&name), "{:?}", h.domains());
    assert!(h.domains().contains(&decoy), "PAGW-abc never matches PAGW-abcabc: {:?}", h.domains());
    assert!(!h.volumes().contains(&format!("{name}.qcow2")), "the disk goes with the domain: {:?}", h.volumes());
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    h.lv.virsh(&["undefine", &decoy]).unwrap();
}

/// A domain definition file for a decoy that is never started.
fn decoy_xml(name: &str, bridge: &str) -> String {
    let path = std::env::temp_dir().join(format!("{name}.xml"));
    std::fs::write(
        &path,
        format!(
            "<domain type='qemu'><name>{name}</name><memory unit='MiB'>32</memory><vcpu>1</vcpu>\
             <os><type arch='x86_64'>hvm</type></os><devices><interface type='bridge'>\
             <source bridge='{bridge}'/></interface></devices></domain>"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[tokio::test]
async fn a_gone_domain_reads_as_missing() {
    let g = giif().await;
    let h = virt_host();
    let p = h.provider(&g, &h.lv.ovs_bridge, "").await;
    let project = format!("lvgone{}", h.sshd.port());
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway(&project, ctx.path())).await.unwrap();
    let name = format!("PAGW-{project}");
    h.lv.virsh(&["destroy", &name]).unwrap();
    h.lv.virsh(&["undefine", &name, "--remove-all-storage"]).unwrap();
    let now = read(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(now.get("vm_status").and_then(Value::as_str), Some("missing"));
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
}

#[tokio::test]
async fn a_vlan_on_a_linux_bridge_is_refused_and_the_slot_released() {
    let g = giif().await;
    let h = virt_host();
    let p = h.provider(&g, &h.lv.linux_bridge, "13").await;
    let project = format!("lvlinux{}", h.sshd.port());
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway(&project, ctx.path())).await.unwrap_err();
    assert!(e.contains("not an Open vSwitch bridge") && e.contains("PAGW_MGMT_VLAN=13"), "{e}");
    assert!(!h.domains().contains(&format!("PAGW-{project}")));
    assert!(h.volumes().iter().all(|v| !v.contains(&project)), "{:?}", h.volumes());
    assert!(leftovers(h.home.path()).is_empty(), "{:?}", leftovers(h.home.path()));
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
}

#[tokio::test]
async fn a_start_failure_removes_the_domain_and_its_volume() {
    let g = giif().await;
    let h = virt_host();
    // A bridge that does not exist: libvirt defines the domain, then cannot start it.
    let p = h.provider(&g, "pgnosuch0", "").await;
    let project = format!("lvfail{}", h.sshd.port());
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway(&project, ctx.path())).await.unwrap_err();
    assert!(e.contains(&format!("starting PAGW-{project}")), "{e}");
    assert!(!h.domains().contains(&format!("PAGW-{project}")), "{:?}", h.domains());
    assert!(h.volumes().iter().all(|v| !v.contains(&project)), "{:?}", h.volumes());
    assert!(leftovers(h.home.path()).is_empty(), "{:?}", leftovers(h.home.path()));
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
}

#[tokio::test]
async fn the_backup_job_is_a_cron_entry_whose_run_copies_the_disk_keeps_n_and_destroy_removes_it() {
    let g = giif().await;
    let h = virt_host();
    let p = h.provider(&g, &h.lv.ovs_bridge, "").await;
    let project = format!("lvbak{}", h.sshd.port());
    let name = format!("PAGW-{project}");
    let backups = tempfile::Builder::new().prefix("pagw-backups-").tempdir().unwrap();
    // Two older backups of this gateway, and one of a project whose name extends this one's.
    let older = [format!("{name}-20200101T000000Z.qcow2"), format!("{name}-20200102T000000Z.qcow2")];
    let other = format!("{name}-x-20200101T000000Z.qcow2");
    for f in older.iter().chain([&other]) {
        std::fs::write(backups.path().join(f), "old").unwrap();
    }
    let ctx = context(CUSTOMIZE);
    let with = with_backup(gateway(&project, ctx.path()), backups.path(), Some(2.0));
    let v = create(&p, "pagw_instance", with).await.unwrap();
    let entry = std::fs::read_to_string(h.cron.path().join(format!("tarn-{name}"))).unwrap();
    let line = entry.lines().find(|l| !l.starts_with('#')).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[..6], ["0", "3", "*", "*", "*", h.sshd.user()], "{entry}");
    // Run the job as cron would, and wait for libvirt's push backup to finish.
    let script = fields[6].trim_matches('\'');
    let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let start = Instant::now();
    loop {
        let job = h.lv.virsh(&["domjobinfo", &name]).unwrap_or_default();
        if job.contains("None") || start.elapsed() > Duration::from_secs(60) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // keep = 2: the new backup and the newest older one; the other project's is not touched.
    let left: Vec<String> =
        leftovers(backups.path()).iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(left.len(), 3, "{left:?}");
    assert!(left.contains(&older[1]) && left.contains(&other), "{left:?}");
    let file = left.iter().find(|f| **f != older[1] && **f != other).unwrap().clone();
    let made = backups.path().join(&file);
    assert!(file.starts_with(&format!("{name}-")) && file.ends_with("Z.qcow2"), "{file}");
    let info = std::process::Command::new("qemu-img").arg("info").arg(&made).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("file format: qcow2"));
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert!(leftovers(h.cron.path()).is_empty(), "the cron entry goes with the gateway");
    assert!(leftovers(h.home.path()).is_empty(), "and its job: {:?}", leftovers(h.home.path()));
    assert_eq!(leftovers(backups.path()).len(), 3, "the backups themselves are kept");
}
