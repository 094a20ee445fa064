//! Validation first (seed step 1): a VSN that fails any check is refused with one error listing
//! every failed check, and nothing on it changes.

use super::support::*;
use tarn_sdk::Value;

#[tokio::test]
async fn a_missing_engine_and_missing_commands_are_listed_together() {
    let vsn = vsn();
    let mut config = vsn.provider_config().unwrap();
    if let Value::Map(m) = &mut config {
        m.insert("engine".into(), Value::string("podman-that-does-not-exist"));
        m.insert("required_commands".into(), strings(&["tarn-no-such-tool", "bash"]));
    }
    let before = vsn.containers();
    let err = tarn_provider_vsn::provider().configure(config).await.unwrap_err();
    assert!(err.message.contains("failed validation; nothing was changed"), "{}", err.message);
    assert!(err.message.contains("`podman-that-does-not-exist` is not installed"), "{}", err.message);
    assert!(err.message.contains("`tarn-no-such-tool` is not installed"), "{}", err.message);
    assert!(!err.message.contains("`bash` is not installed"), "{}", err.message);
    assert_eq!(vsn.containers(), before);
    assert!(!vsn.data_root.exists(), "validation must not create the data root");
}

#[tokio::test]
async fn a_user_without_root_or_sudo_is_refused() {
    let vsn = vsn();
    // A user with a shell and no sudo rights; the test sshd authorises the client key for every user.
    let user = "tarn-test-nosudo";
    let exists = std::process::Command::new("id").arg(user).output().unwrap().status.success();
    if !exists {
        let out = std::process::Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", user])
            .output()
            .unwrap();
        assert!(out.status.success(), "useradd (the tests run as root): {}", String::from_utf8_lossy(&out.stderr));
    }
    // A locked account ('!' password) may not log in even by key; '*' is "no password", unlocked.
    let out = std::process::Command::new("usermod").args(["-p", "*", user]).output().unwrap();
    assert!(out.status.success(), "usermod: {}", String::from_utf8_lossy(&out.stderr));
    let mut config = vsn.provider_config().unwrap();
    if let Value::Map(m) = &mut config {
        m.insert("user".into(), Value::string(user));
    }
    let err = tarn_provider_vsn::provider().configure(config).await.unwrap_err();
    assert!(err.message.contains(&format!("the user `{user}` is not root and cannot use sudo")), "{}", err.message);
}

#[tokio::test]
async fn a_good_vsn_validates() {
    let vsn = vsn();
    configured(&vsn).await;
}

#[tokio::test]
async fn a_bad_provider_block_lists_every_problem_without_connecting() {
    let err = tarn_provider_vsn::provider()
        .configure(obj(&[("host", Value::string("")), ("engine_kind", Value::string("lxc"))]))
        .await
        .unwrap_err();
    for needle in ["\"host\" is required", "private_key", "host key", "\"engine_kind\""] {
        assert!(err.message.contains(needle), "{needle}: {}", err.message);
    }
}
