//! `pagw_instance` through the provider contract: plan-time checks, drift, import, adopt, and
//! destroy with its guard on the project's resources.

use tarn_sdk::{AdoptRequest, Value};

use crate::support::*;

#[tokio::test]
async fn the_plan_refuses_a_project_name_that_is_not_one_dns_label() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.80", "127.0.100.80").await;
    for bad in ["a.b", "-x", "x_y", " x"] {
        let e = plan(&p, "pagw_instance", instance(bad, "pw")).await.unwrap_err();
        assert!(e.contains("project name"), "{bad}: {e}");
    }
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
}

#[tokio::test]
async fn the_plan_says_an_empty_password_locks_the_account() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.81", "127.0.100.81").await;
    let locked = plan(&p, "pagw_instance", instance("delta", "")).await.unwrap();
    assert_eq!(locked.get("account").and_then(Value::as_str), Some("locked"));
    let unset = plan(&p, "pagw_instance", obj(&[("project", Value::string("delta"))])).await.unwrap();
    assert_eq!(unset.get("account").and_then(Value::as_str), Some("locked"));
    let set = plan(&p, "pagw_instance", instance("delta", "pw")).await.unwrap();
    assert_eq!(set.get("account").and_then(Value::as_str), Some("password"));
    assert_eq!(set.get("vm_name").and_then(Value::as_str), Some("PAGW-delta"));
}

#[tokio::test]
async fn drift_shows_a_broken_toolbox_and_deleted_records() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.82", "127.0.100.82").await;
    let v = create(&p, "pagw_instance", instance("eps", "pw")).await.unwrap();
    assert_eq!(read(&p, "pagw_instance", &v).await.unwrap().get("toolbox"), v.get("toolbox"));
    g.sql("DELETE FROM guacamole_connection WHERE connection_name = 'PPTP VPN'");
    let now = read(&p, "pagw_instance", &v).await.unwrap();
    let tb = now.get("toolbox").and_then(Value::as_str).unwrap();
    assert!(tb.starts_with("incomplete") && tb.contains("PPTP VPN"), "{tb}");
    g.sql("DELETE FROM pagw_instances");
    assert!(read(&p, "pagw_instance", &v).await.is_none());
}

#[tokio::test]
async fn import_and_adopt_find_a_gateway_by_its_project_name() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.83", "127.0.100.84").await;
    let v = create(&p, "pagw_instance", instance("zeta", "pw")).await.unwrap();
    let imported = p.import("pagw_instance", "zeta").await.unwrap().unwrap();
    assert_eq!(imported.get("slot_id"), v.get("slot_id"));
    assert_eq!(imported.get("connection_group_id"), v.get("connection_group_id"));
    assert!(p.import("pagw_instance", "nope").await.unwrap().is_none());
    assert!(p.import("pagw_instance", "not.a.label").await.is_err());
    let adopted = p
        .adopt(AdoptRequest {
            type_name: "pagw_instance".into(),
            correlation: "c".into(),
            planned: instance("zeta", "pw"),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(adopted.get("address"), v.get("address"));
}

#[tokio::test]
async fn destroy_refuses_while_the_project_still_has_resources_and_then_clears_everything() {
    let g = giif().await;
    let p = configured(&g).await;
    load_slots(&p, "127.0.100.85", "127.0.100.85").await;
    let v = create(&p, "pagw_instance", instance("eta", "pw")).await.unwrap();
    let group = v.get("connection_group_id").and_then(Value::as_f64).unwrap() as i64;
    g.sql(&format!(
        "INSERT INTO guacamole_connection (connection_name, parent_id, protocol) \
         SELECT 'web01', connection_group_id, 'rdp' FROM guacamole_connection_group \
         WHERE parent_id = {group} AND connection_group_name = 'Resources'"
    ));
    let e = delete(&p, "pagw_instance", &v).await.unwrap_err();
    assert!(e.contains("move them to the default project"), "{e}");
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "1");
    g.sql("DELETE FROM guacamole_connection WHERE connection_name = 'web01'");
    delete(&p, "pagw_instance", &v).await.unwrap();
    assert_eq!(g.sql("SELECT COUNT(*) FROM pagw_instances").trim(), "0");
    assert_eq!(g.sql("SELECT COUNT(*) FROM guacamole_connection").trim(), "0");
    assert_eq!(g.sql("SELECT COUNT(*) FROM guacamole_connection_group").trim(), "1", "only the roof is left");
    // Deleting again is not an error.
    delete(&p, "pagw_instance", &v).await.unwrap();
}

#[tokio::test]
async fn a_bad_database_url_is_refused_without_showing_it() {
    let p = tarn_provider_pagw::provider();
    let e = p.configure(obj(&[("database_url", Value::string("postgres://u:s3cret@h/db"))])).await.unwrap_err();
    assert!(!e.message.contains("s3cret") && e.message.contains("mysql://"), "{}", e.message);
}
