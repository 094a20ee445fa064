//! `scaleway_instance_image` through the `Provider` trait against the emulator: a server backup
//! (the action's task polled, the image and a snapshot per volume in the server's zone), read,
//! rename, drift, import, adoption, a server made from it, and delete with and without its
//! snapshots.

use crate::common::{Env, ZONE, create, s, strings, with};
use crate::server::planned;
use serde_json::json;
use tarn_sdk::{AdoptRequest, DeleteRequest, ErrorClass, Provider, ReadRequest, UpdateRequest, Value};

const IMAGE: &str = "scaleway_instance_image";

/// A planned image as the engine hands it over.
pub fn image(name: &str, server_id: &str) -> Value {
    Value::map([
        ("name", Value::string(name)),
        ("zone", Value::Unknown),
        ("server_id", Value::string(server_id)),
        ("project_id", Value::Unknown),
        ("tags", Value::Null),
        ("delete_snapshots_on_destroy", Value::Null),
        ("id", Value::Unknown),
        ("root_snapshot_id", Value::Unknown),
        ("additional_snapshot_ids", Value::Unknown),
        ("arch", Value::Unknown),
        ("creation_date", Value::Unknown),
    ])
}

async fn read(env: &Env, state: &Value) -> Option<Value> {
    env.provider().read(ReadRequest { type_name: IMAGE.into(), state: state.clone() }).await.expect("read")
}

async fn api_get(env: &Env, path: &str) -> Result<serde_json::Value, tarn_sdk::ProviderError> {
    env.client().get(&format!("instance/v1/zones/{ZONE}/{path}")).await
}

