//! `scaleway_instance_ip` (reserve, attach, move keeping the address, detach, adopt, import),
//! `scaleway_instance_volume` (the seed's update and delete rules) and the data sources.

use crate::common::{Env, ZONE, create, s, strings, with};
use crate::server::planned;
use serde_json::json;
use tarn_sdk::{AdoptRequest, DeleteRequest, Provider, ReadDataRequest, ReadRequest, UpdateRequest, Value};

const IP: &str = "scaleway_instance_ip";
const VOLUME: &str = "scaleway_instance_volume";

pub fn ip(server: Value) -> Value {
    Value::map([
        ("zone", Value::Unknown),
        ("project_id", Value::Unknown),
        ("type", Value::Unknown),
        ("server_id", server),
        ("reverse", Value::Null),
        ("tags", Value::Null),
        ("id", Value::Unknown),
        ("address", Value::Unknown),
    ])
}

#[tokio::test]
async fn a_flexible_ip_moves_between_servers_keeping_its_address() {
    let env = Env::start().await;
    let p = env.provider();
    let one = create(&p, "scaleway_instance_server", planned("dev-one", "DEV1-S", "ubuntu_jammy"), "s1").await;
    let two = create(&p, "scaleway_instance_server", planned("dev-two", "DEV1-S", "ubuntu_jammy"), "s2").await;
    let reserved = create(&p, IP, ip(Value::string(s(&one, "id"))), "ip1").await;
    let address = s(&reserved, "address");
    assert!(address.starts_with("51.158."), "{address}");
    assert_eq!(s(&reserved, "server_id"), s(&one, "id"));
    assert_eq!(env.server(&s(&one, "id")).await["public_ip"]["address"], json!(address), "the server shows it");

    let read = p.read(ReadRequest { type_name: IP.into(), state: reserved.clone() }).await.expect("read");
    assert_eq!(read.as_ref(), Some(&reserved), "no drift");

    let moved = p
        .update(UpdateRequest {
            type_name: IP.into(),
            prior: reserved.clone(),
            planned: with(
                &with(&reserved, "server_id", Value::string(s(&two, "id"))),
                "reverse",
                Value::string("dev.example.com"),
            ),
        })
        .await
        .expect("move");
    assert_eq!(s(&moved, "address"), address, "same address after the move");
    assert_eq!(s(&moved, "server_id"), s(&two, "id"));
    assert_eq!(s(&moved, "reverse"), "dev.example.com");
    assert_eq!(env.server(&s(&two, "id")).await["public_ip"]["address"], json!(address));
    assert_ne!(
        env.server(&s(&one, "id")).await["public_ip"]["address"],
        json!(address),
        "one fell back to its dynamic IP"
    );

    let detached = p
        .update(UpdateRequest {
            type_name: IP.into(),
            prior: moved.clone(),
            planned: with(&moved, "server_id", Value::Null),
        })
        .await
        .expect("detach");
    assert_eq!(detached.get("server_id"), Some(&Value::Null));

    let adopted = p
        .adopt(AdoptRequest { type_name: IP.into(), correlation: "ip1".into(), planned: ip(Value::Null) })
        .await
        .expect("adopt");
    assert_eq!(adopted.map(|a| s(&a, "id")), Some(s(&reserved, "id")));
    let imported = p.import(IP, &format!("{ZONE}/{}", s(&reserved, "id"))).await.expect("import").expect("found");
    assert_eq!(s(&imported, "address"), address);

    p.delete(DeleteRequest { type_name: IP.into(), state: detached.clone() }).await.expect("release");
    let gone = p.read(ReadRequest { type_name: IP.into(), state: detached.clone() }).await.expect("read");
    assert_eq!(gone, None);
    p.delete(DeleteRequest { type_name: IP.into(), state: detached }).await.expect("releasing again succeeds");
}

pub fn volume(kind: &str, gb: f64) -> Value {
    Value::map([
        ("name", Value::string("data")),
        ("zone", Value::Unknown),
        ("project_id", Value::Unknown),
        ("type", Value::string(kind)),
        ("size_in_gb", Value::number(gb)),
        ("tags", Value::Null),
        ("id", Value::Unknown),
        ("server_id", Value::Unknown),
    ])
}

