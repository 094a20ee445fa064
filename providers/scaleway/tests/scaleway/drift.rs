//! Drift: changes made behind tarn's back through the emulator's HTTP API (as someone at the
//! console or another tool would) show in the provider's `read`, which `tarn drift` and refresh
//! call; and import of the resources the other modules do not import.

use crate::common::{Env, ZONE, create, s};
use crate::resources::{group, ip, rule, volume};
use crate::server::planned;
use serde_json::json;
use tarn_sdk::{Provider, ReadRequest, Value};

async fn read(env: &Env, type_name: &str, state: &Value) -> Value {
    env.provider()
        .read(ReadRequest { type_name: type_name.into(), state: state.clone() })
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{type_name} still exists"))
}

fn path(rest: &str) -> String {
    format!("instance/v1/zones/{ZONE}/{rest}")
}

#[tokio::test]
async fn a_server_powered_off_and_renamed_through_the_api_reads_as_drifted() {
    let env = Env::start().await;
    let p = env.provider();
    let server = create(&p, "scaleway_instance_server", planned("dev-drift", "DEV1-S", "ubuntu_jammy"), "s1").await;
    let id = s(&server, "id");
    assert_eq!(read(&env, "scaleway_instance_server", &server).await, server, "no drift yet");

    let c = env.client();
    c.patch(&path(&format!("servers/{id}")), &json!({"name": "dev-renamed", "tags": ["by-hand"]}))
        .await
        .expect("rename");
    c.post(&path(&format!("servers/{id}/action")), &json!({"action": "poweroff"})).await.expect("poweroff");
    for _ in 0..100 {
        if env.server(&id).await["state"] == "stopped" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let drifted = read(&env, "scaleway_instance_server", &server).await;
    assert_eq!(s(&drifted, "name"), "dev-renamed");
    assert_eq!(s(&drifted, "state"), "stopped", "the default (started) is no longer true, so it shows");
    assert_eq!(drifted.get("tags").and_then(Value::as_list).map(<[Value]>::len), Some(1), "{drifted}");
}

#[tokio::test]
async fn groups_rules_volumes_and_ips_changed_through_the_api_read_as_drifted() {
    let env = Env::start().await;
    let p = env.provider();
    let c = env.client();

    let sg = create(&p, "scaleway_instance_security_group", group("web"), "g1").await;
    let sg_id = s(&sg, "id");
    let ssh = create(&p, "scaleway_instance_security_group_rule", rule(&sg_id, 22.0), "r1").await;
    let rule_id = s(&ssh, "id");
    c.patch(&path(&format!("security_groups/{sg_id}")), &json!({"inbound_default_policy": "accept"}))
        .await
        .expect("open the group");
    c.patch(
        &path(&format!("security_groups/{sg_id}/rules/{rule_id}")),
        &json!({"dest_port_from": 2222, "dest_port_to": 2222}),
    )
    .await
    .expect("move the rule");
    let group_now = read(&env, "scaleway_instance_security_group", &sg).await;
    assert_eq!(s(&group_now, "inbound_default_policy"), "accept");
    let rule_now = read(&env, "scaleway_instance_security_group_rule", &ssh).await;
    assert_eq!(rule_now.get("port_from"), Some(&Value::number(2222.0)), "{rule_now}");

    let vol = create(&p, "scaleway_instance_volume", volume("b_ssd", 10.0), "v1").await;
    c.patch(&path(&format!("volumes/{}", s(&vol, "id"))), &json!({"name": "renamed", "size": 30_000_000_000u64}))
        .await
        .expect("rename and grow");
    let vol_now = read(&env, "scaleway_instance_volume", &vol).await;
    assert_eq!(s(&vol_now, "name"), "renamed");
    assert_eq!(vol_now.get("size_in_gb"), Some(&Value::number(30.0)));

    let flexible = create(&p, "scaleway_instance_ip", ip(Value::Null), "ip1").await;
    c.patch(&path(&format!("ips/{}", s(&flexible, "id"))), &json!({"reverse": "by-hand.example.com"}))
        .await
        .expect("set reverse");
    assert_eq!(s(&read(&env, "scaleway_instance_ip", &flexible).await, "reverse"), "by-hand.example.com");

    // Deleted by hand: read says gone, so the engine plans a create.
    c.delete(&path(&format!("security_groups/{sg_id}/rules/{rule_id}"))).await.expect("delete the rule");
    let gone = p
        .read(ReadRequest { type_name: "scaleway_instance_security_group_rule".into(), state: ssh })
        .await
        .expect("read");
    assert_eq!(gone, None);
}

#[tokio::test]
async fn volumes_and_security_groups_import_by_zone_and_id() {
    let env = Env::start().await;
    let p = env.provider();
    let vol = create(&p, "scaleway_instance_volume", volume("l_ssd", 20.0), "v1").await;
    let imported = p
        .import("scaleway_instance_volume", &format!("{ZONE}/{}", s(&vol, "id")))
        .await
        .expect("import")
        .expect("found");
    assert_eq!(imported, vol, "an import reads what a create recorded");
    let sg = create(&p, "scaleway_instance_security_group", group("imported"), "g1").await;
    let imported = p.import("scaleway_instance_security_group", &s(&sg, "id")).await.expect("import").expect("found");
    assert_eq!(s(&imported, "name"), "imported");
    assert_eq!(s(&imported, "inbound_default_policy"), "drop");
    assert_eq!(s(&imported, "zone"), ZONE);

    let missing = "6a0c2ca8-917a-418a-90a3-000000000000";
    for type_name in [
        "scaleway_instance_server",
        "scaleway_instance_ip",
        "scaleway_instance_volume",
        "scaleway_instance_image",
        "scaleway_instance_security_group",
    ] {
        let found = p.import(type_name, &format!("{ZONE}/{missing}")).await.expect("import");
        assert_eq!(found, None, "{type_name}: nothing to import");
    }
    let err = p.import("scaleway_instance_volume", "mars-1/6a0c2ca8-917a-418a-90a3-05949b55a7ae").await;
    assert!(err.expect_err("bad zone").message.contains("not a Scaleway Instance zone"));
}