#[tokio::test]
async fn a_backup_image_is_created_read_renamed_imported_and_deleted_keeping_its_snapshots() {
    let env = Env::start().await;
    let p = env.provider();
    let data = env
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
    let server = with(&planned("dev-web", "DEV1-M", "ubuntu_jammy"), "additional_volume_ids", strings(&[&data]));
    let server = create(&p, "scaleway_instance_server", server, "s1").await;
    let server_id = s(&server, "id");

    let created = create(&p, IMAGE, image("dev-web-backup", &server_id), "tarn-img-1").await;
    let id = s(&created, "id");
    assert_eq!(s(&created, "name"), "dev-web-backup");
    assert_eq!(s(&created, "zone"), ZONE, "the server's zone");
    assert_eq!(s(&created, "server_id"), server_id);
    assert_eq!(created.get("tags"), Some(&Value::Null), "the correlation tag never shows");
    let extra = created.get("additional_snapshot_ids").and_then(Value::as_list).expect("list");
    assert_eq!(extra.len(), 1, "one snapshot for the additional volume: {created}");
    let api_view = api_get(&env, &format!("images/{id}")).await.expect("image")["image"].clone();
    assert_eq!(api_view["state"], "available", "the backup's task ended before create returned");
    assert_eq!(api_view["from_server"], json!(server_id));
    assert!(api_view["tags"].as_array().expect("tags").contains(&json!("tarn-correlation:tarn-img-1")));
    let root_snapshot = s(&created, "root_snapshot_id");
    let snap = api_get(&env, &format!("snapshots/{root_snapshot}")).await.expect("snapshot")["snapshot"].clone();
    assert_eq!(snap["base_volume"]["id"], json!(s(&server, "root_volume_id")), "a snapshot of the root volume");
    assert_eq!(env.server(&server_id).await["state"], "running", "a backup leaves the server running");

    assert_eq!(read(&env, &created).await.as_ref(), Some(&created), "no drift right after create");

    // Renamed and tagged in place; the correlation tag stays.
    let next = with(&with(&created, "name", Value::string("dev-web-golden")), "tags", strings(&["golden"]));
    let updated = p
        .update(UpdateRequest { type_name: IMAGE.into(), prior: created.clone(), planned: next.clone() })
        .await
        .expect("update");
    assert_eq!(updated, next, "the update applied exactly the plan");
    let api_view = api_get(&env, &format!("images/{id}")).await.expect("image")["image"].clone();
    assert_eq!(api_view["name"], "dev-web-golden");
    assert!(api_view["tags"].as_array().expect("tags").contains(&json!("tarn-correlation:tarn-img-1")));

    // The data source finds a private image by its exact name too.
    let found = p
        .read_data(tarn_sdk::ReadDataRequest {
            type_name: IMAGE.into(),
            config: Value::map([("name", Value::string("dev-web-golden")), ("zone", Value::Null)]),
        })
        .await
        .expect("image by name");
    assert_eq!(s(&found, "id"), id);
    assert_eq!(found.get("public"), Some(&Value::Bool(false)));

    // Renamed by hand: read reports it.
    env.client()
        .patch(&format!("instance/v1/zones/{ZONE}/images/{id}"), &json!({"name": "renamed-by-hand"}))
        .await
        .expect("change outside tarn");
    assert_eq!(read(&env, &updated).await.map(|i| s(&i, "name")), Some("renamed-by-hand".into()));

    let imported = p.import(IMAGE, &format!("{ZONE}/{id}")).await.expect("import").expect("found");
    assert_eq!(s(&imported, "server_id"), server_id, "import finds the server it was made from");
    assert_eq!(s(&imported, "root_snapshot_id"), root_snapshot);
    assert_eq!(imported.get("tags"), Some(&strings(&["golden"])));
    let bare = p.import(IMAGE, &id).await.expect("import by id").expect("found");
    assert_eq!(s(&bare, "zone"), ZONE);
    let adopted = p
        .adopt(AdoptRequest {
            type_name: IMAGE.into(),
            correlation: "tarn-img-1".into(),
            planned: image("dev-web-backup", &server_id),
        })
        .await
        .expect("adopt");
    assert_eq!(adopted.map(|a| s(&a, "id")), Some(id.clone()));

    // A server made from the image's id.
    let copy = create(&p, "scaleway_instance_server", planned("dev-copy", "DEV1-M", &id), "s2").await;
    assert_eq!(s(&copy, "image_id"), id);

    // Delete keeps the snapshots by default.
    p.delete(DeleteRequest { type_name: IMAGE.into(), state: updated.clone() }).await.expect("delete");
    assert_eq!(read(&env, &updated).await, None, "a deleted image reads as gone");
    api_get(&env, &format!("snapshots/{root_snapshot}")).await.expect("the root snapshot is kept");
    p.delete(DeleteRequest { type_name: IMAGE.into(), state: updated }).await.expect("deleting again succeeds");
}

#[tokio::test]
async fn an_image_deletes_its_snapshots_when_asked_and_stays_in_the_servers_zone() {
    let env = Env::start().await;
    let p = env.provider();
    let server = create(
        &p,
        "scaleway_instance_server",
        with(&planned("dev-db", "DEV1-S", "debian_bookworm"), "state", Value::string("stopped")),
        "s1",
    )
    .await;
    let server_id = s(&server, "id");
    let want = with(&image("dev-db-backup", &server_id), "delete_snapshots_on_destroy", Value::Bool(true));
    let created = create(&p, IMAGE, want, "i1").await;
    assert_eq!(created.get("additional_snapshot_ids"), Some(&strings(&[])), "the root volume only");
    assert_eq!(created.get("delete_snapshots_on_destroy"), Some(&Value::Bool(true)));
    assert_eq!(env.server(&server_id).await["state"], "stopped", "a backup leaves a stopped server stopped");
    let root_snapshot = s(&created, "root_snapshot_id");
    p.delete(DeleteRequest { type_name: IMAGE.into(), state: created }).await.expect("delete");
    let err = api_get(&env, &format!("snapshots/{root_snapshot}")).await.expect_err("snapshot deleted");
    assert_eq!(err.class, ErrorClass::NotFound);

    // The server lives in fr-par-1: an image in nl-ams-1 cannot be made from it, which the
    // plan already says; a plan in the server's zone gets that zone.
    let elsewhere = with(&image("dev-db-ams", &server_id), "zone", Value::string("nl-ams-1"));
    let err = p
        .plan(tarn_sdk::PlanRequest { type_name: IMAGE.into(), prior: None, proposed: elsewhere.clone() })
        .await
        .expect_err("another zone, at plan time");
    assert!(err.message.contains("its own zone") && err.message.contains("nl-ams-1"), "{}", err.message);
    let fine = p
        .plan(tarn_sdk::PlanRequest { type_name: IMAGE.into(), prior: None, proposed: image("dev-db-2", &server_id) })
        .await
        .expect("plan");
    assert_eq!(fine.planned.get("zone").and_then(Value::as_str), Some(ZONE));
    assert_eq!(fine.planned.get("id"), Some(&Value::Unknown));
    let err = p
        .create(tarn_sdk::CreateRequest { type_name: IMAGE.into(), planned: elsewhere, correlation: "i2".into() })
        .await
        .expect_err("another zone");
    assert!(err.message.contains("its own zone") && err.message.contains("nl-ams-1"), "{}", err.message);
    let gone = p
        .adopt(AdoptRequest { type_name: IMAGE.into(), correlation: "i3".into(), planned: image("x", &server_id) })
        .await
        .expect("adopt");
    assert_eq!(gone, None, "no image carries that tag or name");
}