#[tokio::test]
async fn volumes_follow_the_seed_rules_for_updates_and_deletes() {
    let env = Env::start().await;
    let p = env.provider();
    let local = create(&p, VOLUME, volume("l_ssd", 10.0), "v1").await;
    assert_eq!(local.get("size_in_gb"), Some(&Value::number(10.0)));
    let renamed = p
        .update(UpdateRequest {
            type_name: VOLUME.into(),
            prior: local.clone(),
            planned: with(&local, "name", Value::string("data-2")),
        })
        .await
        .expect("rename");
    assert_eq!(s(&renamed, "name"), "data-2");
    let err = p
        .update(UpdateRequest {
            type_name: VOLUME.into(),
            prior: renamed.clone(),
            planned: with(&renamed, "size_in_gb", Value::number(15.0)),
        })
        .await
        .expect_err("a local volume keeps its size");
    assert!(err.message.contains("only its name can change"), "{}", err.message);

    let block = create(&p, VOLUME, volume("b_ssd", 10.0), "v2").await;
    let grown = p
        .update(UpdateRequest {
            type_name: VOLUME.into(),
            prior: block.clone(),
            planned: with(&block, "size_in_gb", Value::number(25.0)),
        })
        .await
        .expect("a block volume grows");
    assert_eq!(grown.get("size_in_gb"), Some(&Value::number(25.0)));

    // Attached to a running server: the delete is refused with the server named.
    let mut server = planned("dev-data", "DEV1-M", "ubuntu_jammy");
    server = with(&server, "additional_volume_ids", strings(&[&s(&renamed, "id")]));
    let server = create(&p, "scaleway_instance_server", server, "s3").await;
    let attached =
        p.read(ReadRequest { type_name: VOLUME.into(), state: renamed.clone() }).await.expect("read").expect("there");
    assert_eq!(s(&attached, "server_id"), s(&server, "id"), "drift: now attached");
    let err =
        p.delete(DeleteRequest { type_name: VOLUME.into(), state: attached.clone() }).await.expect_err("attached");
    assert!(err.message.contains("dev-data") && err.message.contains("running"), "{}", err.message);

    p.delete(DeleteRequest { type_name: VOLUME.into(), state: grown.clone() }).await.expect("delete a free volume");
    assert_eq!(p.read(ReadRequest { type_name: VOLUME.into(), state: grown }).await.expect("read"), None);
    let adopted = p
        .adopt(AdoptRequest { type_name: VOLUME.into(), correlation: "v1".into(), planned: volume("l_ssd", 10.0) })
        .await
        .expect("adopt");
    assert_eq!(adopted.map(|a| s(&a, "id")), Some(s(&local, "id")));
}

#[tokio::test]
async fn data_sources_list_types_find_images_and_dev_servers() {
    let env = Env::start().await;
    let p = env.provider();
    let types = p
        .read_data(ReadDataRequest {
            type_name: "scaleway_instance_server_types".into(),
            config: Value::map([("zone", Value::Null)]),
        })
        .await
        .expect("types");
    let list = types.get("types").and_then(Value::as_list).expect("list");
    let dev1s = list.iter().find(|t| t.get("name").and_then(Value::as_str) == Some("DEV1-S")).expect("DEV1-S");
    assert_eq!(dev1s.get("volumes_max_size_in_gb"), Some(&Value::number(20.0)));
    assert_eq!(dev1s.get("volumes_min_size_in_gb"), Some(&Value::number(10.0)));

    let image = p
        .read_data(ReadDataRequest {
            type_name: "scaleway_instance_image".into(),
            config: Value::map([("name", Value::string("Debian Bookworm")), ("zone", Value::string("nl-ams-1"))]),
        })
        .await
        .expect("image");
    assert_eq!(image.get("root_volume_size_in_gb"), Some(&Value::number(10.0)));
    assert_eq!(s(&image, "arch"), "x86_64");
    let err = p
        .read_data(ReadDataRequest {
            type_name: "scaleway_instance_image".into(),
            config: Value::map([("name", Value::string("Windows 95"))]),
        })
        .await
        .expect_err("no such image");
    assert!(err.message.contains("no image named \"Windows 95\" in fr-par-1"), "{}", err.message);

    for name in ["dev-a", "prod-b", "dev-c"] {
        create(
            &p,
            "scaleway_instance_server",
            with(&planned(name, "DEV1-S", "ubuntu_jammy"), "state", Value::string("stopped")),
            name,
        )
        .await;
    }
    let found = p
        .read_data(ReadDataRequest {
            type_name: "scaleway_instance_servers".into(),
            config: Value::map([("name_prefix", Value::string("dev-"))]),
        })
        .await
        .expect("servers");
    let names: Vec<&str> = found
        .get("servers")
        .and_then(Value::as_list)
        .expect("list")
        .iter()
        .filter_map(|s| s.get("name").and_then(Value::as_str))
        .collect();
    assert_eq!(names, vec!["dev-a", "dev-c"]);
}

