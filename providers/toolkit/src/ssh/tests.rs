//! Tests of the SSH toolkit against a real OpenSSH server (see testing.rs).
//!
//! Owns the end-to-end checks: exec, signals, auth and host-key refusals, timeouts, SFTP, the
//! pool and streaming. It must not reach any host other than the harness's loopback servers.

use std::time::Duration;

use super::testing::TestSshd;
use super::*;
use crate::error::ErrorClass;

fn server() -> TestSshd {
    match TestSshd::start() {
        Ok(server) => server,
        Err(message) => panic!("{message}"),
    }
}

fn pinned(server: &TestSshd) -> HostKeyPolicy {
    HostKeyPolicy::Pinned(server.host_key_fingerprint().expect("host key fingerprint"))
}

#[tokio::test]
async fn exec_collects_stdout_stderr_and_exit_status() {
    let sshd = server();
    let session = Session::connect(&sshd.config(pinned(&sshd))).await.expect("connect");
    let out = session.exec("echo hi; echo oops >&2; exit 3").await.expect("exec");
    assert_eq!(out.status, Some(3));
    assert_eq!(out.signal, None);
    assert_eq!(out.stdout, "hi\n");
    // The remote login shell may print its own warnings first (root's rc files on this machine).
    assert!(out.stderr.ends_with("oops\n"), "{:?}", out.stderr);
}

#[tokio::test]
async fn exec_reports_the_signal_that_killed_the_command() {
    let sshd = server();
    let session = Session::connect(&sshd.config(pinned(&sshd))).await.expect("connect");
    let out = session.exec("kill -TERM $$").await.expect("exec");
    assert_eq!(out.signal.as_deref(), Some("TERM"), "{out:?}");
    assert_eq!(out.status, None);
}

#[tokio::test]
async fn exec_checked_names_command_code_and_stderr_without_secrets() {
    let sshd = server();
    let session = Session::connect(&sshd.config(pinned(&sshd))).await.expect("connect");
    let cmd = Command::new("sh").arg("-c").arg("echo \"bad token $1\" >&2; exit 4").arg("x").secret_arg("hunter2");
    let err = session.exec_checked(cmd).await.expect_err("must fail");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("exited with code 4"), "{}", err.message);
    assert!(err.message.contains("bad token ***"), "{}", err.message);
    assert!(!err.message.contains("hunter2"), "{}", err.message);
}

#[tokio::test]
async fn a_command_past_its_timeout_is_abandoned_as_transient() {
    let sshd = server();
    let session = Session::connect(&sshd.config(pinned(&sshd))).await.expect("connect");
    let started = std::time::Instant::now();
    let err =
        session.exec(Command::shell("sleep 30").timeout(Duration::from_secs(1))).await.expect_err("must time out");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("sleep 30"), "{}", err.message);
    // The connection survives an abandoned command.
    assert_eq!(session.exec("echo ok").await.expect("exec").stdout, "ok\n");
}

#[tokio::test]
async fn every_operation_without_a_timeout_of_its_own_has_the_sessions_deadline() {
    let sshd = server();
    let config = sshd.config(pinned(&sshd)).with_operation_timeout(Duration::from_secs(1));
    let (a, b) =
        (Session::connect(&config).await.expect("connect a"), Session::connect(&config).await.expect("connect b"));
    let started = std::time::Instant::now();
    let err = a.exec("sleep 30").await.expect_err("the command must time out");
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("`sleep 30`") && err.message.contains("within 1 s"), "{}", err.message);
    // A pipe whose sink never finishes reading is abandoned too, naming both commands and the host.
    let err = a.pipe("echo x", &b, "sleep 30").await.expect_err("the pipe must time out");
    assert!(err.message.starts_with("piping `echo x` into `sleep 30` on 127.0.0.1:"), "{}", err.message);
    assert!(err.message.contains("did not finish within 1 s"), "{}", err.message);
    assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
    // A command's own timeout wins over the session's.
    let out = a.exec(Command::shell("sleep 2; echo late").timeout(Duration::from_secs(20))).await.expect("exec");
    assert_eq!(out.stdout, "late\n");
}

