//! A create that fails half-way reports what exists as partially created, so tarn records it
//! and its rollback removes it: no tree is left on a server that no state knows about.

use super::support::*;
use tarn_sdk::{CreateRequest, ErrorClass, Value};

#[tokio::test]
async fn a_failed_first_deployment_is_partially_created_and_removable() {
    let s = TestServer::start();
    let p = provider();
    let work = tempfile::tempdir().unwrap();
    let server = create(&p, "pond_server", s.server_config(&s.apache.reload_command())).await.unwrap();
    let source = build_dir(work.path(), "v1");
    let config = obj(&[
        ("project", Value::string("blog")),
        ("name", Value::string("staging")),
        ("servers", Value::List(vec![server.get("connection").cloned().unwrap()])),
        ("domain", Value::string("blog.test")),
        ("secret_prefix", Value::string("p")),
        ("config_templates", obj(&[("config/app.php", Value::string("<?php return ['greeting' => 'x'];\n"))])),
        ("post_deployment_scripts", strings(&["echo migrating; exit 7"])),
        ("build", Value::string("v1")),
        ("source", Value::string(source.display().to_string())),
    ]);
    let err = p
        .create(CreateRequest { type_name: "pond_environment".into(), planned: config, correlation: "c".into() })
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::PartiallyCreated, "{}", err.message);
    assert!(err.message.contains("post-deployment script 1") && err.message.contains("code 7"), "{}", err.message);
    let partial = err.partial.expect("the object that exists");
    assert_eq!(
        partial.get("build").and_then(Value::as_str),
        Some("deploying v1"),
        "the failed build reads as unfinished"
    );
    delete(&p, "pond_environment", &partial).await;
    let dir = s.env_dir("blog", "staging");
    let left: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(left, ["storage"]);
}
