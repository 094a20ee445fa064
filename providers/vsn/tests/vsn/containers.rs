//! Containers on the real podman through the real sshd: create with labels, data directories
//! and secrets; drift read back honestly; in-place updates; delete keeping data; adopt.

use std::os::unix::fs::PermissionsExt;

use super::support::*;
use tarn_sdk::{AdoptRequest, UpdateRequest, Value};

const IDLE: [&str; 3] = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

struct Deployed {
    host: Value,
    volume: Value,
    service: Value,
}

async fn deploy(vsn: &mut tarn_provider_vsn::testing::TestVsn, p: &std::sync::Arc<dyn tarn_sdk::Provider>) -> Deployed {
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let web = vsn.image("web", "1", &[("/version", "1")]).unwrap();
    let host = create(
        p,
        "vsn_host",
        obj(&[
            ("name", Value::string(vsn.name("host"))),
            ("image", Value::string(bb.clone())),
            ("command", strings(&IDLE)),
            ("stop_timeout", Value::number(1.0)),
        ]),
        "corr-host",
    )
    .await;
    let host_id = host.get("id").unwrap().clone();
    let volume = create(
        p,
        "vsn_volume",
        obj(&[
            ("name", Value::string(vsn.name("db"))),
            ("host_id", host_id.clone()),
            ("image", Value::string(bb)),
            ("pull", Value::string("never")),
        ]),
        "corr-volume",
    )
    .await;
    let service = create(
        p,
        "vsn_service",
        obj(&[
            ("name", Value::string(vsn.name("web"))),
            ("host_id", host_id),
            ("image", Value::string(web)),
            ("command", strings(&IDLE)),
            ("env", Value::map([("MODE", Value::string("prod"))])),
            ("secrets", Value::map([("TOKEN", Value::string("s3cret-token-value"))])),
            ("volumes_from", Value::List(vec![Value::string(vsn.name("db"))])),
            ("stop_timeout", Value::number(1.0)),
            ("pull", Value::string("never")),
        ]),
        "corr-web",
    )
    .await;
    Deployed { host, volume, service }
}

#[tokio::test]
async fn create_labels_every_container_and_reads_back_without_drift() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let d = deploy(&mut vsn, &p).await;
    assert_eq!(vsn.containers(), vec![vsn.name("db"), vsn.name("host"), vsn.name("web")]);
    for (name, corr) in [("host", "corr-host"), ("db", "corr-volume"), ("web", "corr-web")] {
        let label = vsn
            .podman(&["inspect", "--format", "{{index .Config.Labels \"tarn.correlation\"}}", &vsn.name(name)])
            .unwrap();
        assert_eq!(label, corr);
    }
    // REST containers share the host's network namespace.
    let net = vsn.podman(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &vsn.name("web")]).unwrap();
    assert_eq!(net, format!("container:{}", d.host.get("id").unwrap().as_str().unwrap()));
    for (t, state) in [("vsn_host", &d.host), ("vsn_volume", &d.volume), ("vsn_service", &d.service)] {
        assert_eq!(read(&p, t, state).await.as_ref(), Some(state), "{t} drifted right after create");
    }
    // The service writes through the volume container into the data directory on the VSN.
    vsn.podman(&["exec", &vsn.name("web"), "sh", "-c", "echo written-by-web > /data/file"]).unwrap();
    let data_dir = vsn.data_root.join(vsn.name("db"));
    assert_eq!(std::fs::read_to_string(data_dir.join("file")).unwrap(), "written-by-web\n");
    assert_eq!(d.volume.get("data_dir").unwrap().as_str().unwrap(), data_dir.to_str().unwrap());
}

#[tokio::test]
async fn secrets_reach_the_container_but_no_command_line_or_leftover_file() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let d = deploy(&mut vsn, &p).await;
    let env = vsn.podman(&["exec", &vsn.name("web"), "env"]).unwrap();
    assert!(env.contains("TOKEN=s3cret-token-value"), "{env}");
    assert!(env.contains("MODE=prod"), "{env}");
    let create_cmd = vsn.podman(&["inspect", "--format", "{{json .Config.CreateCommand}}", &vsn.name("web")]).unwrap();
    assert!(!create_cmd.contains("s3cret-token-value"), "the secret is on the create command line: {create_cmd}");
    assert!(create_cmd.contains("--env-file"), "{create_cmd}");
    let ps = std::process::Command::new("ps").args(["-eo", "args"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&ps.stdout).contains("s3cret-token-value"));
    // The env-file's scratch directory is gone.
    let env_file = create_cmd.split("--env-file\",\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(!std::path::Path::new(&env_file).exists(), "{env_file} was left behind");
    assert!(!std::path::Path::new(&env_file).parent().unwrap().exists());
    // Read reports the secret (sealed by the engine in state), unchanged.
    assert_eq!(read(&p, "vsn_service", &d.service).await.unwrap().get("secrets"), d.service.get("secrets"));
}

