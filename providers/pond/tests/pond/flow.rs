//! The seed's whole flow against real components: two servers (a real sshd each, with its own
//! Pond root) each with a real Apache + PHP on 127.0.0.1. Provision, deploy v1 (blue live, served
//! over HTTP), deploy v2 to green (live still v1, the green URL v2), a switch that fails on the
//! second server (blue restored on both), the switch (live v2), drift after a hand-made switch,
//! the status data source, unbinding a server, destroy.

use super::support::*;
use tarn_sdk::Value;

const PROJECT: &str = "shop";
const ENV: &str = "production";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_deploy_test_green_switch_all_or_none_drift_status_unbind_destroy() {
    let a = TestServer::start();
    let b = TestServer::start();
    let p = provider();
    let work = tempfile::tempdir().unwrap();

    // Provision. Server B's reload fails while a flag file exists: the failed switch below.
    let flag = work.path().join("break-b-reload");
    let server_a = create(&p, "pond_server", a.server_config(&a.apache.reload_command())).await.unwrap();
    let b_reload = format!("test ! -e {} && {}", flag.display(), b.apache.reload_command());
    let server_b = create(&p, "pond_server", b.server_config(&b_reload)).await.unwrap();
    assert!(a.root().join("server.json").is_file());
    assert!(a.root().join("projects").is_dir());
    assert_eq!(
        read(&p, "pond_server", &server_a).await.as_ref(),
        Some(&server_a),
        "provisioning reads back as written"
    );
    let conn_a = server_a.get("connection").cloned().unwrap();
    let conn_b = server_b.get("connection").cloned().unwrap();
    assert_eq!(
        conn_a.get("host_key_fingerprint").and_then(Value::as_str),
        Some(a.sshd.host_key_fingerprint().unwrap().as_str())
    );

    // Deploy v1: both colours filled, blue live.
    let v1 = build_dir(work.path(), "v1");
    let v2 = build_dir(work.path(), "v2");
    let uploads = work.path().join("uploads");
    std::fs::create_dir_all(uploads.join("app/media")).unwrap();
    std::fs::write(uploads.join("app/media/logo.txt"), "logo").unwrap();
    let dump = work.path().join("shop.sql");
    std::fs::write(&dump, "CREATE TABLE orders (id int);\n").unwrap();
    let config = obj(&[
        ("project", Value::string(PROJECT)),
        ("name", Value::string(ENV)),
        ("type", Value::string("load_balanced")),
        ("servers", Value::List(vec![conn_a.clone(), conn_b.clone()])),
        ("domain", Value::string("shop.test")),
        ("secret_prefix", Value::string("s3cret")),
        (
            "config_templates",
            obj(&[(
                "config/app.php",
                Value::string("<?php return ['greeting' => '{{greeting}} from {{environment}}'];\n"),
            )]),
        ),
        ("config_variables", obj(&[("greeting", Value::string("hello"))])),
        ("post_deployment_scripts", strings(&["echo \"$POND_BUILD $POND_COLOUR\" > deployed.txt"])),
        ("build", Value::string("v1")),
        ("source", Value::string(v1.display().to_string())),
        ("initial_storage", Value::string(uploads.display().to_string())),
        (
            "initial_database",
            obj(&[
                ("file", Value::string(dump.display().to_string())),
                ("command", Value::string("cat > \"$POND_DIR/metadata/imported.sql\"")),
            ]),
        ),
        ("live", Value::Unknown),
        ("live_build", Value::Unknown),
    ]);
    let env = create(&p, "pond_environment", config.clone()).await.unwrap_or_else(|e| panic!("deploy v1: {e}"));
    let dir_a = a.env_dir(PROJECT, ENV);
    let mut entries: Vec<String> =
        std::fs::read_dir(&dir_a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    entries.sort();
    assert_eq!(entries, ["blue", "config", "current", "green", "metadata", "storage"], "the seed's layout, exactly");
    for c in ["blue", "green"] {
        assert_eq!(readlink(&dir_a.join(c).join("storage")), "../storage");
        assert!(!dir_a.join(c).join("node_modules").exists(), ".pondignore is honoured");
        assert!(!dir_a.join(c).join("debug.log").exists(), ".pondignore is honoured");
        assert_eq!(std::fs::read_to_string(dir_a.join(c).join("deployed.txt")).unwrap().trim(), format!("v1 {c}"));
    }
    assert!(dir_a.join("storage/framework/sessions").is_dir());
    // The first deployment's uploads: attachments on every server, the database once.
    for s in [&a, &b] {
        let logo = s.env_dir(PROJECT, ENV).join("green/storage/app/media/logo.txt");
        assert_eq!(std::fs::read_to_string(logo).unwrap(), "logo");
    }
    assert_eq!(
        std::fs::read_to_string(dir_a.join("metadata/imported.sql")).unwrap(),
        "CREATE TABLE orders (id int);\n"
    );
    assert!(!b.env_dir(PROJECT, ENV).join("metadata/imported.sql").exists(), "the database is imported once");
    assert!(!dir_a.join("metadata/initial-database.dump").exists(), "the uploaded dump is removed");
    assert!(dir_a.join("metadata/log").is_file());
    assert_eq!(readlink(&dir_a.join("current")), "blue");
    assert_eq!(env.get("live").and_then(Value::as_str), Some("blue"));
    assert_eq!(env.get("live_build").and_then(Value::as_str), Some("v1"));
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v1 hello from production blue");
        assert_eq!(s.apache.get("s3cret-green.shop.test"), "build v1 hello from production green");
    }

    // Deploy v2: it goes to green, the inactive colour; the live site still answers v1.
    let v2_config =
        with(&with(&config, "build", Value::string("v2")), "source", Value::string(v2.display().to_string()));
    let planned = carry(&v2_config, &env);
    let env = update(&p, "pond_environment", &env, planned).await.unwrap_or_else(|e| panic!("deploy v2: {e}"));
    assert_eq!(env.get("live").and_then(Value::as_str), Some("blue"));
    assert_eq!(env.get("builds"), Some(&obj(&[("blue", Value::string("v1")), ("green", Value::string("v2"))])));
    for s in [&a, &b] {
        assert_eq!(s.apache.get("shop.test"), "build v1 hello from production blue", "a deployment never switches");
        assert_eq!(s.apache.get("s3cret-green.shop.test"), "build v2 hello from production green");
        assert_eq!(s.apache.get("s3cret-blue.shop.test"), "build v1 hello from production blue");
    }

    // live_build names what must go live: a colour holding something else is refused.
    let wrong =
        with(&with(&carry(&v2_config, &env), "live", Value::string("green")), "live_build", Value::string("v9"));
    let err = update(&p, "pond_environment", &env, wrong).await.unwrap_err();
    assert!(err.contains("live_build is \"v9\"") && err.contains("nothing was switched"), "{err}");
    assert_eq!(readlink(&dir_a.join("current")), "blue");

    // A switch that fails on the second server: both stay (or are put back) on blue.
    std::fs::write(&flag, "").unwrap();
    let switch =
        with(&with(&carry(&v2_config, &env), "live", Value::string("green")), "live_build", Value::string("v2"));
    let err = update(&p, "pond_environment", &env, switch.clone()).await.unwrap_err();
    assert!(err.contains(&format!("failed on {}", b.endpoint())), "{err}");
    assert!(err.contains("No server was left switched") && err.contains(&a.endpoint()), "{err}");
    for s in [&a, &b] {
        assert_eq!(readlink(&s.env_dir(PROJECT, ENV).join("current")), "blue", "{}", s.endpoint());
        assert_eq!(s.apache.get("shop.test"), "build v1 hello from production blue");
    }
    let log_a = std::fs::read_to_string(dir_a.join("metadata/log")).unwrap();
    assert!(log_a.contains("switched back: live is now blue"), "{log_a}");
    assert_eq!(read(&p, "pond_environment", &env).await.unwrap().get("live").and_then(Value::as_str), Some("blue"));

    // The switch: live answers v2 on both servers.
    std::fs::remove_file(&flag).unwrap();
    let env = update(&p, "pond_environment", &env, switch.clone()).await.unwrap_or_else(|e| panic!("switch: {e}"));
    assert_eq!(env.get("live").and_then(Value::as_str), Some("green"));
    assert_eq!(env.get("live_build").and_then(Value::as_str), Some("v2"));
    for s in [&a, &b] {
        assert_eq!(readlink(&s.env_dir(PROJECT, ENV).join("current")), "green");
        assert_eq!(s.apache.get("shop.test"), "build v2 hello from production green");
    }
    assert_eq!(read(&p, "pond_environment", &env).await.as_ref(), Some(&env), "no drift after apply");

    // Drift: a hand-made switch on server A, and a build tag changed by hand on B.
    sh(&format!("cd {} && ln -s blue x && mv -T x current", dir_a.display()));
    let drifted = read(&p, "pond_environment", &env).await.unwrap();
    let live = drifted.get("live").and_then(Value::as_str).unwrap().to_string();
    assert_eq!(live, format!("mixed ({} blue, {} green)", a.endpoint(), b.endpoint()));
    let dir_b = b.env_dir(PROJECT, ENV);
    std::fs::write(dir_b.join("metadata/build-blue"), "v1-hotfix\n").unwrap();
    let drifted = read(&p, "pond_environment", &drifted).await.unwrap();
    let blue = drifted.get("builds").and_then(|b| b.get("blue")).and_then(Value::as_str).unwrap().to_string();
    assert_eq!(blue, format!("mixed ({} v1, {} v1-hotfix)", a.endpoint(), b.endpoint()));
    std::fs::write(dir_b.join("metadata/build-blue"), "v1\n").unwrap();
    // Applying the configuration again puts A back on green.
    let env =
        update(&p, "pond_environment", &drifted, carry(&switch, &drifted)).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(env.get("live").and_then(Value::as_str), Some("green"));
    assert_eq!(a.apache.get("shop.test"), "build v2 hello from production green");

    // Status: per server, running, live colour, builds, last deployment, the log's tail.
    let status = p
        .read_data(tarn_sdk::ReadDataRequest {
            type_name: "pond_environment_status".into(),
            config: obj(&[
                ("project", Value::string(PROJECT)),
                ("name", Value::string(ENV)),
                ("servers", Value::List(vec![conn_a.clone(), conn_b.clone()])),
                ("log_lines", Value::number(5.0)),
            ]),
        })
        .await
        .unwrap();
    let rows = status.get("status").and_then(Value::as_list).unwrap();
    assert_eq!(rows.len(), 2);
    for (row, s) in rows.iter().zip([&a, &b]) {
        assert_eq!(row.get("server").and_then(Value::as_str), Some(s.endpoint().as_str()));
        assert_eq!(row.get("running"), Some(&Value::Bool(true)));
        assert_eq!(row.get("live").and_then(Value::as_str), Some("green"));
        assert_eq!(row.get("blue_build").and_then(Value::as_str), Some("v1"));
        assert_eq!(row.get("green_build").and_then(Value::as_str), Some("v2"));
        assert!(row.get("last_deployment").and_then(Value::as_str).is_some_and(|t| t.ends_with('Z')));
        let tail = row.get("log_tail").and_then(Value::as_list).unwrap();
        assert!(!tail.is_empty() && tail.len() <= 5, "{tail:?}");
    }

    // Unbinding B: the environment forgets it; B is left exactly as it is.
    let before_b = sh(&format!("cd {} && find . | sort | xargs ls -ld --time-style=+%s | md5sum", dir_b.display()));
    let only_a = with(&switch, "servers", Value::List(vec![conn_a.clone()]));
    let env =
        update(&p, "pond_environment", &env, carry(&only_a, &env)).await.unwrap_or_else(|e| panic!("unbind: {e}"));
    assert_eq!(env.get("servers").and_then(Value::as_list).map(<[Value]>::len), Some(1));
    let after_b = sh(&format!("cd {} && find . | sort | xargs ls -ld --time-style=+%s | md5sum", dir_b.display()));
    assert_eq!(before_b, after_b, "an unbound server is not touched");
    assert_eq!(b.apache.get("shop.test"), "build v2 hello from production green");

    // Starting over on another server: C gets a first deployment (both colours) and joins the
    // live colour, without a switch anywhere else.
    let c = TestServer::start();
    let server_c = create(&p, "pond_server", c.server_config(&c.apache.reload_command())).await.unwrap();
    let conn_c = server_c.get("connection").cloned().unwrap();
    let a_and_c = with(&switch, "servers", Value::List(vec![conn_a.clone(), conn_c]));
    let env =
        update(&p, "pond_environment", &env, carry(&a_and_c, &env)).await.unwrap_or_else(|e| panic!("bind C: {e}"));
    assert_eq!(env.get("live").and_then(Value::as_str), Some("green"));
    // A's blue still holds v1, C's both colours v2: the inactive colour's build differs per server.
    let blue = env.get("builds").and_then(|b| b.get("blue")).and_then(Value::as_str).unwrap().to_string();
    assert_eq!(blue, format!("mixed ({} v1, {} v2)", a.endpoint(), c.endpoint()));
    assert_eq!(c.apache.get("shop.test"), "build v2 hello from production green");
    assert_eq!(
        c.apache.get("s3cret-blue.shop.test"),
        "build v2 hello from production blue",
        "a first deployment fills both colours"
    );
    assert_eq!(a.apache.get("shop.test"), "build v2 hello from production green");
    let env =
        update(&p, "pond_environment", &env, carry(&only_a, &env)).await.unwrap_or_else(|e| panic!("unbind C: {e}"));

    // Destroy: A's environment is gone but its shared storage; the servers' settings go.
    std::fs::write(dir_a.join("storage/app/upload.jpg"), "user data").unwrap();
    delete(&p, "pond_environment", &env).await;
    let left: Vec<String> =
        std::fs::read_dir(&dir_a).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["storage"], "storage survives unless delete_storage_on_destroy");
    assert!(dir_a.join("storage/app/upload.jpg").is_file());
    assert!(!std::path::Path::new(&a.apache.vhost_dir()).join("pond-shop-production.conf").exists());
    assert!(!a.apache.get("shop.test").contains("build"), "the live site is no longer served");
    assert_eq!(read(&p, "pond_environment", &env).await, None);
    delete(&p, "pond_server", &server_a).await;
    assert_eq!(read(&p, "pond_server", &server_a).await, None);
    assert!(dir_b.join("current").exists(), "B was unbound before the destroy and keeps its site");
}

/// What the planner proposes for an update: the configuration, and the prior computed values
/// where the configuration leaves them unset.
fn carry(config: &Value, prior: &Value) -> Value {
    let mut m = config.as_map().cloned().unwrap_or_default();
    for k in ["type", "live", "live_build", "id", "builds", "last_deployment"] {
        let unset = m.get(k).is_none_or(|v| v.is_null() || v.is_unknown());
        if unset && let Some(v) = prior.get(k) {
            m.insert(k.to_string(), v.clone());
        }
    }
    Value::Map(m)
}
