//! The image build on the PAGW host over SSH (a real sshd on 127.0.0.1) with a real Docker
//! engine (a private dockerd): upload, env-file, builder run, image copied out and checked with
//! qemu-img; the duplicate-address refusal; rollback of the claim when the build fails; the
//! zombie guard on destroy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tarn_provider_pagw::testing::{TestDocker, TestPve};
use tarn_sdk::sim::spec::Recorder;
use tarn_sdk::ssh::testing::TestSshd;
use tarn_sdk::{Provider, Value};

use crate::support::*;

const PASSWORD: &str = "s3cret-pw";

/// A PAGW host: a real sshd, its home directory, and a provider whose commands reach the
/// private dockerd.
pub struct TestHost {
    pub sshd: TestSshd,
    pub home: tempfile::TempDir,
    pub pve: TestPve,
    pub recorder: Recorder,
    pub pool: &'static str,
    /// The slot's PAGW_DEPLOY_DRIVER.
    pub driver: &'static str,
}

/// The API token the test provider is configured with.
pub const API_TOKEN: &str = "root@pam!tarn=8a1c2f7e-test-secret";

pub async fn host() -> TestHost {
    host_with_pool("local-lvm").await
}

/// A host whose slot deploys with `driver` (`proxmox-ve-ssh` or `proxmox-ve-api`).
pub async fn host_with_driver(driver: &'static str) -> TestHost {
    TestHost { driver, ..host_with_pool("local-lvm").await }
}

/// A host whose slot imports disks into `pool` (an unknown one makes the deploy fail).
pub async fn host_with_pool(pool: &'static str) -> TestHost {
    TestDocker::shared();
    let sshd = TestSshd::start().unwrap_or_else(|e| panic!("{e}"));
    let home = tempfile::Builder::new().prefix("pagw-home-").tempdir().unwrap();
    let recorder = Recorder::default();
    let r = recorder.clone();
    let pve = TestPve::start_with(move |router| r.wrap(router)).await.unwrap_or_else(|e| panic!("{e}"));
    TestHost { sshd, home, pve, recorder, pool, driver: "proxmox-ve-ssh" }
}

impl TestHost {
    /// A slot definition for one address on this host.
    fn definition(&self, address: &str) -> String {
        let key = std::fs::read_to_string(self.sshd.client_key_path()).unwrap();
        format!(
            "PAGW_ADDRESS_RANGE_IN_PRIPS_FORMAT='{address} {address}'\n\
             PAGW_MASK=255.255.255.0\nPAGW_GATEWAY=198.51.100.1\n\
             PAGW_HOST=127.0.0.1\nPAGW_HOST_PORT={port}\nPAGW_HOST_USER={user}\nPAGW_HOST_HOME={home}\n\
             PAGW_HOST_DOCKER_TMP=/tmp\nPAGW_SSH_PRIVKEY='{key}'\nPAGW_SSH_PUBKEY='ssh-ed25519 AAAA test'\n\
             PAGW_DEPLOY_DRIVER='{driver}'\nPAGW_HOST_MGMT_BRIDGE='vmbr1'\nPAGW_MGMT_VLAN='13'\n\
             PAGW_HOST_PUB_BRIDGE='vmbr2'\nPAGW_PUB_VLAN=''\nPAGW_STORAGE_POOL='{pool}'\n\
             PAGW_PVE_API_URL='{api}'\n",
            port = self.sshd.port(),
            user = self.sshd.user(),
            home = self.home.path().display(),
            pool = self.pool,
            driver = self.driver,
            api = self.pve.emulator.base_url(),
        )
    }

    pub async fn provider(&self, g: &Giif) -> Arc<dyn Provider> {
        let p = tarn_provider_pagw::provider();
        let env = Value::map([
            ("DOCKER_HOST", Value::string(TestDocker::shared().host())),
            ("PATH", Value::string(self.pve.path_env())),
            ("PVE_URL", Value::string(self.pve.emulator.base_url())),
        ]);
        p.configure(obj(&[
            ("database_url", Value::string(g.url.clone())),
            ("host_env", env),
            ("docker", Value::string("/usr/bin/docker")),
            ("proxmox_api_token", Value::string(API_TOKEN)),
        ]))
        .await
        .unwrap_or_else(|e| panic!("configure: {}", e.message));
        let def = self.definition_address();
        create(&p, "pagw_slot_range", obj(&[("definition", Value::string(self.definition(&def)))]))
            .await
            .unwrap_or_else(|e| panic!("load slots: {e}"));
        p
    }

    /// A loopback address nothing listens on (port 22), per test.
    pub fn definition_address(&self) -> String {
        format!("127.0.{}.{}", (self.sshd.port() >> 8) & 0xff, self.sshd.port() & 0xff | 1)
    }
}