#[tokio::test]
async fn an_image_whose_tagging_never_happened_is_adopted_by_server_and_name() {
    let env = Env::start().await;
    let p = env.provider();
    let server = create(&p, "scaleway_instance_server", planned("dev-crash", "DEV1-S", "ubuntu_jammy"), "s1").await;
    let server_id = s(&server, "id");
    // The backup was accepted, then tarn died before tagging the image.
    env.client()
        .post(
            &format!("instance/v1/zones/{ZONE}/servers/{server_id}/action"),
            &json!({"action": "backup", "name": "dev-crash-backup"}),
        )
        .await
        .expect("backup");
    let adopted = p
        .adopt(AdoptRequest {
            type_name: IMAGE.into(),
            correlation: "lost".into(),
            planned: image("dev-crash-backup", &server_id),
        })
        .await
        .expect("adopt")
        .expect("found by server and name");
    assert_eq!(s(&adopted, "server_id"), server_id);
    assert_eq!(s(&adopted, "name"), "dev-crash-backup");
}

#[tokio::test]
async fn a_backup_that_outlasts_the_time_out_is_recorded_as_partially_created() {
    let env = Env::with(tarn_provider_scaleway::emulator::Settings {
        action_time: std::time::Duration::from_secs(30),
        ..tarn_provider_scaleway::emulator::Settings::default()
    })
    .await;
    let p = env.provider();
    // Stopped: no power-on task to wait 30 s for.
    let server = create(
        &p,
        "scaleway_instance_server",
        with(&planned("dev-slow", "DEV1-S", "ubuntu_jammy"), "state", Value::string("stopped")),
        "s1",
    )
    .await;
    let impatient = tarn_provider_scaleway::ScalewayProvider::with_api(
        env.api().polling(tarn_provider_scaleway::Polling {
            interval: std::time::Duration::from_millis(10),
            max_interval: std::time::Duration::from_millis(40),
            timeout: std::time::Duration::from_millis(200),
        }),
        ZONE,
        tarn_provider_scaleway::emulator::ORGANIZATION_ID,
    );
    let err = impatient
        .create(tarn_sdk::CreateRequest {
            type_name: IMAGE.into(),
            planned: image("dev-slow-backup", &s(&server, "id")),
            correlation: "i1".into(),
        })
        .await
        .expect_err("the task is still pending");
    assert_eq!(err.class, ErrorClass::PartiallyCreated, "{}", err.message);
    assert!(err.message.contains("still pending"), "{}", err.message);
    let partial = err.partial.expect("the image, to record");
    let id = s(&partial, "id");
    assert_eq!(s(&partial, "server_id"), s(&server, "id"));
    let api_view = api_get(&env, &format!("images/{id}")).await.expect("the image exists")["image"].clone();
    assert_eq!(api_view["state"], "creating");
}
