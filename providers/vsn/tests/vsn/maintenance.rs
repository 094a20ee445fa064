//! `vsn_maintenance_cron` and alert mail through the real `mutt` to an SMTP sink on 127.0.0.1
//! (`testing::smtp`): the maintenance job is installed beside the health check, run as cron would
//! run it, mails its failure (subject and body checked), and is removed; the health check mails
//! through mutt the same way.

use super::support::*;
use tarn_provider_vsn::testing::{mutt, smtp::SmtpSink};
use tarn_sdk::Value;

/// Runs an installed cron script as cron would (as root, without a terminal).
fn run_script(path: &str) -> std::process::Output {
    std::process::Command::new("/bin/bash")
        .arg(path)
        .env_clear()
        .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", "/root")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[tokio::test]
async fn a_maintenance_job_runs_in_the_host_and_mails_its_failure_through_mutt() {
    let mutt = mutt().unwrap_or_else(|e| panic!("{e}"));
    let sink = SmtpSink::start().unwrap();
    let mut vsn = vsn();
    let p = configured(&vsn).await;
    let bb = vsn.image("busybox", "1", &[]).unwrap();
    let host = vsn.name("host");
    create(
        &p,
        "vsn_host",
        obj(&[
            ("name", Value::string(host.clone())),
            ("image", Value::string(bb)),
            ("command", strings(&["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"])),
        ]),
        "h",
    )
    .await;
    let name = vsn.name("maint");
    let job = |command: &str| {
        obj(&[
            ("name", Value::string(name.clone())),
            ("host", Value::string(host.clone())),
            ("schedule", Value::string("17 3 * * *")),
            ("command", Value::string(command)),
            ("mail_to", Value::string("ops@example.org")),
            ("mail_from", Value::string("vsn@example.org")),
            ("mailer", Value::string("mutt")),
            ("mailer_path", Value::string(mutt)),
            ("smtp_url", Value::string(sink.url())),
        ])
    };
    // Succeeds: runs inside the host container (its file is there), no mail.
    let state = create(&p, "vsn_maintenance_cron", job("echo tidy > /tmp/maintained"), "m").await;
    let cron = std::fs::read_to_string(format!("/etc/cron.d/tarn-vsn-maint-{name}")).unwrap();
    assert!(cron.contains(&format!("17 3 * * * root /etc/tarn-vsn/maintenance-{name}.sh")), "{cron}");
    let script = format!("/etc/tarn-vsn/maintenance-{name}.sh");
    let out = run_script(&script);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(vsn.podman(&["exec", &host, "cat", "/tmp/maintained"]).unwrap(), "tidy");
    assert_eq!(read(&p, "vsn_maintenance_cron", &state).await.as_ref(), Some(&state), "no drift");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(sink.mails().is_empty(), "a successful job mailed: {:?}", sink.mails());

    // Fails: one mail through mutt, with the job, the status and the output.
    let updated = p
        .update(tarn_sdk::UpdateRequest {
            type_name: "vsn_maintenance_cron".into(),
            prior: state.clone(),
            planned: job("echo disk nearly full >&2; exit 3"),
        })
        .await
        .unwrap();
    let out = run_script(&script);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let mails = sink.wait_for(1, 10);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail.to, vec!["ops@example.org".to_string()]);
    assert_eq!(mail.from, "vsn@example.org");
    let subject = mail.header("Subject").unwrap_or_default();
    assert!(subject.starts_with(&format!("tarn vsn maintenance {name} failed on ")), "{subject}");
    let body = mail.body();
    assert!(body.contains(&format!("maintenance job {name} on {host} exited with status 3")), "{body}");
    assert!(body.contains("disk nearly full"), "{body}");

    // The health check beside it mails through mutt the same way when the host is down.
    let health = create(
        &p,
        "vsn_healthcheck_cron",
        obj(&[
            ("name", Value::string(vsn.name("health"))),
            ("containers", Value::List(vec![Value::string(host.clone())])),
            ("mail_to", Value::string("oncall@example.org")),
            ("mailer", Value::string("mutt")),
            ("mailer_path", Value::string(mutt)),
            ("smtp_url", Value::string(sink.url())),
        ]),
        "c",
    )
    .await;
    vsn.podman(&["stop", "-t", "1", &host]).unwrap();
    let out = run_script(&format!("/etc/tarn-vsn/healthcheck-{}.sh", vsn.name("health")));
    assert!(!out.status.success());
    let mails = sink.wait_for(2, 10);
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[1].to, vec!["oncall@example.org".to_string()]);
    assert!(mails[1].header("Subject").unwrap_or_default().starts_with("tarn vsn health check failed on "));
    assert!(mails[1].body().contains(&format!("{host}: not running")), "{}", mails[1].body());

    // Destroy removes both files; read then finds nothing.
    delete(&p, "vsn_maintenance_cron", &updated).await;
    delete(&p, "vsn_healthcheck_cron", &health).await;
    assert!(!std::path::Path::new(&script).exists());
    assert!(!std::path::Path::new(&format!("/etc/cron.d/tarn-vsn-maint-{name}")).exists());
    assert_eq!(read(&p, "vsn_maintenance_cron", &updated).await, None);
}
