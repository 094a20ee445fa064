//! `pond_server` on a real sshd: the install step runs only for what the check finds missing,
//! trust on first use records the host key and enforces it afterwards, post-provision scripts
//! run with the environment variables, and bad input is listed before anything runs.

use super::support::*;
use tarn_sdk::Value;
use tarn_sdk::ssh::testing::TestSshd;

#[tokio::test]
async fn packages_are_installed_only_when_missing_and_scripts_see_the_environment() {
    let sshd = TestSshd::start().unwrap();
    let p = provider();
    let dir = sshd.dir().display().to_string();
    let (user, group) = web_user();
    let config = obj(&[
        ("host", Value::string("127.0.0.1")),
        ("port", Value::number(f64::from(sshd.port()))),
        ("user", Value::string(sshd.user())),
        ("private_key_file", Value::string(sshd.client_key_path().display().to_string())),
        ("trust_on_first_use", Value::Bool(true)),
        ("root", Value::string(format!("{dir}/pond"))),
        ("packages", strings(&["web-stack", "php-stack"])),
        ("database", Value::string("db-server")),
        // A package manager of the test's own: a package is a file in `pkgs/`.
        ("package_check_command", Value::string(format!("test -e {dir}/pkgs/{{{{package}}}}"))),
        (
            "package_install_command",
            Value::string(format!(
                "mkdir -p {dir}/pkgs && cd {dir}/pkgs && touch {{{{packages}}}} && echo {{{{packages}}}} >> {dir}/installs"
            )),
        ),
        ("web_user", Value::string(user)),
        ("web_group", Value::string(group)),
        ("vhost_dir", Value::string(format!("{dir}/sites"))),
        ("reload_command", Value::string("true")),
        ("environment_variables", obj(&[("APP_KEY", Value::string("it's secret"))])),
        ("post_provision_scripts", strings(&["echo \"$APP_KEY\" >> provisioned.txt"])),
    ]);
    std::fs::create_dir_all(format!("{dir}/pkgs")).unwrap();
    std::fs::write(format!("{dir}/pkgs/php-stack"), "").unwrap();
    let server = create(&p, "pond_server", config.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/installs")).unwrap(),
        "web-stack db-server\n",
        "only the missing ones"
    );
    assert_eq!(std::fs::read_to_string(format!("{dir}/pond/provisioned.txt")).unwrap(), "it's secret\n");
    let env_file = format!("{dir}/pond/environment");
    assert_eq!(sh(&format!("stat -c %a {env_file}")), "600");
    let fp = server.get("host_key").and_then(Value::as_str).unwrap().to_string();
    assert_eq!(fp, sshd.host_key_fingerprint().unwrap(), "the key seen on first use is recorded");

    // Again: everything present, nothing installed, the unchanged scripts not run again.
    let again = update(&p, "pond_server", &server, with(&config, "host_key", Value::string(fp.clone()))).await.unwrap();
    assert_eq!(std::fs::read_to_string(format!("{dir}/installs")).unwrap(), "web-stack db-server\n");
    assert_eq!(std::fs::read_to_string(format!("{dir}/pond/provisioned.txt")).unwrap().lines().count(), 1);
    assert_eq!(
        again.get("connection").and_then(|c| c.get("host_key_fingerprint")).and_then(Value::as_str),
        Some(fp.as_str())
    );

    // Settings changed by hand on the server read back as drift.
    let json = std::fs::read_to_string(format!("{dir}/pond/server.json")).unwrap().replace("\"true\"", "\"false\"");
    std::fs::write(format!("{dir}/pond/server.json"), json).unwrap();
    let drifted = read(&p, "pond_server", &again).await.unwrap();
    assert_eq!(drifted.get("reload_command").and_then(Value::as_str), Some("false"));

    // Another key on the same address: refused, the recorded one is enforced.
    let mut sshd = sshd;
    sshd.restart_with_new_host_key().unwrap();
    let fresh = provider();
    let err =
        fresh.read(tarn_sdk::ReadRequest { type_name: "pond_server".into(), state: again.clone() }).await.unwrap_err();
    assert!(err.message.contains("CHANGED"), "{}", err.message);
}

#[tokio::test]
async fn bad_input_is_listed_at_once_and_nothing_runs() {
    let p = provider();
    let err = create(&p, "pond_server", obj(&[("port", Value::number(99999.0)), ("root", Value::string("relative"))]))
        .await
        .unwrap_err();
    for needle in ["\"host\"", "\"port\"", "private_key_file", "host key", "\"root\""] {
        assert!(err.contains(needle), "{needle} missing in {err}");
    }
    let err = create(&p, "pond_environment", obj(&[("project", Value::string("a b")), ("live", Value::string("red"))]))
        .await
        .unwrap_err();
    for needle in [
        "\"project\"",
        "\"servers\"",
        "\"domain\"",
        "\"secret_prefix\"",
        "\"build\"",
        "\"source\"",
        "\"live\"",
        "nothing was changed",
    ] {
        assert!(err.contains(needle), "{needle} missing in {err}");
    }
}
