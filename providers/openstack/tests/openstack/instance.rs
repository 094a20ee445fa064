//! openstack_compute_instance through the Provider trait against the emulator.

use serde_json::json;
use tarn_provider_openstack::INSTANCE;
use tarn_sdk::{AdoptRequest, DeleteRequest, ErrorClass, Provider, ReadRequest, UpdateRequest, Value};

use crate::common::{Env, create, s, server, strings, with};

async fn read(p: &impl Provider, state: &Value) -> Option<Value> {
    p.read(ReadRequest { type_name: INSTANCE.into(), state: state.clone() }).await.expect("read")
}

async fn update(p: &impl Provider, prior: &Value, planned: Value) -> Value {
    p.update(UpdateRequest { type_name: INSTANCE.into(), prior: prior.clone(), planned })
        .await
        .unwrap_or_else(|e| panic!("update: {}", e.message))
}

#[tokio::test]
async fn create_waits_for_active_reads_renames_and_deletes() {
    let env = Env::start().await;
    let p = env.provider();
    let planned = with(&server("dev-ovh-1"), "metadata", Value::map([("role", Value::string("dev"))]));
    let planned = with(&planned, "user_data", Value::string("#cloud-config\npackages: [nginx]\n").sensitive());
    let created = create(&p, INSTANCE, planned, "tarn-c1").await;
    assert_eq!(s(&created, "status"), "ACTIVE", "create waits for ACTIVE: {created}");
    assert_eq!(s(&created, "flavor_name"), "d2-2");
    assert_eq!(s(&created, "flavor_id"), "0c9a5b8e-31c4-4f2e-9a7e-d2a000000002", "the name was resolved");
    assert!(s(&created, "access_ip_v4").starts_with("51.210."), "Ext-Net gives a public IPv4: {created}");
    assert!(s(&created, "access_ip_v6").starts_with("2001:41d0:"), "and an IPv6");
    assert_eq!(created.get("security_groups"), Some(&strings(&["default"])));
    assert_eq!(created.get("metadata"), Some(&Value::map([("role", Value::string("dev"))])), "correlation hidden");
    assert_eq!(created.get("power_state"), Some(&Value::Null), "null while the server runs, as the API's default");
    assert_eq!(s(&created, "user_data"), "#cloud-config\npackages: [nginx]\n", "kept: Nova never shows it back");

    let again = read(&p, &created).await.expect("exists");
    assert_eq!(again, created, "a read right after create changes nothing");

    let renamed = update(&p, &created, with(&created, "name", Value::string("dev-ovh-1b"))).await;
    assert_eq!(s(&renamed, "name"), "dev-ovh-1b");
    assert_eq!(s(&renamed, "id"), s(&created, "id"), "renamed in place");

    p.delete(DeleteRequest { type_name: INSTANCE.into(), state: renamed.clone() }).await.expect("delete");
    assert!(read(&p, &renamed).await.is_none(), "gone after delete");
    p.delete(DeleteRequest { type_name: INSTANCE.into(), state: renamed }).await.expect("already gone is success");
}

#[tokio::test]
async fn power_state_and_reboot_go_through_actions_and_wait_for_the_status() {
    let env = Env::start().await;
    let p = env.provider();
    let stopped =
        create(&p, INSTANCE, with(&server("dev-ovh-2"), "power_state", Value::string("shutoff")), "tarn-c2").await;
    assert_eq!(s(&stopped, "status"), "SHUTOFF", "{stopped}");
    assert_eq!(s(&stopped, "power_state"), "shutoff");

    let started = update(&p, &stopped, with(&stopped, "power_state", Value::string("active"))).await;
    assert_eq!(s(&started, "status"), "ACTIVE");
    assert_eq!(s(&started, "power_state"), "active");

    let rebooted = update(&p, &started, with(&started, "reboot_trigger", Value::string("2026-12-07"))).await;
    assert_eq!(s(&rebooted, "status"), "ACTIVE", "waited through REBOOT");
    assert_eq!(s(&rebooted, "reboot_trigger"), "2026-12-07");
    let hard = with(&with(&rebooted, "reboot_trigger", Value::string("again")), "reboot_type", Value::string("HARD"));
    assert_eq!(s(&update(&p, &rebooted, hard).await, "status"), "ACTIVE", "waited through HARD_REBOOT");

    let bad = with(&rebooted, "power_state", Value::string("paused"));
    let err = p.update(UpdateRequest { type_name: INSTANCE.into(), prior: rebooted.clone(), planned: bad }).await;
    let err = err.expect_err("not a power state");
    assert!(err.message.contains("active, shutoff"), "{}", err.message);
}