pub fn group(name: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("zone", Value::Unknown),
        ("project_id", Value::Unknown),
        ("description", Value::Null),
        ("inbound_default_policy", Value::string("drop")),
        ("outbound_default_policy", Value::Null),
        ("stateful", Value::Null),
        ("tags", Value::Null),
        ("id", Value::Unknown),
    ])
}

pub fn rule(group_id: &str, port: f64) -> Value {
    Value::map([
        ("security_group_id", Value::string(group_id)),
        ("zone", Value::Unknown),
        ("direction", Value::string("inbound")),
        ("action", Value::string("accept")),
        ("protocol", Value::string("TCP")),
        ("ip_range", Value::Null),
        ("port_from", Value::number(port)),
        ("port_to", Value::Null),
        ("id", Value::Unknown),
    ])
}

#[tokio::test]
async fn security_groups_and_rules_are_managed_adopted_and_refused_clearly() {
    let env = crate::common::Env::with(tarn_provider_scaleway::emulator::Settings {
        security_group_quota: 2,
        ..tarn_provider_scaleway::emulator::Settings::default()
    })
    .await;
    let p = env.provider();
    let sg = create(&p, "scaleway_instance_security_group", group("web"), "g1").await;
    assert_eq!(s(&sg, "inbound_default_policy"), "drop");
    assert_eq!(sg.get("stateful"), Some(&Value::Null), "stateful, the default, stays unset");
    let read = p.read(ReadRequest { type_name: "scaleway_instance_security_group".into(), state: sg.clone() }).await;
    assert_eq!(read.expect("read").as_ref(), Some(&sg), "no drift");
    let updated = p
        .update(UpdateRequest {
            type_name: "scaleway_instance_security_group".into(),
            prior: sg.clone(),
            planned: with(&sg, "outbound_default_policy", Value::string("drop")),
        })
        .await
        .expect("update");
    assert_eq!(s(&updated, "outbound_default_policy"), "drop");

    let ssh = create(&p, "scaleway_instance_security_group_rule", rule(&s(&sg, "id"), 22.0), "r1").await;
    assert_eq!(ssh.get("port_from"), Some(&Value::number(22.0)));
    assert_eq!(ssh.get("port_to"), Some(&Value::Null), "port_to defaults to port_from");
    let https = p
        .update(UpdateRequest {
            type_name: "scaleway_instance_security_group_rule".into(),
            prior: ssh.clone(),
            planned: with(&ssh, "port_from", Value::number(443.0)),
        })
        .await
        .expect("update rule");
    assert_eq!(https.get("port_from"), Some(&Value::number(443.0)));
    let adopted = p
        .adopt(AdoptRequest {
            type_name: "scaleway_instance_security_group_rule".into(),
            correlation: "r1".into(),
            planned: rule(&s(&sg, "id"), 443.0),
        })
        .await
        .expect("adopt by content");
    assert_eq!(adopted.map(|a| s(&a, "id")), Some(s(&https, "id")));
    let imported = p
        .import("scaleway_instance_security_group_rule", &format!("{ZONE}/{}/{}", s(&sg, "id"), s(&https, "id")))
        .await
        .expect("import")
        .expect("found");
    assert_eq!(s(&imported, "direction"), "inbound");

    // A server in the group: the group cannot go.
    let server = with(&planned("dev-sg", "DEV1-S", "ubuntu_jammy"), "security_group_id", Value::string(s(&sg, "id")));
    let server = create(&p, "scaleway_instance_server", server, "s4").await;
    assert_eq!(s(&server, "security_group_id"), s(&sg, "id"));
    let err = p
        .delete(DeleteRequest { type_name: "scaleway_instance_security_group".into(), state: updated.clone() })
        .await
        .expect_err("in use");
    assert!(err.message.contains("Group is in use") && err.message.contains("(conflict)"), "{}", err.message);
    assert_eq!(err.class, tarn_sdk::ErrorClass::Conflict);

    // The quota is 2 groups here: web and a second one; a third is refused, saying what to do.
    create(&p, "scaleway_instance_security_group", group("second"), "g2").await;
    let err = p
        .create(tarn_sdk::CreateRequest {
            type_name: "scaleway_instance_security_group".into(),
            planned: group("third"),
            correlation: "g3".into(),
        })
        .await
        .expect_err("past the quota");
    assert!(err.message.contains("(quotas_exceeded)") && err.message.contains("raise the quota"), "{}", err.message);

    p.delete(DeleteRequest { type_name: "scaleway_instance_security_group_rule".into(), state: https.clone() })
        .await
        .expect("delete rule");
    let gone = p.read(ReadRequest { type_name: "scaleway_instance_security_group_rule".into(), state: https }).await;
    assert_eq!(gone.expect("read"), None);
}