/// A build context whose builder checks its environment and leaves a small qcow2 image.
pub fn context(customize: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("pagw-ctx-").tempdir().unwrap();
    let out = std::process::Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(dir.path().join("base.img"))
        .arg("8M")
        .output()
        .unwrap_or_else(|e| panic!("qemu-img: {e}; install it with `apt-get install -y qemu-utils`"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM pagw-test-base\nCOPY . /ctx\nENTRYPOINT [\"/bin/sh\", \"/ctx/customize.sh\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("customize.sh"), customize).unwrap();
    dir
}

pub const CUSTOMIZE: &str = "set -e\n\
    [ \"$SUDO_PASSWORD\" = \"s3cret-pw\" ] || { echo 'no password in the env-file' >&2; exit 4; }\n\
    [ -n \"$PUBIP\" ] && [ \"$PUBMASK\" = 255.255.255.0 ] && [ -n \"$SSH_PUBKEY\" ]\n\
    mkdir -p \"$(dirname \"$PAGW_IMAGE_PATH\")\"\n\
    cp /ctx/base.img \"$PAGW_IMAGE_PATH\"\n\
    echo \"built $PAGW_HOSTNAME\"\n";

pub fn gateway(project: &str, ctx: &Path) -> Value {
    obj(&[
        ("project", Value::string(project)),
        ("password", Value::string(PASSWORD)),
        ("build_context", Value::string(ctx.display().to_string())),
        ("build_network", Value::string("none")),
    ])
}

pub fn leftovers(home: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(home).unwrap().flatten().map(|e| e.path()).collect()
}

#[tokio::test]
async fn the_image_is_built_over_ssh_with_docker_and_checked_with_qemu_img() {
    let g = giif().await;
    let h = host().await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway("built", ctx.path())).await.unwrap();
    let img = h.home.path().join("built.img");
    // The VM's disk was imported from the built image before it was removed.
    let volumes = h.pve.emulator.state.lock().unwrap().volumes.clone();
    assert_eq!(volumes.get("local-lvm:vm-100-disk-0"), Some(&img.display().to_string()), "{volumes:?}");
    assert_eq!(v.get("vm_status").and_then(Value::as_str), Some("running"));
    // Deployed, the image is gone too: no build directory, no env-file with the password, no builder.
    assert!(!img.exists());
    assert!(leftovers(h.home.path()).is_empty(), "{:?}", leftovers(h.home.path()));
    let containers = TestDocker::shared().docker(&["ps", "-a", "--format", "{{.Names}}"]).unwrap();
    assert!(!containers.contains("pagw-builder-built"), "{containers}");
    assert!(!g.sql("SELECT environment FROM pagw_slots").contains(PASSWORD));
    // Destroy removes the VM with its disk, and the records.
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert!(h.pve.emulator.state.lock().unwrap().vms.is_empty());
    assert!(h.pve.emulator.state.lock().unwrap().volumes.is_empty());
    assert!(leftovers(h.home.path()).is_empty());
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
}

#[tokio::test]
async fn a_failed_build_releases_the_slot_and_leaves_nothing_on_the_host() {
    let g = giif().await;
    let h = host().await;
    let p = h.provider(&g).await;
    let ctx = context("echo 'the customizer broke' >&2\nexit 1\n");
    let e = create(&p, "pagw_instance", gateway("broken", ctx.path())).await.unwrap_err();
    assert!(e.contains("building the image of broken") && e.contains("the customizer broke"), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");
    assert!(leftovers(h.home.path()).is_empty(), "{:?}", leftovers(h.home.path()));
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    assert_eq!(g.sql("SELECT COUNT(*) FROM guacamole_connection").trim(), "0");
    // The slot is free again: the next project gets it.
    let ok = context(CUSTOMIZE);
    create(&p, "pagw_instance", gateway("fixed", ok.path())).await.unwrap();
}

#[tokio::test]
async fn a_duplicate_address_is_refused_before_anything_is_built() {
    let g = giif().await;
    let h = host().await;
    let p = h.provider(&g).await;
    let address = h.definition_address();
    let squatter = std::net::TcpListener::bind((address.as_str(), 22)).unwrap();
    let ctx = context(CUSTOMIZE);
    let e = create(&p, "pagw_instance", gateway("dup", ctx.path())).await.unwrap_err();
    assert!(e.contains(&format!("{address}:22 already answers")), "{e}");
    assert!(leftovers(h.home.path()).is_empty());
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    drop(squatter);
}

#[tokio::test]
async fn the_zombie_guard_keeps_the_records_while_the_address_answers() {
    let g = giif().await;
    let h = host().await;
    let p = h.provider(&g).await;
    let ctx = context(CUSTOMIZE);
    let v = create(&p, "pagw_instance", gateway("zombie", ctx.path())).await.unwrap();
    let address = h.definition_address();
    let zombie = std::net::TcpListener::bind((address.as_str(), 22)).unwrap();
    let e = delete(&p, "pagw_instance", &v).await.unwrap_err();
    assert!(e.contains("zombie") && e.contains("records are kept"), "{e}");
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "1");
    drop(zombie);
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
}