#[tokio::test]
async fn a_key_the_server_does_not_know_is_a_permanent_auth_error() {
    let sshd = server();
    let other = sshd.dir().join("other_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    let mut config = sshd.config(pinned(&sshd));
    config.key = KeySource::File(other.clone());
    let err = Session::connect(&config).await.expect_err("must be rejected");
    assert_eq!(err.class, ErrorClass::Permanent);
    let expected = format!(
        "the server at 127.0.0.1:{} rejected the key {} for user {}",
        sshd.port(),
        other.display(),
        sshd.user()
    );
    assert!(err.message.starts_with(&expected), "{}", err.message);
}

#[tokio::test]
async fn in_memory_key_text_authenticates() {
    let sshd = server();
    let mut config = sshd.config(pinned(&sshd));
    config.key = KeySource::Text(std::fs::read_to_string(sshd.client_key_path()).expect("key"));
    let session = Session::connect(&config).await.expect("connect");
    assert!(session.exec("true").await.expect("exec").success());
}

#[tokio::test]
async fn an_encrypted_key_needs_its_passphrase() {
    let sshd = server();
    let path = sshd.authorize_new_key("encrypted_key", "correct horse").expect("key");
    let mut config = sshd.config(pinned(&sshd));
    config.key = KeySource::File(path.clone());
    let err = Session::connect(&config).await.expect_err("no passphrase");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains(&path.display().to_string()), "{}", err.message);
    assert!(!err.message.contains("correct horse"));
    let session = Session::connect(&config.with_passphrase("correct horse")).await.expect("connect");
    assert!(session.exec("true").await.expect("exec").success());
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    let sshd = server();
    let mut config = sshd.config(pinned(&sshd));
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    config.port = probe.local_addr().expect("addr").port();
    drop(probe);
    let err = Session::connect(&config).await.expect_err("nothing listens");
    assert_eq!(err.class, ErrorClass::Transient, "{}", err.message);
}

#[tokio::test]
async fn known_hosts_file_accepts_its_key_and_refuses_a_missing_one() {
    let sshd = server();
    let known = sshd.known_hosts().expect("known_hosts");
    let session = Session::connect(&sshd.config(HostKeyPolicy::KnownHostsFile(known))).await.expect("connect");
    assert!(session.first_use_fingerprint().is_none());

    let empty = sshd.dir().join("empty_known_hosts");
    std::fs::write(&empty, "").expect("write");
    let err = Session::connect(&sshd.config(HostKeyPolicy::KnownHostsFile(empty))).await.expect_err("unknown");
    assert_eq!(err.class, ErrorClass::Permanent);
    let fp = sshd.host_key_fingerprint().expect("fp");
    assert!(err.message.contains(&fp), "{}", err.message);
    assert!(err.message.contains("unknown"), "{}", err.message);
}

#[tokio::test]
async fn pinned_fingerprint_must_match() {
    let sshd = server();
    let wrong = HostKeyPolicy::Pinned("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    let err = Session::connect(&sshd.config(wrong)).await.expect_err("mismatch");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("127.0.0.1"), "{}", err.message);
    assert!(err.message.contains("SHA256:AAAAAAAA"), "{}", err.message);
    assert!(err.message.contains(&sshd.host_key_fingerprint().expect("fp")), "{}", err.message);
    Session::connect(&sshd.config(pinned(&sshd))).await.expect("matching pin connects");
}

#[tokio::test]
async fn trust_on_first_use_records_then_enforces() {
    let mut sshd = server();
    let first =
        Session::connect(&sshd.config(HostKeyPolicy::TrustOnFirstUse { recorded: None })).await.expect("first use");
    let recorded = first.first_use_fingerprint().map(str::to_string);
    assert_eq!(recorded, Some(sshd.host_key_fingerprint().expect("fp")));
    let policy = HostKeyPolicy::TrustOnFirstUse { recorded: recorded.clone() };
    let second = Session::connect(&sshd.config(policy.clone())).await.expect("second use");
    assert!(second.first_use_fingerprint().is_none());
    drop((first, second));

    sshd.restart_with_new_host_key().expect("restart");
    let err = Session::connect(&sshd.config(policy)).await.expect_err("changed key");
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("CHANGED"), "{}", err.message);
    assert!(err.message.contains(recorded.as_deref().unwrap_or("?")), "{}", err.message);
}

#[tokio::test]
async fn streaming_sends_lines_as_they_arrive() {
    let sshd = server();
    let session = Session::connect(&sshd.config(pinned(&sshd))).await.expect("connect");
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let run = session.exec_streaming("echo one; sleep 0.3; echo two >&2; sleep 0.3; printf three", tx);
    let watch = async {
        let mut seen = Vec::new();
        while let Some(line) = rx.recv().await {
            seen.push((line.stream, line.line, std::time::Instant::now()));
        }
        seen
    };
    let (out, seen) = tokio::join!(run, watch);
    assert_eq!(out.expect("exec").status, Some(0));
    // Keep only the script's lines: the remote login shell may add warnings of its own.
    let seen: Vec<_> = seen.into_iter().filter(|(_, l, _)| ["one", "two", "three"].contains(&l.as_str())).collect();
    let texts: Vec<(Stream, &str)> = seen.iter().map(|(s, l, _)| (*s, l.as_str())).collect();
    assert_eq!(texts, vec![(Stream::Stdout, "one"), (Stream::Stderr, "two"), (Stream::Stdout, "three")]);
    // Line by line: the first line arrived well before the last.
    assert!(seen[2].2.duration_since(seen[0].2) >= Duration::from_millis(400));
}

