//! `scaleway_instance_server` through the `Provider` trait, as the engine calls it, against the
//! emulator: the seed's rules (volume limits at plan time, stop-change-start, power off before
//! delete, volumes kept or deleted), drift, import and adoption.

use crate::common::{Env, ZONE, create, s, strings, with};
use serde_json::json;
use tarn_sdk::{AdoptRequest, DeleteRequest, ErrorClass, PlanRequest, Provider, ReadRequest, UpdateRequest, Value};

const SERVER: &str = "scaleway_instance_server";

/// A planned server as the engine hands it over: unset optionals null, computed ones unknown.
pub fn planned(name: &str, commercial_type: &str, image: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("zone", Value::Unknown),
        ("project_id", Value::Unknown),
        ("type", Value::string(commercial_type)),
        ("image", Value::string(image)),
        ("image_id", Value::Unknown),
        ("root_volume_id", Value::Unknown),
        ("root_volume_size_in_gb", Value::Unknown),
        ("root_volume_type", Value::Unknown),
        ("additional_volume_ids", Value::Null),
        ("enable_dynamic_ip", Value::Null),
        ("enable_ipv6", Value::Null),
        ("public_ip_ids", Value::Null),
        ("security_group_id", Value::Unknown),
        ("tags", Value::Null),
        ("user_data", Value::Null),
        ("boot_type", Value::Null),
        ("state", Value::Null),
        ("delete_volumes_on_destroy", Value::Null),
        ("id", Value::Unknown),
        ("public_ip", Value::Unknown),
        ("ipv6_address", Value::Unknown),
        ("private_ip", Value::Unknown),
        ("creation_date", Value::Unknown),
    ])
}

async fn read(env: &Env, state: &Value) -> Option<Value> {
    env.provider().read(ReadRequest { type_name: SERVER.into(), state: state.clone() }).await.expect("read")
}

async fn update(env: &Env, prior: &Value, planned: Value) -> Result<Value, tarn_sdk::ProviderError> {
    env.provider().update(UpdateRequest { type_name: SERVER.into(), prior: prior.clone(), planned }).await
}

#[tokio::test]
async fn a_server_from_a_label_is_created_started_read_changed_and_deleted_with_its_volume() {
    let env = Env::start().await;
    let p = env.provider();
    let mut want = planned("dev-web", "DEV1-S", "ubuntu_jammy");
    want = with(&want, "tags", strings(&["meveo"]));
    want = with(&want, "user_data", Value::map([("cloud-init", Value::string("#cloud-config\n"))]));
    want = with(&want, "delete_volumes_on_destroy", Value::Bool(true));
    let created = create(&p, SERVER, want.clone(), "tarn-r1-0").await;
    assert_eq!(s(&created, "image"), "ubuntu_jammy", "the label is kept as configured");
    assert_eq!(s(&created, "zone"), ZONE);
    assert_eq!(created.get("state"), Some(&Value::Null), "started, the default, stays unset");
    assert_eq!(created.get("tags"), Some(&strings(&["meveo"])), "the correlation tag never shows");
    assert_eq!(
        created.get("root_volume_size_in_gb"),
        Some(&Value::number(10.0)),
        "the image's size within DEV1-S's 10..20 GB"
    );
    assert!(created.get("public_ip").and_then(Value::as_str).is_some_and(|a| a.starts_with("51.15.")), "{created}");
    let id = s(&created, "id");
    let api_view = env.server(&id).await;
    assert_eq!(api_view["state"], "running", "powered on through the poweron action");
    assert!(api_view["tags"].as_array().expect("tags").contains(&json!("tarn-correlation:tarn-r1-0")));

    assert_eq!(read(&env, &created).await.as_ref(), Some(&created), "no drift right after create");

    // Renamed, re-tagged, user data changed, and stopped: one update.
    let mut next = with(&created, "name", Value::string("dev-web-2"));
    next = with(&next, "tags", strings(&["meveo", "web"]));
    next = with(&next, "user_data", Value::map([("motd", Value::string("hello"))]));
    next = with(&next, "state", Value::string("stopped"));
    let updated = update(&env, &created, next).await.expect("update");
    assert_eq!(s(&updated, "name"), "dev-web-2");
    assert_eq!(s(&updated, "state"), "stopped");
    assert_eq!(updated.get("user_data"), Some(&Value::map([("motd", Value::string("hello"))])), "cloud-init removed");
    assert_eq!(env.server(&id).await["state"], "stopped");
    assert!(
        env.server(&id).await["tags"].as_array().expect("tags").contains(&json!("tarn-correlation:tarn-r1-0")),
        "kept by updates"
    );

    // Someone renames it behind tarn's back: read reports it.
    env.client()
        .patch(&format!("instance/v1/zones/{ZONE}/servers/{id}"), &json!({"name": "renamed-by-hand"}))
        .await
        .expect("change outside tarn");
    let drifted = read(&env, &updated).await.expect("still there");
    assert_eq!(s(&drifted, "name"), "renamed-by-hand");

    let root = s(&updated, "root_volume_id");
    p.delete(DeleteRequest { type_name: SERVER.into(), state: updated.clone() }).await.expect("delete");
    assert_eq!(read(&env, &updated).await, None, "a deleted server reads as gone");
    let err = env.client().get(&format!("instance/v1/zones/{ZONE}/volumes/{root}")).await.expect_err("root deleted");
    assert_eq!(err.class, ErrorClass::NotFound);
    p.delete(DeleteRequest { type_name: SERVER.into(), state: updated }).await.expect("deleting again succeeds");
}

