//! `vsn_healthcheck_cron`: the cron entry and check script installed through SSH, the script
//! really run against real containers (an alert mailed when one is down), and both files
//! removed on destroy.

use super::support::*;
use tarn_sdk::Value;
use tarn_sdk::ssh::Session;

#[tokio::test]
async fn the_cron_entry_is_installed_runs_the_checks_mails_on_failure_and_is_removed() {
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let idle = strings(&["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]);
    let host = create(
        &p,
        "vsn_host",
        obj(&[
            ("name", Value::string(vsn.name("host"))),
            ("image", Value::string(bb.clone())),
            ("command", idle.clone()),
        ]),
        "h",
    )
    .await;
    create(
        &p,
        "vsn_service",
        obj(&[
            ("name", Value::string(vsn.name("web"))),
            ("host_id", host.get("id").unwrap().clone()),
            ("image", Value::string(bb)),
            ("command", idle),
            ("healthcheck", obj(&[("command", Value::string("test -e /bin/sh"))])),
        ]),
        "w",
    )
    .await;
    // A mailer that records what it is given.
    let mailbox = vsn.sshd.dir().join("mailbox");
    let mailer = vsn.sshd.dir().join("fake-sendmail");
    std::fs::write(&mailer, format!("#!/bin/sh\necho \"args: $*\" >> {m}\ncat >> {m}\n", m = mailbox.display()))
        .unwrap();
    std::process::Command::new("chmod").arg("755").arg(&mailer).status().unwrap();
    let name = vsn.name("health");
    let cron = create(
        &p,
        "vsn_healthcheck_cron",
        obj(&[
            ("name", Value::string(name.clone())),
            ("containers", Value::List(vec![Value::string(vsn.name("host")), Value::string(vsn.name("web"))])),
            ("schedule", Value::string("*/10 * * * *")),
            ("mail_to", Value::string("ops@example.org")),
            ("mailer_path", Value::string(mailer.display().to_string())),
        ]),
        "c",
    )
    .await;
    let session = Session::connect(
        &vsn.sshd.config(tarn_sdk::ssh::HostKeyPolicy::Pinned(vsn.sshd.host_key_fingerprint().unwrap())),
    )
    .await
    .unwrap();
    let entry = session.exec_checked(format!("cat /etc/cron.d/tarn-vsn-{name}")).await.unwrap().stdout;
    assert!(entry.contains(&format!("*/10 * * * * root /etc/tarn-vsn/healthcheck-{name}.sh")), "{entry}");
    assert_eq!(read(&p, "vsn_healthcheck_cron", &cron).await.as_ref(), Some(&cron));

    let script = format!("/etc/tarn-vsn/healthcheck-{name}.sh");
    let healthy = session.exec(script.as_str()).await.unwrap();
    assert!(healthy.success(), "{healthy:?}");
    assert!(!mailbox.exists(), "no alert while everything is healthy");

    vsn.podman(&["stop", "-t", "1", &vsn.name("web")]).unwrap();
    let failing = session.exec(script.as_str()).await.unwrap();
    assert_eq!(failing.status, Some(1));
    let mail = std::fs::read_to_string(&mailbox).unwrap();
    assert!(mail.contains("To: ops@example.org"), "{mail}");
    assert!(mail.contains(&format!("{}: not running", vsn.name("web"))), "{mail}");

    // Edited outside tarn: drift.
    session.exec_checked(format!("echo '# edited' >> /etc/cron.d/tarn-vsn-{name}")).await.unwrap();
    assert_ne!(read(&p, "vsn_healthcheck_cron", &cron).await.as_ref(), Some(&cron));

    delete(&p, "vsn_healthcheck_cron", &cron).await;
    let gone = session.exec(format!("ls /etc/cron.d/tarn-vsn-{name} {script}")).await.unwrap();
    assert!(!gone.success(), "the cron files are removed on destroy");
    assert_eq!(read(&p, "vsn_healthcheck_cron", &cron).await, None);
}