#[tokio::test]
async fn drift_stopped_changed_and_removed_containers_show_and_update_restarts() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let d = deploy(&mut vsn, &p).await;
    let web = vsn.name("web");
    vsn.podman(&["stop", "-t", "1", &web]).unwrap();
    let stopped = read(&p, "vsn_service", &d.service).await.unwrap();
    assert_eq!(stopped.get("running"), Some(&Value::Bool(false)));
    // Apply puts it back: an in-place update to running.
    let updated = p
        .update(UpdateRequest { type_name: "vsn_service".into(), prior: stopped.clone(), planned: d.service.clone() })
        .await
        .unwrap();
    assert_eq!(vsn.podman(&["inspect", "--format", "{{.State.Running}}", &web]).unwrap(), "true");
    assert_eq!(read(&p, "vsn_service", &updated).await.unwrap().get("running"), Some(&Value::Null));

    // Recreated outside tarn with another image and env.
    let other = vsn.image("web", "2", &[("/version", "2")]).unwrap();
    vsn.podman(&["rm", "-f", "-t", "0", &web]).unwrap();
    let host_net = format!("container:{}", vsn.name("host"));
    vsn.podman(&["run", "-d", "--name", &web, "--network", &host_net, "-e", "MODE=debug", &other, "sleep", "1000"])
        .unwrap();
    let changed = read(&p, "vsn_service", &d.service).await.unwrap();
    assert_eq!(changed.get("image").unwrap().as_str(), Some(other.as_str()));
    assert_eq!(changed.get("env").unwrap().get("MODE").unwrap().as_str(), Some("debug"));
    assert_ne!(changed.get("secrets"), d.service.get("secrets"), "the secret is no longer set");

    vsn.podman(&["rm", "-f", "-t", "0", &web]).unwrap();
    assert_eq!(read(&p, "vsn_service", &d.service).await, None);
}

#[tokio::test]
async fn deleting_a_volume_keeps_its_data_unless_asked_and_existing_dirs_are_untouched() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let host = create(
        &p,
        "vsn_host",
        obj(&[
            ("name", Value::string(vsn.name("host"))),
            ("image", Value::string(bb.clone())),
            ("command", strings(&IDLE)),
        ]),
        "h",
    )
    .await;
    // An existing data directory with a restrictive mode and content.
    let dir = vsn.data_root.join(vsn.name("keep"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("db.dat"), "precious").unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let config = |name: &str, delete: bool| {
        obj(&[
            ("name", Value::string(vsn.name(name))),
            ("host_id", host.get("id").unwrap().clone()),
            ("image", Value::string(bb.clone())),
            ("delete_data_on_destroy", Value::Bool(delete)),
        ])
    };
    let keep = create(&p, "vsn_volume", config("keep", false), "k").await;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700,
        "an existing directory was altered"
    );
    delete(&p, "vsn_volume", &keep).await;
    assert_eq!(std::fs::read_to_string(dir.join("db.dat")).unwrap(), "precious");
    // Created again over the same data: still there.
    let again = create(&p, "vsn_volume", config("keep", false), "k2").await;
    assert_eq!(vsn.podman(&["exec", &vsn.name("keep"), "cat", "/data/db.dat"]).unwrap(), "precious");
    delete(&p, "vsn_volume", &again).await;
    assert!(dir.join("db.dat").exists());

    let gone = create(&p, "vsn_volume", config("gone", true), "g").await;
    let gone_dir = vsn.data_root.join(vsn.name("gone"));
    assert!(gone_dir.is_dir(), "a missing data directory is created");
    delete(&p, "vsn_volume", &gone).await;
    assert!(!gone_dir.exists(), "delete_data_on_destroy = true deletes the data");
    assert!(vsn.containers().iter().all(|c| !c.ends_with("-keep") && !c.ends_with("-gone")));
}