#[tokio::test]
async fn delete_powers_off_first_and_keeps_the_volumes_by_default() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, SERVER, planned("dev-keep", "DEV1-M", "debian_bookworm"), "c1").await;
    assert_eq!(env.server(&s(&created, "id")).await["state"], "running");
    let root = s(&created, "root_volume_id");
    p.delete(DeleteRequest { type_name: SERVER.into(), state: created }).await.expect("delete a running server");
    let volume = env.client().get(&format!("instance/v1/zones/{ZONE}/volumes/{root}")).await.expect("root kept");
    assert_eq!(volume["volume"]["server"], serde_json::Value::Null, "kept, detached");
}

#[tokio::test]
async fn the_total_local_size_is_checked_at_plan_time_against_products_servers() {
    let env = Env::start().await;
    let p = env.provider();
    let too_big = with(&planned("dev-big", "DEV1-S", "ubuntu_jammy"), "root_volume_size_in_gb", Value::number(30.0));
    let err = p
        .plan(PlanRequest { type_name: SERVER.into(), prior: None, proposed: too_big })
        .await
        .expect_err("30 GB on a DEV1-S");
    assert!(err.message.contains("must total between 10 GB and 20 GB"), "{}", err.message);
    assert!(err.message.contains("volumes_constraint") && err.message.contains("30 GB"), "{}", err.message);

    let fine = planned("dev-ok", "DEV1-S", "ubuntu_jammy");
    let refined = p.plan(PlanRequest { type_name: SERVER.into(), prior: None, proposed: fine }).await.expect("plan");
    assert_eq!(refined.planned.get("zone").and_then(Value::as_str), Some(ZONE), "the default zone is planned");
    assert_eq!(refined.planned.get("root_volume_type").and_then(Value::as_str), Some("l_ssd"));
    assert_eq!(refined.planned.get("id"), Some(&Value::Unknown));

    let unknown = planned("dev-x", "NOPE-1", "ubuntu_jammy");
    let err =
        p.plan(PlanRequest { type_name: SERVER.into(), prior: None, proposed: unknown }).await.expect_err("no type");
    assert!(err.message.contains("no commercial type \"NOPE-1\"") && err.message.contains("DEV1-S"), "{}", err.message);
}