#[tokio::test]
async fn upload_tree_keeps_content_and_modes_and_download_reads_back() {
    use std::os::unix::fs::PermissionsExt;
    let sshd = server();
    let session = Session::connect(&sshd.config(pinned(&sshd))).await.expect("connect");
    let local = sshd.dir().join("tree");
    std::fs::create_dir_all(local.join("bin/nested")).expect("mkdir");
    std::fs::write(local.join("bin/run.sh"), "#!/bin/sh\necho run\n").expect("write");
    std::fs::set_permissions(local.join("bin/run.sh"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(local.join("bin/nested/secret.env"), "TOKEN=x\n").expect("write");
    std::fs::set_permissions(local.join("bin/nested/secret.env"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod");
    let remote = sshd.dir().join("remote/app").display().to_string();
    session.exec_checked(format!("mkdir -p {}", sshd.dir().join("remote").display())).await.expect("mkdir");

    session.upload_dir(&local, &remote).await.expect("upload");
    let out = session
        .exec_checked(format!(
            "cd {remote} && stat -c %a bin/run.sh bin/nested/secret.env && cat bin/run.sh && ./bin/run.sh"
        ))
        .await
        .expect("check");
    assert_eq!(out.stdout, "755\n600\n#!/bin/sh\necho run\nrun\n");
    assert_eq!(session.download(&format!("{remote}/bin/nested/secret.env")).await.expect("download"), b"TOKEN=x\n");

    let single = format!("{remote}/single.txt");
    session.upload_bytes(b"hello", &single, 0o640).await.expect("upload bytes");
    let out = session.exec_checked(format!("stat -c %a {single}; cat {single}")).await.expect("stat");
    assert_eq!(out.stdout, "640\nhello");
    let missing = session.download(&format!("{remote}/nope")).await.expect_err("missing");
    assert_eq!(missing.class, ErrorClass::NotFound, "{}", missing.message);
}

#[tokio::test]
async fn pool_shares_one_session_for_concurrent_commands_and_reconnects() {
    let sshd = server();
    let pool = Pool::new();
    let config = sshd.config(HostKeyPolicy::TrustOnFirstUse { recorded: None });
    let a = pool.get(&config).await.expect("first");
    let b = pool.get(&config).await.expect("second");
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let started = std::time::Instant::now();
    // One after the other they would take 4 s or more; together, 2 s plus the time to open two
    // channels and start two login shells, which reached 0.9 s beside a busy build.
    let (x, y) = tokio::join!(a.exec("sleep 2; echo x"), b.exec("sleep 2; echo y"));
    assert_eq!((x.expect("x").stdout, y.expect("y").stdout), ("x\n".to_string(), "y\n".to_string()));
    assert!(started.elapsed() < Duration::from_millis(3900), "commands ran one after the other");

    a.close().await;
    drop((a, b));
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let again = pool.get(&config).await.expect("reconnect");
        if again.exec("echo back").await.map(|o| o.stdout).ok().as_deref() == Some("back\n") {
            return;
        }
    }
    panic!("the pool never handed out a working session after the old one closed");
}

#[tokio::test]
async fn pipe_streams_one_commands_output_into_another_over_two_connections() {
    let sshd = server();
    let config = sshd.config(pinned(&sshd));
    let (a, b) =
        (Session::connect(&config).await.expect("connect a"), Session::connect(&config).await.expect("connect b"));
    // 24 MiB: far more than the SSH window and the channel queue, so flow control is exercised.
    let src = sshd.dir().join("pipe-src");
    let data: Vec<u8> = (0..24u32 * 1024 * 1024).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&src, &data).expect("write source");
    let dst = sshd.dir().join("pipe-dst");
    let out = a
        .pipe(
            Command::new("cat").arg(src.display().to_string()),
            &b,
            Command::shell(format!("cat > '{}'", dst.display())),
        )
        .await
        .expect("pipe");
    assert_eq!(out.bytes, data.len() as u64);
    assert!(out.source.success() && out.sink.success(), "{out:?}");
    assert!(std::fs::read(&dst).expect("read copy") == data, "the copy differs from the source");
}

#[tokio::test]
async fn pipe_reports_a_failed_sink_without_draining_the_source() {
    let sshd = server();
    let config = sshd.config(pinned(&sshd));
    let (a, b) =
        (Session::connect(&config).await.expect("connect a"), Session::connect(&config).await.expect("connect b"));
    let started = std::time::Instant::now();
    // An endless source: only closing it ends the pipe.
    let err = a.pipe("cat /dev/zero", &b, "echo sink broke >&2; exit 7").await.expect_err("must fail");
    assert!(started.elapsed() < Duration::from_secs(20), "the pipe kept draining the source");
    assert!(err.message.contains("exited with code 7") && err.message.contains("sink broke"), "{}", err.message);
    // A failed sink may leave its connection unusable (see pipe.rs): fresh ones, as callers do.
    // A sink that reads at full speed and then stops exits while data written to it is still in
    // flight: the moment when russh keeps unsendable data queued for the closed channel.
    for _ in 0..3 {
        let (a, b) =
            (Session::connect(&config).await.expect("connect a"), Session::connect(&config).await.expect("connect b"));
        let sink = "head -c 20000000 > /dev/null; echo sink stopped >&2; exit 7";
        let err = a.pipe("cat /dev/zero", &b, sink).await.expect_err("must fail");
        assert!(err.message.contains("exited with code 7") && err.message.contains("sink stopped"), "{}", err.message);
    }
    let (a, b) =
        (Session::connect(&config).await.expect("connect a"), Session::connect(&config).await.expect("connect b"));
    let err = a.pipe("echo source broke >&2; exit 5", &b, "cat > /dev/null").await.expect_err("must fail");
    assert!(err.message.contains("exited with code 5") && err.message.contains("source broke"), "{}", err.message);
    let same = a.pipe("true", &a, "true").await.expect_err("same connection refused");
    assert!(same.message.contains("two SSH connections"), "{}", same.message);
}

#[tokio::test]
async fn a_pipe_whose_sink_fails_does_not_wait_for_a_quiet_source() {
    let sshd = server();
    let config = sshd.config(pinned(&sshd));
    let connect = || async {
        (Session::connect(&config).await.expect("connect a"), Session::connect(&config).await.expect("connect b"))
    };
    // A source that writes nothing for ten minutes: the sink's failure is reported within the
    // source's grace (sshd refuses the SIGTERM for root sessions, as here), not when the source's
    // next packet would have arrived.
    let (a, b) = connect().await;
    let started = std::time::Instant::now();
    let err = a.pipe("sleep 600", &b, "echo sink broke >&2; exit 7").await.expect_err("must fail");
    assert!(started.elapsed() < Duration::from_secs(20), "waited {:?} for a quiet source", started.elapsed());
    assert!(err.message.contains("exited with code 7") && err.message.contains("sink broke"), "{}", err.message);
    // Whether or not it got the SIGTERM, a source that does not end is given up on after its
    // grace, and its connection, which still runs it, is ended.
    let (a, b) = connect().await;
    let started = std::time::Instant::now();
    let err = a.pipe("trap '' TERM; sleep 600", &b, "exit 7").await.expect_err("must fail");
    assert!(started.elapsed() < Duration::from_secs(30), "waited {:?} for a stubborn source", started.elapsed());
    assert!(err.message.contains("exited with code 7"), "{}", err.message);
    assert!(a.is_closed(), "the connection running the abandoned source must be ended");
    // A connection that was ended answers at once, with an error, instead of hanging.
    let after = a.exec("true").await.expect_err("an ended connection runs nothing");
    assert!(after.message.contains(&sshd.port().to_string()), "{}", after.message);
}

#[tokio::test]
async fn servers_on_distinct_loopback_addresses_share_a_port_and_the_address_picks_the_server() {
    let a = TestSshd::start_on(std::net::Ipv4Addr::new(127, 0, 0, 2), 0).unwrap_or_else(|e| panic!("{e}"));
    let b = TestSshd::start_on(std::net::Ipv4Addr::new(127, 0, 0, 3), a.port()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.port(), b.port());
    assert_ne!(a.host_key_fingerprint().unwrap(), b.host_key_fingerprint().unwrap());
    for sshd in [&a, &b] {
        let session = Session::connect(&sshd.config(pinned(sshd))).await.expect("connect");
        let out = session.exec("echo $SSH_CONNECTION").await.expect("exec");
        let server_addr = out.stdout.split_whitespace().nth(2).unwrap_or_default().to_string();
        assert_eq!(server_addr, sshd.addr().to_string(), "{out:?}");
    }
    // a's address with b's pinned key: the address alone decides which server answers.
    let err = Session::connect(&a.config(pinned(&b))).await.expect_err("a is not b");
    assert!(err.message.contains("127.0.0.2"), "{}", err.message);
    let refused = TestSshd::start_on(std::net::Ipv4Addr::new(192, 0, 2, 1), 0).err().unwrap_or_default();
    assert!(refused.contains("loopback"), "{refused}");
}