#[tokio::test]
async fn a_volume_over_its_size_limit_is_refused_and_leaves_no_container() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let host = create(
        &p,
        "vsn_host",
        obj(&[
            ("name", Value::string(vsn.name("host"))),
            ("image", Value::string(bb.clone())),
            ("command", strings(&IDLE)),
        ]),
        "h",
    )
    .await;
    let dir = vsn.data_root.join(vsn.name("big"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("blob"), vec![7u8; 50_000]).unwrap();
    let config = obj(&[
        ("name", Value::string(vsn.name("big"))),
        ("host_id", host.get("id").unwrap().clone()),
        ("image", Value::string(bb)),
        ("size_limit_gb", Value::number(0.00001)),
    ]);
    let planned = p
        .plan(tarn_sdk::PlanRequest { type_name: "vsn_volume".into(), prior: None, proposed: config })
        .await
        .unwrap()
        .planned;
    let err = p
        .create(tarn_sdk::CreateRequest { type_name: "vsn_volume".into(), planned, correlation: "big".into() })
        .await
        .unwrap_err();
    assert!(err.message.contains("over the volume size limit of 10000 bytes"), "{}", err.message);
    assert!(!vsn.containers().contains(&vsn.name("big")));
    assert_eq!(std::fs::read(dir.join("blob")).unwrap().len(), 50_000);
    // A limit above the provider's cap is refused at plan time.
    let over = obj(&[
        ("name", Value::string("x")),
        ("host_id", Value::string("h")),
        ("image", Value::string("i")),
        ("size_limit_gb", Value::number(201.0)),
    ]);
    let err = p
        .plan(tarn_sdk::PlanRequest { type_name: "vsn_volume".into(), prior: None, proposed: over })
        .await
        .unwrap_err();
    assert!(err.message.contains("volume_size_limit_gb (200)"), "{}", err.message);
}

#[tokio::test]
async fn adopt_finds_a_container_by_correlation_and_a_failed_run_leaves_nothing() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let d = deploy(&mut vsn, &p).await;
    let planned =
        obj(&[("name", Value::string("whatever")), ("host_id", Value::string("x")), ("image", Value::string("y"))]);
    let found = p
        .adopt(AdoptRequest {
            type_name: "vsn_service".into(),
            correlation: "corr-web".into(),
            planned: planned.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.get("id"), d.service.get("id"));
    assert_eq!(found.get("name").unwrap().as_str(), Some(vsn.name("web").as_str()));
    let none = p
        .adopt(AdoptRequest { type_name: "vsn_service".into(), correlation: "never-made".into(), planned })
        .await
        .unwrap();
    assert_eq!(none, None);

    // An image that does not exist, never pulled: the run fails and nothing is left behind.
    let bad = obj(&[
        ("name", Value::string(vsn.name("bad"))),
        ("host_id", d.host.get("id").unwrap().clone()),
        ("image", Value::string("localhost/tarn-no-such-image:1")),
        ("pull", Value::string("never")),
    ]);
    let err = p
        .create(tarn_sdk::CreateRequest { type_name: "vsn_service".into(), planned: bad, correlation: "bad".into() })
        .await
        .unwrap_err();
    assert!(err.message.contains("tarn-no-such-image"), "{}", err.message);
    assert!(!vsn.containers().contains(&vsn.name("bad")));
}

#[tokio::test]
async fn an_image_archive_is_uploaded_and_loaded_when_the_image_is_absent() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let special = vsn.image("special", "1", &[("/special", "yes")]).unwrap();
    let archive = vsn.sshd.dir().join("special.tar");
    vsn.save(&special, &archive).unwrap();
    vsn.remove_image(&special).unwrap();
    let host = create(
        &p,
        "vsn_host",
        obj(&[
            ("name", Value::string(vsn.name("host"))),
            ("image", Value::string(special.clone())),
            ("image_archive", Value::string(archive.display().to_string())),
            ("pull", Value::string("never")),
            ("command", strings(&IDLE)),
        ]),
        "h",
    )
    .await;
    assert_eq!(vsn.podman(&["exec", &vsn.name("host"), "cat", "/special"]).unwrap(), "yes");
    assert_eq!(host.get("image").unwrap().as_str(), Some(special.as_str()));
    drop(bb);
}