#[tokio::test]
async fn adding_a_local_volume_to_a_running_server_stops_changes_and_starts_it() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, SERVER, planned("dev-vol", "DEV1-L", "ubuntu_jammy"), "c2").await;
    let id = s(&created, "id");
    let volume = env
        .client()
        .post(
            &format!("instance/v1/zones/{ZONE}/volumes"),
            &json!({"name": "data", "volume_type": "l_ssd", "size": 20_000_000_000u64}),
        )
        .await
        .expect("volume")["volume"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let before = env.running.faults.requests();
    let next = with(&created, "additional_volume_ids", strings(&[&volume]));
    let updated = update(&env, &created, next).await.expect("update with the server running");
    assert_eq!(updated.get("additional_volume_ids"), Some(&strings(&[&volume])));
    let view = env.server(&id).await;
    assert_eq!(view["state"], "running", "started again");
    assert_eq!(view["volumes"]["1"]["id"], json!(volume));
    assert!(env.running.faults.requests() - before >= 6, "poweroff, its task, PATCH, poweron, its task, read");

    // Too much local storage for a DEV1-L (80 GB): refused before any change.
    let big = env
        .client()
        .post(
            &format!("instance/v1/zones/{ZONE}/volumes"),
            &json!({"name": "big", "volume_type": "l_ssd", "size": 70_000_000_000u64}),
        )
        .await
        .expect("volume")["volume"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let err = update(&env, &updated, with(&updated, "additional_volume_ids", strings(&[&volume, &big])))
        .await
        .expect_err("100 GB on a DEV1-L");
    assert!(err.message.contains("between 10 GB and 80 GB"), "{}", err.message);
    assert_eq!(env.server(&id).await["state"], "running", "nothing was stopped");
}

#[tokio::test]
async fn a_server_from_scratch_boots_from_an_existing_volume() {
    let env = Env::start().await;
    let p = env.provider();
    let volume = env
        .client()
        .post(
            &format!("instance/v1/zones/{ZONE}/volumes"),
            &json!({"name": "root", "volume_type": "l_ssd", "size": 20_000_000_000u64}),
        )
        .await
        .expect("volume")["volume"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let mut want = with(&planned("dev-scratch", "DEV1-S", "x"), "image", Value::Null);
    want = with(&want, "root_volume_id", Value::string(volume.as_str()));
    want = with(&want, "state", Value::string("stopped"));
    let created = create(&p, SERVER, want, "c3").await;
    assert_eq!(s(&created, "root_volume_id"), volume);
    assert_eq!(created.get("image"), Some(&Value::Null));
    assert_eq!(env.server(&s(&created, "id")).await["state"], "stopped", "state = stopped: never powered on");

    let both = planned("dev-both", "DEV1-S", "ubuntu_jammy");
    let both = with(&both, "root_volume_id", Value::string(volume.as_str()));
    let err = p.plan(PlanRequest { type_name: SERVER.into(), prior: None, proposed: both }).await.expect_err("both");
    assert!(err.message.contains("exactly one of image"), "{}", err.message);
}

#[tokio::test]
async fn adopt_finds_the_server_by_its_correlation_tag_and_import_reads_it() {
    let env = Env::start().await;
    let p = env.provider();
    let want = planned("dev-adopt", "DEV1-S", "ubuntu_jammy");
    let created = create(&p, SERVER, want.clone(), "tarn-run7-3").await;
    let adopted = p
        .adopt(AdoptRequest { type_name: SERVER.into(), correlation: "tarn-run7-3".into(), planned: want.clone() })
        .await
        .expect("adopt");
    assert_eq!(adopted.map(|a| s(&a, "id")), Some(s(&created, "id")));
    let none = p
        .adopt(AdoptRequest { type_name: SERVER.into(), correlation: "tarn-run7-4".into(), planned: want })
        .await
        .expect("adopt");
    assert_eq!(none, None, "another create's tag finds nothing");

    let imported = p.import(SERVER, &format!("{ZONE}/{}", s(&created, "id"))).await.expect("import").expect("found");
    assert_eq!(s(&imported, "name"), "dev-adopt");
    assert_eq!(s(&imported, "image"), s(&created, "image_id"), "an import names the image by id");
    let bare = p.import(SERVER, &s(&created, "id")).await.expect("import by id").expect("found");
    assert_eq!(s(&bare, "zone"), ZONE, "the provider's zone");
    let err = p.import(SERVER, "fr-par-1/not-a-uuid").await.expect_err("bad id");
    assert!(err.message.contains("not a Scaleway id"), "{}", err.message);
}

#[tokio::test]
async fn changing_the_type_of_a_running_server_stops_changes_and_starts_it() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, SERVER, planned("dev-grow", "DEV1-S", "ubuntu_jammy"), "c5").await;
    let id = s(&created, "id");
    let updated = update(&env, &created, with(&created, "type", Value::string("DEV1-M"))).await.expect("update");
    assert_eq!(s(&updated, "type"), "DEV1-M");
    assert_eq!(updated.get("state"), Some(&Value::Null), "running again: the default");
    let view = env.server(&id).await;
    assert_eq!((view["commercial_type"].clone(), view["state"].clone()), (json!("DEV1-M"), json!("running")));

    // A GP1-XS needs exactly 150 GB of local storage; this server has 10 GB: refused before
    // any action, naming the limit, and the server keeps running.
    let err = update(&env, &updated, with(&updated, "type", Value::string("GP1-XS"))).await.expect_err("too small");
    assert!(err.message.contains("GP1-XS") && err.message.contains("150 GB"), "{}", err.message);
    assert_eq!(env.server(&id).await["state"], "running", "nothing was stopped");
}

#[test]
fn the_seed_rules_are_in_the_schema_so_plans_show_them() {
    let schema = tarn_provider_scaleway::provider_schema();
    let server = &schema.resources[SERVER];
    assert!(server.attributes["image"].force_new, "a new image replaces the server");
    assert!(server.refines_plan, "creates are checked against products/servers at plan time");
    assert_eq!(server.irreversible_when.as_deref(), Some("delete_volumes_on_destroy"));
    assert!(server.attributes["type"].description.contains("stops the server, changes it and starts it again"));
    assert!(
        server.attributes["additional_volume_ids"]
            .description
            .contains("stops the server, changes it and starts it again")
    );
    assert!(schema.resources["scaleway_instance_volume"].destroy_is_irreversible);
    let image = &schema.resources["scaleway_instance_image"];
    assert!(image.attributes["server_id"].force_new);
    assert!(image.refines_plan, "the same-zone rule is checked at plan time when the server exists");
    assert_eq!(image.irreversible_when.as_deref(), Some("delete_snapshots_on_destroy"));
    assert!(schema.data_sources.contains_key("scaleway_instance_image"), "both a resource and a data source");
}
