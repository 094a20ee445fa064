//! The image build on the PAGW host over SSH (a real sshd on 127.0.0.1) with a real Docker
//! engine (a private dockerd): upload, env-file, builder run, image copied out and checked with
//! qemu-img; the duplicate-address refusal; rollback of the claim when the build fails; the
//! zombie guard on destroy.

use std::path::Path;
use std::sync::Arc;

use tarn_provider_pagw::testing::{TestDocker, TestPagwHost};
use tarn_sdk::sim::spec::Recorder;
use tarn_sdk::{Provider, Value};

pub use tarn_provider_pagw::testing::{BUILD_PASSWORD as PASSWORD, CUSTOMIZE, build_context as context, leftovers};

use crate::support::*;

/// A PAGW host (`tarn_provider_pagw::testing::TestPagwHost`) whose emulator records every
/// answer, for the spec checks.
pub struct TestHost {
    pub host: TestPagwHost,
    pub recorder: Recorder,
}

impl std::ops::Deref for TestHost {
    type Target = TestPagwHost;
    fn deref(&self) -> &TestPagwHost {
        &self.host
    }
}

/// The API token the test provider is configured with.
pub const API_TOKEN: &str = "root@pam!tarn=8a1c2f7e-test-secret";

pub async fn host() -> TestHost {
    start("local-lvm", "proxmox-ve-ssh").await
}

/// A host whose slot deploys with `driver` (`proxmox-ve-ssh` or `proxmox-ve-api`).
pub async fn host_with_driver(driver: &'static str) -> TestHost {
    start("local-lvm", driver).await
}

/// A host whose slot imports disks into `pool` (an unknown one makes the deploy fail).
pub async fn host_with_pool(pool: &'static str) -> TestHost {
    start(pool, "proxmox-ve-ssh").await
}

async fn start(pool: &str, driver: &str) -> TestHost {
    let recorder = Recorder::default();
    let r = recorder.clone();
    let host =
        TestPagwHost::start_with(pool, driver, move |router| r.wrap(router)).await.unwrap_or_else(|e| panic!("{e}"));
    TestHost { host, recorder }
}

impl TestHost {
    /// A provider on `g` whose slot is this host's, the emulator's certificate pinned.
    pub async fn provider(&self, g: &Giif) -> Arc<dyn Provider> {
        let pinned = [("proxmox_tls_fingerprint", Value::string(self.pve.emulator.fingerprint()))];
        let p = self.configured(g, &pinned).await;
        self.load(&p, &self.definition(&self.definition_address(), &self.definition_address())).await;
        p
    }

    /// A provider on `g` reaching this host, the Proxmox API trusted as `trust` says (the
    /// provider's `proxmox_tls_fingerprint` or `proxmox_ca_file`); no slots loaded.
    pub async fn configured(&self, g: &Giif, trust: &[(&str, Value)]) -> Arc<dyn Provider> {
        let p = tarn_provider_pagw::provider();
        let env = Value::map(self.host_env().into_iter().map(|(k, v)| (k.to_string(), Value::string(v))));
        let mut config = vec![
            ("database_url", Value::string(g.url.clone())),
            ("host_env", env),
            ("docker", Value::string("/usr/bin/docker")),
            ("proxmox_api_token", Value::string(API_TOKEN)),
        ];
        config.extend(trust.iter().cloned());
        p.configure(obj(&config)).await.unwrap_or_else(|e| panic!("configure: {}", e.message));
        p
    }

    /// Loads the slot `definition` through `p`.
    pub async fn load(&self, p: &Arc<dyn Provider>, definition: &str) {
        create(p, "pagw_slot_range", obj(&[("definition", Value::string(definition))]))
            .await
            .unwrap_or_else(|e| panic!("load slots: {e}"));
    }

    /// A loopback address nothing listens on (port 22), per test.
    pub fn definition_address(&self) -> String {
        self.address(0)
    }
}

pub fn gateway(project: &str, ctx: &Path) -> Value {
    obj(&[
        ("project", Value::string(project)),
        ("password", Value::string(PASSWORD)),
        ("build_context", Value::string(ctx.display().to_string())),
        ("build_network", Value::string("none")),
    ])
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