#[tokio::test]
async fn changes_made_through_the_api_show_in_read_as_drift() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, INSTANCE, server("dev-ovh-3"), "tarn-c3").await;
    let id = s(&created, "id");
    // Someone renames the server and stops it in the console (the same Nova API).
    let api = env.api();
    api.rename_server(&id, "renamed-by-hand").await.expect("rename");
    api.action(&id, &json!({"os-stop": null})).await.expect("stop");
    api.wait_status(&id, &["SHUTOFF"], "a stop").await.map_err(|e| e.into_error(&id)).expect("stopped");
    let drifted = read(&p, &created).await.expect("exists");
    assert_eq!(s(&drifted, "name"), "renamed-by-hand");
    assert_eq!(s(&drifted, "power_state"), "shutoff", "a stopped server differs from the default");
    assert_eq!(s(&drifted, "status"), "SHUTOFF");

    // Applying the configuration again puts it back.
    let fixed = update(&p, &drifted, created.clone()).await;
    assert_eq!(s(&fixed, "name"), "dev-ovh-3");
    assert_eq!(s(&fixed, "status"), "ACTIVE");
    assert_eq!(fixed.get("power_state"), Some(&Value::Null));
}

#[tokio::test]
async fn import_by_id_and_adopt_by_correlation() {
    let env = Env::start().await;
    let p = env.provider();
    let created = create(&p, INSTANCE, server("dev-ovh-4"), "tarn-c4").await;
    let id = s(&created, "id");
    let imported = p.import(INSTANCE, &id).await.expect("import").expect("found");
    assert_eq!(s(&imported, "name"), "dev-ovh-4");
    assert_eq!(s(&imported, "flavor_name"), "d2-2", "the flavor's name is looked up");
    assert_eq!(s(&imported, "image_id"), crate::common::UBUNTU);
    assert!(p.import(INSTANCE, "9168b536-cd40-4630-b43f-b259807c6e87").await.expect("import").is_none());
    let err = p.import(INSTANCE, "not-a-uuid").await.expect_err("bad id");
    assert!(err.message.contains("UUID"), "{}", err.message);

    let adopt =
        |c: &str| AdoptRequest { type_name: INSTANCE.into(), correlation: c.into(), planned: server("dev-ovh-4") };
    let adopted = p.adopt(adopt("tarn-c4")).await.expect("adopt").expect("found by its correlation");
    assert_eq!(s(&adopted, "id"), id);
    assert!(p.adopt(adopt("tarn-other")).await.expect("adopt").is_none());
}

#[tokio::test]
async fn a_build_that_ends_in_error_is_a_clear_error_and_the_server_is_recorded() {
    let env = Env::start().await;
    let p = env.provider();
    env.emulator.fail_next_builds(1);
    let err = p
        .create(tarn_sdk::CreateRequest {
            type_name: INSTANCE.into(),
            planned: server("dev-ovh-5"),
            correlation: "tarn-c5".into(),
        })
        .await
        .expect_err("the build fails");
    assert_eq!(err.class, ErrorClass::PartiallyCreated, "{}", err.message);
    assert!(
        err.message.contains("went to ERROR") && err.message.contains("No valid host was found"),
        "{}",
        err.message
    );
    let partial = err.partial.expect("the server's state");
    assert_eq!(s(&partial, "status"), "ERROR");
    // Recorded, so tarn can delete it.
    p.delete(DeleteRequest { type_name: INSTANCE.into(), state: partial.clone() }).await.expect("delete");
    assert!(read(&p, &partial).await.is_none());
}

#[tokio::test]
async fn bad_input_is_refused_with_novas_message() {
    let env = Env::start().await;
    let p = env.provider();
    let create_err = |planned: Value| {
        let p = &p;
        async move {
            p.create(tarn_sdk::CreateRequest { type_name: INSTANCE.into(), planned, correlation: "x".into() })
                .await
                .expect_err("refused")
        }
    };
    let err = create_err(with(&server("dev-x"), "flavor_name", Value::string("huge-9"))).await;
    assert!(err.message.contains("no flavor is named \"huge-9\"") && err.message.contains("d2-2"), "{}", err.message);
    let err =
        create_err(with(&server("dev-x"), "image_id", Value::string("0b0b0b0b-0000-4000-8000-000000000000"))).await;
    assert_eq!(err.class, ErrorClass::Permanent);
    assert!(err.message.contains("HTTP 400") && err.message.contains("badRequest: Image"), "{}", err.message);
    let err = create_err(with(&server("dev-x"), "key_pair", Value::string("nobody"))).await;
    assert!(err.message.contains("Invalid key_name provided."), "{}", err.message);
    let err = create_err(with(&server("dev-x"), "flavor_name", Value::Null)).await;
    assert!(err.message.contains("set flavor_id or flavor_name"), "{}", err.message);
    assert_eq!(env.api().servers(&[]).await.expect("list").len(), 0, "nothing was made");
}
